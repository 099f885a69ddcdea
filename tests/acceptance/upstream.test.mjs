// Acceptance: a front `plinth serve` whose models are answered by a back `plinth serve` through
// the openai provider kind, driven by the AWS SDK and the OpenAI SDK: Converse, ConverseStream
// with a tool, chat completions + SSE, embeddings, a router escalating from the front's local
// small tier to the upstream large tier, and upstream faults from a tiny Node server (429, 500,
// stalled, killed, a complete answer that breaks the tool's schema): retries, fallback, and the
// client's error type.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignatureV4 } from '@smithy/signature-v4';
import { Hash } from '@smithy/hash-node';
import OpenAI from 'openai';
import {
  BedrockRuntimeClient, ConverseCommand, ConverseStreamCommand,
} from '@aws-sdk/client-bedrock-runtime';
import { startPlinth, mintBearerToken, repoRoot, ROOT, SMALL, LARGE, EMBED } from './harness.mjs';

const region = 'us-east-1';
let back;
let front;
// Status by path prefix: /throttle -> 429, /broken -> 500, /stall -> never answers, /sloppy -> a
// 200 tool call whose arguments break the schema.
let faults;
const hits = { throttle: 0, broken: 0, stall: 0 };

function startFaultServer() {
  return new Promise((resolve) => {
    const server = http.createServer((req, res) => {
      const kind = req.url.split('/')[1];
      hits[kind] = (hits[kind] ?? 0) + 1;
      req.resume();
      if (kind === 'stall') return;  // never answers: the front's read timeout must fire
      if (kind === 'sloppy') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'm',
          choices: [{ index: 0, finish_reason: 'tool_calls', message: { role: 'assistant',
            content: null, tool_calls: [{ id: 'call_1', type: 'function',
              function: { name: 'record', arguments: '{"total":"nine"}' } }] } }],
          usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 } }));
        return;
      }
      const status = kind === 'throttle' ? 429 : 500;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `fault server says ${status}` } }));
    });
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

function frontConfig(dir, backEndpoint, faultPort) {
  const models = join(repoRoot, 'models');
  const fault = (id, path, retries) => `
[[providers]]
id = "${id}"
kind = "openai"
base_url = "http://127.0.0.1:${faultPort}/${path}/v1"
timeout_seconds = 1
max_retries = ${retries}
`;
  const upstream = (id, name, tier, extra = '') => `
[[models]]
id = "${id}"
provider = "back"
upstream_model = "${name}"
tier = "${tier}"
price_input_per_mtok = 3.0
price_output_per_mtok = 15.0
${extra}`;
  const config = `
listen = "127.0.0.1:0"
region = "${region}"
[[providers]]
id = "back"
kind = "openai"
base_url = "${backEndpoint}/v1"
api_key_env = "BACK_PLINTH_TOKEN"
timeout_seconds = 30
${fault('throttler', 'throttle', 2)}${fault('breaker', 'broken', 0)}${fault('staller', 'stall', 0)}
${fault('sloppier', 'sloppy', 0)}
[[models]]
id = "local-small"
file = "${models}/qwen2-32-tied-q8_0.gguf"
tier = "small"
price_input_per_mtok = 0.25
price_output_per_mtok = 1.25
${upstream('up-small', SMALL, 'small')}
${upstream('up-large', LARGE, 'large')}
${upstream('up-embed', EMBED, 'small', 'kind = "embedding"')}
[[models]]
id = "throttled"
provider = "throttler"
tier = "small"
[[models]]
id = "broken"
provider = "breaker"
tier = "small"
fallbacks = ["up-small"]
[[models]]
id = "stalled"
provider = "staller"
tier = "small"
[[models]]
id = "sloppy"
provider = "sloppier"
tier = "small"
[[routers]]
id = "router.split"
small = "local-small"
large = "up-large"
escalate_on = ["invalid_output"]
`;
  const file = join(dir, 'front.toml');
  writeFileSync(file, config);
  return file;
}

const bedrock = () => new BedrockRuntimeClient({ region, endpoint: front.endpoint,
                                                  credentials: ROOT, maxAttempts: 1 });
const ask = (modelId, extra = {}) => ({
  modelId, messages: [{ role: 'user', content: [{ text: 'What is the total of invoice 42?' }] }],
  inferenceConfig: { maxTokens: 8, temperature: 0 }, ...extra });
const recordTool = {
  tools: [{ toolSpec: { name: 'record', inputSchema: { json: { type: 'object',
    properties: { total: { type: 'integer' } }, required: ['total'] } } } }],
  toolChoice: { tool: { name: 'record' } } };

before(async () => {
  faults = await startFaultServer();
  back = await startPlinth();
  const token = await mintBearerToken(back.endpoint, 3600);
  const dir = mkdtempSync(join(tmpdir(), 'plinth-front-'));
  front = await startPlinth({ dataDir: dir, configFile: frontConfig(dir, back.endpoint,
                                                                     faults.address().port),
                              extraEnv: { BACK_PLINTH_TOKEN: token } });
});

after(async () => {
  await front?.stop();
  await back?.stop();
  faults?.close();
});

test('Converse through the front is answered by the back with its usage', async () => {
  const viaFront = await bedrock().send(new ConverseCommand(ask('up-small')));
  const direct = await new BedrockRuntimeClient({ region, endpoint: back.endpoint, credentials: ROOT,
                                                  maxAttempts: 1 })
    .send(new ConverseCommand(ask(SMALL)));
  assert.deepEqual(viaFront.output, direct.output);
  assert.equal(viaFront.usage.inputTokens, direct.usage.inputTokens);
  assert.equal(viaFront.usage.outputTokens, direct.usage.outputTokens);
});

