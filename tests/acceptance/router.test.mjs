// Acceptance: a prompt router through the official bedrock-runtime client, with a role granted
// only the router's ARN: who answered (trace.promptRouter.invokedModelId), escalation, the ledger.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { SignatureV4 } from '@smithy/signature-v4';
import { Hash } from '@smithy/hash-node';
import { IAMClient, CreateRoleCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { STSClient, AssumeRoleCommand } from '@aws-sdk/client-sts';
import {
  BedrockRuntimeClient, ConverseCommand, ConverseStreamCommand,
} from '@aws-sdk/client-bedrock-runtime';
import { startPlinth, ROOT, SMALL, LARGE, ROUTER } from './harness.mjs';

const region = 'us-east-1';
const routerArn = `arn:aws:bedrock:${region}:000000000000:prompt-router/${ROUTER}`;
const modelArn = (id) => `arn:aws:bedrock:${region}::foundation-model/${id}`;
let server;
let routerOnly;  // temporary credentials of a role that may use the router and nothing else

const clientConfig = (credentials) => ({ region, endpoint: server.endpoint, credentials,
                                         maxAttempts: 1 });
const converseInput = (maxTokens, checks) => ({
  modelId: routerArn,
  messages: [{ role: 'user', content: [{ text: 'Extract the invoice total: 120,50 €' }] }],
  inferenceConfig: { maxTokens, temperature: 0 },
  additionalModelRequestFields: { plinth: { checks } },
});

before(async () => {
  server = await startPlinth();
  const iam = new IAMClient(clientConfig(ROOT));
  const trust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow',
    Principal: { AWS: 'arn:aws:iam::000000000000:root' }, Action: 'sts:AssumeRole' }] };
  await iam.send(new CreateRoleCommand({ RoleName: 'router-user',
                                         AssumeRolePolicyDocument: JSON.stringify(trust) }));
  const policy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow',
    Action: ['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream'], Resource: routerArn }] };
  await iam.send(new PutRolePolicyCommand({ RoleName: 'router-user', PolicyName: 'router',
                                            PolicyDocument: JSON.stringify(policy) }));
  const sts = new STSClient(clientConfig(ROOT));
  const c = (await sts.send(new AssumeRoleCommand({
    RoleArn: 'arn:aws:iam::000000000000:role/router-user', RoleSessionName: 'router' }))).Credentials;
  routerOnly = { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey,
                 sessionToken: c.SessionToken };
});

after(async () => { await server?.stop(); });

test('Converse through a router that the small model satisfies is not escalated', async () => {
  const bedrock = new BedrockRuntimeClient(clientConfig(routerOnly));
  const r = await bedrock.send(new ConverseCommand(converseInput(4, { stop_reason: 'max_tokens' })));
  assert.equal(r.stopReason, 'max_tokens');
  assert.equal(r.trace.promptRouter.invokedModelId, modelArn(SMALL));
});

test('Converse through a router escalates when the small answer fails the checks', async () => {
  const bedrock = new BedrockRuntimeClient(clientConfig(routerOnly));
  const r = await bedrock.send(new ConverseCommand(converseInput(6, { min_length: 100000 })));
  assert.equal(r.trace.promptRouter.invokedModelId, modelArn(LARGE));
  assert.ok(r.usage.outputTokens > 0);
});

test('ConverseStream through a router reports the invoked model in the metadata trace', async () => {
  const bedrock = new BedrockRuntimeClient(clientConfig(routerOnly));
  const r = await bedrock.send(new ConverseStreamCommand(converseInput(6, { min_length: 100000 })));
  let metadata;
  let text = '';
  for await (const event of r.stream) {
    if (event.contentBlockDelta) text += event.contentBlockDelta.delta.text;
    if (event.metadata) metadata = event.metadata;
  }
  assert.equal(metadata.trace.promptRouter.invokedModelId, modelArn(LARGE));
  assert.equal(typeof text, 'string');
});

test('a router grant does not reach its models directly', async () => {
  const bedrock = new BedrockRuntimeClient(clientConfig(routerOnly));
  await assert.rejects(bedrock.send(new ConverseCommand({ ...converseInput(4, {}), modelId: LARGE })),
                       (e) => e.name === 'AccessDeniedException');
});

test('the ledger records the router, the answering model and the escalations', async () => {
  const url = new URL(server.endpoint);
  const signer = new SignatureV4({ credentials: ROOT, region, service: 'plinth',
                                   sha256: Hash.bind(null, 'sha256') });
  const path = '/v1/usage';
  const request = await signer.sign({ method: 'GET', protocol: 'http:', hostname: url.hostname,
    port: Number(url.port), path, query: { group_by: 'model' }, headers: { host: url.host } });
  const r = await fetch(`${server.endpoint}${path}?group_by=model`, { headers: request.headers });
  assert.equal(r.status, 200);
  const report = await r.json();
  const byModel = Object.fromEntries(report.groups.map((g) => [g.key, g]));
  assert.equal(byModel[SMALL].requests, 1);
  assert.equal(byModel[SMALL].escalations, 0);
  // The escalated Converse and ConverseStream (the denied direct call is recorded too).
  assert.equal(byModel[LARGE].escalations, 2);
  assert.ok(byModel[LARGE].cost_usd > byModel[SMALL].cost_usd);
});
