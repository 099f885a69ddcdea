// Acceptance: Bedrock Agent Runtime Retrieve with the official SDK client (HTTP/2 by default) and
// GET /v1/search, against knowledge bases seeded with `plinth kb add` before the server starts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { IAMClient, CreateRoleCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { STSClient, AssumeRoleCommand } from '@aws-sdk/client-sts';
import { BedrockAgentRuntimeClient, RetrieveCommand } from '@aws-sdk/client-bedrock-agent-runtime';
import { startPlinth, runPlinth, writeConfig, ROOT } from './harness.mjs';

const region = 'us-east-1';
const INVOICE_1 = [
  'Invoice 2024-117 from Nordlicht GmbH totals 1,240.50 EUR, due within thirty days.',
  'A late payment fee of two percent per month applies after the due date.',
  'Payment goes by bank transfer to IBAN DE89 3704 0044 0532 0130 00.',
];
const INVOICE_2 = [
  'Invoice 88 from Harbour Supplies covers forty crates of ship rope.',
  'Delivery was made to the Rotterdam warehouse on the third of March.',
];
const CONTRACT_1 = [
  'This service agreement renews automatically every twelve months.',
  'Either party may terminate it with ninety days of written notice.',
];
let server;
let restricted;  // temporary credentials of a role without bedrock:Retrieve

const clientConfig = (credentials) => ({ region, endpoint: server.endpoint, credentials,
                                         maxAttempts: 1 });
const agent = (credentials = ROOT) => new BedrockAgentRuntimeClient(clientConfig(credentials));
const retrieve = (knowledgeBaseId, text, numberOfResults, credentials) => {
  const input = { knowledgeBaseId, retrievalQuery: { text } };
  if (numberOfResults !== undefined) {
    input.retrievalConfiguration = { vectorSearchConfiguration: { numberOfResults } };
  }
  return agent(credentials).send(new RetrieveCommand(input));
};

async function signedGet(path, service = 'plinth') {
  const url = new URL(server.endpoint + path);
  const query = Object.fromEntries(url.searchParams);
  const signer = new SignatureV4({ credentials: ROOT, region, service,
                                   sha256: Hash.bind(null, 'sha256') });
  const request = await signer.sign({
    method: 'GET', protocol: 'http:', hostname: url.hostname, port: Number(url.port),
    path: url.pathname, query, headers: { host: url.host },
  });
  return fetch(url, { headers: request.headers });
}

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'plinth-retrieve-'));
  const configFile = writeConfig(dir);
  const data = join(dir, 'data');
  const seed = (kb, document, paragraphs, extra = []) => runPlinth(
    ['kb', 'add', '--config', configFile, '--data-dir', data, '--kb', kb, '--document', document,
     '--text', paragraphs.join('\n\n'), ...extra]);
  const file = join(dir, 'invoice-1.txt');
  writeFileSync(file, INVOICE_1.join('\n\n') + '\n');
  assert.match(runPlinth(['kb', 'add', '--config', configFile, '--data-dir', data,
                          '--kb', 'kb-invoices', '--document', 'invoice-1', '--file', file]),
               /3 chunk\(s\)/);
  seed('kb-invoices', 'invoice-2', INVOICE_2);
  seed('kb-invoices', 'invoice-2', INVOICE_2);  // idempotent: still 5 chunks
  seed('kb-contracts', 'contract-1', CONTRACT_1);
  seed('kb-foreign', 'foreign-1', INVOICE_1, ['--account', '222222222222']);
  const listed = JSON.parse(runPlinth(['kb', 'list', '--config', configFile, '--data-dir', data,
                                       '--json']));
  assert.deepEqual(listed.knowledgeBases.map((kb) => [kb.knowledgeBaseId, kb.chunks]),
                   [['kb-contracts', 2], ['kb-invoices', 5]]);

  server = await startPlinth({ dataDir: dir, configFile });
  const iam = new IAMClient(clientConfig(ROOT));
  const trust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow',
    Principal: { AWS: 'arn:aws:iam::000000000000:root' }, Action: 'sts:AssumeRole' }] };
  await iam.send(new CreateRoleCommand({ RoleName: 'invoke-only',
                                         AssumeRolePolicyDocument: JSON.stringify(trust) }));
  const policy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow',
    Action: 'bedrock:InvokeModel', Resource: '*' }] };
  await iam.send(new PutRolePolicyCommand({ RoleName: 'invoke-only', PolicyName: 'invoke',
                                            PolicyDocument: JSON.stringify(policy) }));
  const assumed = await new STSClient(clientConfig(ROOT)).send(new AssumeRoleCommand({
    RoleArn: 'arn:aws:iam::000000000000:role/invoke-only', RoleSessionName: 'retrieve' }));
  const c = assumed.Credentials;
  restricted = { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey,
                 sessionToken: c.SessionToken };
});

