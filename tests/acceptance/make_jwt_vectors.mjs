// Writes tests/data/jwt/vectors.json: a JWKS (RSA and EC P-256 keys) and tokens signed with jose,
// for the C++ unit tests and the fuzz seeds. Run once: node tests/acceptance/make_jwt_vectors.mjs
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPair, exportJWK, SignJWT, UnsecuredJWT } from 'jose';
import { repoRoot } from './harness.mjs';

const iat = 1764000000;
const claims = { sub: 'repo:acme/app:ref:refs/heads/main', aud: 'sts.amazonaws.com' };
const rsa = await generateKeyPair('RS256', { extractable: true });
const ec = await generateKeyPair('ES256', { extractable: true });
const other = await generateKeyPair('RS256', { extractable: true });
const jwk = async (key, kid, alg) => ({ ...(await exportJWK(key)), kid, alg, use: 'sig' });
const jwks = { keys: [await jwk(rsa.publicKey, 'rsa-1', 'RS256'), await jwk(ec.publicKey, 'ec-1', 'ES256')] };
const sign = (alg, key, kid, extra = {}) => new SignJWT({ ...claims, ...extra })
  .setProtectedHeader({ alg, kid }).setIssuer('https://issuer.example').setIssuedAt(iat)
  .setExpirationTime(iat + 3600).sign(key);
const rs256 = await sign('RS256', rsa.privateKey, 'rsa-1');
const tokens = {
  rs256,
  es256: await sign('ES256', ec.privateKey, 'ec-1'),
  wrong_key: await sign('RS256', other.privateKey, 'rsa-1'),
  // the payload re-encoded with another sub, the signature kept
  tampered: rs256.replace(/\.([^.]*)\./, (m, p) => `.${Buffer.from(Buffer.from(p, 'base64url')
    .toString().replace('acme', 'evil')).toString('base64url')}.`),
  none: new UnsecuredJWT({ ...claims, iss: 'https://issuer.example', exp: iat + 3600 }).encode(),
  hs256: await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'HS256', kid: 'rsa-1' })
    .setIssuer('https://issuer.example').setExpirationTime(iat + 3600)
    .sign(new TextEncoder().encode('a-shared-secret-that-is-32-bytes!')),
  other_audience: await sign('RS256', rsa.privateKey, 'rsa-1', { aud: 'someone-else' }),
};
writeFileSync(join(repoRoot, 'tests/data/jwt/vectors.json'),
              JSON.stringify({ iat, jwks, tokens }, null, 1) + '\n');
