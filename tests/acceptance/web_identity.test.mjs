// Acceptance (issue 13): STS AssumeRoleWithWebIdentity against a real plinth serve, with JWTs made
// by jose from keys this test generates. JWKS from a file ([[oidc_providers]] jwks_file), from a
// URL on loopback (jwks_url) and by discovery for an IAM CreateOpenIDConnectProvider provider.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { generateKeyPair, exportJWK, SignJWT, UnsecuredJWT } from 'jose';
import { IAMClient, CreateRoleCommand, PutRolePolicyCommand, CreateOpenIDConnectProviderCommand,
         ListOpenIDConnectProvidersCommand, DeleteOpenIDConnectProviderCommand } from '@aws-sdk/client-iam';
import { STSClient, AssumeRoleWithWebIdentityCommand, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { startPlinth, writeConfig, ROOT, SMALL, here } from './harness.mjs';

const region = 'us-east-1';
const FILE_ISSUER = 'https://file-issuer.example';
const AUDIENCE = 'plinth-app';
let server, idp, idpUrl, rsa, ec, stranger;
const secrets = [];

const iam = () => new IAMClient({ region, endpoint: server.endpoint, credentials: ROOT, maxAttempts: 1 });
// The STS client sends AssumeRoleWithWebIdentity unsigned; credentials are never asked for.
const sts = () => new STSClient({ region, endpoint: server.endpoint, maxAttempts: 1 });

async function jwt({ issuer = FILE_ISSUER, audience = AUDIENCE, sub = 'user-42', key = rsa,
                     alg = 'RS256', kid = 'rsa-1', expiresIn = 600, issuedAt } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ sub }).setProtectedHeader({ alg, kid }).setIssuer(issuer)
    .setAudience(audience).setIssuedAt(issuedAt ?? now).setExpirationTime(now + expiresIn)
    .sign(key.privateKey);
  secrets.push(token);
  return token;
}

const assume = (token, role = 'web-app', session = 'web-session') => sts().send(
  new AssumeRoleWithWebIdentityCommand({ RoleArn: `arn:aws:iam::000000000000:role/${role}`,
                                         RoleSessionName: session, WebIdentityToken: token }));

before(async () => {
  rsa = await generateKeyPair('RS256', { extractable: true });
  ec = await generateKeyPair('ES256', { extractable: true });
  stranger = await generateKeyPair('RS256', { extractable: true });
  const jwks = { keys: [{ ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
                        { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' }] };
  // The loopback identity provider: JWKS and OpenID discovery.
  idp = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/jwks' || req.url === '/idp/keys') return res.end(JSON.stringify(jwks));
    // An identity provider whose key set is larger than Plinth's 64 KiB bound.
    if (req.url === '/big/.well-known/openid-configuration') {
      return res.end(JSON.stringify({ issuer: `${idpUrl}/big`, jwks_uri: `${idpUrl}/big/keys` }));
    }
    if (req.url === '/big/keys') return res.end(JSON.stringify({ keys: [], pad: 'x'.repeat(70000) }));
    if (req.url === '/idp/.well-known/openid-configuration') {
      return res.end(JSON.stringify({ issuer: `${idpUrl}/idp`, jwks_uri: `${idpUrl}/idp/keys` }));
    }
    res.statusCode = 404;
    res.end('{}');
  });
  await new Promise((r) => idp.listen(0, '127.0.0.1', r));
  idpUrl = `http://127.0.0.1:${idp.address().port}`;

  const dir = mkdtempSync(join(tmpdir(), 'plinth-web-identity-'));
  const configFile = writeConfig(dir);
  const jwksFile = join(dir, 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify(jwks));
  appendFileSync(configFile, `
[[oidc_providers]]
issuer = "${FILE_ISSUER}"
audiences = ["${AUDIENCE}"]
jwks_file = "${jwksFile}"
[[oidc_providers]]
issuer = "${idpUrl}"
audiences = ["${AUDIENCE}"]
jwks_url = "${idpUrl}/jwks"
`);
  server = await startPlinth({ dataDir: dir, configFile });

  const policy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'bedrock:InvokeModel',
    Resource: `arn:aws:bedrock:${region}::foundation-model/${SMALL}` }] };
  const roles = {
    'web-app': [{ provider: 'file-issuer.example', sub: 'user-*' }],
    'ci-deploy': [{ provider: idpUrl.slice(7), sub: 'repo:acme/*' }, { provider: `${idpUrl.slice(7)}/idp`, sub: 'pod-*' }],
  };
  for (const [name, providers] of Object.entries(roles)) {
    const trust = { Version: '2012-10-17', Statement: providers.map(({ provider, sub }) => ({
      Effect: 'Allow', Action: 'sts:AssumeRoleWithWebIdentity',
      Principal: { Federated: `arn:aws:iam::000000000000:oidc-provider/${provider}` },
      Condition: { StringEquals: { [`${provider}:aud`]: AUDIENCE }, StringLike: { [`${provider}:sub`]: sub } } })) };
    await iam().send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: JSON.stringify(trust) }));
    await iam().send(new PutRolePolicyCommand({ RoleName: name, PolicyName: 'small',
                                                PolicyDocument: JSON.stringify(policy) }));
  }
});

after(async () => { await server?.stop(); idp?.close(); });

