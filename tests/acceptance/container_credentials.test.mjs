// Acceptance (issue 13): `plinth serve --task-role` serves the ECS container-credentials protocol;
// a JS SDK process whose environment holds only AWS_CONTAINER_CREDENTIALS_FULL_URI and the token
// file gets the role's credentials from its default chain and calls Converse.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { readFileSync, statSync } from 'node:fs';
import { IAMClient, CreateRoleCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { startPlinth, ROOT, SMALL, here } from './harness.mjs';

const region = 'us-east-1';
const uri = () => `${server.endpoint}/v1/container-credentials`;
let server;
let tokenFile;

before(async () => {
  server = await startPlinth({ extraArgs: ['--task-role', 'app-task'] });
  tokenFile = join(server.dir, 'data', 'container-credentials-token');
  const iam = new IAMClient({ region, endpoint: server.endpoint, credentials: ROOT, maxAttempts: 1 });
  const trust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow',
    Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole' }] };
  await iam.send(new CreateRoleCommand({ RoleName: 'app-task',
                                         AssumeRolePolicyDocument: JSON.stringify(trust) }));
  const policy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'bedrock:InvokeModel',
    Resource: `arn:aws:bedrock:${region}::foundation-model/${SMALL}` }] };
  await iam.send(new PutRolePolicyCommand({ RoleName: 'app-task', PolicyName: 'small',
                                            PolicyDocument: JSON.stringify(policy) }));
});

after(async () => { await server?.stop(); });

test('serve prints the two variables and writes the token file with mode 0600', () => {
  assert.match(server.log(), /AWS_CONTAINER_CREDENTIALS_FULL_URI=http:\/\/127\.0\.0\.1:\d+\/v1\/container-credentials/);
  assert.ok(server.log().includes(`AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=${tokenFile}`));
  assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
  assert.match(readFileSync(tokenFile, 'utf8'), /^[0-9a-f]{64}$/);
});

test('a key-less SDK process gets the task role from its default chain and calls Converse', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [
    join(here, 'default_chain_child.mjs'), server.endpoint, SMALL, 'sts'], {
    env: { PATH: process.env.PATH, HOME: server.dir, AWS_REGION: region,
           AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
           AWS_CONTAINER_CREDENTIALS_FULL_URI: uri(),
           AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile } });
  const out = JSON.parse(stdout);
  assert.ok(out.outputTokens > 0);
  assert.equal(out.arn, 'arn:aws:sts::000000000000:assumed-role/app-task/plinth-task-role');
});

test('the endpoint answers the ECS shape, fresh credentials each time, and only with the token', async () => {
  const token = readFileSync(tokenFile, 'utf8');
  const get = (headers) => fetch(uri(), { headers });
  const a = await (await get({ authorization: token })).json();
  const b = await (await get({ authorization: token })).json();
  assert.match(a.AccessKeyId, /^ASIA/);
  assert.notEqual(a.AccessKeyId, b.AccessKeyId);
  assert.equal(a.RoleArn, 'arn:aws:iam::000000000000:role/app-task');
  const expires = new Date(a.Expiration).getTime() - Date.now();
  assert.ok(expires > 55 * 60_000 && expires <= 3600_000, `expires in ${expires} ms`);
  for (const headers of [{}, { authorization: token.slice(0, -1) + (token.endsWith('0') ? '1' : '0') },
                         { authorization: `Bearer ${token}` }]) {
    const r = await get(headers);
    assert.equal(r.status, 401);
    assert.equal((await r.json()).Code, 'AccessDenied');
  }
  // Neither the token nor the credentials handed out reach the log.
  for (const secret of [token, a.SecretAccessKey, a.Token, b.SecretAccessKey]) {
    assert.equal(server.log().includes(secret), false);
  }
});
