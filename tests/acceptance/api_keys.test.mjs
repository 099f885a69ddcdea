// Acceptance (issue 13): Amazon Bedrock API keys against a real plinth serve. Short-term keys from
// @aws/bedrock-token-generator, long-term keys from IAM CreateServiceSpecificCredential; used by
// the JS SDK (client `token`, AWS_BEARER_TOKEN_BEDROCK in a key-less process), the Vercel AI SDK
// (`apiKey`) and the OpenAI SDK. Ends by grepping the server log for every secret used.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import {
  IAMClient, CreateUserCommand, CreateAccessKeyCommand, PutUserPolicyCommand,
  CreateServiceSpecificCredentialCommand, ListServiceSpecificCredentialsCommand,
  UpdateServiceSpecificCredentialCommand, ResetServiceSpecificCredentialCommand,
  DeleteServiceSpecificCredentialCommand,
} from '@aws-sdk/client-iam';
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { STSClient, GetSessionTokenCommand } from '@aws-sdk/client-sts';
import { createAmazonBedrock } from '@ai-sdk/amazon-bedrock';
import { generateText } from 'ai';
import OpenAI from 'openai';
import tokenGenerator from '@aws/bedrock-token-generator';
import { startPlinth, ROOT, SMALL, LARGE, here } from './harness.mjs';

const { getToken } = tokenGenerator;
const region = 'us-east-1';
const secrets = [ROOT.secretAccessKey];  // every secret the tests use: none may reach the log
let server;
let userKey;  // the IAM user's access key (signs the short-term keys)

const iam = () => new IAMClient({ region, endpoint: server.endpoint, credentials: ROOT, maxAttempts: 1 });
const messages = [{ role: 'user', content: [{ text: 'Say hello' }] }];

// A JS SDK client that authenticates with the bearer token only.
async function converseWithToken(token, modelId = SMALL) {
  const client = new BedrockRuntimeClient({
    region, endpoint: server.endpoint, maxAttempts: 1, token: { token },
    authSchemePreference: ['httpBearerAuth'] });
  return client.send(new ConverseCommand({ modelId, messages, inferenceConfig: { maxTokens: 4 } }));
}

// A node process whose environment has AWS_BEARER_TOKEN_BEDROCK and no access key.
async function converseInKeylessProcess(token) {
  const { stdout } = await promisify(execFile)(process.execPath, [
    join(here, 'default_chain_child.mjs'), server.endpoint, SMALL], {
    env: { PATH: process.env.PATH, HOME: server.dir, AWS_REGION: region,
           AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
           AWS_BEARER_TOKEN_BEDROCK: token } });
  return JSON.parse(stdout);
}

async function refused(promise, status = 403) {
  await assert.rejects(promise, (e) => {
    assert.equal(e.$metadata?.httpStatusCode, status, `${e.name}: ${e.message}`);
    return true;
  });
}

before(async () => {
  server = await startPlinth();
  await iam().send(new CreateUserCommand({ UserName: 'key-user' }));
  const policy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'bedrock:InvokeModel',
    Resource: `arn:aws:bedrock:${region}::foundation-model/${SMALL}` }] };
  await iam().send(new PutUserPolicyCommand({ UserName: 'key-user', PolicyName: 'small-only',
                                              PolicyDocument: JSON.stringify(policy) }));
  const key = (await iam().send(new CreateAccessKeyCommand({ UserName: 'key-user' }))).AccessKey;
  userKey = { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey };
  secrets.push(userKey.secretAccessKey);
});

after(async () => { await server?.stop(); });

test('a short-term key from @aws/bedrock-token-generator calls Converse as its signer', async () => {
  const token = await getToken({ credentials: userKey, region });
  secrets.push(token);
  assert.match(token, /^bedrock-api-key-/);
  const r = await converseWithToken(token);
  assert.ok(r.usage.outputTokens > 0);
  // The signer's permissions: the large model is not allowed to key-user.
  await assert.rejects(converseWithToken(token, LARGE), { name: 'AccessDeniedException' });
  // AWS_BEARER_TOKEN_BEDROCK in a process with no key at all.
  const child = await converseInKeylessProcess(token);
  assert.ok(child.outputTokens > 0);
  // The OpenAI-compatible route takes it as apiKey.
  const openai = new OpenAI({ apiKey: token, baseURL: `${server.endpoint}/v1`, maxRetries: 0 });
  const chat = await openai.chat.completions.create({
    model: SMALL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 });
  assert.ok(chat.usage.completion_tokens > 0);
  // Plinth's own REST APIs keep SigV4: an API key is no credential there.
  const usage = await fetch(`${server.endpoint}/v1/usage?group_by=model`,
                            { headers: { authorization: `Bearer ${token}` } });
  assert.equal(usage.status, 403);
  assert.match(usage.headers.get('x-amzn-errortype'), /^IncompleteSignatureException/);
});

