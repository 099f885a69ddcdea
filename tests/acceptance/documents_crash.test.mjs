// Acceptance: kill -9 while pipeline stages run, restart on the same data dir, and every
// accepted document still succeeds exactly once — one ledger row per model stage, one set of
// chunks per document in the vector store (counted in the database itself).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignatureV4 } from '@smithy/signature-v4';
import { Hash } from '@smithy/hash-node';
import { startPlinth, writeConfig, ROOT } from './harness.mjs';

const N = 10;
let dir;
let config;
let server;

async function call(method, path, { body, headers = {} } = {}) {
  const url = new URL(server.endpoint + path);
  const signer = new SignatureV4({ credentials: ROOT, region: 'us-east-1', service: 'plinth',
                                   sha256: Hash.bind(null, 'sha256') });
  const request = await signer.sign({
    method, protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: url.pathname,
    query: Object.fromEntries(url.searchParams), headers: { host: url.host, ...headers }, body });
  return fetch(url, { method, headers: request.headers, body });
}

async function waitForEnd(jobId) {
  const r = await call('GET', `/v1/jobs/${jobId}/events`);
  assert.equal(r.status, 200);
  const text = await r.text();  // the stream ends after job.succeeded / job.failed
  const ends = [...text.matchAll(/^event: (job\.\w+)$/gm)].map((m) => m[1]);
  return ends;
}

const sql = (query) => execFileSync('sqlite3', ['-readonly', join(dir, 'data', 'plinth.db'), query],
                                    { encoding: 'utf8' }).trim();

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plinth-documents-crash-'));
  config = writeConfig(dir);
  appendFileSync(config, `
[documents]
workers = 2
visibility_timeout_seconds = 2
extract_max_tokens = 48
analysis_max_tokens = 48
chunk_words = 20
chunk_overlap_words = 4
`);
  server = await startPlinth({ dataDir: dir, configFile: config });
});

after(async () => { await server?.stop(); });

test('documents survive kill -9 mid-pipeline and are processed exactly once', async (t) => {
  let r = await call('POST', '/v1/pipelines', { body: JSON.stringify({
    name: 'crash',
    extract: { schema: { type: 'object', properties: { total: { type: 'number' } }, required: ['total'] } },
    classify: { labels: ['invoice', 'receipt', 'other'] },
    analyze: { instructions: 'Summarize.' } }) });
  assert.equal(r.status, 201, await r.clone().text());
  const jobs = [];
  for (let i = 0; i < N; i++) {
    const words = Array.from({ length: 60 }, (_, k) => `word${i}x${k}`).join(' ');
    r = await call('POST', '/v1/pipelines/crash/documents', {
      body: `Document ${i}. Invoice total ${i}.50 EUR. ${words}`,
      headers: { 'content-type': 'text/plain' } });
    assert.equal(r.status, 202);
    jobs.push(await r.json());
  }
  // Kill once some jobs are done and some are not: stages are then running or queued.
  const deadline = Date.now() + 60_000;
  let killedMidway = false;
  while (Date.now() < deadline) {
    const list = (await (await call('GET', '/v1/jobs?limit=50')).json()).jobs;
    const done = list.filter((j) => j.status === 'succeeded').length;
    if (done >= 1 && done < N) {
      server.child.kill('SIGKILL');
      await new Promise((resolve) => server.child.once('exit', resolve));
      killedMidway = true;
      break;
    }
    if (done === N) break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.ok(killedMidway, 'the pipeline finished before the kill; raise N');

  server = await startPlinth({ dataDir: dir, configFile: config });
  for (const job of jobs) {
    const ends = await waitForEnd(job.jobId);
    assert.deepEqual(ends, ['job.succeeded'], job.jobId);
  }
  let chunks = 0;
  for (const job of jobs) {
    const doc = await (await call('GET', `/v1/documents/${job.documentId}`)).json();
    assert.equal(doc.status, 'succeeded');
    chunks += doc.stats.chunks;
  }
  // One ledger row per model stage and document, never two.
  const [rows, distinct] = sql(
    "SELECT COUNT(*), COUNT(DISTINCT request_id) FROM ledger_usage WHERE request_id LIKE 'job:%'")
    .split('|').map(Number);
  assert.equal(rows, 4 * N);
  assert.equal(distinct, 4 * N);
  // Exactly the chunks the documents report, each (document, chunk) once.
  const [stored, unique] = sql(
    'SELECT COUNT(*), COUNT(DISTINCT document_id || \'/\' || chunk_index) FROM vectors_chunks')
    .split('|').map(Number);
  assert.equal(stored, chunks);
  assert.equal(unique, chunks);
});
