// Acceptance: the web console at /console in headless Chromium (selenium-webdriver + Debian's
// chromedriver) against a real plinth serve, after real Converse traffic from the JS SDK.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Builder, By, logging, until } from 'selenium-webdriver';
import chrome from 'selenium-webdriver/chrome.js';
import { SignatureV4 } from '@smithy/signature-v4';
import { Hash } from '@smithy/hash-node';
import { IAMClient, CreateRoleCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { STSClient, AssumeRoleCommand } from '@aws-sdk/client-sts';
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { startPlinth, writeConfig, ROOT, SMALL, LARGE } from './harness.mjs';

const CHROMIUM = process.env.CHROMIUM_BINARY ?? '/usr/bin/chromium';
const CHROMEDRIVER = process.env.CHROMEDRIVER_BINARY ?? '/usr/bin/chromedriver';
// scripts/install-deps.sh installs both; a missing browser is a failure, not a skip.
const missing = [CHROMIUM, CHROMEDRIVER].filter((p) => !existsSync(p));

const region = 'us-east-1';
const TAGS = ['invoices', 'support'];
const WAIT_MS = 30_000;

let server;
let viewer;          // temporary credentials (with a session token) of a role allowed plinth:*
let driver;
let profileDir;
const requestIds = [];
let routedRequestId;

// A call to Plinth's own REST API, signed like the console signs it (service "plinth").
async function plinthCall(method, path, { query = {}, body, headers = {} } = {}) {
  const url = new URL(server.endpoint);
  const signer = new SignatureV4({ credentials: ROOT, region, service: 'plinth',
                                   sha256: Hash.bind(null, 'sha256') });
  const signed = await signer.sign({ method, protocol: 'http:', hostname: url.hostname,
                                     port: Number(url.port), path, query, body,
                                     headers: { host: url.host, ...headers } });
  const search = new URLSearchParams(query).toString();
  const r = await fetch(`${server.endpoint}${path}${search ? '?' + search : ''}`,
                        { method, headers: signed.headers, body });
  return { status: r.status, body: await r.json().catch(() => null) };
}
const plinthGet = (path, query = {}) => plinthCall('GET', path, { query });

before(async () => {
  assert.deepEqual(missing, [], 'chromium and chromedriver are needed (scripts/install-deps.sh)');
  // Two budgets far above this test's spend, one with a soft limit its traffic crosses.
  const dataDir = mkdtempSync(join(tmpdir(), 'plinth-console-'));
  const configFile = writeConfig(dataDir);
  appendFileSync(configFile, `
[[budgets]]
id = "invoices-daily"
scope = "tag"
match = "invoices"
period = "day"
limit_usd = 1.0
soft_limit_usd = 0.00001
[[budgets]]
id = "account-monthly"
scope = "account"
match = "*"
period = "month"
limit_usd = 10.0
`);
  server = await startPlinth({ dataDir, configFile });
  const iam = new IAMClient({ region, endpoint: server.endpoint, credentials: ROOT });
  const trust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow',
    Principal: { AWS: 'arn:aws:iam::000000000000:root' }, Action: 'sts:AssumeRole' }] };
  await iam.send(new CreateRoleCommand({ RoleName: 'console-viewer',
                                         AssumeRolePolicyDocument: JSON.stringify(trust) }));
  const policy = { Version: '2012-10-17',
                   Statement: [{ Effect: 'Allow', Action: 'plinth:*', Resource: '*' }] };
  await iam.send(new PutRolePolicyCommand({ RoleName: 'console-viewer', PolicyName: 'read',
                                            PolicyDocument: JSON.stringify(policy) }));
  const sts = new STSClient({ region, endpoint: server.endpoint, credentials: ROOT });
  const assumed = await sts.send(new AssumeRoleCommand({
    RoleArn: 'arn:aws:iam::000000000000:role/console-viewer', RoleSessionName: 'console',
    DurationSeconds: 900 }));
  viewer = { accessKeyId: assumed.Credentials.AccessKeyId,
             secretAccessKey: assumed.Credentials.SecretAccessKey,
             sessionToken: assumed.Credentials.SessionToken };

  // Traffic: two application tags (a header the SDK does not know, added by a middleware) times
  // two models.
  const taggedClient = (tag) => {
    const bedrock = new BedrockRuntimeClient({ region, endpoint: server.endpoint,
                                               credentials: ROOT, maxAttempts: 1 });
    bedrock.middlewareStack.add((next) => async (args) => {
      args.request.headers['x-plinth-application-tag'] = tag;
      return next(args);
    }, { step: 'build', name: 'applicationTag' });
    return bedrock;
  };
  for (const tag of TAGS) {
    const bedrock = taggedClient(tag);
    for (const modelId of [SMALL, LARGE, SMALL]) {
      const r = await bedrock.send(new ConverseCommand({
        modelId, messages: [{ role: 'user', content: [{ text: `Classify this ${tag} note` }] }],
        inferenceConfig: { maxTokens: 4, temperature: 0 } }));
      requestIds.push(r.$metadata.requestId);
    }
  }
  // Through the default prompt router: 4 tokens end the small model's answer at max_tokens, a
  // reason to escalate to the large one.
  const r = await taggedClient(TAGS[0]).send(new ConverseCommand({
    modelId: 'router.default', messages: [{ role: 'user', content: [{ text: 'Summarize the note' }] }],
    inferenceConfig: { maxTokens: 4, temperature: 0 } }));
  routedRequestId = r.$metadata.requestId;
  requestIds.push(routedRequestId);

  profileDir = mkdtempSync(join(tmpdir(), 'plinth-console-chromium-'));
  const options = new chrome.Options()
    .setChromeBinaryPath(CHROMIUM)
    .addArguments('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
                  '--no-first-run', '--disable-extensions', `--user-data-dir=${profileDir}`,
                  '--window-size=1400,2400');
  const prefs = new logging.Preferences();
  prefs.setLevel(logging.Type.BROWSER, logging.Level.ALL);
  options.setLoggingPrefs(prefs);
  driver = await new Builder().forBrowser('chrome').setChromeOptions(options)
    .setChromeService(new chrome.ServiceBuilder(CHROMEDRIVER)).build();
});

