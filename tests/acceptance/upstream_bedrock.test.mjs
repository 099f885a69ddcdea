// Acceptance (issue 14): a second plinth serve is the Bedrock upstream of a front plinth
// ([[providers]] kind "bedrock", endpoint = the upstream). The front's outbound credentials come
// from each chain link that runs on one machine: environment keys, a profile with role_arn
// (AssumeRole at the upstream's STS) and a web identity token file. The AWS SDK v3 calls the
// front: Converse, ConverseStream, InvokeModel and InvokeModelWithResponseStream; the front's
// ledger records the upstream's token counts under the provider's id.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { generateKeyPair, exportJWK, SignJWT } from 'jose';
import { SignatureV4 } from '@smithy/signature-v4';
import { Hash } from '@smithy/hash-node';
import { IAMClient, CreateRoleCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { BedrockRuntimeClient, ConverseCommand, ConverseStreamCommand, InvokeModelCommand,
         InvokeModelWithResponseStreamCommand } from '@aws-sdk/client-bedrock-runtime';
import OpenAI from 'openai';
import { startPlinth, writeConfig, mintBearerToken, ROOT, SMALL } from './harness.mjs';

const region = 'us-east-1';
const ACCOUNT = '000000000000';
const ISSUER = 'https://front-issuer.example';
const AUDIENCE = 'plinth-front';
const UP = 'up-small';  // the front's catalog id for the upstream's SMALL
let upstream;
const fronts = {};

function frontConfig(dir) {
  const file = writeConfig(dir);
  appendFileSync(file, `
[[providers]]
id = "aws"
kind = "bedrock"
region = "${region}"
endpoint = "${upstream.endpoint}"
timeout_seconds = 30
max_retries = 1

[[models]]
id = "${UP}"
provider = "aws"
upstream_model = "${SMALL}"
kind = "text"
tier = "small"
aliases = ["anthropic.claude-3-haiku-upstream"]
price_input_per_mtok = 1.0
price_output_per_mtok = 2.0

[[models]]
id = "up-missing"
provider = "aws"
upstream_model = "no-such-upstream-model"
kind = "text"
tier = "small"
`);
  return file;
}

async function startFront(name, env) {
  const dir = mkdtempSync(join(tmpdir(), `plinth-front-${name}-`));
  const base = { AWS_CONFIG_FILE: join(dir, 'none'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'),
                 AWS_EC2_METADATA_DISABLED: 'true', AWS_ENDPOINT_URL_STS: upstream.endpoint,
                 AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_SESSION_TOKEN: '',
                 AWS_PROFILE: '', AWS_WEB_IDENTITY_TOKEN_FILE: '', AWS_ROLE_ARN: '' };
  fronts[name] = await startPlinth({ dataDir: dir, configFile: frontConfig(dir),
                                     extraEnv: { ...base, ...env(dir) } });
  return fronts[name];
}

const client = (server) => new BedrockRuntimeClient({ region, endpoint: server.endpoint,
                                                      credentials: ROOT, maxAttempts: 1 });
const ask = { messages: [{ role: 'user', content: [{ text: 'Name a colour.' }] }],
              inferenceConfig: { maxTokens: 6, temperature: 0 } };

async function signedGet(server, path, query = {}) {
  const url = new URL(server.endpoint);
  const signer = new SignatureV4({ credentials: ROOT, region, service: 'plinth',
                                   sha256: Hash.bind(null, 'sha256') });
  // The query is signed as SigV4 canonicalizes it, apart from the path.
  const request = await signer.sign({ method: 'GET', protocol: 'http:', hostname: url.hostname,
                                      port: Number(url.port), path, query,
                                      headers: { host: url.host } });
  const search = new URLSearchParams(query).toString();
  const r = await fetch(`${server.endpoint}${path}${search ? `?${search}` : ''}`,
                        { headers: request.headers });
  assert.equal(r.status, 200);
  return r.json();
}

before(async () => {
  const upDir = mkdtempSync(join(tmpdir(), 'plinth-upstream-'));
  const rsa = await generateKeyPair('RS256', { extractable: true });
  const jwks = { keys: [{ ...(await exportJWK(rsa.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] };
  writeFileSync(join(upDir, 'jwks.json'), JSON.stringify(jwks));
  const upConfig = writeConfig(upDir);
  appendFileSync(upConfig, `
[[oidc_providers]]
issuer = "${ISSUER}"
audiences = ["${AUDIENCE}"]
jwks_file = "${join(upDir, 'jwks.json')}"
`);
  upstream = await startPlinth({ dataDir: upDir, configFile: upConfig });
  const iam = new IAMClient({ region, endpoint: upstream.endpoint, credentials: ROOT, maxAttempts: 1 });
  const policy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'bedrock:*', Resource: '*' }] };
  const trusts = {
    'gateway-role': { Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'sts:AssumeRole' },
    'gateway-web': { Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/front-issuer.example` },
                     Action: 'sts:AssumeRoleWithWebIdentity' },
  };
  for (const [name, statement] of Object.entries(trusts)) {
    const trust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', ...statement }] };
    await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: JSON.stringify(trust) }));
    await iam.send(new PutRolePolicyCommand({ RoleName: name, PolicyName: 'bedrock',
                                              PolicyDocument: JSON.stringify(policy) }));
  }
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ sub: 'gateway' }).setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt(now).setExpirationTime(now + 3600)
    .sign(rsa.privateKey);

  await startFront('env', () => ({ AWS_ACCESS_KEY_ID: ROOT.accessKeyId,
                                   AWS_SECRET_ACCESS_KEY: ROOT.secretAccessKey }));
  await startFront('profile', (dir) => {
    writeFileSync(join(dir, 'credentials'),
                  `[base]\naws_access_key_id = ${ROOT.accessKeyId}\naws_secret_access_key = ${ROOT.secretAccessKey}\n`);
    writeFileSync(join(dir, 'config'), `[profile gateway]\nrole_arn = arn:aws:iam::${ACCOUNT}:role/gateway-role\n` +
                  'source_profile = base\nrole_session_name = front\n');
    return { AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'), AWS_CONFIG_FILE: join(dir, 'config'),
             AWS_PROFILE: 'gateway' };
  });
  await startFront('web', (dir) => {
    writeFileSync(join(dir, 'token'), token);
    return { AWS_WEB_IDENTITY_TOKEN_FILE: join(dir, 'token'),
             AWS_ROLE_ARN: `arn:aws:iam::${ACCOUNT}:role/gateway-web`, AWS_ROLE_SESSION_NAME: 'front-web' };
  });
});

after(async () => {
  for (const server of Object.values(fronts)) await server.stop();
  await upstream?.stop();
});

test('Converse through each credential link answers with the upstream model and its usage', async () => {
  const direct = await client(upstream).send(new ConverseCommand({ modelId: SMALL, ...ask }));
  for (const name of ['env', 'profile', 'web']) {
    const out = await client(fronts[name]).send(new ConverseCommand({ modelId: UP, ...ask }));
    assert.equal(out.output.message.content[0].text, direct.output.message.content[0].text, name);
    assert.equal(out.usage.inputTokens, direct.usage.inputTokens, name);
    assert.equal(out.usage.outputTokens, direct.usage.outputTokens, name);
    assert.equal(out.stopReason, direct.stopReason, name);
  }
});

test('the front ledger records the upstream counts under provider "aws"', async () => {
  const front = fronts.env;
  const out = await client(front).send(new ConverseCommand({ modelId: UP, ...ask }));
  let row;
  for (let i = 0; i < 50 && !row; ++i) {  // the ledger writes in batches
    const recent = await signedGet(front, '/v1/usage/recent', { limit: '20' });
    row = recent.calls.find((r) => r.model_used === UP);
    if (!row) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(row, 'a ledger row for the upstream model');
  assert.equal(row.provider, 'aws');
  assert.equal(row.input_tokens, out.usage.inputTokens);
  assert.equal(row.output_tokens, out.usage.outputTokens);
});

test('ConverseStream streams the upstream events with usage metadata', async () => {
  const direct = await client(upstream).send(new ConverseCommand({ modelId: SMALL, ...ask }));
  const out = await client(fronts.profile).send(new ConverseStreamCommand({ modelId: UP, ...ask }));
  let text = '';
  let metadata;
  let stop;
  for await (const event of out.stream) {
    if (event.contentBlockDelta) text += event.contentBlockDelta.delta.text;
    if (event.messageStop) stop = event.messageStop.stopReason;
    if (event.metadata) metadata = event.metadata;
  }
  assert.equal(text, direct.output.message.content[0].text);
  assert.equal(stop, direct.stopReason);
  assert.equal(metadata.usage.inputTokens, direct.usage.inputTokens);
});

test('a chat completion stream with a forced tool streams its arguments through ConverseStream', async () => {
  // Not Bedrock inbound, so translated: the upstream's ConverseStream toolUse deltas become
  // tool_calls argument deltas as they arrive.
  const openai = new OpenAI({ apiKey: await mintBearerToken(fronts.env.endpoint),
                              baseURL: `${fronts.env.endpoint}/v1`, maxRetries: 0 });
  const stream = await openai.chat.completions.create({ model: UP, max_tokens: 48,
    temperature: 0, stream: true, messages: [{ role: 'user', content: 'Invoice 42 totals 9.' }],
    tools: [{ type: 'function', function: { name: 'record', parameters: {
      type: 'object', properties: { total: { type: 'integer' } }, required: ['total'],
      additionalProperties: false } } }],
    tool_choice: { type: 'function', function: { name: 'record' } } });
  let name; let args = ''; let fragments = 0; let finish;
  for await (const chunk of stream) {
    const call = chunk.choices[0]?.delta?.tool_calls?.[0];
    if (call?.function?.name) name = call.function.name;
    if (call?.function?.arguments) {
      args += call.function.arguments;
      ++fragments;
    }
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  assert.equal(name, 'record');
  assert.equal(finish, 'tool_calls');
  assert.equal(typeof JSON.parse(args).total, 'number');
  assert.ok(fragments > 1, `${fragments} argument fragment(s)`);
});

test('InvokeModel and InvokeModelWithResponseStream (Anthropic bodies) reach the upstream', async () => {
  const body = JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 6, temperature: 0,
                                messages: [{ role: 'user', content: 'Name a colour.' }] });
  const direct = await client(upstream).send(new ConverseCommand({ modelId: SMALL, ...ask }));
  const invoked = await client(fronts.web).send(new InvokeModelCommand({
    modelId: UP, contentType: 'application/json', accept: 'application/json', body }));
  const answer = JSON.parse(new TextDecoder().decode(invoked.body));
  assert.equal(answer.content[0].text, direct.output.message.content[0].text);
  assert.equal(answer.usage.input_tokens, direct.usage.inputTokens);
  const streamed = await client(fronts.web).send(new InvokeModelWithResponseStreamCommand({
    modelId: UP, contentType: 'application/json', accept: 'application/json', body }));
  let text = '';
  for await (const event of streamed.body) {
    const chunk = JSON.parse(new TextDecoder().decode(event.chunk.bytes));
    if (chunk.type === 'content_block_delta') text += chunk.delta.text;
  }
  assert.equal(text, direct.output.message.content[0].text);
});

test('an upstream error keeps its Bedrock type and message', async () => {
  await assert.rejects(client(fronts.env).send(new ConverseCommand({ modelId: 'up-missing', ...ask })),
                       (e) => e.name === 'ResourceNotFoundException' && /no-such-upstream-model/.test(e.message));
});
