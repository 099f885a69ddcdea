// Acceptance (issue 12): document content blocks through the official AWS SDK for JavaScript v3
// (Converse and ConverseStream), an Anthropic Messages InvokeModel body and the OpenAI SDK, with
// files generated here (reportlab PDFs; DOCX/XLSX zips written by document_fixtures.py), and the
// bad documents Bedrock refuses. Prints the time a 20-page PDF adds to a Converse call.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BedrockRuntimeClient, ConverseCommand, ConverseStreamCommand, InvokeModelCommand,
} from '@aws-sdk/client-bedrock-runtime';
import OpenAI from 'openai';
import { startPlinth, mintBearerToken, writeConfig, ROOT, SMALL } from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
let server;
let bedrock;
let files;  // name -> Uint8Array

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'plinth-documents-converse-'));
  // Debian's python3 has python3-reportlab; a pyenv or venv python3 earlier on PATH may not.
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  execFileSync(python, [join(here, 'document_fixtures.py'), dir]);
  files = {};
  for (const name of ['invoice.pdf', 'report20.pdf', 'encrypted.pdf', 'scan.pdf', 'memo.docx',
                      'prices.xlsx', 'corrupt.docx', 'legacy.bin']) {
    files[name] = new Uint8Array(readFileSync(join(dir, name)));
  }
  // The small model's file has a 512-token context; a 20-page report needs about 8,000 tokens.
  const configFile = writeConfig(dir);
  const config = readFileSync(configFile, 'utf8');
  writeFileSync(configFile, config.replace(`id = "${SMALL}"`, `id = "${SMALL}"\ncontext_length = 16384`));
  server = await startPlinth({ dataDir: dir, configFile });
  bedrock = new BedrockRuntimeClient({ region: 'us-east-1', endpoint: server.endpoint,
                                       credentials: ROOT, maxAttempts: 1 });
});

after(async () => { await server?.stop(); });

const text = (s) => new TextEncoder().encode(s);
const doc = (format, name, bytes) => ({ document: { format, name, source: { bytes } } });
const question = { text: 'What is the invoice total?' };

const converse = (content, extra = {}) => bedrock.send(new ConverseCommand({
  modelId: SMALL, messages: [{ role: 'user', content }],
  inferenceConfig: { maxTokens: 4, temperature: 0 }, ...extra }));

function fiveDocuments() {
  return [
    doc('pdf', 'Invoice 2041', files['invoice.pdf']),
    doc('csv', 'prices csv', text('item,price\nbolt,0.10\nnut,0.05\n')),
    doc('docx', 'memo', files['memo.docx']),
    doc('xlsx', 'prices (sheet)', files['prices.xlsx']),
    doc('html', 'web page', text('<html><body><h1>Terms</h1><script>x()</script><p>Pay in 30 days.</p>')),
  ];
}

test('Converse reads PDF, CSV, DOCX, XLSX and HTML documents and counts their tokens', async () => {
  const plain = await converse([question]);
  const r = await converse([...fiveDocuments(), question]);
  assert.equal(r.output.message.role, 'assistant');
  assert.ok(Number.isInteger(r.usage.inputTokens));
  // Every document's text is in the prompt: far more input tokens than the question alone.
  assert.ok(r.usage.inputTokens > plain.usage.inputTokens + 60,
            `${r.usage.inputTokens} vs ${plain.usage.inputTokens}`);
  // One more document adds tokens again (the text is tokenized like any other prompt text).
  const four = await converse([...fiveDocuments().slice(0, 4), question]);
  assert.ok(r.usage.inputTokens > four.usage.inputTokens);
});

test('ConverseStream with documents reports the same inputTokens as Converse', async () => {
  const content = [...fiveDocuments(), question];
  const unary = await converse(content);
  const r = await bedrock.send(new ConverseStreamCommand({
    modelId: SMALL, messages: [{ role: 'user', content }],
    inferenceConfig: { maxTokens: 4, temperature: 0 } }));
  let metadata;
  for await (const event of r.stream) if (event.metadata) metadata = event.metadata;
  assert.equal(metadata.usage.inputTokens, unary.usage.inputTokens);
});

test('a 20-page PDF inside a Converse call: parse time', async () => {
  const timed = async (content) => {
    const start = performance.now();
    const r = await converse(content, { inferenceConfig: { maxTokens: 1, temperature: 0 } });
    return { ms: performance.now() - start, r };
  };
  const small = await timed([doc('pdf', 'one page', files['invoice.pdf']), question]);
  const big = await timed([doc('pdf', 'report', files['report20.pdf']), question]);
  assert.ok(big.r.usage.inputTokens > small.r.usage.inputTokens * 10);
  // The parse alone: documents are read in order, so a request whose second document is refused
  // (image-only) has parsed the first one in full before answering; the difference between that
  // and the refused document alone is the 20-page PDF's parse time, without the model's prefill.
  const refusedAfter = async (content) => {
    let best = Infinity;
    for (let run = 0; run < 5; ++run) {
      const start = performance.now();
      await assert.rejects(converse(content), /no text layer/);
      best = Math.min(best, performance.now() - start);
    }
    return best;
  };
  const scanOnly = await refusedAfter([doc('pdf', 'scan', files['scan.pdf']), question]);
  const withReport = await refusedAfter([doc('pdf', 'report', files['report20.pdf']),
                                         doc('pdf', 'scan', files['scan.pdf']), question]);
  console.log(`20-page PDF (${files['report20.pdf'].length} bytes, ${big.r.usage.inputTokens} ` +
              `input tokens): parse ${(withReport - scanOnly).toFixed(1)} ms inside Converse ` +
              `(refused-after-parse ${withReport.toFixed(1)} ms vs ${scanOnly.toFixed(1)} ms); ` +
              `whole Converse with maxTokens 1: ${big.ms.toFixed(1)} ms (1-page PDF: ` +
              `${small.ms.toFixed(1)} ms)`);
});