after(async () => {
  await driver?.quit();
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  await server?.stop();
});

const visible = async (css) => driver.wait(until.elementIsVisible(
  await driver.wait(until.elementLocated(By.css(css)), WAIT_MS)), WAIT_MS);

async function signIn({ accessKeyId, secretAccessKey, sessionToken = '' }) {
  await visible('#sign-in-form');
  for (const [id, value] of [['access-key-id', accessKeyId], ['secret-access-key', secretAccessKey],
                             ['session-token', sessionToken]]) {
    const input = await driver.findElement(By.id(id));
    await input.clear();
    if (value) await input.sendKeys(value);
  }
  await driver.findElement(By.id('sign-in-button')).click();
}

// A PNG of the page in PLINTH_ARTIFACTS_DIR (else the server's temp dir); a later call overwrites.
async function saveScreenshot() {
  const artifacts = process.env.PLINTH_ARTIFACTS_DIR ?? server.dir;
  mkdirSync(artifacts, { recursive: true });
  const screenshot = join(artifacts, 'console.png');
  writeFileSync(screenshot, Buffer.from(await driver.takeScreenshot(), 'base64'));
  console.log(`console screenshot: ${screenshot}`);
}

const attributes = (css, name) => driver.executeScript(
  (c, n) => Array.from(document.querySelectorAll(c), (e) => e.getAttribute(n)), css, name);

test('a wrong secret access key shows a clear error and keeps nothing', async () => {
  await driver.get(`${server.endpoint}/console`);
  await signIn({ accessKeyId: ROOT.accessKeyId, secretAccessKey: 'not-the-secret' });
  const error = await visible('#sign-in-error');
  const text = await error.getText();
  assert.match(text, /^Sign-in failed\./);
  assert.match(text, /signature/i);
  assert.equal(await driver.executeScript('return sessionStorage.length'), 0);
  assert.ok(!(await driver.getCurrentUrl()).includes('not-the-secret'));
  assert.equal(await (await driver.findElement(By.id('dashboard'))).isDisplayed(), false);
});

