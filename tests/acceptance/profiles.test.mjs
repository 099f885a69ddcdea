// Acceptance: application inference profiles with the real @aws-sdk/client-bedrock (Create, Get,
// List, Tag, Untag, ListTags, Delete) and the profile ARN as modelId through
// @aws-sdk/client-bedrock-runtime against a real plinth serve: the ledger's usage grouped by
// profile, profile tag and requestMetadata; a tag budget capping calls through a profile; IAM
// Deny on the profile or on its model; a deleted profile answering ResourceNotFoundException.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignatureV4 } from '@smithy/signature-v4';
import { Hash } from '@smithy/hash-node';
import {
  BedrockClient, CreateInferenceProfileCommand, GetInferenceProfileCommand,
  ListInferenceProfilesCommand, DeleteInferenceProfileCommand, TagResourceCommand,
  UntagResourceCommand, ListTagsForResourceCommand,
} from '@aws-sdk/client-bedrock';
import {
  BedrockRuntimeClient, ConverseCommand, ConverseStreamCommand,
} from '@aws-sdk/client-bedrock-runtime';
import {
  IAMClient, CreateUserCommand, CreateAccessKeyCommand, PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import { startPlinth, runPlinth, repoRoot, ROOT, SMALL } from './harness.mjs';

const region = 'us-east-1';
const MODEL_ARN = `arn:aws:bedrock:${region}::foundation-model/${SMALL}`;
let server;
let dir;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plinth-profiles-'));
  const configFile = join(dir, 'plinth.toml');
  // One output token costs exactly 1 USD and input is free: a call with maxTokens = 1 reserves
  // and spends 1 USD, so the 3 USD tag budget admits exactly 3 calls through a tagged profile.
  writeFileSync(configFile, `
listen = "127.0.0.1:0"
region = "${region}"
[[models]]
id = "${SMALL}"
file = "${join(repoRoot, 'models', 'qwen2-32-tied-q8_0.gguf')}"
kind = "text"
price_input_per_mtok = 0.0
price_output_per_mtok = 1000000.0
[[budgets]]
id = "capped-team"
scope = "tag"
match = "team=capped"
period = "day"
limit_usd = 3.0
`);
  server = await startPlinth({ dataDir: dir, configFile });
});

after(async () => { await server?.stop(); });

const control = (credentials = ROOT) =>
  new BedrockClient({ region, endpoint: server.endpoint, credentials, maxAttempts: 1 });
const runtime = (credentials = ROOT) =>
  new BedrockRuntimeClient({ region, endpoint: server.endpoint, credentials, maxAttempts: 1 });

const converse = (client, modelId, extra = {}) => client.send(new ConverseCommand({
  modelId,
  messages: [{ role: 'user', content: [{ text: 'Total?' }] }],
  inferenceConfig: { maxTokens: 1, temperature: 0 },
  ...extra,
}));

async function usage(groupBy) {
  const url = new URL(server.endpoint);
  const path = `/v1/usage?group_by=${encodeURIComponent(groupBy)}`;
  const signer = new SignatureV4({ credentials: ROOT, region, service: 'plinth',
                                   sha256: Hash.bind(null, 'sha256') });
  const request = await signer.sign({ method: 'GET', protocol: 'http:', hostname: url.hostname,
                                      port: Number(url.port), path: '/v1/usage',
                                      query: { group_by: groupBy }, headers: { host: url.host } });
  const r = await fetch(`${server.endpoint}${path}`, { headers: request.headers });
  const body = await r.json();
  assert.equal(r.status, 200, JSON.stringify(body));
  return Object.fromEntries(body.groups.map((g) => [g.key, g]));
}

async function createProfile(name, tags) {
  const created = await control().send(new CreateInferenceProfileCommand({
    inferenceProfileName: name, description: `profile ${name}`,
    modelSource: { copyFrom: MODEL_ARN }, tags,
  }));
  assert.equal(created.$metadata.httpStatusCode, 201);
  assert.equal(created.status, 'ACTIVE');
  assert.match(created.inferenceProfileArn,
               /^arn:aws:bedrock:us-east-1:000000000000:application-inference-profile\/[a-z0-9]{12}$/);
  return created.inferenceProfileArn;
}