const refused = async (content, pattern, send = converse) => {
  await assert.rejects(send(content), (e) => {
    assert.equal(e.name, 'ValidationException', `${e.name}: ${e.message}`);
    assert.equal(e.$metadata.httpStatusCode, 400);
    assert.match(e.message, pattern);
    return true;
  });
};

test('bad documents are ValidationExceptions with the reason', async () => {
  const six = [...fiveDocuments(), doc('txt', 'sixth', text('six'))];
  await refused([...six, question], /at most 5 documents/);
  await refused([doc('txt', 'same', text('a')), doc('md', 'same', text('b')), question],
                /'same' is used more than once/);
  await refused([doc('txt', 'bad_name.txt', text('a')), question], /may contain only alphanumeric/);
  await refused([doc('txt', 'two  spaces', text('a')), question], /no more than one in a row/);
  await refused([doc('txt', 'big', new Uint8Array(4718593).fill(97)), question], /4\.5 MB/);
  await refused([doc('pdf', 'not a pdf', text('a,b\n1,2\n')), question], /not a PDF/);
  await refused([doc('docx', 'pdf as docx', files['invoice.pdf']), question], /no zip signature/);
  await refused([doc('xlsx', 'docx as xlsx', files['memo.docx']), question], /xl\/workbook\.xml/);
  await refused([doc('csv', 'pdf as csv', files['invoice.pdf']), question], /not text/);
  await refused([doc('pdf', 'locked', files['encrypted.pdf']), question], /encrypted/);
  await refused([doc('pdf', 'scan', files['scan.pdf']), question], /no text layer/);
  await refused([doc('docx', 'broken', files['corrupt.docx']), question], /corrupt or truncated/);
  await refused([doc('docx', 'ole', files['legacy.bin']), question], /legacy binary Office/);
  await refused([doc('doc', 'word97', files['legacy.bin']), question], /format 'doc'/);
  await refused([doc('xls', 'excel97', files['legacy.bin']), question], /format 'xls'/);
});

test('ConverseStream refuses a bad document before the stream starts', async () => {
  const stream = (content) => bedrock.send(new ConverseStreamCommand({
    modelId: SMALL, messages: [{ role: 'user', content }] }));
  await refused([doc('pdf', 'locked', files['encrypted.pdf']), question], /encrypted/, stream);
});

test('InvokeModel with Anthropic document blocks (base64 PDF and plain text)', async () => {
  const invoke = (content) => bedrock.send(new InvokeModelCommand({
    modelId: 'anthropic.claude-3-haiku-20240307-v1:0', contentType: 'application/json',
    body: JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 4,
                           messages: [{ role: 'user', content }] }) }));
  const pdf = { type: 'document', title: 'Invoice',
                source: { type: 'base64', media_type: 'application/pdf',
                          data: Buffer.from(files['invoice.pdf']).toString('base64') } };
  const notes = { type: 'document',
                  source: { type: 'text', media_type: 'text/plain', data: 'Paid on 3 June.' } };
  const ask = { type: 'text', text: 'Total?' };
  const plain = JSON.parse(new TextDecoder().decode((await invoke([ask])).body));
  const body = JSON.parse(new TextDecoder().decode((await invoke([pdf, notes, ask])).body));
  assert.equal(body.type, 'message');
  assert.ok(body.usage.input_tokens > plain.usage.input_tokens + 20);
  await refused([{ ...pdf, source: { ...pdf.source, data: Buffer.from(files['scan.pdf']).toString('base64') } }, ask],
                /no text layer/, invoke);
});

test('OpenAI chat completions with a file part (data URL)', async () => {
  const client = new OpenAI({ baseURL: `${server.endpoint}/v1`,
                              apiKey: await mintBearerToken(server.endpoint), maxRetries: 0 });
  const file = { type: 'file', file: { filename: 'memo.docx', file_data:
    `data:application/vnd.openxmlformats-officedocument.wordprocessingml.document;base64,${Buffer.from(files['memo.docx']).toString('base64')}` } };
  const ask = { type: 'text', text: 'When is the launch?' };
  const plain = await client.chat.completions.create({
    model: SMALL, max_tokens: 4, temperature: 0, messages: [{ role: 'user', content: [ask] }] });
  const r = await client.chat.completions.create({
    model: SMALL, max_tokens: 4, temperature: 0, messages: [{ role: 'user', content: [file, ask] }] });
  assert.ok(r.usage.prompt_tokens > plain.usage.prompt_tokens + 20);
  await assert.rejects(client.chat.completions.create({
    model: SMALL, max_tokens: 4, messages: [{ role: 'user', content: [
      { type: 'file', file: { filename: 'old.doc', file_data: 'data:application/msword;base64,AAAA' } }, ask] }] }),
  (e) => e.status === 400 && /format 'doc'/.test(e.message));
});