test('signed in with temporary credentials, the console charts the traffic', async () => {
  const expected = await plinthGet('/v1/usage', { group_by: 'model' });
  assert.equal(expected.status, 200);
  const total = expected.body.total;
  assert.equal(total.requests, 7);

  await driver.get(`${server.endpoint}/console`);
  await signIn(viewer);
  await visible('#dashboard[data-state="ready"]');
  assert.equal(await (await driver.findElement(By.id('dashboard-error'))).isDisplayed(), false);

  // Credentials live in sessionStorage only, never in the URL or localStorage.
  assert.ok(!(await driver.getCurrentUrl()).includes(viewer.accessKeyId));
  assert.equal(await driver.executeScript('return localStorage.length'), 0);
  assert.match(await driver.executeScript('return sessionStorage.getItem("plinth.console.credentials")'),
               new RegExp(viewer.accessKeyId));

  // Totals match /v1/usage.
  const totals = Object.fromEntries(await driver.executeScript(() => Array.from(
    document.querySelectorAll('[data-total]'), (e) => [e.dataset.total, Number(e.dataset.value)])));
  assert.equal(totals.requests, total.requests);
  assert.equal(totals.input_tokens, total.input_tokens);
  assert.equal(totals.output_tokens, total.output_tokens);
  assert.ok(Math.abs(totals.cost_usd - total.cost_usd) < 1e-12, `${totals.cost_usd} vs ${total.cost_usd}`);
  assert.equal(totals.escalation_rate, total.escalations / total.requests);

  // One series (path, bars, legend entry) per model and per application tag.
  for (const [chart, keys] of [['cost-by-model', [SMALL, LARGE]], ['tokens-by-model', [SMALL, LARGE]],
                               ['cost-by-tag', TAGS], ['tokens-by-tag', TAGS],
                               ['escalation-by-model', [SMALL, LARGE]]]) {
    const series = await attributes(`svg[data-chart="${chart}"] g.series`, 'data-series');
    const legend = await attributes(`svg[data-chart="${chart}"] [data-legend]`, 'data-legend');
    assert.deepEqual([...series].sort(), [...keys].sort(), chart);
    assert.deepEqual([...legend].sort(), [...keys].sort(), chart);
  }
  for (const model of [SMALL, LARGE]) {
    assert.equal((await attributes(`svg[data-chart="cost-by-model"] path[data-series="${model}"]`, 'd')).length, 1);
  }
  const barTokens = await driver.executeScript(() => Array.from(
    document.querySelectorAll('svg[data-chart="tokens-by-tag"] rect[data-series]'),
    (r) => Number(r.dataset.value)).reduce((a, b) => a + b, 0));
  assert.equal(barTokens, total.input_tokens + total.output_tokens);
  assert.ok((await attributes('svg[data-chart="tokens-by-model"] text.axis-title', 'class')).length >= 2);

  // The recent-calls table lists every call, with model and tag.
  const shown = await attributes('#recent tr[data-request-id]', 'data-request-id');
  for (const id of requestIds) assert.ok(shown.includes(id), `call ${id} in the table`);
  const pairs = new Set(await driver.executeScript(() => Array.from(
    document.querySelectorAll('#recent tr[data-request-id]'),
    (r) => `${r.dataset.modelUsed}|${r.dataset.tag}`)));
  for (const model of [SMALL, LARGE]) for (const tag of TAGS) assert.ok(pairs.has(`${model}|${tag}`));

  // The routed call: requested as the router, its escalation as the ledger recorded it.
  const recent = (await plinthGet('/v1/usage/recent', { limit: '10' })).body.calls;
  const routedCall = recent.find((c) => c.request_id === routedRequestId);
  assert.equal(routedCall.model_requested, 'router.default');
  const routedRow = await driver.findElement(By.css(`#recent tr[data-request-id="${routedRequestId}"]`));
  assert.equal(await routedRow.getAttribute('data-escalated'), String(routedCall.escalated));
  assert.match(await routedRow.getText(), new RegExp(`router\\.default → ${routedCall.model_used}`));
  assert.match(await routedRow.getText(), routedCall.escalated ? / yes$/ : / no$/);

  // Budgets and jobs: a table when the server has them, "not enabled" when it does not.
  for (const [section, path, list, idAttr, idField] of [
    ['budgets', '/v1/budgets', 'budgets', 'data-budget-id', 'id'],
    ['jobs', '/v1/jobs', 'jobs', 'data-job-id', 'jobId']]) {
    const answer = await plinthGet(path, list === 'jobs' ? { limit: '50' } : {});
    if (answer.status === 404 || answer.status === 503) {
      await visible(`#${section} [data-state="not-enabled"]`);
    } else {
      assert.equal(answer.status, 200, `${path}: ${JSON.stringify(answer.body)}`);
      const ids = await attributes(`#${section} tr[${idAttr}]`, idAttr);
      assert.deepEqual(ids, answer.body[list].map((x) => x[idField]), section);
      const statuses = await attributes(`#${section} tr[${idAttr}]`, 'data-status');
      assert.deepEqual(statuses, answer.body[list].map((x) => x.status), section);
    }
  }
  const budgets = (await plinthGet('/v1/budgets')).body?.budgets;
  if (budgets) {
    assert.deepEqual(budgets.map((b) => b.id).sort(), ['account-monthly', 'invoices-daily']);
    assert.equal(budgets.find((b) => b.id === 'invoices-daily').status, 'soft_exceeded');
    const bars = await attributes('#budgets [role="progressbar"]', 'aria-valuenow');
    assert.equal(bars.length, budgets.length);
    for (const [i, b] of budgets.entries()) {
      assert.equal(Number(bars[i]), Math.round(100 * b.used_fraction), b.id);
    }
  }

  await saveScreenshot();
});

