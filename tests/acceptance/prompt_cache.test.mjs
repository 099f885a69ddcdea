// Acceptance: explicit prompt caching through the AWS SDK for JavaScript v3 against a real plinth
// serve and the real fixture model. A Converse call with a cachePoint after a long system prompt
// writes the prefix (cacheWriteInputTokens); the next call with the same prefix reads it
// (cacheReadInputTokens), reaches its first token sooner, and the ledger bills each part at the
// configured prices.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignatureV4 } from '@smithy/signature-v4';
import { Hash } from '@smithy/hash-node';
import {
  BedrockRuntimeClient, ConverseCommand, ConverseStreamCommand,
} from '@aws-sdk/client-bedrock-runtime';
import { startPlinth, repoRoot, ROOT, SMALL } from './harness.mjs';

// Micro-dollars per token: input 1000, cache read 100, cache write 2000, output free.
const PRICES = { input: 1000, read: 100, write: 2000 };

let server;
let bedrock;

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'plinth-prompt-cache-'));
  const configFile = join(dir, 'plinth.toml');
  writeFileSync(configFile, `
listen = "127.0.0.1:0"
[[models]]
id = "${SMALL}"
file = "${join(repoRoot, 'models', 'qwen2-32-tied-q8_0.gguf')}"
kind = "text"
context_length = 4096
price_input_per_mtok = ${PRICES.input}.0
price_cache_read_per_mtok = ${PRICES.read}.0
price_cache_write_per_mtok = ${PRICES.write}.0
price_output_per_mtok = 0.0
`);
  server = await startPlinth({ dataDir: dir, configFile });
  bedrock = new BedrockRuntimeClient({ endpoint: server.endpoint, region: 'us-east-1',
                                       credentials: ROOT });
});

after(async () => { await server?.stop(); });

// A long system prompt (well over 1,000 tokens), different per `topic` so that each one starts
// uncached.
function longSystem(topic) {
  const lines = [];
  for (let i = 0; i < 150; ++i) lines.push(`Rule ${i} about ${topic}: answer briefly and cite rule ${i}.`);
  return lines.join('\n');
}

function request(topic, question) {
  return {
    modelId: SMALL,
    system: [{ text: longSystem(topic) }, { cachePoint: { type: 'default' } }],
    messages: [{ role: 'user', content: [{ text: question }] }],
    inferenceConfig: { maxTokens: 2, temperature: 0 },
  };
}

// Milliseconds to the first text delta, and the stream's usage metadata.
async function streamed(input) {
  const started = performance.now();
  const r = await bedrock.send(new ConverseStreamCommand(input));
  let firstToken;
  let usage;
  for await (const event of r.stream) {
    if (event.contentBlockDelta && firstToken === undefined) firstToken = performance.now() - started;
    if (event.metadata) usage = event.metadata.usage;
  }
  return { ttft: firstToken ?? performance.now() - started, usage };
}

async function recentCalls() {
  const url = new URL(server.endpoint);
  const signer = new SignatureV4({ credentials: ROOT, region: 'us-east-1', service: 'plinth',
                                   sha256: Hash.bind(null, 'sha256') });
  const path = '/v1/usage/recent';
  const signed = await signer.sign({ method: 'GET', protocol: 'http:', hostname: url.hostname,
                                     port: Number(url.port), path, headers: { host: url.host } });
  const response = await fetch(`${server.endpoint}${path}`, { headers: signed.headers });
  assert.equal(response.status, 200);
  return (await response.json()).calls;
}

test('Converse with a cachePoint writes the prefix, then reads it', async () => {
  const first = await bedrock.send(new ConverseCommand(request('invoices', 'What is rule 3?')));
  assert.ok(first.usage.cacheWriteInputTokens > 1000, JSON.stringify(first.usage));
  assert.equal(first.usage.cacheReadInputTokens ?? 0, 0);
  const second = await bedrock.send(new ConverseCommand(request('invoices', 'And rule 7?')));
  // The same prefix, now read whole: inputTokens is only what follows it.
  assert.equal(second.usage.cacheReadInputTokens, first.usage.cacheWriteInputTokens,
               JSON.stringify(second.usage));
  assert.equal(second.usage.cacheWriteInputTokens ?? 0, 0);
  assert.ok(second.usage.inputTokens < 50, JSON.stringify(second.usage));
  assert.equal(second.usage.totalTokens,
               second.usage.inputTokens + second.usage.cacheReadInputTokens +
                   second.usage.outputTokens);

  // The ledger bills the written prefix at the write price, the read one at the read price.
  const calls = await recentCalls();
  const [later, earlier] = calls;  // newest first
  const cost = (u) => u.inputTokens * PRICES.input + (u.cacheReadInputTokens ?? 0) * PRICES.read +
                      (u.cacheWriteInputTokens ?? 0) * PRICES.write;
  assert.equal(earlier.cache_write_input_tokens, first.usage.cacheWriteInputTokens);
  assert.equal(earlier.cost_micro_usd, cost(first.usage));
  assert.equal(later.cache_read_input_tokens, second.usage.cacheReadInputTokens);
  assert.equal(later.cost_micro_usd, cost(second.usage));
  assert.ok(later.cost_micro_usd < earlier.cost_micro_usd);
});

test('ConverseStream: a cached prefix reaches the first token sooner', async (t) => {
  let uncached = 0;
  let cached = 0;
  for (const topic of ['shipping', 'refunds', 'warranty']) {
    const write = await streamed(request(topic, 'Rule 1?'));
    assert.ok(write.usage.cacheWriteInputTokens > 1000, JSON.stringify(write.usage));
    const read = await streamed(request(topic, 'Rule 2?'));
    assert.equal(read.usage.cacheReadInputTokens, write.usage.cacheWriteInputTokens,
                 JSON.stringify(read.usage));
    uncached += write.ttft;
    cached += read.ttft;
  }
  t.diagnostic(`time to first token over 3 topics: uncached ${uncached.toFixed(1)} ms, cached ` +
               `${cached.toFixed(1)} ms (${(uncached / cached).toFixed(1)}x)`);
  assert.ok(cached < uncached, `cached ${cached.toFixed(1)} ms, uncached ${uncached.toFixed(1)} ms`);
});