async function userWith(name, statements) {
  const iam = new IAMClient({ region, endpoint: server.endpoint, credentials: ROOT });
  await iam.send(new CreateUserCommand({ UserName: name }));
  await iam.send(new PutUserPolicyCommand({ UserName: name, PolicyName: 'p', PolicyDocument:
    JSON.stringify({ Version: '2012-10-17', Statement: statements }) }));
  const key = (await iam.send(new CreateAccessKeyCommand({ UserName: name }))).AccessKey;
  return { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey };
}

test('the control plane creates, reads, lists, tags and untags a profile', async () => {
  const arn = await createProfile('billing-app', [{ key: 'team', value: 'alpha' }]);
  const byArn = await control().send(new GetInferenceProfileCommand({
    inferenceProfileIdentifier: arn }));
  assert.equal(byArn.inferenceProfileName, 'billing-app');
  assert.equal(byArn.inferenceProfileArn, arn);
  assert.equal(byArn.type, 'APPLICATION');
  assert.equal(byArn.description, 'profile billing-app');
  assert.deepEqual(byArn.models, [{ modelArn: MODEL_ARN }]);
  assert.ok(byArn.createdAt instanceof Date && !Number.isNaN(byArn.createdAt.getTime()));
  const byName = await control().send(new GetInferenceProfileCommand({
    inferenceProfileIdentifier: 'billing-app' }));
  assert.equal(byName.inferenceProfileId, arn.split('/')[1]);

  await createProfile('search-app', [{ key: 'team', value: 'beta' }]);
  const first = await control().send(new ListInferenceProfilesCommand({
    typeEquals: 'APPLICATION', maxResults: 1 }));
  assert.equal(first.inferenceProfileSummaries.length, 1);
  assert.ok(first.nextToken);
  const second = await control().send(new ListInferenceProfilesCommand({
    typeEquals: 'APPLICATION', maxResults: 1, nextToken: first.nextToken }));
  assert.equal(second.inferenceProfileSummaries.length, 1);
  assert.equal(second.nextToken, undefined);
  const names = [...first.inferenceProfileSummaries, ...second.inferenceProfileSummaries]
    .map((p) => p.inferenceProfileName).sort();
  assert.deepEqual(names, ['billing-app', 'search-app']);
  const system = await control().send(new ListInferenceProfilesCommand({}));
  assert.deepEqual(system.inferenceProfileSummaries.map((p) => p.inferenceProfileId),
                   [`us.${SMALL}`]);
  assert.equal(system.inferenceProfileSummaries[0].type, 'SYSTEM_DEFINED');

  await control().send(new TagResourceCommand({ resourceARN: arn,
                                                tags: [{ key: 'env', value: 'prod' }] }));
  let tags = await control().send(new ListTagsForResourceCommand({ resourceARN: arn }));
  assert.deepEqual(tags.tags, [{ key: 'env', value: 'prod' }, { key: 'team', value: 'alpha' }]);
  await control().send(new UntagResourceCommand({ resourceARN: arn, tagKeys: ['env'] }));
  tags = await control().send(new ListTagsForResourceCommand({ resourceARN: arn }));
  assert.deepEqual(tags.tags, [{ key: 'team', value: 'alpha' }]);

  await assert.rejects(
    control().send(new CreateInferenceProfileCommand({ inferenceProfileName: 'bad/name',
                                                       modelSource: { copyFrom: MODEL_ARN } })),
    (e) => e.name === 'ValidationException');
  await assert.rejects(
    control().send(new CreateInferenceProfileCommand({ inferenceProfileName: 'billing-app',
                                                       modelSource: { copyFrom: MODEL_ARN } })),
    (e) => e.name === 'ConflictException');
});

