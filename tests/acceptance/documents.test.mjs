// Acceptance: the documents pipeline on a real plinth serve — pipelines, PDF and text submission,
// the SSE event stream to job.succeeded, document and job shapes, failures with reasons,
// Idempotency-Key replay and conflict. Requests are SigV4-signed for service "plinth".
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignatureV4 } from '@smithy/signature-v4';
import { Hash } from '@smithy/hash-node';
import { IAMClient, CreateUserCommand, CreateAccessKeyCommand, PutUserPolicyCommand } from '@aws-sdk/client-iam';
import { BedrockAgentRuntimeClient, RetrieveCommand } from '@aws-sdk/client-bedrock-agent-runtime';
import { startPlinth, writeConfig, ROOT } from './harness.mjs';

const LABELS = ['invoice', 'receipt', 'other'];
const SCHEMA = {
  type: 'object',
  properties: { vendor: { type: 'string', maxLength: 12 }, total: { type: 'number' } },
  required: ['vendor', 'total'],
  additionalProperties: false,
};

let server;

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'plinth-documents-'));
  const config = writeConfig(dir);
  // Tiny fixture models: keep generations short so the whole pipeline runs in seconds.
  appendFileSync(config, `
[documents]
workers = 2
visibility_timeout_seconds = 10
extract_max_tokens = 48
analysis_max_tokens = 12
chunk_words = 40
chunk_overlap_words = 8
max_document_bytes = 65536
`);
  server = await startPlinth({ dataDir: dir, configFile: config });
});

after(async () => { await server?.stop(); });

// A signed call to Plinth's own REST API. body: string or Buffer.
async function call(method, path, { body, headers = {}, credentials = ROOT } = {}) {
  const url = new URL(server.endpoint + path);
  const signer = new SignatureV4({ credentials, region: 'us-east-1', service: 'plinth',
                                   sha256: Hash.bind(null, 'sha256') });
  const query = Object.fromEntries(url.searchParams);
  const request = await signer.sign({
    method, protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: url.pathname,
    query, headers: { host: url.host, ...headers }, body,
  });
  return fetch(url, { method, headers: request.headers, body });
}

