// Acceptance: a hard budget under 50 concurrent Converse calls from the AWS SDK for JavaScript v3
// against a real plinth serve and the real fixture model; GET /v1/budgets, GET /metrics, and the
// spend rebuilt after a restart.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignatureV4 } from '@smithy/signature-v4';
import { Hash } from '@smithy/hash-node';
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { startPlinth, repoRoot, ROOT, SMALL } from './harness.mjs';

// One output token costs exactly 1 USD and input is free, so a call with maxTokens = 1 reserves
// exactly 1 USD and (answering one token) spends exactly 1 USD: a 10 USD budget admits 10.
const LIMIT_USD = 10;
const CALLS = 50;

let server;
let dir;
let configFile;

function writeBudgetConfig() {
  dir = mkdtempSync(join(tmpdir(), 'plinth-budgets-'));
  configFile = join(dir, 'plinth.toml');
  writeFileSync(configFile, `
listen = "127.0.0.1:0"
[[models]]
id = "${SMALL}"
file = "${join(repoRoot, 'models', 'qwen2-32-tied-q8_0.gguf')}"
kind = "text"
price_input_per_mtok = 0.0
price_output_per_mtok = 1000000.0
[[budgets]]
id = "account-daily"
scope = "account"
match = "*"
period = "day"
limit_usd = ${LIMIT_USD}.0
soft_limit_usd = 5.0
# All ${CALLS} calls must reach the budget check: no load shedding in front of it.
[server]
max_queued_requests = ${CALLS}
max_queue_wait_ms = 0
`);
}

async function signedFetch(path, { method = 'GET', service = 'plinth', body } = {}) {
  const url = new URL(server.endpoint);
  const signer = new SignatureV4({ credentials: ROOT, region: 'us-east-1', service,
                                   sha256: Hash.bind(null, 'sha256') });
  const headers = { host: url.host };
  if (body) headers['content-type'] = 'application/json';
  const request = await signer.sign({
    method, protocol: 'http:', hostname: url.hostname, port: Number(url.port), path, headers, body,
  });
  return fetch(`${server.endpoint}${path}`, { method, headers: request.headers, body });
}

async function budgets() {
  const r = await signedFetch('/v1/budgets');
  assert.equal(r.status, 200);
  return (await r.json()).budgets;
}

const converse = (client) => client.send(new ConverseCommand({
  modelId: SMALL,
  messages: [{ role: 'user', content: [{ text: 'Total?' }] }],
  inferenceConfig: { maxTokens: 1, temperature: 0 },
}));

before(async () => {
  writeBudgetConfig();
  server = await startPlinth({ dataDir: dir, configFile });
});

after(async () => { await server?.stop(); });

test('a hard budget admits exactly what it can pay for under 50 concurrent calls', async () => {
  const client = new BedrockRuntimeClient({ region: 'us-east-1', endpoint: server.endpoint,
                                            credentials: ROOT, maxAttempts: 1 });
  const results = await Promise.allSettled(Array.from({ length: CALLS }, () => converse(client)));
  const ok = results.filter((r) => r.status === 'fulfilled');
  const refused = results.filter((r) => r.status === 'rejected');
  for (const r of ok) assert.equal(r.value.usage.outputTokens, 1);
  for (const r of refused) {
    assert.equal(r.reason.name, 'ThrottlingException', String(r.reason));
    assert.equal(r.reason.$metadata.httpStatusCode, 429);
    assert.match(r.reason.message, /account-daily/);
    assert.match(r.reason.message, /of 10 USD per day/);
  }
  assert.equal(ok.length, LIMIT_USD);
  assert.equal(refused.length, CALLS - LIMIT_USD);

  const usage = await signedFetch('/v1/usage')  // grouped by model;
  const report = await usage.json();
  assert.equal(usage.status, 200, JSON.stringify(report));
  // Never more than one call's estimate (1 USD) over the limit; here exactly the limit.
  assert.ok(report.total.cost_usd <= LIMIT_USD + 1, JSON.stringify(report));
  assert.equal(report.total.cost_usd, LIMIT_USD);

  const [budget] = await budgets();
  assert.deepEqual(Object.keys(budget).sort(), ['id', 'key', 'limit_usd', 'match', 'period',
    'period_start', 'reserved_usd', 'scope', 'soft_limit_usd', 'spent_usd', 'status',
    'used_fraction'].sort());
  assert.equal(budget.id, 'account-daily');
  assert.equal(budget.key, '000000000000');
  assert.equal(budget.spent_usd, LIMIT_USD);
  assert.equal(budget.reserved_usd, 0);
  assert.equal(budget.used_fraction, 1);
  assert.equal(budget.status, 'exhausted');
  assert.match(budget.period_start, /^\d{4}-\d{2}-\d{2}T00:00:00Z$/);
});

