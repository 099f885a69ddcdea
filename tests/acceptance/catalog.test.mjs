// Acceptance: the model catalog through Bedrock's ListFoundationModels / GetFoundationModel (the
// official @aws-sdk/client-bedrock) and GET /v1/models (SigV4 "plinth" or a bearer token).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { SignatureV4 } from '@smithy/signature-v4';
import { Hash } from '@smithy/hash-node';
import {
  BedrockClient, ListFoundationModelsCommand, GetFoundationModelCommand,
} from '@aws-sdk/client-bedrock';
import { IAMClient, CreateRoleCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { STSClient, AssumeRoleCommand } from '@aws-sdk/client-sts';
import { startPlinth, ROOT, SMALL, LARGE, EMBED, ROUTER } from './harness.mjs';

const region = 'us-east-1';
let server;
let invokeOnly;  // temporary credentials of a role that may only invoke models

const clientConfig = (credentials) => ({ region, endpoint: server.endpoint, credentials,
                                         maxAttempts: 1 });
const arn = (id) => `arn:aws:bedrock:${region}::foundation-model/${id}`;

async function signed(method, path, { service = 'plinth', credentials = ROOT, body } = {}) {
  const url = new URL(server.endpoint);
  const signer = new SignatureV4({ credentials, region, service, sha256: Hash.bind(null, 'sha256') });
  const request = await signer.sign({
    method, protocol: 'http:', hostname: url.hostname, port: Number(url.port), path,
    headers: { host: url.host, ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
    body,
  });
  return fetch(`${server.endpoint}${path}`, { method, headers: request.headers, body });
}

before(async () => {
  server = await startPlinth();
  const iam = new IAMClient(clientConfig(ROOT));
  const trust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow',
    Principal: { AWS: 'arn:aws:iam::000000000000:root' }, Action: 'sts:AssumeRole' }] };
  await iam.send(new CreateRoleCommand({ RoleName: 'invoke-only',
                                         AssumeRolePolicyDocument: JSON.stringify(trust) }));
  const policy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow',
    Action: ['bedrock:InvokeModel'], Resource: '*' }] };
  await iam.send(new PutRolePolicyCommand({ RoleName: 'invoke-only', PolicyName: 'invoke',
                                            PolicyDocument: JSON.stringify(policy) }));
  const sts = new STSClient(clientConfig(ROOT));
  const c = (await sts.send(new AssumeRoleCommand({
    RoleArn: 'arn:aws:iam::000000000000:role/invoke-only', RoleSessionName: 'catalog' }))).Credentials;
  invokeOnly = { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey,
                 sessionToken: c.SessionToken };
});

after(async () => { await server?.stop(); });

test('ListFoundationModels lists every catalog model in Bedrock\'s shape', async () => {
  const bedrock = new BedrockClient(clientConfig(ROOT));
  const r = await bedrock.send(new ListFoundationModelsCommand({}));
  assert.deepEqual(r.modelSummaries.map((m) => m.modelId), [SMALL, LARGE, EMBED]);
  const small = r.modelSummaries[0];
  assert.equal(small.modelArn, arn(SMALL));
  assert.equal(small.providerName, 'Plinth');
  assert.deepEqual(small.inputModalities, ['TEXT']);
  assert.deepEqual(small.outputModalities, ['TEXT']);
  assert.equal(small.responseStreamingSupported, true);
  assert.deepEqual(small.inferenceTypesSupported, ['ON_DEMAND']);
  assert.equal(small.modelLifecycle.status, 'ACTIVE');
  const embed = r.modelSummaries[2];
  assert.deepEqual(embed.outputModalities, ['EMBEDDING']);
  assert.equal(embed.responseStreamingSupported, false);
});

test('ListFoundationModels applies its filters', async () => {
  const bedrock = new BedrockClient(clientConfig(ROOT));
  const ids = async (input) =>
    (await bedrock.send(new ListFoundationModelsCommand(input))).modelSummaries.map((m) => m.modelId);
  assert.deepEqual(await ids({ byOutputModality: 'EMBEDDING' }), [EMBED]);
  assert.deepEqual(await ids({ byOutputModality: 'TEXT', byProvider: 'plinth' }), [SMALL, LARGE]);
  assert.deepEqual(await ids({ byProvider: 'Anthropic' }), []);
  assert.deepEqual(await ids({ byInferenceType: 'PROVISIONED' }), []);
  assert.deepEqual(await ids({ byInferenceType: 'ON_DEMAND' }), [SMALL, LARGE, EMBED]);
});

test('GetFoundationModel resolves ids, aliases and ARNs; unknown models are not found', async () => {
  const bedrock = new BedrockClient(clientConfig(ROOT));
  for (const id of [SMALL, 'anthropic.claude-3-haiku-20240307-v1:0', arn(SMALL)]) {
    const r = await bedrock.send(new GetFoundationModelCommand({ modelIdentifier: id }));
    assert.equal(r.modelDetails.modelId, SMALL);
    assert.equal(r.modelDetails.modelArn, arn(SMALL));
    assert.deepEqual(r.modelDetails.outputModalities, ['TEXT']);
  }
  await assert.rejects(
    bedrock.send(new GetFoundationModelCommand({ modelIdentifier: 'no-such-model' })),
    (e) => e.name === 'ResourceNotFoundException' && e.$metadata.httpStatusCode === 404);
});

test('the catalog APIs need a signature and the permission', async () => {
  const unsigned = await fetch(`${server.endpoint}/foundation-models`);
  assert.equal(unsigned.status, 403);
  const bedrock = new BedrockClient(clientConfig(invokeOnly));
  await assert.rejects(bedrock.send(new ListFoundationModelsCommand({})),
                       (e) => e.name === 'AccessDeniedException');
  await assert.rejects(bedrock.send(new GetFoundationModelCommand({ modelIdentifier: SMALL })),
                       (e) => e.name === 'AccessDeniedException');
  const models = await signed('GET', '/v1/models', { credentials: invokeOnly });
  assert.equal(models.status, 403);
  assert.equal((await fetch(`${server.endpoint}/v1/models`)).status, 401);
});

test('GET /v1/models lists models and routers with tiers and prices', async () => {
  const r = await signed('GET', '/v1/models');
  assert.equal(r.status, 200);
  const body = await r.json();
  assert.equal(body.object, 'list');
  assert.deepEqual(body.data.map((m) => m.id), [SMALL, LARGE, EMBED, ROUTER]);
  const large = body.data[1];
  assert.equal(large.object, 'model');
  assert.equal(large.owned_by, 'plinth');
  assert.equal(large.tier, 'large');
  assert.equal(large.kind, 'text');
  assert.deepEqual(large.aliases, ['anthropic.claude-3-5-sonnet-20240620-v1:0']);
  assert.equal(large.price_input_per_mtok, 3);
  assert.equal(large.price_output_per_mtok, 15);
  const router = body.data[3];
  assert.equal(router.kind, 'router');
  assert.equal(router.small_model, SMALL);
  assert.equal(router.large_model, LARGE);

  // The bearer token the OpenAI-compatible APIs accept works too.
  const minted = await signed('POST', '/', { service: 'sts',
    body: 'Action=CreateBearerToken&Version=2011-06-15&DurationSeconds=900' });
  const token = (await minted.text()).match(/<BearerToken>([^<]+)<\/BearerToken>/)[1];
  const viaBearer = await fetch(`${server.endpoint}/v1/models`,
                                { headers: { authorization: `Bearer ${token}` } });
  assert.equal(viaBearer.status, 200);
  assert.equal((await viaBearer.json()).data.length, 4);
});