// A minimal one-font PDF; a page with no lines has only a drawn rectangle (no text layer).
function makePdf(pages) {
  const objects = ['<< /Type /Catalog /Pages 2 0 R >>',
    `<< /Type /Pages /Kids [${pages.map((_, i) => `${4 + 2 * i} 0 R`).join(' ')}] /Count ${pages.length} >>`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>'];
  pages.forEach((lines, i) => {
    const content = lines.length === 0 ? '0 0 1 rg 100 100 200 200 re f'
      : `BT /F1 12 Tf 72 720 Td 14 TL ${lines.map((l) => `(${l.replace(/[()\\]/g, '\\$&')}) Tj T*`).join(' ')} ET`;
    objects.push(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents ${5 + 2 * i} 0 R /Resources << /Font << /F1 3 0 R >> >> >>`);
    objects.push(`<< /Length ${content.length} >>\nstream\n${content}\nendstream`);
  });
  let pdf = '%PDF-1.4\n';
  const offsets = [];
  objects.forEach((body, i) => { offsets.push(pdf.length); pdf += `${i + 1} 0 obj\n${body}\nendobj\n`; });
  const xref = pdf.length;
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) pdf += `${String(offset).padStart(10, '0')} 00000 n \n`;
  pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(pdf, 'latin1');
}

// Reads a job's SSE stream until it ends; returns the events [{event, id, data}].
async function followEvents(jobId, headers = {}) {
  const r = await call('GET', `/v1/jobs/${jobId}/events`, { headers });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/event-stream/);
  const events = [];
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of r.body) {
    buffer += decoder.decode(chunk, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = { data: '' };
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const [field, ...rest] = line.split(': ');
        const value = rest.join(': ');
        if (field === 'data') event.data += (event.data ? '\n' : '') + value;
        else event[field] = value;
      }
      if (event.event) events.push(event);
    }
  }
  return events;
}

function assertMatchesSchema(extraction) {
  assert.equal(typeof extraction, 'object');
  assert.deepEqual(Object.keys(extraction).sort(), ['total', 'vendor']);
  assert.equal(typeof extraction.vendor, 'string');
  assert.ok([...extraction.vendor].length <= 12);
  assert.equal(typeof extraction.total, 'number');
}

const pipelineBody = (name) => JSON.stringify({
  name, extract: { schema: SCHEMA }, classify: { labels: LABELS, instructions: 'Pick one.' },
  analyze: { instructions: 'Summarize in one sentence.' }, knowledgeBaseId: `kb-${name}`,
});

test('a schema that does not compile is a 400 naming the problem', async () => {
  const r = await call('POST', '/v1/pipelines', { body: JSON.stringify({
    name: 'broken', extract: { schema: { type: 'object', properties: { a: { type: 'strin' } } } } }),
    headers: { 'content-type': 'application/json' } });
  assert.equal(r.status, 400);
  assert.equal(r.headers.get('x-amzn-errortype').split(':')[0], 'ValidationException');
  assert.match((await r.json()).message, /does not compile.*strin/);
});

test('unsigned requests are refused', async () => {
  const r = await fetch(`${server.endpoint}/v1/pipelines`);
  assert.ok([400, 403].includes(r.status), String(r.status));
});

test('pipelines: create, get, list, update, delete', async () => {
  let r = await call('POST', '/v1/pipelines', { body: pipelineBody('scratch') });
  assert.equal(r.status, 201, await r.clone().text());
  r = await call('POST', '/v1/pipelines', { body: pipelineBody('scratch') });
  assert.equal(r.status, 409);
  r = await call('GET', '/v1/pipelines/scratch');
  assert.equal(r.status, 200);
  assert.deepEqual((await r.json()).classify.labels, LABELS);
  r = await call('PUT', '/v1/pipelines/scratch', { body: JSON.stringify({ classify: { labels: ['a', 'b'] } }) });
  assert.equal(r.status, 200);
  assert.deepEqual((await r.json()).classify.labels, ['a', 'b']);
  r = await call('GET', '/v1/pipelines');
  assert.ok((await r.json()).pipelines.some((p) => p.name === 'scratch'));
  r = await call('DELETE', '/v1/pipelines/scratch');
  assert.equal(r.status, 204);
  r = await call('GET', '/v1/pipelines/scratch');
  assert.equal(r.status, 404);
});

test('a PDF and a text document run through every stage', async () => {
  let r = await call('POST', '/v1/pipelines', { body: pipelineBody('invoices') });
  assert.equal(r.status, 201, await r.clone().text());
  const pdf = makePdf([['Invoice INV-42 from ACME Corp', 'Total due: 120.50 EUR'], ['Thank you.']]);
  r = await call('POST', '/v1/pipelines/invoices/documents',
                 { body: pdf, headers: { 'content-type': 'application/pdf' } });
  assert.equal(r.status, 202, await r.clone().text());
  const pdfSubmission = await r.json();
  assert.match(pdfSubmission.documentId, /^doc-/);
  r = await call('POST', '/v1/pipelines/invoices/documents', {
    body: '# Receipt\n\nCoffee shop receipt: two espressos, 5.20 EUR, paid by card.',
    headers: { 'content-type': 'text/markdown' } });
  assert.equal(r.status, 202);
  const textSubmission = await r.json();

  for (const submission of [pdfSubmission, textSubmission]) {
    const events = await followEvents(submission.jobId);
    const last = events.at(-1);
    assert.equal(last.event, 'job.succeeded', JSON.stringify(events.at(-1)));
    const started = events.filter((e) => e.event === 'stage.started').map((e) => JSON.parse(e.data).stage);
    assert.deepEqual(started, ['parse', 'extract', 'classify', 'embed', 'index', 'analyze']);
    const ids = events.map((e) => Number(e.id));
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
    const fromEvent = JSON.parse(last.data);
    assert.equal(fromEvent.documentId, submission.documentId);

    r = await call('GET', `/v1/documents/${submission.documentId}`);
    assert.equal(r.status, 200);
    const doc = await r.json();
    assert.equal(doc.status, 'succeeded');
    assert.equal(doc.pipeline, 'invoices');
    assertMatchesSchema(doc.extraction);
    assert.ok(LABELS.includes(doc.classification), doc.classification);
    assert.equal(typeof doc.analysis, 'string');
    assert.ok(doc.stats.words > 0 && doc.stats.characters > 0 && doc.stats.chunks >= 1);
    for (const stage of ['extract', 'classify', 'embed', 'analyze']) {
      assert.equal(typeof doc.usage[stage].model, 'string', stage);
      assert.ok(Number.isInteger(doc.usage[stage].inputTokens), stage);
    }
    assert.ok(doc.usage.total.inputTokens > 0);
    assert.equal(doc.usage.extract.model, 'qwen2-small');
    assert.equal(doc.usage.analyze.model, 'llama-large');

    r = await call('GET', `/v1/jobs/${submission.jobId}`);
    const job = await r.json();
    assert.equal(job.status, 'succeeded');
    assert.equal(job.documentId, submission.documentId);
    assert.equal(job.pipeline, 'invoices');
    assert.deepEqual(job.stages.map((s) => s.status), Array(6).fill('succeeded'));
    for (const s of job.stages) assert.ok(s.startedAt && s.finishedAt, s.name);
  }
  const pdfDoc = await (await call('GET', `/v1/documents/${pdfSubmission.documentId}`)).json();
  assert.equal(pdfDoc.stats.pages, 2);
  assert.equal(pdfDoc.contentType, 'application/pdf');

  r = await call('GET', '/v1/jobs?limit=5');
  const jobs = (await r.json()).jobs.map((j) => j.jobId);
  assert.ok(jobs.includes(pdfSubmission.jobId) && jobs.includes(textSubmission.jobId));

  // The official Agent Runtime client finds the documents' chunks in the pipeline's knowledge
  // base: a query equal to the receipt's text ranks the receipt first.
  const agent = new BedrockAgentRuntimeClient({ region: 'us-east-1', endpoint: server.endpoint,
                                                credentials: ROOT, maxAttempts: 1 });
  const retrieved = await agent.send(new RetrieveCommand({
    knowledgeBaseId: 'kb-invoices',
    retrievalQuery: { text: 'Coffee shop receipt: two espressos, 5.20 EUR, paid by card.' },
    retrievalConfiguration: { vectorSearchConfiguration: { numberOfResults: 5 } } }));
  const located = retrieved.retrievalResults.map((hit) => hit.location.customDocumentLocation.id);
  assert.equal(located[0], textSubmission.documentId, JSON.stringify(retrieved.retrievalResults));
  assert.ok(located.includes(pdfSubmission.documentId), JSON.stringify(located));
  assert.match(retrieved.retrievalResults[0].content.text, /espressos/);

  // Resuming with Last-Event-ID replays only later events.
  const resumed = await followEvents(pdfSubmission.jobId, { 'last-event-id': '2' });
  assert.equal(Number(resumed[0].id), 3);
  assert.equal(resumed.at(-1).event, 'job.succeeded');

  // Deleting removes the document.
  r = await call('DELETE', `/v1/documents/${textSubmission.documentId}`);
  assert.equal(r.status, 204);
  r = await call('GET', `/v1/documents/${textSubmission.documentId}`);
  assert.equal(r.status, 404);
  // … and its chunks and vectors: Retrieve no longer returns them.
  const after = await agent.send(new RetrieveCommand({
    knowledgeBaseId: 'kb-invoices',
    retrievalQuery: { text: 'Coffee shop receipt: two espressos, 5.20 EUR, paid by card.' } }));
  const left = after.retrievalResults.map((hit) => hit.location.customDocumentLocation.id);
  assert.ok(!left.includes(textSubmission.documentId), JSON.stringify(left));
  assert.ok(left.includes(pdfSubmission.documentId), JSON.stringify(left));
});

test('bad PDFs and binary text end as failed jobs with a reason', async () => {
  await call('POST', '/v1/pipelines', { body: pipelineBody('failures') });
  const good = makePdf([['Some text']]);
  const cases = [
    { body: good.subarray(0, 60), type: 'application/pdf', reason: /PDF/ },
    { body: makePdf([[]]), type: 'application/pdf', reason: /no text layer/ },
    { body: Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x80]), type: 'text/plain', reason: /UTF-8/ },
  ];
  for (const c of cases) {
    let r = await call('POST', '/v1/pipelines/failures/documents',
                       { body: c.body, headers: { 'content-type': c.type } });
    assert.equal(r.status, 202);
    const { jobId, documentId } = await r.json();
    const events = await followEvents(jobId);
    assert.equal(events.at(-1).event, 'job.failed');
    assert.match(JSON.parse(events.at(-1).data).error, c.reason);
    r = await call('GET', `/v1/jobs/${jobId}`);
    const job = await r.json();
    assert.equal(job.status, 'failed');
    assert.match(job.error, c.reason);
    assert.equal(job.stages[0].status, 'failed');
    r = await call('GET', `/v1/documents/${documentId}`);
    assert.equal((await r.json()).status, 'failed');
  }
});

test('Idempotency-Key: a replay returns the same job, another body conflicts', async () => {
  await call('POST', '/v1/pipelines', { body: pipelineBody('idem') });
  const send = (body) => call('POST', '/v1/pipelines/idem/documents', {
    body, headers: { 'content-type': 'text/plain', 'idempotency-key': 'order-77' } });
  let r = await send('Receipt for order 77: 3 items, 9.99 EUR.');
  assert.equal(r.status, 202);
  const first = await r.json();
  r = await send('Receipt for order 77: 3 items, 9.99 EUR.');
  assert.equal(r.status, 202);
  assert.deepEqual(await r.json(), first);
  r = await send('A different body');
  assert.equal(r.status, 409);
  assert.equal(r.headers.get('x-amzn-errortype').split(':')[0], 'ConflictException');
  const events = await followEvents(first.jobId);
  assert.equal(events.filter((e) => e.event === 'job.succeeded').length, 1);
});

test('unknown pipelines, documents and jobs are 404; unsupported types are 400', async () => {
  let r = await call('POST', '/v1/pipelines/nope/documents',
                     { body: 'x', headers: { 'content-type': 'text/plain' } });
  assert.equal(r.status, 404);
  r = await call('GET', '/v1/documents/doc-NOPE');
  assert.equal(r.status, 404);
  r = await call('GET', '/v1/jobs/job-nope/events');
  assert.equal(r.status, 404);
  r = await call('POST', '/v1/pipelines/invoices/documents',
                 { body: 'x', headers: { 'content-type': 'image/png' } });
  assert.equal(r.status, 400);
});

test('a multipart/form-data upload takes the file part and its type', async () => {
  await call('POST', '/v1/pipelines', { body: pipelineBody('uploads') });
  const body = Buffer.from('--XBOUNDARY\r\nContent-Disposition: form-data; name="file"; filename="note.html"\r\n'
    + 'Content-Type: text/html\r\n\r\n<html><body><h1>Receipt</h1><p>Tea &amp; cake, 7 EUR</p>'
    + '<script>ignored()</script></body></html>\r\n--XBOUNDARY--\r\n');
  let r = await call('POST', '/v1/pipelines/uploads/documents',
                     { body, headers: { 'content-type': 'multipart/form-data; boundary=XBOUNDARY' } });
  assert.equal(r.status, 202, await r.clone().text());
  const { jobId, documentId } = await r.json();
  assert.equal((await followEvents(jobId)).at(-1).event, 'job.succeeded');
  const doc = await (await call('GET', `/v1/documents/${documentId}`)).json();
  assert.equal(doc.contentType, 'text/html');
  assert.equal(doc.filename, 'note.html');
  assert.equal(doc.stats.words, 6);  // "Receipt Tea & cake, 7 EUR"
});

test('a document above max_document_bytes is a 413', async () => {
  await call('POST', '/v1/pipelines', { body: pipelineBody('sizes') });
  const r = await call('POST', '/v1/pipelines/sizes/documents',
                       { body: 'a '.repeat(40_000), headers: { 'content-type': 'text/plain' } });
  assert.equal(r.status, 413);
});

test('policies decide each documents action', async () => {
  const iam = new IAMClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: ROOT });
  await iam.send(new CreateUserCommand({ UserName: 'reader' }));
  await iam.send(new PutUserPolicyCommand({ UserName: 'reader', PolicyName: 'read', PolicyDocument: JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: ['plinth:GetPipeline', 'plinth:ListJobs'], Resource: '*' }] }) }));
  const key = (await iam.send(new CreateAccessKeyCommand({ UserName: 'reader' }))).AccessKey;
  const credentials = { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey };
  await call('POST', '/v1/pipelines', { body: pipelineBody('guarded') });
  let r = await call('GET', '/v1/pipelines/guarded', { credentials });
  assert.equal(r.status, 200);
  r = await call('GET', '/v1/jobs?limit=3', { credentials });
  assert.equal(r.status, 200);
  r = await call('POST', '/v1/pipelines/guarded/documents',
                 { body: 'text', headers: { 'content-type': 'text/plain' }, credentials });
  assert.equal(r.status, 403);
  assert.equal(r.headers.get('x-amzn-errortype').split(':')[0], 'AccessDeniedException');
  assert.match((await r.json()).message, /plinth:SubmitDocument/);
  r = await call('DELETE', '/v1/pipelines/guarded', { credentials });
  assert.equal(r.status, 403);
});