test('a token from the file provider (RS256 and ES256) gets the role; its credentials call Converse', async () => {
  for (const key of [{ key: rsa, alg: 'RS256', kid: 'rsa-1' }, { key: ec, alg: 'ES256', kid: 'ec-1' }]) {
    const r = await assume(await jwt(key));
    assert.equal(r.SubjectFromWebIdentityToken, 'user-42');
    assert.equal(r.Audience, AUDIENCE);
    assert.equal(r.Provider, 'file-issuer.example');
    assert.equal(r.AssumedRoleUser.Arn, 'arn:aws:sts::000000000000:assumed-role/web-app/web-session');
    const credentials = { accessKeyId: r.Credentials.AccessKeyId, secretAccessKey: r.Credentials.SecretAccessKey,
                          sessionToken: r.Credentials.SessionToken };
    secrets.push(credentials.secretAccessKey);
    const bedrock = new BedrockRuntimeClient({ region, endpoint: server.endpoint, credentials, maxAttempts: 1 });
    const out = await bedrock.send(new ConverseCommand({ modelId: SMALL, inferenceConfig: { maxTokens: 4 },
      messages: [{ role: 'user', content: [{ text: 'hi' }] }] }));
    assert.ok(out.usage.outputTokens > 0);
  }
});

test('a token whose JWKS comes from a URL on loopback gets the role its trust policy names', async () => {
  const r = await assume(await jwt({ issuer: idpUrl, sub: 'repo:acme/app' }), 'ci-deploy', 'ci');
  assert.equal(r.AssumedRoleUser.Arn, 'arn:aws:sts::000000000000:assumed-role/ci-deploy/ci');
  // The same provider, another subject: the trust policy's condition refuses.
  await assert.rejects(assume(await jwt({ issuer: idpUrl, sub: 'repo:evil/app' }), 'ci-deploy'),
                       { name: 'AccessDenied' });
});

test('expired, wrong-audience, wrong-issuer, bad-signature and alg none tokens are refused', async () => {
  await assert.rejects(assume(await jwt({ expiresIn: -600, issuedAt: Math.floor(Date.now() / 1000) - 1200 })),
                       { name: 'ExpiredTokenException' });
  await assert.rejects(assume(await jwt({ audience: 'someone-else' })), { name: 'InvalidIdentityTokenException' });
  await assert.rejects(assume(await jwt({ issuer: 'https://unknown-issuer.example' })),
                       { name: 'InvalidIdentityTokenException' });
  await assert.rejects(assume(await jwt({ key: stranger })), { name: 'InvalidIdentityTokenException' });
  const none = new UnsecuredJWT({ sub: 'user-42' }).setIssuer(FILE_ISSUER).setAudience(AUDIENCE)
    .setExpirationTime('10m').encode();
  await assert.rejects(assume(none), { name: 'InvalidIdentityTokenException' });
  // A valid token for a role whose trust policy names another provider.
  await assert.rejects(assume(await jwt(), 'ci-deploy'), { name: 'AccessDenied' });
});

test('an IAM-registered provider (discovery) serves an EKS-style pod through the default chain', async () => {
  const created = await iam().send(new CreateOpenIDConnectProviderCommand({
    Url: `${idpUrl}/idp`, ClientIDList: [AUDIENCE] }));
  assert.equal(created.OpenIDConnectProviderArn, `arn:aws:iam::000000000000:oidc-provider/${idpUrl.slice(7)}/idp`);
  const listed = await iam().send(new ListOpenIDConnectProvidersCommand({}));
  assert.deepEqual(listed.OpenIDConnectProviderList.map((p) => p.Arn), [created.OpenIDConnectProviderArn]);

  const tokenFile = join(server.dir, 'pod-token');
  writeFileSync(tokenFile, await jwt({ issuer: `${idpUrl}/idp`, sub: 'pod-7' }));
  const { stdout } = await promisify(execFile)(process.execPath, [
    join(here, 'default_chain_child.mjs'), server.endpoint, SMALL, 'sts'], {
    env: { PATH: process.env.PATH, HOME: server.dir, AWS_REGION: region,
           AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
           AWS_ENDPOINT_URL: server.endpoint, AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
           AWS_ROLE_ARN: 'arn:aws:iam::000000000000:role/ci-deploy', AWS_ROLE_SESSION_NAME: 'pod' } });
  const out = JSON.parse(stdout);
  assert.ok(out.outputTokens > 0);
  assert.equal(out.arn, 'arn:aws:sts::000000000000:assumed-role/ci-deploy/pod');

  await iam().send(new DeleteOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: created.OpenIDConnectProviderArn }));
  await assert.rejects(assume(await jwt({ issuer: `${idpUrl}/idp`, sub: 'pod-7' }), 'ci-deploy'),
                       { name: 'InvalidIdentityTokenException' });
});

test('a key set larger than 64 KiB is refused with IDPCommunicationError', async () => {
  await iam().send(new CreateOpenIDConnectProviderCommand({ Url: `${idpUrl}/big`, ClientIDList: [AUDIENCE] }));
  await assert.rejects(assume(await jwt({ issuer: `${idpUrl}/big` })), { name: 'IDPCommunicationErrorException' });
});

test('no web identity token or credential used above appears in the server log', () => {
  const log = server.log();
  assert.ok(log.length > 0);
  for (const secret of secrets) {
    assert.equal(log.includes(secret), false);
    assert.equal(log.includes(secret.slice(-24)), false);  // nor its signature part
  }
});
