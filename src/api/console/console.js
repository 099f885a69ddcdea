// The Plinth web console: signs /v1 calls with SigV4 (WebCrypto) and draws usage as SVG charts.
'use strict';

const STORAGE_KEY = 'plinth.console.credentials';  // sessionStorage only: gone with the tab
const SVG_NS = 'http://www.w3.org/2000/svg';
const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#db2777',
                 '#4b5563', '#65a30d', '#ea580c'];
const RANGES = {  // hours back, bucket
  '24h': { buckets: 24, bucket: 'hour' },
  '7d': { buckets: 168, bucket: 'hour' },
  '30d': { buckets: 30, bucket: 'day' },
};
const BUCKET_MS = { hour: 3_600_000, day: 86_400_000 };

const $ = (id) => document.getElementById(id);

// ---- SigV4 (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html)

const encoder = new TextEncoder();
const toHex = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');
const sha256Hex = async (text) => toHex(await crypto.subtle.digest('SHA-256', encoder.encode(text)));
async function hmac(key, text) {
  const k = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return crypto.subtle.sign('HMAC', k, encoder.encode(text));
}
// RFC 3986 unreserved characters stay; everything else is percent-encoded, as SigV4 requires.
const uriEncode = (text) => encodeURIComponent(text).replace(/[!'()*]/g,
  (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());

class ApiError extends Error {
  constructor(status, type, message) {
    super(message);
    this.status = status;
    this.type = type;
  }
}

// GET `path` with `params`, signed for service "plinth"; resolves to the parsed JSON body.
async function signedGet(path, params = {}) {
  const credentials = loadCredentials();
  if (!credentials) throw new ApiError(0, 'NotSignedIn', 'Not signed in.');
  const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const query = Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => [uriEncode(k), uriEncode(String(v))])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`).join('&');
  const headers = { host: location.host, 'x-amz-date': amzDate };
  if (credentials.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken;
  const names = Object.keys(headers).sort();
  // Non-S3 services encode each path segment twice in the canonical request.
  const canonicalPath = path.split('/').map((s) => uriEncode(uriEncode(s))).join('/');
  const canonical = ['GET', canonicalPath, query, names.map((n) => `${n}:${headers[n]}\n`).join(''),
                     names.join(';'), await sha256Hex('')].join('\n');
  const scope = `${day}/${credentials.region}/plinth/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, await sha256Hex(canonical)].join('\n');
  let key = await hmac(encoder.encode('AWS4' + credentials.secretAccessKey), day);
  for (const part of [credentials.region, 'plinth', 'aws4_request']) key = await hmac(key, part);
  const signature = toHex(await hmac(key, toSign));
  const sent = { ...headers };
  delete sent.host;  // the browser sets it
  sent.authorization = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, ` +
                       `SignedHeaders=${names.join(';')}, Signature=${signature}`;
  const response = await fetch(path + (query ? '?' + query : ''),
                               { headers: sent, cache: 'no-store', credentials: 'omit' });
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { /* not JSON: reported below */ }
  if (!response.ok) {
    const type = (response.headers.get('x-amzn-ErrorType') || '').split(':')[0] ||
                 (body && (body.__type || body.code)) || `HTTP ${response.status}`;
    const message = (body && (body.message || body.Message || (body.error && body.error.message))) ||
                    text.slice(0, 200) || response.statusText;
    throw new ApiError(response.status, type, message);
  }
  if (body === null) throw new ApiError(response.status, 'BadResponse', 'The answer was not JSON.');
  return body;
}

// ---- Credentials

function loadCredentials() {
  try { return JSON.parse(sessionStorage.getItem(STORAGE_KEY)); } catch { return null; }
}
function saveCredentials(credentials) { sessionStorage.setItem(STORAGE_KEY, JSON.stringify(credentials)); }
function forgetCredentials() { sessionStorage.removeItem(STORAGE_KEY); }

function showSignIn(message) {
  $('dashboard').hidden = true;
  $('sign-out').hidden = true;
  $('who').textContent = '';
  $('sign-in').hidden = false;
  $('sign-in-error').hidden = !message;
  $('sign-in-error').textContent = message || '';
}

const describe = (error) => (error instanceof ApiError ? `${error.type}: ${error.message}` : String(error));

async function signIn(event) {
  event.preventDefault();
  const credentials = {
    accessKeyId: $('access-key-id').value.trim(),
    secretAccessKey: $('secret-access-key').value.trim(),
    sessionToken: $('session-token').value.trim(),
    region: $('region').value.trim() || 'us-east-1',
  };
  $('sign-in-button').disabled = true;
  $('sign-in-error').hidden = true;
  saveCredentials(credentials);
  try {
    await signedGet('/v1/usage', { group_by: 'model', from: '0' });  // checks the key works
    $('secret-access-key').value = '';
    $('session-token').value = '';
    showDashboard();
  } catch (error) {
    forgetCredentials();
    showSignIn(`Sign-in failed. ${describe(error)}`);
  } finally {
    $('sign-in-button').disabled = false;
  }
}

function showDashboard() {
  const credentials = loadCredentials();
  $('sign-in').hidden = true;
  $('dashboard').hidden = false;
  $('sign-out').hidden = false;
  $('who').textContent = `${credentials.accessKeyId} · ${credentials.region}`;
  refresh();
}

// ---- Formatting and DOM helpers

const integer = (n) => Number(n || 0).toLocaleString('en-US');
const usd = (n) => '$' + Number(n || 0).toFixed(n && Math.abs(n) < 0.01 ? 6 : 2);
const percent = (fraction) => (fraction > 0 && fraction < 0.001 ? (100 * fraction).toPrecision(2)
                                                                 : (100 * fraction).toFixed(1)) + '%';
const shortArn = (arn) => (arn || '').split(/[:/]/).slice(-2).join('/') || '(none)';
const displayKey = (key, empty) => (key === '' ? empty : key);
function clock(ms, bucket) {
  const iso = new Date(ms).toISOString();
  return bucket === 'day' ? iso.slice(5, 10) : iso.slice(11, 16);
}

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null) node.setAttribute(name, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child ?? ''));
  return node;
}
function svg(tag, attributes = {}, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

// A table from column specs {title, num?} and rows of cells (strings or nodes); `rowAttrs(row)`
// gives each <tr>'s data attributes.
function table(columns, rows, rowAttrs = () => ({})) {
  const head = el('tr', {}, ...columns.map((c) => el('th', { class: c.num ? 'num' : null }, c.title)));
  const body = rows.map((row) => el('tr', rowAttrs(row), ...row.cells.map((cell, i) =>
    el('td', { class: columns[i].num ? 'num' : columns[i].wrap ? 'wrap' : null,
               title: row.titles?.[i] }, cell))));
  return el('table', {}, el('thead', {}, head), el('tbody', {}, ...body));
}

function showMessage(box, text, className = 'muted') {
  box.replaceChildren(el('p', { class: className }, text));
}

// 404/503 mean the server was built or configured without the feature.
function showSectionError(box, error) {
  if (error instanceof ApiError && (error.status === 404 || error.status === 503)) {
    box.replaceChildren(el('p', { class: 'disabled', 'data-state': 'not-enabled' },
                           'Not enabled on this server.'));
  } else {
    box.replaceChildren(el('p', { class: 'error', 'data-state': 'error' }, describe(error)));
  }
}

// ---- Charts (hand-written SVG)

const niceMax = (max) => {
  if (!(max > 0)) return 1;
  const step = 10 ** Math.floor(Math.log10(max));
  return [1, 2, 2.5, 5, 10].map((m) => m * step).find((v) => v >= max);
};

// kind: 'line' or 'bar' (stacked); series: [{key, values}]; format: y-axis label formatter.
function drawChart(box, { id, kind, bucket, buckets, series, yTitle, format, emptyKey }) {
  const W = 720, H = 260, L = 80, R = 170, T = 12, B = 44;
  const plotW = W - L - R, plotH = H - T - B;
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'data-chart': id,
                            'data-series-count': series.length, 'aria-label': yTitle });
  const n = buckets.length;
  const totals = buckets.map((_, i) => series.reduce((s, line) => s + line.values[i], 0));
  const maxValue = kind === 'bar' ? Math.max(0, ...totals)
                                  : Math.max(0, ...series.flatMap((line) => line.values));
  const top = niceMax(maxValue);
  const slot = plotW / Math.max(n, 1);
  const x = (i) => (kind === 'bar' ? L + slot * i : L + (n > 1 ? (plotW * i) / (n - 1) : plotW / 2));
  const y = (v) => T + plotH - (plotH * v) / top;

  const grid = svg('g', { class: 'grid' });
  const axis = svg('g', { class: 'axis' });
  for (let t = 0; t <= 4; ++t) {
    const v = (top * t) / 4;
    grid.append(svg('line', { x1: L, x2: L + plotW, y1: y(v), y2: y(v) }));
    axis.append(svg('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end' }, format(v)));
  }
  axis.append(svg('line', { x1: L, x2: L, y1: T, y2: T + plotH }));
  axis.append(svg('line', { x1: L, x2: L + plotW, y1: T + plotH, y2: T + plotH }));
  const every = Math.max(1, Math.ceil(n / 8));
  for (let i = (n - 1) % every; i < n; i += every) {  // the newest bucket always has a label
    const cx = kind === 'bar' ? x(i) + slot / 2 : x(i);
    axis.append(svg('line', { x1: cx, x2: cx, y1: T + plotH, y2: T + plotH + 4 }));
    axis.append(svg('text', { x: cx, y: T + plotH + 16, 'text-anchor': 'middle' }, clock(buckets[i], bucket)));
  }
  axis.append(svg('text', { class: 'axis-title', x: L + plotW / 2, y: H - 6, 'text-anchor': 'middle' },
                  bucket === 'day' ? 'Day (UTC)' : 'Hour (UTC)'));
  axis.append(svg('text', { class: 'axis-title', x: 12, y: T + plotH / 2, 'text-anchor': 'middle',
                            transform: `rotate(-90 12 ${T + plotH / 2})` }, yTitle));
  root.append(grid, axis);

  if (series.length === 0) {
    root.append(svg('text', { class: 'empty', x: L + plotW / 2, y: T + plotH / 2, 'text-anchor': 'middle' },
                    'No calls in this range'));
  }
  const stack = new Array(n).fill(0);
  series.forEach((line, s) => {
    const color = PALETTE[s % PALETTE.length];
    const name = displayKey(line.key, emptyKey);
    const group = svg('g', { 'data-series': line.key, class: 'series' });
    if (kind === 'line') {
      const d = line.values.map((v, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join('');
      group.append(svg('path', { d, fill: 'none', stroke: color, 'stroke-width': 2, 'data-series': line.key }));
      line.values.forEach((v, i) => {
        if (v <= 0) return;
        const dot = svg('circle', { cx: x(i), cy: y(v), r: 3, fill: color, 'data-series': line.key,
                                    'data-bucket': buckets[i], 'data-value': v });
        dot.append(svg('title', {}, `${name} · ${clock(buckets[i], bucket)}: ${format(v)}`));
        group.append(dot);
      });
    } else {
      line.values.forEach((v, i) => {
        if (v <= 0) return;
        const rect = svg('rect', { x: x(i) + slot * 0.15, width: Math.max(1, slot * 0.7),
                                   y: y(stack[i] + v), height: Math.max(1, y(stack[i]) - y(stack[i] + v)),
                                   fill: color, 'data-series': line.key, 'data-bucket': buckets[i],
                                   'data-value': v });
        rect.append(svg('title', {}, `${name} · ${clock(buckets[i], bucket)}: ${format(v)}`));
        group.append(rect);
        stack[i] += v;
      });
    }
    root.append(group);
  });

  const legend = svg('g', { class: 'legend' });
  series.forEach((line, s) => {
    const name = displayKey(line.key, emptyKey);
    const item = svg('g', { 'data-legend': line.key, transform: `translate(${L + plotW + 16} ${T + 4 + s * 18})` });
    item.append(svg('rect', { width: 12, height: 12, fill: PALETTE[s % PALETTE.length] }));
    item.append(svg('text', { x: 18, y: 10 }, name.length > 22 ? name.slice(0, 21) + '…' : name));
    item.append(svg('title', {}, name));
    legend.append(item);
  });
  root.append(legend);
  box.replaceChildren(root);
}

// ---- Sections

function rangeWindow() {
  const range = RANGES[$('range').value] || RANGES['24h'];
  const width = BUCKET_MS[range.bucket];
  const end = Math.floor(Date.now() / width) * width + width;  // the end of the current bucket
  return { bucket: range.bucket, from: end - range.buckets * width, to: end };
}

function renderTotals(report) {
  const t = report.total;
  const set = (name, value, text) => {
    const node = document.querySelector(`[data-total="${name}"]`);
    node.dataset.value = value;
    node.textContent = text;
  };
  set('requests', t.requests, integer(t.requests));
  set('input_tokens', t.input_tokens, integer(t.input_tokens));
  set('output_tokens', t.output_tokens, integer(t.output_tokens));
  set('cost_usd', t.cost_usd, usd(t.cost_usd));
  const rate = t.requests ? t.escalations / t.requests : 0;
  set('escalation_rate', rate, `${percent(rate)} (${integer(t.escalations)})`);
  const rows = report.groups.map((g) => ({
    key: g.key,
    cells: [displayKey(g.key, '(unresolved)'), integer(g.requests), integer(g.input_tokens),
            integer(g.output_tokens), usd(g.cost_usd), integer(g.escalations),
            percent(g.requests ? g.escalations / g.requests : 0)],
  }));
  const box = $('models');
  if (!rows.length) return showMessage(box, 'No calls in this range.');
  box.replaceChildren(table([{ title: 'Model' }, { title: 'Requests', num: true },
                             { title: 'Input tokens', num: true }, { title: 'Output tokens', num: true },
                             { title: 'Cost', num: true }, { title: 'Escalations', num: true },
                             { title: 'Escalation rate', num: true }],
                            rows, (row) => ({ 'data-model': row.key })));
}

function renderSeries(answer, by, emptyKey) {
  const common = { bucket: answer.bucket, buckets: answer.buckets, emptyKey };
  drawChart($(`chart-cost-by-${by}`), {
    ...common, id: `cost-by-${by}`, kind: 'line', yTitle: 'Cost (USD)', format: (v) => '$' + +v.toPrecision(3),
    series: answer.series.map((s) => ({ key: s.key, values: s.cost_usd })),
  });
  drawChart($(`chart-tokens-by-${by}`), {
    ...common, id: `tokens-by-${by}`, kind: 'bar', yTitle: 'Tokens (in + out)', format: (v) => (Number.isInteger(v) ? integer(v) : String(+v.toFixed(1))),
    series: answer.series.map((s) => ({ key: s.key, values: s.input_tokens.map((v, i) => v + s.output_tokens[i]) })),
  });
  if (by !== 'model') return;
  drawChart($('chart-escalation-by-model'), {
    ...common, id: 'escalation-by-model', kind: 'line', yTitle: 'Escalated calls', format: percent,
    series: answer.series.map((s) => ({ key: s.key, values: s.escalations.map((e, i) => (s.requests[i] ? e / s.requests[i] : 0)) })),
  });
}

// An application inference profile's id and its tags at the time of the call, or a dash.
function profileCell(c) {
  if (!c.inference_profile) return '—';
  const tags = Object.entries(c.profile_tags || {}).map(([k, v]) => `${k}=${v}`).join(', ');
  const id = c.inference_profile.slice(c.inference_profile.lastIndexOf('/') + 1);
  return tags ? `${id} (${tags})` : id;
}

function renderRecent(answer) {
  const box = $('recent');
  if (!answer.calls.length) return showMessage(box, 'No calls yet.');
  const rows = answer.calls.map((c) => ({
    call: c,
    cells: [new Date(c.time_ms).toISOString().replace('T', ' ').slice(0, 19), shortArn(c.principal_arn),
            displayKey(c.application_tag, '—'), profileCell(c),
            `${c.model_requested} → ${c.model_used || '(none)'}`,
            `${integer(c.input_tokens)} / ${integer(c.output_tokens)}`, usd(c.cost_usd),
            `${integer(c.latency_ms)} ms`, c.status, c.escalated ? 'yes' : 'no'],
    titles: [null, c.principal_arn, null, c.inference_profile || null, c.operation, 'input / output',
             null, null, c.request_id, c.escalation_reason || null],
  }));
  box.replaceChildren(table(
    [{ title: 'Time (UTC)' }, { title: 'Principal' }, { title: 'Application' },
     { title: 'Inference profile (tags)' }, { title: 'Model requested → used' },
     { title: 'Tokens in / out', num: true }, { title: 'Cost', num: true }, { title: 'Latency', num: true },
     { title: 'Status' }, { title: 'Escalated' }],
    rows, ({ call }) => ({ 'data-request-id': call.request_id, 'data-model-used': call.model_used,
                           'data-tag': call.application_tag, 'data-status': call.status,
                           'data-profile': call.inference_profile || '',
                           'data-escalated': String(call.escalated) })));
}

function renderBudgets(answer) {
  const box = $('budgets');
  const budgets = Array.isArray(answer.budgets) ? answer.budgets : [];
  if (!budgets.length) return showMessage(box, 'No budgets defined.');
  const statusClass = { ok: 'status-ok', soft_exceeded: 'status-warn', exhausted: 'status-bad' };
  const rows = budgets.map((b) => {
    const fraction = Number.isFinite(b.used_fraction) ? b.used_fraction
                                                      : b.limit_usd ? b.spent_usd / b.limit_usd : 0;
    const fill = el('div', { class: `fill ${b.status}` });
    fill.style.width = `${Math.min(100, Math.max(0, 100 * fraction)).toFixed(1)}%`;
    const bar = el('span', { class: 'bar', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100,
                             'aria-valuenow': Math.round(100 * fraction) }, fill);
    return {
      budget: b,
      cells: [b.id, `${b.scope}${b.key ? ' = ' + b.key : b.match ? ' ~ ' + b.match : ''}`, b.period,
              `${usd(b.spent_usd)} of ${b.limit_usd == null ? 'no limit' : usd(b.limit_usd)}` + (b.reserved_usd ? ` (+${usd(b.reserved_usd)} reserved)` : ''),
              el('span', {}, bar, el('span', { class: 'pct' }, percent(fraction))),
              el('span', { class: statusClass[b.status] || '' }, b.status)],
      titles: [null, null, b.period_start ? `since ${b.period_start}` : null, null, null,
               b.soft_limit_usd ? `soft limit ${usd(b.soft_limit_usd)}` : null],
    };
  });
  box.replaceChildren(table([{ title: 'Budget' }, { title: 'Scope' }, { title: 'Period' },
                             { title: 'Spent', num: true }, { title: 'Used' }, { title: 'Status' }],
                            rows, ({ budget }) => ({ 'data-budget-id': budget.id, 'data-status': budget.status })));
}

// "parse ✓ · extract … · classify ✗": each pipeline stage and how far it got.
const STAGE_MARK = { succeeded: '✓', running: '…', failed: '✗', pending: '·' };
const stagesText = (stages) => (Array.isArray(stages)
  ? stages.map((st) => `${st.name} ${STAGE_MARK[st.status] || st.status}`).join('  ') : '');

function renderJobs(answer) {
  const box = $('jobs');
  const jobs = Array.isArray(answer.jobs) ? answer.jobs : [];
  if (!jobs.length) return showMessage(box, 'No document jobs.');
  const statusClass = { succeeded: 'status-ok', running: 'status-warn', queued: '', failed: 'status-bad' };
  const rows = jobs.map((j) => ({
    job: j,
    cells: [j.jobId, j.documentId, j.pipeline || '—', el('span', { class: statusClass[j.status] || '' }, j.status),
            stagesText(j.stages), j.createdAt, j.updatedAt, j.error || ''],
  }));
  box.replaceChildren(table([{ title: 'Job' }, { title: 'Document' }, { title: 'Pipeline' }, { title: 'Status' },
                             { title: 'Stages' }, { title: 'Created' }, { title: 'Updated' },
                             { title: 'Error', wrap: true }],
                            rows, ({ job }) => ({ 'data-job-id': job.jobId, 'data-status': job.status })));
}

const isAuthFailure = (e) => e instanceof ApiError && (e.status === 401 || e.status === 403) &&
                             !/AccessDenied/.test(e.type);

// Loads every section in parallel; each one shows its own error. Marks the dashboard
// data-state="ready" once all have answered (what the browser test waits for).
async function refresh() {
  const dashboard = $('dashboard');
  dashboard.dataset.state = 'loading';
  $('refresh').disabled = true;
  $('dashboard-error').hidden = true;
  const { bucket, from, to } = rangeWindow();
  const bounds = { from: String(from / 1000), to: String(to / 1000) };
  const sections = [
    signedGet('/v1/usage', { group_by: 'model', ...bounds }).then(renderTotals),
    signedGet('/v1/usage/series', { bucket, by: 'model', ...bounds }).then((a) => renderSeries(a, 'model', '(unresolved)')),
    signedGet('/v1/usage/series', { bucket, by: 'tag', ...bounds }).then((a) => renderSeries(a, 'tag', '(no tag)')),
    signedGet('/v1/usage/recent', { limit: 50 }).then(renderRecent, (e) => { showSectionError($('recent'), e); throw e; }),
    signedGet('/v1/budgets').then(renderBudgets, (e) => showSectionError($('budgets'), e)),
    signedGet('/v1/jobs', { limit: 50 }).then(renderJobs, (e) => showSectionError($('jobs'), e)),
  ];
  const results = await Promise.allSettled(sections);
  $('refresh').disabled = false;
  const failed = results.filter((r) => r.status === 'rejected').map((r) => r.reason);
  if (failed.some(isAuthFailure)) {
    forgetCredentials();
    showSignIn(`Signed out: ${describe(failed.find(isAuthFailure))}`);
    return;
  }
  if (failed.length) {
    $('dashboard-error').textContent = `Some data could not be loaded. ${describe(failed[0])}`;
    $('dashboard-error').hidden = false;
  }
  $('updated').textContent = `Updated ${new Date().toISOString().replace('T', ' ').slice(0, 19)} UTC`;
  dashboard.dataset.state = 'ready';
}

document.addEventListener('DOMContentLoaded', () => {
  $('sign-in-form').addEventListener('submit', signIn);
  $('sign-out').addEventListener('click', () => { forgetCredentials(); showSignIn(); });
  $('refresh').addEventListener('click', refresh);
  $('range').addEventListener('change', refresh);
  if (loadCredentials()) showDashboard(); else showSignIn();
});