test('a submitted document shows up in the jobs table', async () => {
  const pipeline = await plinthCall('POST', '/v1/pipelines', {
    body: JSON.stringify({ name: 'console-notes', classify: { labels: ['note', 'other'] } }),
    headers: { 'content-type': 'application/json' } });
  if (pipeline.status === 404 || pipeline.status === 503) {
    await visible('#jobs [data-state="not-enabled"]');  // a server without documents
    console.log('documents are not enabled on this server: checked the "not enabled" text');
    return;
  }
  assert.equal(pipeline.status, 201, JSON.stringify(pipeline.body));
  const submitted = await plinthCall('POST', '/v1/pipelines/console-notes/documents', {
    body: 'A short note about the quarterly invoice run.', headers: { 'content-type': 'text/plain' } });
  assert.equal(submitted.status, 202, JSON.stringify(submitted.body));
  await driver.findElement(By.id('refresh')).click();
  await visible(`#jobs tr[data-job-id="${submitted.body.jobId}"]`);
  await visible('#dashboard[data-state="ready"]');
  const listed = await plinthGet('/v1/jobs', { limit: '50' });
  assert.ok(listed.body.jobs.some((j) => j.jobId === submitted.body.jobId));
  const rows = await attributes('#jobs tr[data-job-id]', 'data-job-id');
  assert.deepEqual([...rows].sort(), listed.body.jobs.map((j) => j.jobId).sort());
  await saveScreenshot();
});

test('the page broke no Content-Security-Policy rule and logged no secret', async () => {
  const entries = await driver.manage().logs().get(logging.Type.BROWSER);
  const text = entries.map((e) => e.message).join('\n');
  assert.doesNotMatch(text, /Content Security Policy|Refused to/);
  assert.ok(!text.includes(viewer.secretAccessKey) && !text.includes(viewer.sessionToken));
  assert.ok(!text.includes(ROOT.secretAccessKey));
});

test('signing out forgets the credentials', async () => {
  await visible('#sign-out');
  await driver.findElement(By.id('sign-out')).click();
  await visible('#sign-in-form');
  assert.equal(await driver.executeScript('return sessionStorage.length'), 0);
  await driver.navigate().refresh();
  await visible('#sign-in-form');
});
