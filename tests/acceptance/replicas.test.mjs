// Acceptance (issue 15): three `plinth serve --storage-url postgresql://…` replicas on one database,
// driven by the AWS SDK for JavaScript v3: credentials from AssumeRole on replica 1 work on 2 and
// 3; an IAM change on one is in force on the others at once; 50 documents submitted round-robin
// with one replica kill -9'ed mid-pipeline and restarted all succeed exactly once (ledger rows
// once per stage, chunks unique); Retrieve on replica 3 finds a chunk indexed through replica 1;
// an inference profile made on one replica works on another; /health and /metrics report the
// database, migrations, pool and queue per replica; a budget admitting 10 calls admits exactly 10
// of 150 concurrent calls over the replicas.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignatureV4 } from '@smithy/signature-v4';
import { Hash } from '@smithy/hash-node';
import { IAMClient, CreateRoleCommand, PutRolePolicyCommand, DeleteRolePolicyCommand }
  from '@aws-sdk/client-iam';
import { STSClient, AssumeRoleCommand } from '@aws-sdk/client-sts';
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { BedrockAgentRuntimeClient, RetrieveCommand } from '@aws-sdk/client-bedrock-agent-runtime';
import { BedrockClient, CreateInferenceProfileCommand, GetInferenceProfileCommand }
  from '@aws-sdk/client-bedrock';
import { startPlinth, writeConfig, repoRoot, ROOT, SMALL } from './harness.mjs';

const region = 'us-east-1';
const DOCUMENTS = 50;
const BUDGET_USD = 10;
const BUDGET_CALLS = 150;

// The cluster from scripts/test.sh (PLINTH_TEST_PG_URL) or the ctest pg_cluster fixture.
function serverUrl() {
  if (process.env.PLINTH_TEST_PG_URL) return process.env.PLINTH_TEST_PG_URL;
  const file = join(process.env.PLINTH_TEST_PG_STATE_DIR ?? '', 'url');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  throw new Error('no PostgreSQL: run through ctest (pg_cluster fixture) or set PLINTH_TEST_PG_URL');
}
const withDatabase = (url, name) => url.replace(/\/[^/?]*(\?|$)/, `/${name}$1`);
function freshDatabase() {
  const name = `t_replicas_${randomBytes(6).toString('hex')}`;
  execFileSync('psql', [serverUrl(), '-qc', `CREATE DATABASE ${name}`]);
  return withDatabase(serverUrl(), name);
}
const sql = (url, query) => execFileSync('psql', [url, '-Atc', query], { encoding: 'utf8' }).trim();

// Replicas share the database and, by configuration, the session and master keys.
const sharedEnv = {
  PLINTH_SESSION_KEY: randomBytes(32).toString('hex'),
  PLINTH_MASTER_KEY: randomBytes(32).toString('hex'),
};

function startReplicas(url, configText) {
  const dirs = [0, 1, 2].map(() => mkdtempSync(join(tmpdir(), 'plinth-replica-')));
  const configs = dirs.map((dir) => {
    const file = writeConfig(dir);
    if (configText) writeFileSync(file, readFileSync(file, 'utf8') + configText);
    return file;
  });
  const start = (i) => startPlinth({ dataDir: dirs[i], configFile: configs[i], extraEnv: sharedEnv,
                                     extraArgs: ['--storage-url', url] });
  return { start, dirs, configs };
}

async function call(server, method, path, { body, headers = {} } = {}) {
  const url = new URL(server.endpoint + path);
  const signer = new SignatureV4({ credentials: ROOT, region, service: 'plinth',
                                   sha256: Hash.bind(null, 'sha256') });
  const request = await signer.sign({
    method, protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: url.pathname,
    query: Object.fromEntries(url.searchParams), headers: { host: url.host, ...headers }, body });
  return fetch(url, { method, headers: request.headers, body });
}

const clientConfig = (server, credentials) => ({ region, endpoint: server.endpoint, credentials,
                                                 maxAttempts: 1 });

let url;
let cluster;
let replicas = [];

before(async () => {
  url = freshDatabase();
  cluster = startReplicas(url, `
[documents]
workers = 2
visibility_timeout_seconds = 2
extract_max_tokens = 16
analysis_max_tokens = 16
chunk_words = 40
chunk_overlap_words = 4
`);
  // One after the other: migrations are also safe concurrently (advisory lock), but each start
  // loads the models, and two cores are better spent one start at a time.
  for (let i = 0; i < 3; i++) replicas.push(await cluster.start(i));
});

after(async () => { for (const r of replicas) await r?.stop(); });