test('short-term keys: another region, expired, tampered and temporary-credential keys', async () => {
  const elsewhere = await getToken({ credentials: userKey, region: 'eu-west-1' });
  secrets.push(elsewhere);
  await refused(converseWithToken(elsewhere));
  const brief = await getToken({ credentials: userKey, region, expiresInSeconds: 1 });
  secrets.push(brief);
  await new Promise((r) => setTimeout(r, 2100));
  await assert.rejects(converseWithToken(brief), { name: 'ExpiredTokenException' });
  const wrong = await getToken({ credentials: { ...userKey, secretAccessKey: 'x'.repeat(40) }, region });
  await assert.rejects(converseWithToken(wrong), { name: 'InvalidSignatureException' });
  await refused(converseWithToken('bedrock-api-key-bm90IGEgdXJs'));
  // Signed with temporary credentials: the key carries the session token and works while it does.
  const session = (await new STSClient({ region, endpoint: server.endpoint, credentials: userKey,
                                         maxAttempts: 1 })
    .send(new GetSessionTokenCommand({ DurationSeconds: 900 }))).Credentials;
  secrets.push(session.SecretAccessKey);
  const temporary = await getToken({ region, credentials: { accessKeyId: session.AccessKeyId,
    secretAccessKey: session.SecretAccessKey, sessionToken: session.SessionToken } });
  secrets.push(temporary);
  assert.ok((await converseWithToken(temporary)).usage.outputTokens > 0);
});

test('long-term keys: IAM service-specific credentials, AWS_BEARER_TOKEN_BEDROCK and Vercel apiKey', async () => {
  const created = (await iam().send(new CreateServiceSpecificCredentialCommand({
    UserName: 'key-user', ServiceName: 'bedrock.amazonaws.com', CredentialAgeDays: 30 })))
    .ServiceSpecificCredential;
  const apiKey = created.ServiceCredentialSecret;
  secrets.push(apiKey);
  assert.match(apiKey, /^ABSK/);
  assert.match(created.ServiceCredentialAlias, /^BedrockAPIKey-.*-at-000000000000$/);
  assert.equal(created.Status, 'Active');
  assert.ok(created.ExpirationDate > new Date(Date.now() + 29 * 86400_000));
  const listed = await iam().send(new ListServiceSpecificCredentialsCommand({ UserName: 'key-user' }));
  assert.equal(listed.ServiceSpecificCredentials.length, 1);
  assert.equal(listed.ServiceSpecificCredentials[0].ServiceCredentialSecret, undefined);
  assert.equal(listed.ServiceSpecificCredentials[0].ServiceSpecificCredentialId,
               created.ServiceSpecificCredentialId);

  assert.ok((await converseInKeylessProcess(apiKey)).outputTokens > 0);
  const bedrock = createAmazonBedrock({ region, apiKey, baseURL: server.endpoint });
  const { text, usage } = await generateText({ model: bedrock(SMALL), prompt: 'Say hello',
                                               maxOutputTokens: 4, maxRetries: 0 });
  assert.equal(typeof text, 'string');
  assert.ok(usage.outputTokens > 0);
  await assert.rejects(converseWithToken(apiKey, LARGE), { name: 'AccessDeniedException' });

  const id = created.ServiceSpecificCredentialId;
  await iam().send(new UpdateServiceSpecificCredentialCommand({
    UserName: 'key-user', ServiceSpecificCredentialId: id, Status: 'Inactive' }));
  await refused(converseWithToken(apiKey));
  await iam().send(new UpdateServiceSpecificCredentialCommand({
    UserName: 'key-user', ServiceSpecificCredentialId: id, Status: 'Active' }));
  assert.ok((await converseWithToken(apiKey)).usage.outputTokens > 0);

  const reset = (await iam().send(new ResetServiceSpecificCredentialCommand({
    UserName: 'key-user', ServiceSpecificCredentialId: id }))).ServiceSpecificCredential;
  secrets.push(reset.ServiceCredentialSecret);
  assert.notEqual(reset.ServiceCredentialSecret, apiKey);
  await refused(converseWithToken(apiKey));
  assert.ok((await converseWithToken(reset.ServiceCredentialSecret)).usage.outputTokens > 0);

  // At most two per user.
  const second = (await iam().send(new CreateServiceSpecificCredentialCommand({
    UserName: 'key-user', ServiceName: 'bedrock.amazonaws.com' }))).ServiceSpecificCredential;
  secrets.push(second.ServiceCredentialSecret);
  assert.equal(second.ExpirationDate, undefined);
  await assert.rejects(iam().send(new CreateServiceSpecificCredentialCommand({
    UserName: 'key-user', ServiceName: 'bedrock.amazonaws.com' })), { name: 'LimitExceededException' });
  await iam().send(new DeleteServiceSpecificCredentialCommand({
    UserName: 'key-user', ServiceSpecificCredentialId: id }));
  await refused(converseWithToken(reset.ServiceCredentialSecret));
});

test('no key, token or secret used above appears in the server log', async () => {
  const log = server.log();
  assert.ok(log.length > 0);
  for (const secret of secrets) {
    assert.equal(log.includes(secret), false, `the log holds a secret starting ${secret.slice(0, 12)}`);
    // nor its distinctive tail (a secret embedded in an encoded form)
    assert.equal(log.includes(secret.slice(-24)), false);
  }
});