test('the OpenAI path refuses an exhausted budget with its 429 shape', async () => {
  const body = JSON.stringify({ model: SMALL, messages: [{ role: 'user', content: 'Hi' }],
                                max_tokens: 1 });
  const r = await signedFetch('/v1/chat/completions', { method: 'POST', service: 'bedrock', body });
  assert.equal(r.status, 429);
  const error = (await r.json()).error;
  assert.match(error.message, /account-daily/);
});

test('GET /metrics is well-formed Prometheus text and counted the calls', async () => {
  const r = await fetch(`${server.endpoint}/metrics`);  // open by default: scrapers do not sign
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  const text = await r.text();
  const types = new Map();
  const samples = new Map();
  for (const line of text.trimEnd().split('\n')) {
    let m;
    if ((m = line.match(/^# HELP (\w+) .+$/))) continue;
    if ((m = line.match(/^# TYPE (\w+) (counter|gauge|histogram)$/))) {
      types.set(m[1], m[2]);
      continue;
    }
    m = line.match(/^(\w+)(\{[^}]*\})? (\S+)$/);
    assert.ok(m, `malformed line: ${line}`);
    const family = m[1].replace(/_(bucket|sum|count)$/, '');
    assert.ok(types.has(m[1]) || types.get(family) === 'histogram', `no TYPE for ${line}`);
    samples.set(m[1] + (m[2] ?? ''), Number(m[3]));
  }
  const get = (series) => samples.get(series);
  assert.equal(get('plinth_requests_total{operation="Converse",model="qwen2-small",status="2xx"}'),
               LIMIT_USD);
  assert.equal(get('plinth_requests_total{operation="Converse",model="qwen2-small",status="4xx"}'),
               CALLS - LIMIT_USD);
  assert.equal(get('plinth_tokens_total{model="qwen2-small",direction="output"}'), LIMIT_USD);
  assert.equal(get('plinth_cost_usd_total{model="qwen2-small"}'), LIMIT_USD);
  assert.equal(get('plinth_budget_used_fraction{budget="account-daily"}'), 1);
  assert.equal(get('plinth_budget_soft_limit_crossings_total{budget="account-daily"}'), 1);
  assert.equal(get('plinth_request_duration_seconds_count{operation="Converse"}'), CALLS);
  assert.equal(get('plinth_request_duration_seconds_bucket{operation="Converse",le="+Inf"}'),
               CALLS);
  assert.ok(!text.includes('arn:aws'), 'no principal ARNs in labels');
});

test('spend survives a restart: the budget is rebuilt from the ledger', async () => {
  await server.stop();
  server = await startPlinth({ dataDir: dir, configFile });
  const [budget] = await budgets();
  assert.equal(budget.spent_usd, LIMIT_USD);
  assert.equal(budget.status, 'exhausted');
  const client = new BedrockRuntimeClient({ region: 'us-east-1', endpoint: server.endpoint,
                                            credentials: ROOT, maxAttempts: 1 });
  await assert.rejects(converse(client), { name: 'ThrottlingException' });
});
