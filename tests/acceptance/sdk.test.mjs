// Acceptance: the official AWS SDK for JavaScript v3, with each client's default request handler
// (HTTP/2 for bedrock-runtime, HTTP/1.1 for STS and IAM), against a real plinth serve.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { IAMClient, CreateRoleCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { STSClient, AssumeRoleCommand, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import {
  BedrockRuntimeClient, ConverseCommand, ConverseStreamCommand, InvokeModelCommand,
  InvokeModelWithResponseStreamCommand,
} from '@aws-sdk/client-bedrock-runtime';
import { startPlinth, ROOT, SMALL, LARGE } from './harness.mjs';

const region = 'us-east-1';
let server;
let temporary;  // credentials from AssumeRole

const clientConfig = (credentials, extra = {}) => ({
  region, endpoint: server.endpoint, credentials, maxAttempts: 1, ...extra,
});

before(async () => {
  server = await startPlinth();
  const iam = new IAMClient(clientConfig(ROOT));
  const trust = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::000000000000:root' },
                  Action: 'sts:AssumeRole' }],
  };
  await iam.send(new CreateRoleCommand({ RoleName: 'app-extractor',
                                         AssumeRolePolicyDocument: JSON.stringify(trust) }));
  const policy = {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow',
        Action: ['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream'],
        Resource: [`arn:aws:bedrock:${region}::foundation-model/${SMALL}`,
                   `arn:aws:bedrock:${region}::foundation-model/bge-embed`] },
    ],
  };
  await iam.send(new PutRolePolicyCommand({ RoleName: 'app-extractor', PolicyName: 'invoke-small',
                                            PolicyDocument: JSON.stringify(policy) }));
  const sts = new STSClient(clientConfig(ROOT));
  const assumed = await sts.send(new AssumeRoleCommand({
    RoleArn: 'arn:aws:iam::000000000000:role/app-extractor', RoleSessionName: 'acceptance',
    DurationSeconds: 900 }));
  const c = assumed.Credentials;
  assert.match(c.AccessKeyId, /^ASIA/);
  assert.ok(c.Expiration instanceof Date && c.Expiration > new Date());
  temporary = { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey,
                sessionToken: c.SessionToken };
});

after(async () => { await server?.stop(); });

test('GetCallerIdentity with temporary credentials names the assumed role', async () => {
  const sts = new STSClient(clientConfig(temporary));
  const id = await sts.send(new GetCallerIdentityCommand({}));
  assert.equal(id.Arn, 'arn:aws:sts::000000000000:assumed-role/app-extractor/acceptance');
  assert.equal(id.Account, '000000000000');
});

test('Converse answers with integer usage and latency', async () => {
  const bedrock = new BedrockRuntimeClient(clientConfig(temporary));
  const r = await bedrock.send(new ConverseCommand({
    modelId: 'anthropic.claude-3-haiku-20240307-v1:0',
    system: [{ text: 'Answer briefly.' }],
    messages: [{ role: 'user', content: [{ text: 'Extract the invoice total: 120,50 €' }] }],
    inferenceConfig: { maxTokens: 16, temperature: 0 },
  }));
  assert.equal(r.output.message.role, 'assistant');
  assert.equal(typeof r.output.message.content[0].text, 'string');
  assert.ok(['end_turn', 'max_tokens', 'stop_sequence'].includes(r.stopReason));
  assert.ok(Number.isInteger(r.usage.inputTokens) && r.usage.inputTokens > 0);
  assert.ok(Number.isInteger(r.usage.outputTokens) && r.usage.outputTokens > 0);
  assert.equal(r.usage.totalTokens, r.usage.inputTokens + r.usage.outputTokens);
  assert.ok(Number.isInteger(r.metrics.latencyMs));
});

test('Converse is deterministic at temperature 0 (same model, same prompt)', async () => {
  const bedrock = new BedrockRuntimeClient(clientConfig(temporary));
  const ask = () => bedrock.send(new ConverseCommand({
    modelId: SMALL, messages: [{ role: 'user', content: [{ text: 'Hello' }] }],
    inferenceConfig: { maxTokens: 8, temperature: 0 } }));
  const [a, b] = await Promise.all([ask(), ask()]);
  assert.equal(a.output.message.content[0].text, b.output.message.content[0].text);
});

