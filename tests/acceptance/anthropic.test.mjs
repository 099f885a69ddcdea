// Acceptance: the Anthropic Messages API (POST /v1/messages) driven by the official
// @anthropic-ai/sdk and by the Vercel AI SDK's @ai-sdk/anthropic, with a Plinth bearer token
// (CreateBearerToken through Plinth's STS) as the API key, against a real plinth serve.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { createAnthropic } from '@ai-sdk/anthropic';
import { generateText, streamText } from 'ai';
import { startPlinth, mintBearerToken, SMALL, LARGE, ROUTER } from './harness.mjs';

let server;
let token;
let client;

before(async () => {
  server = await startPlinth();
  token = await mintBearerToken(server.endpoint);
  client = new Anthropic({ apiKey: token, baseURL: server.endpoint, maxRetries: 0 });
});

after(async () => { await server?.stop(); });

const weather = {
  name: 'get_weather',
  description: 'The weather in a city',
  input_schema: { type: 'object', properties: { city: { type: 'string', maxLength: 12 } },
                  required: ['city'], additionalProperties: false },
};

test('messages.create answers in Anthropic\'s message shape', async () => {
  const message = await client.messages.create({
    model: SMALL, max_tokens: 8, system: 'Answer briefly.',
    messages: [{ role: 'user', content: 'Hello' }],
  });
  assert.equal(message.type, 'message');
  assert.equal(message.role, 'assistant');
  assert.match(message.id, /^msg_/);
  assert.equal(message.model, SMALL);
  assert.equal(message.content[0].type, 'text');
  assert.ok(['end_turn', 'max_tokens'].includes(message.stop_reason), message.stop_reason);
  assert.ok(message.usage.input_tokens > 0);
  assert.ok(message.usage.output_tokens > 0 && message.usage.output_tokens <= 8);
  assert.equal(typeof message.usage.cache_read_input_tokens, 'number');
  assert.equal(typeof message.usage.cache_creation_input_tokens, 'number');
});

test('messages.create with a Bearer authToken and a forced tool returns a tool_use block', async () => {
  const bearerClient = new Anthropic({ authToken: token, apiKey: null, baseURL: server.endpoint,
                                       maxRetries: 0 });
  const message = await bearerClient.messages.create({
    model: SMALL, max_tokens: 48, tools: [weather],
    tool_choice: { type: 'tool', name: 'get_weather' },
    messages: [{ role: 'user', content: 'Weather in Paris?' }],
  });
  assert.equal(message.stop_reason, 'tool_use');
  const use = message.content.find((b) => b.type === 'tool_use');
  assert.ok(use, JSON.stringify(message.content));
  assert.equal(use.name, 'get_weather');
  assert.equal(typeof use.input.city, 'string');
});

test('messages.stream streams text deltas and a final message with usage', async () => {
  const events = [];
  const stream = client.messages.stream({
    model: SMALL, max_tokens: 12, messages: [{ role: 'user', content: 'Count to five.' }],
  });
  let text = '';
  stream.on('streamEvent', (event) => events.push(event.type));
  stream.on('text', (delta) => { text += delta; });
  const final = await stream.finalMessage();
  assert.equal(events[0], 'message_start');
  assert.equal(events.at(-1), 'message_stop');
  assert.ok(events.includes('content_block_delta'));
  assert.equal(final.content[0].text, text);
  assert.ok(final.usage.output_tokens > 0);
  assert.ok(final.usage.input_tokens > 0, JSON.stringify(final.usage));
});

test('the raw SSE stream has Anthropic\'s exact event sequence, ping included', async () => {
  const r = await fetch(`${server.endpoint}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': token, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify({ model: SMALL, max_tokens: 6, stream: true,
                           messages: [{ role: 'user', content: 'Hi' }] }) });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/event-stream/);
  const names = (await r.text()).split('\n').filter((l) => l.startsWith('event: '))
    .map((l) => l.slice(7));
  const collapsed = names.filter((n, i) => n !== 'content_block_delta' || names[i - 1] !== n);
  assert.deepEqual(collapsed, ['message_start', 'content_block_start', 'ping', 'content_block_delta',
                               'content_block_stop', 'message_delta', 'message_stop']);
});

test('messages.stream with a tool streams input_json_delta into a parsed tool input', async () => {
  const stream = client.messages.stream({
    model: SMALL, max_tokens: 48, tools: [weather],
    tool_choice: { type: 'tool', name: 'get_weather' },
    messages: [{ role: 'user', content: 'Weather in Oslo?' }],
  });
  const fragments = [];
  stream.on('inputJson', (partial) => fragments.push(partial));
  const final = await stream.finalMessage();
  assert.equal(final.stop_reason, 'tool_use');
  const use = final.content.find((b) => b.type === 'tool_use');
  assert.ok(use, JSON.stringify(final.content));
  assert.ok(fragments.length >= 1);
  assert.deepEqual(JSON.parse(fragments.join('')), use.input);
  assert.equal(typeof use.input.city, 'string');
});

test('a multi-turn tool result conversation is accepted', async () => {
  const message = await client.messages.create({
    model: SMALL, max_tokens: 8, tools: [weather],
    messages: [
      { role: 'user', content: 'Weather in Rome?' },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_01', name: 'get_weather',
                                       input: { city: 'Rome' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01', content: 'Sunny, 24 C' }] },
    ],
  });
  assert.equal(message.type, 'message');
});

test('a prompt router answers and the message names the model that answered', async () => {
  const message = await client.messages.create({
    model: ROUTER, max_tokens: 8, messages: [{ role: 'user', content: 'Hello' }] });
  assert.ok([SMALL, LARGE].includes(message.model), message.model);
  assert.ok(message.usage.output_tokens > 0);
});

test('errors arrive as the SDK\'s typed errors', async () => {
  await assert.rejects(
    client.messages.create({ model: 'claude-does-not-exist', max_tokens: 8,
                             messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof Anthropic.NotFoundError && e.status === 404 &&
           e.error?.error?.type === 'not_found_error');
  const stranger = new Anthropic({ apiKey: 'sk-ant-not-a-plinth-key', baseURL: server.endpoint,
                                   maxRetries: 0 });
  await assert.rejects(
    stranger.messages.create({ model: SMALL, max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof Anthropic.AuthenticationError && e.status === 401);
  await assert.rejects(
    client.messages.create({ model: SMALL, max_tokens: 8, messages: [] }),
    (e) => e instanceof Anthropic.BadRequestError && e.error?.error?.type === 'invalid_request_error');
});

test('the Vercel AI SDK (@ai-sdk/anthropic) generates and streams text', async () => {
  const anthropic = createAnthropic({ apiKey: token, baseURL: `${server.endpoint}/v1` });
  const generated = await generateText({ model: anthropic(SMALL), prompt: 'Say hi.',
                                         maxOutputTokens: 8, maxRetries: 0 });
  assert.equal(typeof generated.text, 'string');
  assert.ok(generated.usage.outputTokens > 0);
  assert.ok(generated.usage.inputTokens > 0);
  const streamed = streamText({ model: anthropic(SMALL), prompt: 'Say hi.', maxOutputTokens: 8,
                                maxRetries: 0 });
  let text = '';
  for await (const delta of streamed.textStream) text += delta;
  assert.equal(text, await streamed.text);
  assert.ok((await streamed.usage).outputTokens > 0);
  assert.ok(['stop', 'length'].includes(await streamed.finishReason));
});
