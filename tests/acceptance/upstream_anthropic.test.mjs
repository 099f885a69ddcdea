// Acceptance: the `anthropic` provider kind. A second plinth serve is the upstream (its
// /v1/messages is the Anthropic API); the front plinth names it in [[providers]] and serves a
// catalog model through it. The official SDKs call the front: @anthropic-ai/sdk (create, stream
// with a tool), the AWS SDK's Converse with a forced tool and structured output, and an upstream
// failure as the client's error type.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { BedrockRuntimeClient, ConverseCommand, ConverseStreamCommand } from '@aws-sdk/client-bedrock-runtime';
import { startPlinth, writeConfig, mintBearerToken, ROOT, SMALL } from './harness.mjs';

let upstream;
let front;
let client;

const UP = 'claude-up';            // served by the upstream's SMALL model
const MISSING = 'claude-missing';  // names a model the upstream does not have

before(async () => {
  upstream = await startPlinth();
  const upstreamKey = await mintBearerToken(upstream.endpoint, 3600);
  const dir = mkdtempSync(join(tmpdir(), 'plinth-front-'));
  const config = writeConfig(dir);
  writeFileSync(config, readFileSync(config, 'utf8') + `
[[providers]]
id = "anth"
kind = "anthropic"
base_url = "${upstream.endpoint}"
api_key_env = "PLINTH_TEST_ANTHROPIC_KEY"
timeout_seconds = 30
max_retries = 0

[[models]]
id = "${UP}"
provider = "anth"
upstream_model = "${SMALL}"
kind = "text"
tier = "small"
price_input_per_mtok = 1.0
price_output_per_mtok = 2.0

[[models]]
id = "${MISSING}"
provider = "anth"
upstream_model = "no-such-model"
kind = "text"
tier = "small"
`);
  front = await startPlinth({ dataDir: dir, configFile: config,
                              extraEnv: { PLINTH_TEST_ANTHROPIC_KEY: upstreamKey } });
  client = new Anthropic({ apiKey: await mintBearerToken(front.endpoint), baseURL: front.endpoint,
                           maxRetries: 0 });
});

after(async () => {
  await front?.stop();
  await upstream?.stop();
});

const weather = {
  name: 'get_weather',
  description: 'The weather in a city',
  input_schema: { type: 'object', properties: { city: { type: 'string', maxLength: 12 } },
                  required: ['city'], additionalProperties: false },
};

test('messages.create through the anthropic kind answers with the upstream\'s counts', async () => {
  const message = await client.messages.create({
    model: UP, max_tokens: 8, system: 'Answer briefly.',
    messages: [{ role: 'user', content: 'Hello' },
               { role: 'assistant', content: 'Hi.' },
               { role: 'user', content: 'How are you?' }],
  });
  assert.equal(message.model, UP);
  assert.equal(message.content[0].type, 'text');
  assert.ok(message.usage.input_tokens > 0);
  assert.ok(message.usage.output_tokens > 0 && message.usage.output_tokens <= 8);
});

test('a streamed tool call arrives as input_json_delta chunks through both gateways', async () => {
  const stream = client.messages.stream({
    model: UP, max_tokens: 48, tools: [weather],
    tool_choice: { type: 'tool', name: 'get_weather' },
    messages: [{ role: 'user', content: 'Weather in Oslo?' }],
  });
  const fragments = [];
  stream.on('inputJson', (partial) => fragments.push(partial));
  const final = await stream.finalMessage();
  assert.equal(final.stop_reason, 'tool_use');
  const use = final.content.find((b) => b.type === 'tool_use');
  assert.ok(use, JSON.stringify(final.content));
  assert.equal(use.name, 'get_weather');
  assert.ok(fragments.length > 1, `${fragments.length} input_json_delta chunk(s)`);  // live
  assert.deepEqual(JSON.parse(fragments.join('')), use.input);
  assert.ok(final.usage.output_tokens > 0);
});

test('a tool result turn survives the translation', async () => {
  const message = await client.messages.create({
    model: UP, max_tokens: 8, tools: [weather],
    messages: [
      { role: 'user', content: 'Weather in Rome?' },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_01', name: 'get_weather',
                                       input: { city: 'Rome' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01', content: 'Sunny' }] },
    ],
  });
  assert.equal(message.type, 'message');
});

const bedrock = () => new BedrockRuntimeClient({
  endpoint: front.endpoint, region: 'us-east-1', credentials: ROOT, maxAttempts: 1 });

test('Converse with structured output through the anthropic kind returns valid JSON', async () => {
  const r = await bedrock().send(new ConverseCommand({
    modelId: UP,
    messages: [{ role: 'user', content: [{ text: 'Classify: invoice #12' }] }],
    inferenceConfig: { maxTokens: 48 },
    outputConfig: { textFormat: { type: 'json_schema', structure: { jsonSchema: {
      name: 'label', schema: JSON.stringify({
        type: 'object', properties: { label: { enum: ['invoice', 'receipt'] } },
        required: ['label'], additionalProperties: false }) } } } },
  }));
  const text = r.output.message.content.map((b) => b.text ?? '').join('');
  assert.ok(['invoice', 'receipt'].includes(JSON.parse(text).label), text);
});

test('ConverseStream with a forced tool streams its input through the anthropic kind', async () => {
  const r = await bedrock().send(new ConverseStreamCommand({
    modelId: UP,
    messages: [{ role: 'user', content: [{ text: 'Weather in Paris?' }] }],
    inferenceConfig: { maxTokens: 48 },
    toolConfig: { tools: [{ toolSpec: { name: weather.name, description: weather.description,
                                       inputSchema: { json: weather.input_schema } } }],
                  toolChoice: { tool: { name: weather.name } } },
  }));
  let input = '';
  let stop;
  for await (const event of r.stream) {
    if (event.contentBlockDelta?.delta?.toolUse) input += event.contentBlockDelta.delta.toolUse.input;
    if (event.messageStop) stop = event.messageStop.stopReason;
  }
  assert.equal(stop, 'tool_use');
  assert.equal(typeof JSON.parse(input).city, 'string');
});

test('an upstream error reaches the client as its own error type', async () => {
  await assert.rejects(
    client.messages.create({ model: MISSING, max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof Anthropic.NotFoundError && e.status === 404);
  await assert.rejects(
    bedrock().send(new ConverseCommand({ modelId: MISSING,
      messages: [{ role: 'user', content: [{ text: 'x' }] }] })),
    (e) => e.name === 'ResourceNotFoundException');
});