test('ConverseStream delivers deltas then stop and metadata events', async () => {
  const bedrock = new BedrockRuntimeClient(clientConfig(temporary));
  const r = await bedrock.send(new ConverseStreamCommand({
    modelId: `arn:aws:bedrock:${region}::foundation-model/${SMALL}`,
    messages: [{ role: 'user', content: [{ text: 'Tell me a story' }] }],
    inferenceConfig: { maxTokens: 12, temperature: 0.7 },
  }));
  const kinds = [];
  let text = '';
  let metadata;
  for await (const event of r.stream) {
    const kind = Object.keys(event)[0];
    kinds.push(kind);
    if (kind === 'contentBlockDelta') text += event.contentBlockDelta.delta.text;
    if (kind === 'metadata') metadata = event.metadata;
  }
  assert.equal(kinds[0], 'messageStart');
  assert.ok(kinds.includes('contentBlockDelta'));
  assert.ok(kinds.indexOf('messageStop') > kinds.lastIndexOf('contentBlockDelta'));
  assert.equal(kinds.at(-1), 'metadata');
  assert.ok(text.length > 0);
  assert.ok(Number.isInteger(metadata.usage.outputTokens) && metadata.usage.outputTokens > 0);
  assert.ok(Number.isInteger(metadata.metrics.latencyMs));
});

test('ConverseStream streams a forced tool call\'s input as it is generated', async () => {
  const bedrock = new BedrockRuntimeClient(clientConfig(temporary));
  const r = await bedrock.send(new ConverseStreamCommand({
    modelId: SMALL,
    messages: [{ role: 'user', content: [{ text: 'Record the contact.' }] }],
    inferenceConfig: { maxTokens: 200 },
    toolConfig: {
      tools: [{ toolSpec: { name: 'record', inputSchema: { json: {
        type: 'object', properties: { name: { type: 'string' }, age: { type: 'integer' } },
        required: ['name', 'age'], additionalProperties: false } } } }],
      toolChoice: { tool: { name: 'record' } },
    },
  }));
  let start;
  const fragments = [];
  let stopReason;
  for await (const event of r.stream) {
    if (event.contentBlockStart) start = event.contentBlockStart;
    if (event.contentBlockDelta?.delta?.toolUse) {
      assert.equal(event.contentBlockDelta.contentBlockIndex, start.contentBlockIndex);
      fragments.push(event.contentBlockDelta.delta.toolUse.input);
    }
    if (event.messageStop) stopReason = event.messageStop.stopReason;
  }
  assert.equal(start.start.toolUse.name, 'record');
  assert.match(start.start.toolUse.toolUseId, /^tooluse_/);
  assert.ok(fragments.length > 1, `input arrived in ${fragments.length} delta(s)`);
  const input = JSON.parse(fragments.join(''));
  assert.equal(typeof input.name, 'string');
  assert.ok(Number.isInteger(input.age));
  assert.equal(stopReason, 'tool_use');
});

test('InvokeModel with an Anthropic Messages body', async () => {
  const bedrock = new BedrockRuntimeClient(clientConfig(temporary));
  const r = await bedrock.send(new InvokeModelCommand({
    modelId: 'anthropic.claude-3-haiku-20240307-v1:0', contentType: 'application/json',
    accept: 'application/json',
    body: JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 10,
                           messages: [{ role: 'user', content: 'Classify: receipt or invoice?' }] }),
  }));
  const body = JSON.parse(new TextDecoder().decode(r.body));
  assert.equal(body.type, 'message');
  assert.equal(body.role, 'assistant');
  assert.equal(body.content[0].type, 'text');
  assert.ok(['end_turn', 'max_tokens', 'stop_sequence'].includes(body.stop_reason));
  assert.ok(Number.isInteger(body.usage.input_tokens) && body.usage.output_tokens > 0);
});

test('InvokeModelWithResponseStream streams Anthropic events with invocation metrics', async () => {
  const bedrock = new BedrockRuntimeClient(clientConfig(temporary));
  const r = await bedrock.send(new InvokeModelWithResponseStreamCommand({
    modelId: SMALL, contentType: 'application/json',
    body: JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 8,
                           messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }] }),
  }));
  const types = [];
  let last;
  for await (const event of r.body) {
    const payload = JSON.parse(new TextDecoder().decode(event.chunk.bytes));
    types.push(payload.type);
    last = payload;
  }
  assert.equal(types[0], 'message_start');
  assert.ok(types.includes('content_block_delta'));
  assert.equal(types.at(-1), 'message_stop');
  const metrics = last['amazon-bedrock-invocationMetrics'];
  assert.ok(Number.isInteger(metrics.inputTokenCount) && Number.isInteger(metrics.outputTokenCount));
});

