// Starts a real `plinth serve` on a free loopback port in a temporary data dir, for acceptance tests.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '../..');
export const plinthBinary = process.env.PLINTH_BINARY ?? join(repoRoot, 'build', 'plinth');

export const ROOT = { accessKeyId: 'AKIAPLINTHTESTROOT01', secretAccessKey: 'plinth-test-root-secret-key-0123456789ab' };
export const SMALL = 'qwen2-small';
export const LARGE = 'llama-large';
export const EMBED = 'bge-embed';
export const ROUTER = 'router.default';

export function writeConfig(dir) {
  const models = join(repoRoot, 'models');
  const config = `
listen = "127.0.0.1:0"
region = "us-east-1"
[[models]]
id = "${SMALL}"
file = "${models}/qwen2-32-tied-q8_0.gguf"
kind = "text"
tier = "small"
aliases = ["anthropic.claude-3-haiku-20240307-v1:0", "meta.llama3-8b-instruct-v1:0"]
price_input_per_mtok = 0.25
price_output_per_mtok = 1.25
[[models]]
id = "${LARGE}"
file = "${models}/llama-spm-256-tied-q4_k_m.gguf"
kind = "text"
tier = "large"
aliases = ["anthropic.claude-3-5-sonnet-20240620-v1:0"]
price_input_per_mtok = 3.0
price_output_per_mtok = 15.0
[[models]]
id = "${EMBED}"
file = "${models}/bert-bge-1024-mean-q8_0.gguf"
kind = "embedding"
tier = "small"
aliases = ["amazon.titan-embed-text-v2:0", "cohere.embed-english-v3", "cohere.embed-multilingual-v3"]
price_input_per_mtok = 0.02
[[routers]]
id = "${ROUTER}"
small = "${SMALL}"
large = "${LARGE}"
escalate_on = ["invalid_output", "max_tokens", "checks"]
`;
  const file = join(dir, 'plinth.toml');
  writeFileSync(file, config);
  return file;
}

// Runs a plinth CLI command to completion (e.g. `kb add` seeding a data dir before startPlinth,
// which takes the same dir as dataDir); returns its stdout and throws when it fails.
export function runPlinth(args) {
  return execFileSync(plinthBinary, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

// Starts plinth serve; resolves once /health answers 200. extraEnv adds environment variables,
// extraArgs arguments to `plinth serve`.
export async function startPlinth({ dataDir, configFile, extraEnv = {}, extraArgs = [] } = {}) {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'plinth-acceptance-'));
  const config = configFile ?? writeConfig(dir);
  const addressFile = join(dir, 'data', 'listen-address');
  if (existsSync(addressFile)) rmSync(addressFile);
  const child = spawn(plinthBinary, ['serve', '--config', config, '--data-dir', join(dir, 'data'),
                                     ...extraArgs], {
    env: { ...process.env, PLINTH_ROOT_ACCESS_KEY_ID: ROOT.accessKeyId,
           PLINTH_ROOT_SECRET_ACCESS_KEY: ROOT.secretAccessKey, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`plinth exited with ${child.exitCode}:\n${log}`);
    if (existsSync(addressFile)) {
      const address = readFileSync(addressFile, 'utf8').trim();
      try {
        const r = await fetch(`http://${address}/health`);
        if (r.status === 200) {
          return { endpoint: `http://${address}`, dir, child, log: () => log,
                   stop: async () => { child.kill('SIGTERM'); await new Promise((r) => child.once('exit', r)); } };
        }
      } catch { /* not yet */ }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`plinth did not become healthy:\n${log}`);
}

// Mints a short-lived bearer token through Plinth's STS (CreateBearerToken, SigV4-signed as root),
// for the OpenAI-compatible API.
export async function mintBearerToken(endpoint, durationSeconds = 900) {
  const { SignatureV4 } = await import('@smithy/signature-v4');
  const { Hash } = await import('@smithy/hash-node');
  const url = new URL(endpoint);
  const form = `Action=CreateBearerToken&Version=2011-06-15&DurationSeconds=${durationSeconds}`;
  const signer = new SignatureV4({ credentials: ROOT, region: 'us-east-1', service: 'sts',
                                   sha256: Hash.bind(null, 'sha256') });
  const request = await signer.sign({
    method: 'POST', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: '/',
    headers: { host: url.host, 'content-type': 'application/x-www-form-urlencoded' }, body: form });
  const r = await fetch(`${endpoint}/`, { method: 'POST', headers: request.headers, body: form });
  const xml = await r.text();
  const token = xml.match(/<BearerToken>([^<]+)<\/BearerToken>/)?.[1];
  if (r.status !== 200 || !token) throw new Error(`CreateBearerToken failed (${r.status}): ${xml}`);
  return token;
}
