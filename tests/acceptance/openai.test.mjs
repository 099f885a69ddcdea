// Acceptance: the OpenAI-compatible API with a short-lived bearer token minted through Plinth's
// STS (CreateBearerToken, a SigV4-signed Query call), against a real plinth serve.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { SignatureV4 } from '@smithy/signature-v4';
import { Hash } from '@smithy/hash-node';
import { startPlinth, ROOT, SMALL, EMBED } from './harness.mjs';

let server;
let token;

async function signedStsCall(form) {
  const url = new URL(server.endpoint);
  const signer = new SignatureV4({ credentials: ROOT, region: 'us-east-1', service: 'sts',
                                   sha256: Hash.bind(null, 'sha256') });
  const request = await signer.sign({
    method: 'POST', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: '/',
    headers: { host: url.host, 'content-type': 'application/x-www-form-urlencoded' },
    body: form,
  });
  return fetch(`${server.endpoint}/`, { method: 'POST', headers: request.headers, body: form });
}

before(async () => {
  server = await startPlinth();
  const r = await signedStsCall('Action=CreateBearerToken&Version=2011-06-15&DurationSeconds=900');
  const xml = await r.text();
  assert.equal(r.status, 200, xml);
  token = xml.match(/<BearerToken>([^<]+)<\/BearerToken>/)[1];
  assert.match(token, /^plinth-bt-/);
});

after(async () => { await server?.stop(); });

const chat = (body, auth = `Bearer ${token}`) => fetch(`${server.endpoint}/v1/chat/completions`, {
  method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' },
  body: JSON.stringify(body) });

test('chat completion with a bearer token', async () => {
  const r = await chat({ model: SMALL, messages: [{ role: 'user', content: 'Hello' }], max_tokens: 8 });
  assert.equal(r.status, 200);
  const body = await r.json();
  assert.equal(body.object, 'chat.completion');
  assert.equal(body.choices[0].message.role, 'assistant');
  assert.ok(['stop', 'length'].includes(body.choices[0].finish_reason));
  assert.equal(body.usage.total_tokens, body.usage.prompt_tokens + body.usage.completion_tokens);
});

test('a repeated prompt prefix is reported as cached_tokens, still counted in prompt_tokens', async () => {
  const system = 'You extract invoice fields. ' + 'Be precise and brief. '.repeat(20);
  const ask = (question) => chat({ model: SMALL, max_tokens: 4, temperature: 0,
    messages: [{ role: 'system', content: system }, { role: 'user', content: question }] });
  const first = await (await ask('What is the total?')).json();
  const second = await (await ask('Who is the seller?')).json();
  assert.equal(first.usage.prompt_tokens_details.cached_tokens, 0);
  // The system prompt and the chat template before the question came from the prefix cache.
  assert.ok(second.usage.prompt_tokens_details.cached_tokens >= 100,
            JSON.stringify(second.usage));
  assert.ok(second.usage.prompt_tokens_details.cached_tokens < second.usage.prompt_tokens);
  assert.equal(second.usage.total_tokens,
               second.usage.prompt_tokens + second.usage.completion_tokens);
});

test('chat completion with a JSON schema returns valid JSON', async () => {
  const schema = { type: 'object', properties: { label: { enum: ['invoice', 'receipt', 'other'] } },
                   required: ['label'], additionalProperties: false };
  const r = await chat({ model: SMALL, messages: [{ role: 'user', content: 'Classify' }], max_tokens: 32,
                         temperature: 1.0, response_format: { type: 'json_schema',
                         json_schema: { name: 'label', schema } } });
  assert.equal(r.status, 200);
  const body = await r.json();
  const parsed = JSON.parse(body.choices[0].message.content);
  assert.ok(['invoice', 'receipt', 'other'].includes(parsed.label));
});

test('streaming chat completion ends with [DONE]', async () => {
  const r = await chat({ model: SMALL, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 8, stream: true });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/event-stream/);
  const text = await r.text();
  const data = text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6));
  assert.equal(data.at(-1), '[DONE]');
  const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
  assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk'));
  assert.ok(chunks.some((c) => c.choices[0]?.finish_reason));
});

test('embeddings with a bearer token', async () => {
  const r = await fetch(`${server.endpoint}/v1/embeddings`, {
    method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: EMBED, input: ['one', 'two'] }) });
  assert.equal(r.status, 200);
  const body = await r.json();
  assert.equal(body.data.length, 2);
  assert.equal(body.data[1].index, 1);
  assert.equal(body.data[0].embedding.length, 1024);
});

test('a forged or missing bearer token is refused', async () => {
  const forged = await chat({ model: SMALL, messages: [{ role: 'user', content: 'x' }] },
                            `Bearer ${token.slice(0, -4)}AAAA`);
  assert.ok([401, 403].includes(forged.status), String(forged.status));
  const none = await chat({ model: SMALL, messages: [{ role: 'user', content: 'x' }] }, '');
  assert.ok([401, 403].includes(none.status));
  const body = await none.json();
  assert.ok(body.error && typeof body.error.message === 'string');
});

test('malformed JSON is a 400 in OpenAI error shape', async () => {
  const r = await fetch(`${server.endpoint}/v1/chat/completions`, {
    method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: '{"model": ' });
  assert.equal(r.status, 400);
  const body = await r.json();
  assert.equal(typeof body.error.message, 'string');
});