test('Titan embedding returns a normalised vector', async () => {
  const bedrock = new BedrockRuntimeClient(clientConfig(temporary));
  const r = await bedrock.send(new InvokeModelCommand({
    modelId: 'amazon.titan-embed-text-v2:0', contentType: 'application/json',
    body: JSON.stringify({ inputText: 'invoice total 120.50', normalize: true }),
  }));
  const body = JSON.parse(new TextDecoder().decode(r.body));
  assert.equal(body.embedding.length, 1024);
  const norm = Math.sqrt(body.embedding.reduce((s, v) => s + v * v, 0));
  assert.ok(Math.abs(norm - 1) < 1e-3, `norm ${norm}`);
  assert.ok(Number.isInteger(body.inputTextTokenCount) && body.inputTextTokenCount > 0);
});

test('a model outside the role policy is AccessDeniedException', async () => {
  const bedrock = new BedrockRuntimeClient(clientConfig(temporary));
  await assert.rejects(bedrock.send(new ConverseCommand({
    modelId: LARGE, messages: [{ role: 'user', content: [{ text: 'Hi' }] }] })),
  (e) => e.name === 'AccessDeniedException' && e.$metadata.httpStatusCode === 403);
});

test('an unknown model is ResourceNotFoundException', async () => {
  const bedrock = new BedrockRuntimeClient(clientConfig(ROOT));
  await assert.rejects(bedrock.send(new ConverseCommand({
    modelId: 'no.such-model-v1:0', messages: [{ role: 'user', content: [{ text: 'Hi' }] }] })),
  (e) => e.name === 'ResourceNotFoundException' && e.$metadata.httpStatusCode === 404);
});

test('a wrong secret is a 403 signature error', async () => {
  // Change the last character to one it is not (a secret ending in 'x' once made this flaky).
  const secret = temporary.secretAccessKey;
  const wrong = secret.slice(0, -1) + (secret.endsWith('x') ? 'y' : 'x');
  assert.notEqual(wrong, secret);
  const bedrock = new BedrockRuntimeClient(clientConfig({ ...temporary, secretAccessKey: wrong }));
  await assert.rejects(bedrock.send(new ConverseCommand({
    modelId: SMALL, messages: [{ role: 'user', content: [{ text: 'Hi' }] }] })),
  (e) => e.$metadata.httpStatusCode === 403 &&
         ['InvalidSignatureException', 'UnrecognizedClientException'].includes(e.name));
});

test('a body changed after signing is InvalidSignatureException', async () => {
  const bedrock = new BedrockRuntimeClient(clientConfig(temporary));
  bedrock.middlewareStack.addRelativeTo((next) => async (args) => {
    const body = args.request.body;
    const text = typeof body === 'string' ? body : new TextDecoder().decode(body);
    assert.ok(text.includes('Hi'));
    args.request.body = text.replace('Hi', 'Ho');
    return next(args);
  }, { relation: 'after', toMiddleware: 'httpSigningMiddleware', name: 'tamper' });
  await assert.rejects(bedrock.send(new ConverseCommand({
    modelId: SMALL, messages: [{ role: 'user', content: [{ text: 'Hi' }] }] })),
  (e) => e.name === 'InvalidSignatureException' && e.$metadata.httpStatusCode === 403);
});

test('an expired session token is ExpiredTokenException on a server sharing the key', async () => {
  // A second server on the same data dir (so the same session key) whose clock runs two hours
  // ahead: the token minted by the first server has expired there. The client signs with the
  // same offset so that only the token's expiry is at fault.
  const later = await startPlinth({ dataDir: server.dir, configFile: `${server.dir}/plinth.toml`,
                                    extraEnv: { PLINTH_CLOCK_OFFSET_SECONDS: '7200' } });
  try {
    const bedrock = new BedrockRuntimeClient({ region, endpoint: later.endpoint,
      credentials: temporary, maxAttempts: 1, systemClockOffset: 7200 * 1000 });
    await assert.rejects(bedrock.send(new ConverseCommand({
      modelId: SMALL, messages: [{ role: 'user', content: [{ text: 'Hi' }] }] })),
    (e) => e.name === 'ExpiredTokenException' && e.$metadata.httpStatusCode === 403);
    // Within its lifetime, the same token is accepted by any server that shares the key.
    const sameClock = await startPlinth({ dataDir: server.dir, configFile: `${server.dir}/plinth.toml` });
    try {
      const sts = new STSClient({ region, endpoint: sameClock.endpoint, credentials: temporary, maxAttempts: 1 });
      const id = await sts.send(new GetCallerIdentityCommand({}));
      assert.match(id.Arn, /assumed-role\/app-extractor\/acceptance$/);
    } finally { await sameClock.stop(); }
  } finally { await later.stop(); }
});