test('the profile ARN works as modelId and the ledger groups by profile, tag and metadata',
     async () => {
  const arn = (await control().send(new GetInferenceProfileCommand({
    inferenceProfileIdentifier: 'billing-app' }))).inferenceProfileArn;
  const answer = await converse(runtime(), arn, { requestMetadata: { user: 'u-1', flow: 'a b' } });
  assert.equal(answer.usage.outputTokens, 1);
  const stream = await runtime().send(new ConverseStreamCommand({
    modelId: arn, messages: [{ role: 'user', content: [{ text: 'Hi' }] }],
    inferenceConfig: { maxTokens: 1 }, requestMetadata: { user: 'u-2' } }));
  let stopped = false;
  for await (const event of stream.stream) if (event.messageStop) stopped = true;
  assert.ok(stopped);
  await converse(runtime(), SMALL, { requestMetadata: { user: 'u-1' } });

  const byProfile = await usage('profile');
  assert.equal(byProfile[arn].requests, 2);
  assert.equal(byProfile[''].requests, 1);
  const byTeam = await usage('tag:team');
  assert.equal(byTeam.alpha.requests, 2);
  const byUser = await usage('metadata:user');
  assert.equal(byUser['u-1'].requests, 2);
  assert.equal(byUser['u-2'].requests, 1);
  // `plinth usage` reads the same ledger offline.
  const offline = JSON.parse(runPlinth(['usage', '--data-dir', join(dir, 'data'),
                                        '--group-by', 'tag:team', '--json']));
  assert.equal(offline.groups.find((g) => g.key === 'alpha').requests, 2);

  await assert.rejects(
    converse(runtime(), SMALL, { requestMetadata: Object.fromEntries(
      Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v'])) }),
    (e) => e.name === 'ValidationException' && /requestMetadata/.test(e.message));
});

test('a tag budget caps the calls made through a profile with that tag', async () => {
  const arn = await createProfile('capped-app', [{ key: 'team', value: 'capped' }]);
  const results = [];
  for (let i = 0; i < 5; i++) {
    results.push(await converse(runtime(), arn).then(() => 'ok', (e) => e));
  }
  assert.deepEqual(results.slice(0, 3), ['ok', 'ok', 'ok']);
  for (const refused of results.slice(3)) {
    assert.equal(refused.name, 'ThrottlingException', String(refused));
    assert.match(refused.message, /capped-team/);
    assert.match(refused.message, /team=capped/);
  }
  // The model itself is not under the tag's budget.
  assert.equal((await converse(runtime(), SMALL)).usage.outputTokens, 1);
});

test('IAM: the caller needs the profile and its model; a Deny on either denies', async () => {
  const arn = await createProfile('guarded-app', []);
  const both = await userWith('both', [
    { Effect: 'Allow', Action: 'bedrock:InvokeModel', Resource: [arn, MODEL_ARN] }]);
  assert.equal((await converse(runtime(both), arn)).usage.outputTokens, 1);
  const profileOnly = await userWith('profile-only', [
    { Effect: 'Allow', Action: 'bedrock:InvokeModel', Resource: arn }]);
  await assert.rejects(converse(runtime(profileOnly), arn),
                       (e) => e.name === 'AccessDeniedException');
  const denyProfile = await userWith('deny-profile', [
    { Effect: 'Allow', Action: '*', Resource: '*' },
    { Effect: 'Deny', Action: 'bedrock:InvokeModel', Resource: arn }]);
  await assert.rejects(converse(runtime(denyProfile), arn),
                       (e) => e.name === 'AccessDeniedException' && e.message.includes(arn));
  assert.equal((await converse(runtime(denyProfile), SMALL)).usage.outputTokens, 1);
  const denyModel = await userWith('deny-model', [
    { Effect: 'Allow', Action: '*', Resource: '*' },
    { Effect: 'Deny', Action: 'bedrock:InvokeModel', Resource: `arn:aws:bedrock:*::foundation-model/${SMALL}` }]);
  await assert.rejects(converse(runtime(denyModel), arn),
                       (e) => e.name === 'AccessDeniedException');
  const denyGet = await userWith('deny-get', [
    { Effect: 'Allow', Action: '*', Resource: '*' },
    { Effect: 'Deny', Action: 'bedrock:GetInferenceProfile', Resource: arn }]);
  await assert.rejects(control(denyGet).send(new GetInferenceProfileCommand({
    inferenceProfileIdentifier: 'guarded-app' })), (e) => e.name === 'AccessDeniedException');
});

test('a deleted profile answers ResourceNotFoundException as modelId and on Get', async () => {
  const arn = await createProfile('short-lived', []);
  assert.equal((await converse(runtime(), arn)).usage.outputTokens, 1);
  await control().send(new DeleteInferenceProfileCommand({ inferenceProfileIdentifier: arn }));
  await assert.rejects(converse(runtime(), arn), (e) => e.name === 'ResourceNotFoundException');
  await assert.rejects(control().send(new GetInferenceProfileCommand({
    inferenceProfileIdentifier: arn })), (e) => e.name === 'ResourceNotFoundException');
});
