// Acceptance: Bedrock CountTokens with @aws-sdk/client-bedrock-runtime's CountTokensCommand
// against a real plinth serve: equal to the inputTokens the same Converse / InvokeModel call
// reports (system, tools, several turns), its own IAM action, not billed, Bedrock's errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { SignatureV4 } from '@smithy/signature-v4';
import { Hash } from '@smithy/hash-node';
import { IAMClient, CreateRoleCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { STSClient, AssumeRoleCommand } from '@aws-sdk/client-sts';
import {
  BedrockRuntimeClient, ConverseCommand, CountTokensCommand, InvokeModelCommand,
} from '@aws-sdk/client-bedrock-runtime';
import { startPlinth, ROOT, SMALL, LARGE, EMBED } from './harness.mjs';

const region = 'us-east-1';
let server;
let bedrock;     // root
let invokeOnly;  // a role allowed bedrock:InvokeModel but not bedrock:CountTokens

const clientConfig = (credentials) => ({
  region, endpoint: server.endpoint, credentials, maxAttempts: 1,
});

const conversation = {
  system: [{ text: 'You extract invoice fields.' }, { text: 'Answer in English.' }],
  toolConfig: {
    tools: [{ toolSpec: { name: 'lookup_invoice', description: 'Find an invoice by id',
                          inputSchema: { json: { type: 'object',
                                                 properties: { id: { type: 'string' } },
                                                 required: ['id'] } } } }],
  },
  messages: [
    { role: 'user', content: [{ text: 'What is the total of INV-7?' }] },
    { role: 'assistant', content: [{ toolUse: { toolUseId: 't1', name: 'lookup_invoice',
                                                input: { id: 'INV-7' } } }] },
    { role: 'user', content: [{ toolResult: { toolUseId: 't1',
                                              content: [{ text: 'total 120.50 EUR' }] } },
                              { text: 'And in dollars?' }] },
  ],
};

async function recentCalls() {
  const url = new URL(server.endpoint);
  const signer = new SignatureV4({ credentials: ROOT, region, service: 'plinth',
                                   sha256: Hash.bind(null, 'sha256') });
  const path = '/v1/usage/recent';
  const request = await signer.sign({ method: 'GET', protocol: 'http:', hostname: url.hostname,
                                      port: Number(url.port), path, headers: { host: url.host } });
  const r = await fetch(`${server.endpoint}${path}`, { headers: request.headers });
  assert.equal(r.status, 200);
  return (await r.json()).calls;
}

before(async () => {
  server = await startPlinth();
  bedrock = new BedrockRuntimeClient(clientConfig(ROOT));
  const iam = new IAMClient(clientConfig(ROOT));
  const trust = { Version: '2012-10-17',
                  Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::000000000000:root' },
                                Action: 'sts:AssumeRole' }] };
  await iam.send(new CreateRoleCommand({ RoleName: 'invoke-only',
                                         AssumeRolePolicyDocument: JSON.stringify(trust) }));
  await iam.send(new PutRolePolicyCommand({
    RoleName: 'invoke-only', PolicyName: 'invoke',
    PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [
      { Effect: 'Allow', Action: 'bedrock:InvokeModel', Resource: '*' }] }) }));
  const sts = new STSClient(clientConfig(ROOT));
  const c = (await sts.send(new AssumeRoleCommand({
    RoleArn: 'arn:aws:iam::000000000000:role/invoke-only', RoleSessionName: 'counting' }))).Credentials;
  invokeOnly = new BedrockRuntimeClient(clientConfig({
    accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken }));
});

after(async () => { await server?.stop(); });

test('CountTokens equals Converse inputTokens with system, tools and several turns', async () => {
  for (const modelId of [SMALL, LARGE, 'anthropic.claude-3-haiku-20240307-v1:0']) {
    const counted = await bedrock.send(new CountTokensCommand({
      modelId, input: { converse: conversation } }));
    assert.ok(Number.isInteger(counted.inputTokens) && counted.inputTokens > 20, modelId);
    const answered = await bedrock.send(new ConverseCommand({
      modelId, ...conversation, inferenceConfig: { maxTokens: 4, temperature: 0 } }));
    assert.equal(counted.inputTokens, answered.usage.inputTokens, modelId);
  }
  // Everything counts: dropping the tools or the system prompt lowers the count.
  const full = (await bedrock.send(new CountTokensCommand({
    modelId: SMALL, input: { converse: conversation } }))).inputTokens;
  const noSystem = (await bedrock.send(new CountTokensCommand({
    modelId: SMALL, input: { converse: { ...conversation, system: undefined } } }))).inputTokens;
  assert.ok(noSystem < full, `${noSystem} < ${full}`);
});

test('CountTokens counts a forced tool as Converse does', async () => {
  const forced = { ...conversation,
                   toolConfig: { ...conversation.toolConfig,
                                 toolChoice: { tool: { name: 'lookup_invoice' } } } };
  const counted = await bedrock.send(new CountTokensCommand({
    modelId: SMALL, input: { converse: forced } }));
  const answered = await bedrock.send(new ConverseCommand({
    modelId: SMALL, ...forced, inferenceConfig: { maxTokens: 16, temperature: 0 } }));
  assert.equal(counted.inputTokens, answered.usage.inputTokens);
});

test('CountTokens of an InvokeModel body equals that call\'s input tokens', async () => {
  const body = JSON.stringify({
    anthropic_version: 'bedrock-2023-05-31', max_tokens: 4, system: 'Be brief.',
    messages: [{ role: 'user', content: 'Extract the invoice total: 120,50 EUR' },
               { role: 'assistant', content: 'Which invoice?' },
               { role: 'user', content: 'INV-7' }] });
  const counted = await bedrock.send(new CountTokensCommand({
    modelId: SMALL, input: { invokeModel: { body: new TextEncoder().encode(body) } } }));
  const r = await bedrock.send(new InvokeModelCommand({
    modelId: SMALL, contentType: 'application/json', body }));
  const answer = JSON.parse(new TextDecoder().decode(r.body));
  assert.equal(counted.inputTokens, answer.usage.input_tokens);
});

test('CountTokens is its own IAM action and is not billed', async () => {
  const before = (await recentCalls()).length;
  await bedrock.send(new CountTokensCommand({ modelId: SMALL, input: { converse: conversation } }));
  assert.equal((await recentCalls()).length, before);
  await assert.rejects(
    invokeOnly.send(new CountTokensCommand({ modelId: SMALL, input: { converse: conversation } })),
    (e) => e.name === 'AccessDeniedException' && /bedrock:CountTokens/.test(e.message));
});

test('CountTokens refuses embedding models and bad input with ValidationException', async () => {
  await assert.rejects(
    bedrock.send(new CountTokensCommand({ modelId: EMBED, input: { converse: conversation } })),
    (e) => e.name === 'ValidationException' && /counting tokens/.test(e.message));
  await assert.rejects(
    bedrock.send(new CountTokensCommand({ modelId: SMALL,
                                          input: { converse: { messages: [] } } })),
    (e) => e.name === 'ValidationException');
  await assert.rejects(
    bedrock.send(new CountTokensCommand({
      modelId: SMALL,
      input: { invokeModel: { body: new TextEncoder().encode('{"inputText":"x"}') } } })),
    (e) => e.name === 'ValidationException' && /text model/.test(e.message));
});