test('ConverseStream with a forced tool streams the tool use', async () => {
  const r = await bedrock().send(new ConverseStreamCommand(ask('up-small', {
    inferenceConfig: { maxTokens: 48, temperature: 0 }, toolConfig: recordTool })));
  let name; let input = ''; let stop; let fragments = 0;
  for await (const event of r.stream) {
    if (event.contentBlockStart?.start?.toolUse) name = event.contentBlockStart.start.toolUse.name;
    if (event.contentBlockDelta?.delta?.toolUse) {
      input += event.contentBlockDelta.delta.toolUse.input;
      ++fragments;
    }
    if (event.messageStop) stop = event.messageStop.stopReason;
  }
  assert.equal(name, 'record');
  // The back's argument deltas stream through live, not as one input at the end.
  assert.ok(fragments > 1, `${fragments} toolUse delta(s)`);
  assert.equal(stop, 'tool_use');
  assert.equal(typeof JSON.parse(input).total, 'number');
});

test('chat completions, SSE and embeddings through the OpenAI SDK', async () => {
  const openai = new OpenAI({ apiKey: await mintBearerToken(front.endpoint),
                              baseURL: `${front.endpoint}/v1`, maxRetries: 0 });
  const chat = await openai.chat.completions.create({ model: 'up-small', max_tokens: 6,
    temperature: 0, messages: [{ role: 'system', content: 'Be brief.' },
                               { role: 'user', content: 'Hello' }] });
  assert.equal(chat.model, 'up-small');
  assert.ok(chat.usage.completion_tokens > 0);
  const stream = await openai.chat.completions.create({ model: 'up-small', max_tokens: 6,
    stream: true, stream_options: { include_usage: true },
    messages: [{ role: 'user', content: 'Hello' }] });
  let text = ''; let usage;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta?.content ?? '';
    if (chunk.usage) usage = chunk.usage;
  }
  assert.ok(text.length > 0);
  assert.ok(usage.prompt_tokens > 0);
  const embedding = await openai.embeddings.create({ model: 'up-embed', input: 'invoice 42' });
  assert.equal(embedding.data[0].embedding.length, 1024);
});

test('a router escalates from the local small tier to the upstream large tier', async () => {
  const r = await bedrock().send(new ConverseCommand(ask('router.split', {
    inferenceConfig: { maxTokens: 2, temperature: 0 }, toolConfig: recordTool })));
  assert.equal(r.trace.promptRouter.invokedModelId,
               `arn:aws:bedrock:${region}::foundation-model/up-large`);
});

test('upstream faults: retries, fallback and the error types the SDK sees', async () => {
  await assert.rejects(bedrock().send(new ConverseCommand(ask('throttled'))),
                       (e) => e.name === 'ThrottlingException' && /fault server says 429/.test(e.message));
  assert.equal(hits.throttle, 3);  // the try and max_retries = 2
  const fellBack = await bedrock().send(new ConverseCommand(ask('broken')));
  assert.ok(fellBack.usage.outputTokens > 0);
  assert.equal(hits.broken, 1);
  await assert.rejects(bedrock().send(new ConverseCommand(ask('stalled'))),
                       (e) => e.name === 'ModelTimeoutException');
  // The back killed: the front answers ServiceUnavailableException, not a hang or a crash.
  await back.stop();
  back = undefined;
  await assert.rejects(bedrock().send(new ConverseCommand(ask('up-small'))),
                       (e) => e.name === 'ServiceUnavailableException');
});

test('an upstream answer that breaks the schema reaches the SDKs as a model error', async () => {
  await assert.rejects(bedrock().send(new ConverseCommand(ask('sloppy', { toolConfig: recordTool }))),
                       (e) => e.name === 'ModelErrorException' && e.$metadata.httpStatusCode === 424
                         && /does not match the requested JSON schema/.test(e.message));
  const openai = new OpenAI({ apiKey: await mintBearerToken(front.endpoint),
                              baseURL: `${front.endpoint}/v1`, maxRetries: 0 });
  await assert.rejects(openai.chat.completions.create({ model: 'sloppy',
    messages: [{ role: 'user', content: 'Invoice 42 totals 9.' }],
    tools: [{ type: 'function', function: { name: 'record',
      parameters: recordTool.tools[0].toolSpec.inputSchema.json } }],
    tool_choice: { type: 'function', function: { name: 'record' } } }),
  (e) => e.status === 500 && e.code === 'model_error');
  assert.equal(hits.sloppy, 2);  // never retried: the answer was complete, only wrong
});

test('the front ledger records the upstream calls and the escalation', async () => {
  const url = new URL(front.endpoint);
  const signer = new SignatureV4({ credentials: ROOT, region, service: 'plinth',
                                   sha256: Hash.bind(null, 'sha256') });
  const path = '/v1/usage';
  const request = await signer.sign({ method: 'GET', protocol: 'http:', hostname: url.hostname,
    port: Number(url.port), path, query: { group_by: 'model' }, headers: { host: url.host } });
  const r = await fetch(`${front.endpoint}${path}?group_by=model`, { headers: request.headers });
  assert.equal(r.status, 200);
  const byModel = Object.fromEntries((await r.json()).groups.map((g) => [g.key, g]));
  assert.ok(byModel['up-small'].requests >= 3);
  assert.equal(byModel['up-large'].escalations, 1);
});
