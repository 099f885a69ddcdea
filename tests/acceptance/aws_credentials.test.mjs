// Acceptance (issue 14): Plinth's outbound AWS credential chain (tests/aws/credential_probe.cpp)
// against a real plinth serve's STS, one link at a time: environment, shared files with role_arn
// (AssumeRole, chained through source_profile), web identity (AssumeRoleWithWebIdentity, from the
// environment and from a profile), ECS container credentials (`--task-role`). The probe resolves
// the credentials, signs GetCallerIdentity with them and prints the caller's ARN; its log must
// never hold a secret.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { appendFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { generateKeyPair, exportJWK, SignJWT } from 'jose';
import { IAMClient, CreateRoleCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { startPlinth, writeConfig, ROOT } from './harness.mjs';

const probe = process.env.PLINTH_AWS_PROBE;
const ISSUER = 'https://chain-issuer.example';
const AUDIENCE = 'plinth-upstream';
const ACCOUNT = '000000000000';
let server, dir, rsa, jwtToken, containerToken;

async function runProbe(env, args = []) {
  const base = { PATH: process.env.PATH, HOME: dir, AWS_REGION: 'us-east-1',
                 AWS_CONFIG_FILE: join(dir, 'none'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'),
                 AWS_ENDPOINT_URL_STS: server.endpoint, AWS_EC2_METADATA_DISABLED: 'true' };
  let stdout, stderr, code = 0;
  try {
    ({ stdout, stderr } = await promisify(execFile)(probe, args, { env: { ...base, ...env } }));
  } catch (e) {
    ({ stdout, stderr, code } = e);
  }
  for (const secret of [ROOT.secretAccessKey, jwtToken, containerToken]) {
    assert.ok(!stderr.includes(secret) && !stdout.includes(secret), 'a secret reached the output');
  }
  return { code, ...JSON.parse(stdout.trim().split('\n').pop()), stderr };
}

function files(name, credentials, config) {
  const c = join(dir, `${name}-credentials`), f = join(dir, `${name}-config`);
  writeFileSync(c, credentials);
  writeFileSync(f, config);
  return { AWS_SHARED_CREDENTIALS_FILE: c, AWS_CONFIG_FILE: f };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plinth-aws-chain-'));
  rsa = await generateKeyPair('RS256', { extractable: true });
  const jwks = { keys: [{ ...(await exportJWK(rsa.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] };
  writeFileSync(join(dir, 'jwks.json'), JSON.stringify(jwks));
  const configFile = writeConfig(dir);
  appendFileSync(configFile, `
[[oidc_providers]]
issuer = "${ISSUER}"
audiences = ["${AUDIENCE}"]
jwks_file = "${join(dir, 'jwks.json')}"
`);
  server = await startPlinth({ dataDir: dir, configFile, extraArgs: ['--task-role', 'app-task'] });
  const now = Math.floor(Date.now() / 1000);
  jwtToken = await new SignJWT({ sub: 'workload-7' }).setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt(now).setExpirationTime(now + 600)
    .sign(rsa.privateKey);
  writeFileSync(join(dir, 'web-token'), jwtToken + '\n');
  const { readFileSync } = await import('node:fs');
  containerToken = readFileSync(join(dir, 'data', 'container-credentials-token'), 'utf8').trim();

  const iam = new IAMClient({ region: 'us-east-1', endpoint: server.endpoint, credentials: ROOT,
                              maxAttempts: 1 });
  const account = { AWS: `arn:aws:iam::${ACCOUNT}:root` };
  const web = { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/chain-issuer.example` };
  const roles = {
    'upstream-caller': { Principal: account, Action: 'sts:AssumeRole' },
    'chained-caller': { Principal: account, Action: 'sts:AssumeRole' },
    'web-caller': { Principal: web, Action: 'sts:AssumeRoleWithWebIdentity',
                    Condition: { StringEquals: { 'chain-issuer.example:aud': AUDIENCE } } },
    'app-task': { Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole' },
    'nobody-may': { Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole' },
  };
  for (const [name, statement] of Object.entries(roles)) {
    const trust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', ...statement }] };
    await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: JSON.stringify(trust) }));
    const policy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow',
      Action: ['sts:AssumeRole', 'bedrock:InvokeModel'], Resource: '*' }] };
    await iam.send(new PutRolePolicyCommand({ RoleName: name, PolicyName: 'chain',
                                              PolicyDocument: JSON.stringify(policy) }));
  }
});

after(async () => { await server?.stop(); });

test('environment keys are the first link and sign STS calls', async () => {
  const out = await runProbe({ AWS_ACCESS_KEY_ID: ROOT.accessKeyId,
                               AWS_SECRET_ACCESS_KEY: ROOT.secretAccessKey,
                               // a container link is configured too, and loses to the environment
                               AWS_CONTAINER_CREDENTIALS_FULL_URI: `${server.endpoint}/v1/container-credentials`,
                               AWS_CONTAINER_AUTHORIZATION_TOKEN: containerToken });
  assert.equal(out.code, 0, out.message);
  assert.equal(out.source, 'environment');
  assert.equal(out.accessKeyId, ROOT.accessKeyId);
  assert.equal(out.arn, `arn:aws:iam::${ACCOUNT}:root`);
});

test('a profile with role_arn + source_profile assumes the role through STS', async () => {
  const env = files('role', `[base]\naws_access_key_id = ${ROOT.accessKeyId}\naws_secret_access_key = ${ROOT.secretAccessKey}\n`,
    `[profile upstream]\nrole_arn = arn:aws:iam::${ACCOUNT}:role/upstream-caller\nsource_profile = base\n` +
    'role_session_name = gateway\nduration_seconds = 900\n');
  const out = await runProbe({ ...env, AWS_PROFILE: 'upstream' });
  assert.equal(out.code, 0, out.message);
  assert.equal(out.source, 'profile upstream (assumed role)');
  assert.match(out.accessKeyId, /^ASIA/);
  assert.equal(out.hasSessionToken, true);
  assert.equal(out.arn, `arn:aws:sts::${ACCOUNT}:assumed-role/upstream-caller/gateway`);
  const lifetime = out.expiration - Date.now() / 1000;
  assert.ok(lifetime > 800 && lifetime <= 900, `lifetime ${lifetime}`);
  // The same profile named explicitly (plinth.toml's `profile`), with the environment ignored.
  const named = await runProbe({ ...env, AWS_ACCESS_KEY_ID: 'AKIAIGNORED', AWS_SECRET_ACCESS_KEY: 'x' },
                               ['--profile', 'upstream']);
  assert.equal(named.arn, `arn:aws:sts::${ACCOUNT}:assumed-role/upstream-caller/gateway`);
});

test('role profiles chain: the source profile is itself an assumed role', async () => {
  const env = files('chain', `[base]\naws_access_key_id = ${ROOT.accessKeyId}\naws_secret_access_key = ${ROOT.secretAccessKey}\n`,
    `[profile first]\nrole_arn = arn:aws:iam::${ACCOUNT}:role/upstream-caller\nsource_profile = base\n` +
    `[profile second]\nrole_arn = arn:aws:iam::${ACCOUNT}:role/chained-caller\nsource_profile = first\n` +
    'role_session_name = hop2\n');
  const out = await runProbe({ ...env, AWS_PROFILE: 'second' });
  assert.equal(out.code, 0, out.message);
  assert.equal(out.arn, `arn:aws:sts::${ACCOUNT}:assumed-role/chained-caller/hop2`);
});

test('a role STS refuses stops the chain with the STS error', async () => {
  const env = files('denied', `[base]\naws_access_key_id = ${ROOT.accessKeyId}\naws_secret_access_key = ${ROOT.secretAccessKey}\n`,
    `[profile denied]\nrole_arn = arn:aws:iam::${ACCOUNT}:role/nobody-may\nsource_profile = base\n`);
  const out = await runProbe({ ...env, AWS_PROFILE: 'denied' });
  assert.equal(out.code, 1);
  assert.equal(out.error, 'PermissionDenied');
  assert.match(out.message, /AccessDenied/);
});

test('AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN take the role with AssumeRoleWithWebIdentity', async () => {
  const out = await runProbe({ AWS_WEB_IDENTITY_TOKEN_FILE: join(dir, 'web-token'),
                               AWS_ROLE_ARN: `arn:aws:iam::${ACCOUNT}:role/web-caller`,
                               AWS_ROLE_SESSION_NAME: 'pod-1' });
  assert.equal(out.code, 0, out.message);
  assert.equal(out.source, 'web identity');
  assert.equal(out.arn, `arn:aws:sts::${ACCOUNT}:assumed-role/web-caller/pod-1`);
  // The same through a profile's web_identity_token_file.
  const env = files('web', '', `[profile web]\nrole_arn = arn:aws:iam::${ACCOUNT}:role/web-caller\n` +
                               `web_identity_token_file = ${join(dir, 'web-token')}\nrole_session_name = pod-2\n`);
  const viaProfile = await runProbe({ ...env, AWS_PROFILE: 'web' });
  assert.equal(viaProfile.code, 0, viaProfile.message);
  assert.equal(viaProfile.arn, `arn:aws:sts::${ACCOUNT}:assumed-role/web-caller/pod-2`);
});

test('ECS container credentials come from `plinth serve --task-role` with the token file', async () => {
  const out = await runProbe({ AWS_CONTAINER_CREDENTIALS_FULL_URI: `${server.endpoint}/v1/container-credentials`,
                               AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: join(dir, 'data', 'container-credentials-token') });
  assert.equal(out.code, 0, out.message);
  assert.equal(out.source, 'container');
  assert.equal(out.arn, `arn:aws:sts::${ACCOUNT}:assumed-role/app-task/plinth-task-role`);
  const refused = await runProbe({ AWS_CONTAINER_CREDENTIALS_FULL_URI: `${server.endpoint}/v1/container-credentials`,
                                   AWS_CONTAINER_AUTHORIZATION_TOKEN: 'not-the-token' });
  assert.equal(refused.code, 1);
  assert.equal(refused.error, 'PermissionDenied');
});

test('with no link configured the chain says so', async () => {
  const out = await runProbe({});
  assert.equal(out.code, 1);
  assert.equal(out.error, 'Unauthenticated');
  assert.match(out.message, /AWS_EC2_METADATA_DISABLED/);
});