test('credentials from AssumeRole on replica 1 work on 2 and 3; IAM changes apply at once',
     async () => {
  const iam = new IAMClient(clientConfig(replicas[0], ROOT));
  const trust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow',
    Principal: { AWS: 'arn:aws:iam::000000000000:root' }, Action: 'sts:AssumeRole' }] };
  await iam.send(new CreateRoleCommand({ RoleName: 'app', AssumeRolePolicyDocument:
                                         JSON.stringify(trust) }));
  const policy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow',
    Action: 'bedrock:InvokeModel', Resource: '*' }] };
  await iam.send(new PutRolePolicyCommand({ RoleName: 'app', PolicyName: 'invoke',
                                            PolicyDocument: JSON.stringify(policy) }));
  const assumed = await new STSClient(clientConfig(replicas[0], ROOT)).send(new AssumeRoleCommand({
    RoleArn: 'arn:aws:iam::000000000000:role/app', RoleSessionName: 'replicas' }));
  const c = assumed.Credentials;
  const temporary = { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey,
                      sessionToken: c.SessionToken };
  const converse = (server) => new BedrockRuntimeClient(clientConfig(server, temporary)).send(
    new ConverseCommand({ modelId: SMALL, messages: [{ role: 'user', content: [{ text: 'Hi' }] }],
                          inferenceConfig: { maxTokens: 2, temperature: 0 } }));
  for (const server of replicas) {
    const r = await converse(server);
    assert.ok(r.usage.outputTokens > 0);
  }
  // Revoked through replica 2: replicas 1 and 3 refuse at once.
  await new IAMClient(clientConfig(replicas[1], ROOT)).send(
    new DeleteRolePolicyCommand({ RoleName: 'app', PolicyName: 'invoke' }));
  for (const server of [replicas[0], replicas[2]]) {
    await assert.rejects(converse(server), (e) => e.name === 'AccessDeniedException');
  }
});

