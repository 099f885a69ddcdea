// Acceptance: Titan Text Embeddings V2 and Cohere Embed v3 bodies through InvokeModel with
// @aws-sdk/client-bedrock-runtime against a real plinth serve and its bundled 1024-wide model.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BedrockRuntimeClient, InvokeModelCommand } from '@aws-sdk/client-bedrock-runtime';
import { startPlinth, ROOT, repoRoot } from './harness.mjs';

const region = 'us-east-1';
const TITAN = 'amazon.titan-embed-text-v2:0';
let server;
let bedrock;

before(async () => {
  server = await startPlinth();
  bedrock = new BedrockRuntimeClient({ region, endpoint: server.endpoint, credentials: ROOT,
                                       maxAttempts: 1 });
});

after(async () => { await server?.stop(); });

async function invoke(modelId, body, client = bedrock) {
  const r = await client.send(new InvokeModelCommand({
    modelId, contentType: 'application/json', accept: 'application/json',
    body: JSON.stringify(body) }));
  return JSON.parse(new TextDecoder().decode(r.body));
}

const norm = (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
const isValidation = (pattern) => (e) => e.name === 'ValidationException' && pattern.test(e.message);

test('Titan V2: every dimensions and embeddingTypes combination', async () => {
  const text = 'invoice total 120.50 EUR due 2026-01-31';
  for (const dimensions of [undefined, 256, 512, 1024]) {
    for (const embeddingTypes of [undefined, ['float'], ['binary'], ['float', 'binary']]) {
      const label = `dimensions=${dimensions} embeddingTypes=${embeddingTypes}`;
      const r = await invoke(TITAN, { inputText: text, dimensions, embeddingTypes });
      const size = dimensions ?? 1024;
      assert.equal(r.embedding.length, size, label);
      assert.ok(Math.abs(norm(r.embedding) - 1) < 1e-3, `${label}: norm ${norm(r.embedding)}`);
      assert.ok(Number.isInteger(r.inputTextTokenCount) && r.inputTextTokenCount > 5, label);
      const types = embeddingTypes ?? ['float'];
      assert.deepEqual(Object.keys(r.embeddingsByType).sort(), [...types].sort(), label);
      if (types.includes('float')) assert.deepEqual(r.embeddingsByType.float, r.embedding, label);
      if (types.includes('binary')) {
        const bits = r.embeddingsByType.binary;
        assert.equal(bits.length, size, label);
        assert.ok(bits.every((b, i) => b === (r.embedding[i] > 0 ? 1 : 0)), label);
        assert.ok(bits.includes(0) && bits.includes(1), label);
      }
    }
  }
});

test('Titan V2: smaller sizes are the full vector truncated and renormalized', async () => {
  const inputText = 'quarterly revenue report';
  const full = (await invoke(TITAN, { inputText })).embedding;
  for (const size of [256, 512]) {
    const short = (await invoke(TITAN, { inputText, dimensions: size })).embedding;
    const head = full.slice(0, size);
    const scale = norm(head);
    short.forEach((v, i) => assert.ok(Math.abs(v - head[i] / scale) < 1e-5, `${size}[${i}]`));
  }
  const raw = (await invoke(TITAN, { inputText, normalize: false })).embedding;
  assert.ok(Math.abs(norm(raw) - 1) > 1e-3, `unnormalized norm ${norm(raw)}`);
  raw.forEach((v, i) => assert.ok(Math.abs(v / norm(raw) - full[i]) < 1e-4, `raw[${i}]`));
});

test('Titan V2: sizes and types it does not offer are ValidationExceptions', async () => {
  await assert.rejects(invoke(TITAN, { inputText: 'x', dimensions: 300 }),
                       isValidation(/256, 512 or 1024/));
  await assert.rejects(invoke(TITAN, { inputText: 'x', embeddingTypes: ['int8'] }),
                       isValidation(/embeddingTypes/));
  await assert.rejects(invoke(TITAN, { inputText: 'x'.repeat(50_001) }),
                       isValidation(/50000 characters/));
});

test('Cohere Embed v3: float answer, one vector per text, texts echoed', async () => {
  const texts = ['first document', 'second document', 'a third one'];
  for (const modelId of ['cohere.embed-english-v3', 'cohere.embed-multilingual-v3']) {
    const r = await invoke(modelId, { texts, input_type: 'search_document' });
    assert.equal(r.response_type, 'embeddings_floats');
    assert.deepEqual(r.texts, texts);
    assert.match(r.id, /^[0-9a-f-]{36}$/);
    assert.equal(r.embeddings.length, 3);
    for (const v of r.embeddings) {
      assert.equal(v.length, 1024);
      assert.ok(Math.abs(norm(v) - 1) < 1e-3);
    }
    assert.notDeepEqual(r.embeddings[0], r.embeddings[1]);
  }
  // The same text embeds the same through Titan and Cohere (one model behind both).
  const titan = await invoke(TITAN, { inputText: texts[0] });
  const cohere = await invoke('cohere.embed-english-v3', { texts: [texts[0]], input_type: 'search_query' });
  cohere.embeddings[0].forEach((v, i) => assert.ok(Math.abs(v - titan.embedding[i]) < 1e-6));
});

test('Cohere Embed v3: every embedding type, consistent with the floats', async () => {
  const r = await invoke('cohere.embed-english-v3', {
    texts: ['alpha', 'beta'], input_type: 'classification',
    embedding_types: ['float', 'int8', 'uint8', 'binary', 'ubinary'] });
  assert.equal(r.response_type, 'embeddings_by_type');
  const { float, int8, uint8, binary, ubinary } = r.embeddings;
  for (let t = 0; t < 2; ++t) {
    assert.equal(float[t].length, 1024);
    assert.equal(int8[t].length, 1024);
    assert.equal(binary[t].length, 128);
    assert.ok(int8[t].every((q, i) => q >= -128 && q <= 127 && uint8[t][i] === q + 128));
    const largest = Math.max(...float[t].map(Math.abs));
    assert.ok(int8[t].every((q, i) => Math.abs(q - (float[t][i] / largest) * 127) <= 0.501));
    assert.ok(int8[t].includes(127) || int8[t].includes(-127));
    for (let byte = 0; byte < 128; ++byte) {
      let expected = 0;
      for (let bit = 0; bit < 8; ++bit) expected = (expected << 1) | (float[t][byte * 8 + bit] > 0 ? 1 : 0);
      assert.equal(ubinary[t][byte], expected);
      assert.equal(binary[t][byte], expected - 128);
    }
  }
});

test('Cohere Embed v3: truncate and bounds', async () => {
  // One token per word: 400 words + [CLS]/[SEP] fit the 512-token context, 600 do not
  // (and both stay under Cohere's 2,048 characters).
  const long = 'a '.repeat(400).trim();
  const longer = 'a '.repeat(600) + 'tail';
  const ok = await invoke('cohere.embed-english-v3', { texts: [long], input_type: 'search_document' });
  assert.equal(ok.embeddings[0].length, 1024);
  await assert.rejects(invoke('cohere.embed-english-v3',
                              { texts: [longer], input_type: 'search_document', truncate: 'NONE' }),
                       (e) => e.$metadata?.httpStatusCode === 400);
  const end = await invoke('cohere.embed-english-v3',
                           { texts: [longer], input_type: 'search_document', truncate: 'END' });
  const start = await invoke('cohere.embed-english-v3',
                             { texts: [longer], input_type: 'search_document', truncate: 'START' });
  assert.equal(end.embeddings[0].length, 1024);
  assert.notDeepEqual(end.embeddings[0], start.embeddings[0]);
  await assert.rejects(invoke('cohere.embed-english-v3', { texts: ['a'] }),
                       isValidation(/input_type/));
  await assert.rejects(invoke('cohere.embed-english-v3',
                              { texts: Array(97).fill('a'), input_type: 'clustering' }),
                       isValidation(/96/));
  await assert.rejects(invoke('cohere.embed-english-v3',
                              { texts: ['a'.repeat(2049)], input_type: 'clustering' }),
                       isValidation(/2048 characters/));
});

test('A configured model narrower than the request names the sizes it serves', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'plinth-narrow-'));
  const config = join(dir, 'plinth.toml');
  writeFileSync(config, `
listen = "127.0.0.1:0"
region = "us-east-1"
[[models]]
id = "narrow-embed"
file = "${join(repoRoot, 'models', 'bert-bge-64-mean-f16.gguf')}"
kind = "embedding"
aliases = ["${TITAN}"]
`);
  const narrow = await startPlinth({ dataDir: dir, configFile: config });
  try {
    const client = new BedrockRuntimeClient({ region, endpoint: narrow.endpoint, credentials: ROOT,
                                              maxAttempts: 1 });
    await assert.rejects(invoke(TITAN, { inputText: 'x' }, client),
                         isValidation(/\(64\).*none of the sizes 256, 512, 1024/));
  } finally {
    await narrow.stop();
  }
});