after(async () => { await server?.stop(); });

test('Retrieve finds the chunk whose text is the query first, with a CUSTOM location', async () => {
  const r = await retrieve('kb-invoices', INVOICE_1[1], 3);
  assert.equal(r.retrievalResults.length, 3);
  const [first] = r.retrievalResults;
  assert.deepEqual(first.content, { type: 'TEXT', text: INVOICE_1[1] });
  assert.deepEqual(first.location, { type: 'CUSTOM', customDocumentLocation: { id: 'invoice-1' } });
  assert.ok(first.score > 0.99, `score ${first.score}`);
  assert.equal(first.metadata.file, 'invoice-1.txt');
  for (let i = 1; i < r.retrievalResults.length; i++) {
    assert.ok(r.retrievalResults[i].score <= r.retrievalResults[i - 1].score);
  }
  const other = await retrieve('kb-invoices', INVOICE_2[0]);
  assert.equal(other.retrievalResults[0].location.customDocumentLocation.id, 'invoice-2');
  assert.equal(other.retrievalResults[0].content.text, INVOICE_2[0]);
});

test('Retrieve respects numberOfResults and searches only the named knowledge base', async () => {
  assert.equal((await retrieve('kb-invoices', INVOICE_1[0], 1)).retrievalResults.length, 1);
  assert.equal((await retrieve('kb-invoices', INVOICE_1[0])).retrievalResults.length, 5);
  const all = await retrieve('kb-invoices', CONTRACT_1[0], 100);
  assert.equal(all.retrievalResults.length, 5);
  const documents = new Set(all.retrievalResults.map((x) => x.location.customDocumentLocation.id));
  assert.deepEqual([...documents].sort(), ['invoice-1', 'invoice-2']);
  const contracts = await retrieve('kb-contracts', CONTRACT_1[1], 5);
  assert.equal(contracts.retrievalResults.length, 2);
  assert.equal(contracts.retrievalResults[0].content.text, CONTRACT_1[1]);
});

test('another account\'s or an unknown knowledge base is ResourceNotFoundException', async () => {
  for (const id of ['kb-foreign', 'kb-missing']) {
    await assert.rejects(retrieve(id, 'anything'),
      (e) => e.name === 'ResourceNotFoundException' && e.$metadata.httpStatusCode === 404);
  }
});

test('an out-of-range numberOfResults or an empty query is ValidationException', async () => {
  for (const [text, n] of [['fee', 0], ['fee', 101], ['', 5]]) {
    await assert.rejects(retrieve('kb-invoices', text, n),
      (e) => e.name === 'ValidationException' && e.$metadata.httpStatusCode === 400);
  }
});

test('a principal without bedrock:Retrieve is AccessDeniedException', async () => {
  await assert.rejects(retrieve('kb-invoices', INVOICE_1[0], 1, restricted),
    (e) => e.name === 'AccessDeniedException' && e.$metadata.httpStatusCode === 403 &&
           /bedrock:Retrieve/.test(e.message));
});

test('GET /v1/search answers with plinth:Search and meters Retrieve in the ledger', async () => {
  const q = encodeURIComponent(CONTRACT_1[0]);
  const r = await signedGet(`/v1/search?q=${q}&knowledgeBaseId=kb-contracts&k=1`);
  const body = await r.json();
  assert.equal(r.status, 200, JSON.stringify(body));
  assert.equal(body.results.length, 1);
  assert.equal(body.results[0].documentId, 'contract-1');
  assert.equal(body.results[0].chunkIndex, 0);
  assert.equal(body.results[0].text, CONTRACT_1[0]);
  const missing = await signedGet(`/v1/search?q=${q}&knowledgeBaseId=kb-foreign`);
  assert.equal(missing.status, 404);
  const usage = await (await signedGet('/v1/usage?group_by=operation')).json();
  const retrieveRow = usage.groups.find((g) => g.key === 'Retrieve');
  assert.ok(retrieveRow && retrieveRow.requests >= 3 && retrieveRow.input_tokens > 0,
            JSON.stringify(usage));
});