test('50 documents round-robin, one replica kill -9ed mid-pipeline: each succeeds once',
     async () => {
  let r = await call(replicas[0], 'POST', '/v1/pipelines', { body: JSON.stringify({
    name: 'replicated',
    extract: { schema: { type: 'object', properties: { total: { type: 'number' } } } },
    classify: { labels: ['invoice', 'other'] },
    analyze: { instructions: 'Summarize.' } }) });
  assert.equal(r.status, 201, await r.clone().text());
  const submitted = [];
  for (let i = 0; i < DOCUMENTS; i++) {
    const words = Array.from({ length: 30 }, (_, k) => `w${i}x${k}`).join(' ');
    r = await call(replicas[i % 3], 'POST', '/v1/pipelines/replicated/documents', {
      body: `Document ${i}. Invoice total ${i}.50 EUR. ${words}`,
      headers: { 'content-type': 'text/plain' } });
    assert.equal(r.status, 202, await r.clone().text());
    submitted.push(await r.json());
  }
  // Kill replica 2 once some documents are done and others are not.
  const deadline = Date.now() + 60_000;
  let killed = false;
  while (Date.now() < deadline) {
    const done = Number(sql(url, "SELECT COUNT(*) FROM jobs WHERE status = 'succeeded'"));
    if (done >= 3 && done < DOCUMENTS) {
      replicas[1].child.kill('SIGKILL');
      await new Promise((resolve) => replicas[1].child.once('exit', resolve));
      killed = true;
      break;
    }
    if (done === DOCUMENTS) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.ok(killed, 'the pipeline finished before the kill');
  replicas[1] = await cluster.start(1);
  // Every job ends, read from any replica (events are in the database).
  for (const [i, job] of submitted.entries()) {
    const events = await call(replicas[(i + 1) % 3], 'GET', `/v1/jobs/${job.jobId}/events`);
    assert.equal(events.status, 200);
    const ends = [...(await events.text()).matchAll(/^event: (job\.\w+)$/gm)].map((m) => m[1]);
    assert.deepEqual(ends, ['job.succeeded'], job.jobId);
  }
  assert.equal(sql(url, "SELECT COUNT(*) FROM jobs WHERE status = 'succeeded'"), String(DOCUMENTS));
  // One ledger row per model stage (extract, classify, embed, analyze) and document.
  const [rows, distinct] = sql(url,
    "SELECT COUNT(*), COUNT(DISTINCT request_id) FROM ledger_usage WHERE request_id LIKE 'job:%'")
    .split('|').map(Number);
  assert.equal(distinct, 4 * DOCUMENTS);
  assert.equal(rows, 4 * DOCUMENTS);
  const [chunks, unique] = sql(url,
    "SELECT COUNT(*), COUNT(DISTINCT document_id || '/' || chunk_index) FROM vectors_chunks")
    .split('|').map(Number);
  assert.ok(chunks >= DOCUMENTS);
  assert.equal(unique, chunks);
});

test('Retrieve on replica 3 finds a chunk indexed through replica 1', async () => {
  const text = 'Zebra quartz marmalade invoice from the lighthouse keeper, total 77.70 EUR.';
  let r = await call(replicas[0], 'POST', '/v1/pipelines/replicated/documents', {
    body: text, headers: { 'content-type': 'text/plain' } });
  assert.equal(r.status, 202);
  const { jobId, documentId } = await r.json();
  const events = await call(replicas[0], 'GET', `/v1/jobs/${jobId}/events`);
  assert.match(await events.text(), /event: job\.succeeded/);
  const agent = new BedrockAgentRuntimeClient(clientConfig(replicas[2], ROOT));
  const found = await agent.send(new RetrieveCommand({ knowledgeBaseId: 'kb-replicated',
    retrievalQuery: { text }, retrievalConfiguration: {
      vectorSearchConfiguration: { numberOfResults: 1 } } }));
  assert.equal(found.retrievalResults[0].location.customDocumentLocation.id, documentId);
  assert.equal(found.retrievalResults[0].content.text, text);
});

test('an inference profile created on replica 1 is found and usable on replica 3', async () => {
  const control = new BedrockClient(clientConfig(replicas[0], ROOT));
  const created = await control.send(new CreateInferenceProfileCommand({
    inferenceProfileName: 'replicated', modelSource: {
      copyFrom: `arn:aws:bedrock:${region}::foundation-model/${SMALL}` },
    tags: [{ key: 'team', value: 'alpha' }] }));
  const other = new BedrockClient(clientConfig(replicas[2], ROOT));
  const found = await other.send(new GetInferenceProfileCommand({
    inferenceProfileIdentifier: created.inferenceProfileArn }));
  assert.equal(found.inferenceProfileName, 'replicated');
  const runtime = new BedrockRuntimeClient(clientConfig(replicas[2], ROOT));
  const answer = await runtime.send(new ConverseCommand({ modelId: created.inferenceProfileArn,
    messages: [{ role: 'user', content: [{ text: 'Hi' }] }], inferenceConfig: { maxTokens: 2 } }));
  assert.equal(answer.$metadata.httpStatusCode, 200);
});

test('/health reports the shared database and its migrations; /metrics each replica\'s pool and queue',
     async () => {
  const claimed = [];
  for (const r of replicas) {
    const response = await fetch(`${r.endpoint}/health`);
    assert.equal(response.status, 200);
    const health = await response.json();
    assert.equal(health.status, 'ok');
    assert.equal(health.storage.backend, 'postgresql');
    assert.equal(health.storage.database, 'ok');
    for (const domain of ['iam', 'ledger', 'jobs', 'documents', 'vectors']) {
      assert.ok(health.storage.migrations[domain] >= 1, `${domain}: ${JSON.stringify(health)}`);
    }
    const metrics = await (await fetch(`${r.endpoint}/metrics`)).text();
    const value = (name) => Number(metrics.match(new RegExp(`^${name} (\\S+)$`, 'm'))?.[1]);
    assert.ok(value('plinth_db_pool_size') >= 1, metrics);
    assert.ok(value('plinth_db_pool_acquired_total') >= 1, metrics);
    assert.match(metrics, /^plinth_db_pool_connections\{state="in_use"\} \d+$/m);
    assert.ok(value('plinth_queue_notifications_total') >= 1, metrics);  // heard the others' enqueues
    claimed.push(value('plinth_queue_claimed_total'));
  }
  // Each replica counts only its own claims; together they claimed every document's stages.
  assert.ok(claimed.every((n) => Number.isFinite(n)), String(claimed));
  assert.ok(claimed.reduce((a, b) => a + b, 0) >= 1, String(claimed));
});

test('a budget admitting 10 calls admits exactly 10 of 150 concurrent calls over 3 replicas',
     async () => {
  for (const r of replicas) await r.stop();
  replicas = [];
  const budgetUrl = freshDatabase();
  const budgeted = startReplicas(budgetUrl, `
[[models]]
id = "priced"
file = "${join(repoRoot, 'models', 'qwen2-32-tied-q8_0.gguf')}"
kind = "text"
price_input_per_mtok = 0.0
price_output_per_mtok = 1000000.0
[[budgets]]
id = "account-daily"
scope = "account"
match = "*"
period = "day"
limit_usd = ${BUDGET_USD}.0
[server]
max_queued_requests = ${BUDGET_CALLS}
max_queue_wait_ms = 0
`);
  for (let i = 0; i < 3; i++) replicas.push(await budgeted.start(i));
  const clients = replicas.map((s) => new BedrockRuntimeClient(clientConfig(s, ROOT)));
  const results = await Promise.allSettled(Array.from({ length: BUDGET_CALLS }, (_, i) =>
    clients[i % 3].send(new ConverseCommand({ modelId: 'priced',
      messages: [{ role: 'user', content: [{ text: 'Total?' }] }],
      inferenceConfig: { maxTokens: 1, temperature: 0 } }))));
  const ok = results.filter((r) => r.status === 'fulfilled');
  for (const r of results.filter((x) => x.status === 'rejected')) {
    assert.equal(r.reason.name, 'ThrottlingException', String(r.reason));
  }
  assert.equal(ok.length, BUDGET_USD);
  const spent = Number(sql(budgetUrl, 'SELECT COALESCE(SUM(cost_micro_usd), 0) FROM ledger_usage'));
  assert.equal(spent, BUDGET_USD * 1_000_000);
  // The replicas reserved against one row in the database, and every hold is gone.
  assert.equal(sql(budgetUrl, 'SELECT budget_id, spent, reserved FROM budget_usage'),
               `account-daily|${BUDGET_USD * 1_000_000}|0`);
  assert.equal(sql(budgetUrl, 'SELECT count(*) FROM budget_holds'), '0');
});
