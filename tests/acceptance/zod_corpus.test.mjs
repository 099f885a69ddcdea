// Acceptance (issue 11): every schema of the Zod corpus (zod_corpus.mjs) runs through a real plinth serve
// on a random-weight fixture model, where the output is forced entirely by the constraint, via Converse
// toolConfig + toolChoice, Converse outputConfig.textFormat and OpenAI response_format, at temperature 1
// with several seeds; every finished output is checked with the Zod schema's own safeParse.
// Targets: 100% of the corpus compiles (no 400), zero safeParse failures, >= 95% of generations complete
// (the rest end as an honest max_tokens). Knobs (for debugging, not for ctest): CORPUS_FILTER (a regex on
// entry names), CORPUS_RUNS (generations per schema, each on another path with
// another seed), CORPUS_CONCURRENCY, CORPUS_MAX_TOKENS.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import OpenAI from 'openai';
import { startPlinth, mintBearerToken, repoRoot, ROOT } from './harness.mjs';
import { buildCorpus, EXCLUDED } from './zod_corpus.mjs';

const MODEL = 'corpus-model';
// The cheapest generative fixture: a 64-wide, 2-layer llama with a 32,000-token SentencePiece vocabulary.
const MODEL_FILE = process.env.CORPUS_MODEL_FILE ?? join(repoRoot, 'tests/data/models/llama-spm-64-q8_0.gguf');
const FILTER = process.env.CORPUS_FILTER ? new RegExp(process.env.CORPUS_FILTER) : null;
const RUNS = Math.max(1, Number(process.env.CORPUS_RUNS ?? 2));
const CONCURRENCY = Number(process.env.CORPUS_CONCURRENCY ?? 4);
const MAX_TOKENS = Number(process.env.CORPUS_MAX_TOKENS ?? 128);
const PATHS = ['converse_tool', 'converse_text_format', 'openai_response_format'];

let server;
let bedrock;
let openai;

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'plinth-zod-corpus-'));
  const configFile = join(dir, 'plinth.toml');
  writeFileSync(configFile, `listen = "127.0.0.1:0"\nregion = "us-east-1"\n[[models]]\nid = "${MODEL}"\n` +
                            `file = "${MODEL_FILE}"\nkind = "text"\ntier = "small"\n`);
  server = await startPlinth({ dataDir: dir, configFile });
  bedrock = new BedrockRuntimeClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: ROOT,
                                       maxAttempts: 1 });
  openai = new OpenAI({ baseURL: `${server.endpoint}/v1`, apiKey: await mintBearerToken(server.endpoint),
                        maxRetries: 0, timeout: 120_000 });
});

after(async () => { await server?.stop(); });

const prompt = (seed) => `Extract the document as JSON. (sample ${seed})`;

// One generation. Returns {outcome: 'complete'|'max_tokens'|'rejected'|'error', value?, detail?}.
async function generate(path, schema, seed) {
  try {
    if (path === 'openai_response_format') {
      const r = await openai.chat.completions.create({
        model: MODEL, messages: [{ role: 'user', content: prompt(seed) }], temperature: 1, seed,
        max_tokens: MAX_TOKENS,
        response_format: { type: 'json_schema', json_schema: { name: 'document', schema, strict: true } } });
      const choice = r.choices[0];
      if (choice.finish_reason === 'length') return { outcome: 'max_tokens' };
      if (choice.finish_reason !== 'stop') return { outcome: 'error', detail: `finish_reason ${choice.finish_reason}` };
      return { outcome: 'complete', value: JSON.parse(choice.message.content) };
    }
    const input = {
      modelId: MODEL, messages: [{ role: 'user', content: [{ text: prompt(seed) }] }],
      inferenceConfig: { maxTokens: MAX_TOKENS, temperature: 1 } };
    if (path === 'converse_tool') {
      input.toolConfig = { tools: [{ toolSpec: { name: 'record_document', description: 'Records the document',
                                                 inputSchema: { json: schema } } }],
                           toolChoice: { tool: { name: 'record_document' } } };
    } else {
      input.outputConfig = { textFormat: { type: 'json_schema',
                                           structure: { jsonSchema: { name: 'document', schema: JSON.stringify(schema) } } } };
    }
    const r = await bedrock.send(new ConverseCommand(input));
    if (r.stopReason === 'max_tokens') return { outcome: 'max_tokens' };
    const content = r.output?.message?.content ?? [];
    if (path === 'converse_tool') {
      const use = content.find((c) => c.toolUse)?.toolUse;
      if (r.stopReason !== 'tool_use' || !use) return { outcome: 'error', detail: `stopReason ${r.stopReason}` };
      return { outcome: 'complete', value: use.input };
    }
    if (r.stopReason !== 'end_turn') return { outcome: 'error', detail: `stopReason ${r.stopReason}` };
    return { outcome: 'complete', value: JSON.parse(content.map((c) => c.text ?? '').join('')) };
  } catch (e) {
    const status = e?.$metadata?.httpStatusCode ?? e?.status;
    const message = e?.message ?? String(e);
    return { outcome: status === 400 ? 'rejected' : 'error', detail: `${status ?? ''} ${e?.name ?? ''}: ${message}`.trim() };
  }
}

async function pool(items, concurrency, work) {
  let next = 0;
  const workers = Array.from({ length: concurrency }, async () => {
    while (next < items.length) {
      const i = next++;
      await work(items[i], i);
    }
  });
  await Promise.all(workers);
}

const short = (s, n = 300) => (s.length > n ? `${s.slice(0, n)}…` : s);

test('every Zod-emitted schema compiles and every finished output passes safeParse', { timeout: 900_000 }, async () => {
  const corpus = buildCorpus().filter((e) => !FILTER || FILTER.test(e.name));
  const emitErrors = corpus.filter((e) => e.emitError);
  const entries = corpus.filter((e) => !e.emitError);
  const jobs = [];
  entries.forEach((entry, i) => {
    // Each schema runs RUNS times, each on the next of the three paths (rotating within its base case,
    // so one Zod type meets every path) and each with its own seed; CORPUS_RUNS=3 covers all paths.
    for (let k = 0; k < RUNS; ++k) {
      const path = PATHS[(entry.caseIndex + entry.indexInCase + k) % PATHS.length];
      jobs.push({ entry, path, seed: 1 + (i * RUNS + k) % 997 });
    }
  });
  const started = Date.now();
  const counts = { complete: 0, max_tokens: 0, rejected: 0, error: 0, parse_failed: 0 };
  const rejectedSchemas = new Map();   // name -> first rejection message
  const errors = [];
  const parseFailures = [];
  await pool(jobs, CONCURRENCY, async ({ entry, path, seed }) => {
    const r = await generate(path, entry.jsonSchema, seed);
    counts[r.outcome] += 1;
    if (r.outcome === 'rejected') {
      if (!rejectedSchemas.has(entry.name)) rejectedSchemas.set(entry.name, `${path}: ${r.detail}`);
    } else if (r.outcome === 'error') {
      errors.push(`${entry.name} [${path} seed ${seed}]: ${r.detail}`);
    } else if (r.outcome === 'complete') {
      const parsed = entry.zod.safeParse(r.value);
      if (!parsed.success) {
        counts.parse_failed += 1;
        const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
        parseFailures.push(`${entry.name} [${path} seed ${seed}]: ${short(JSON.stringify(r.value), 200)} -> ${short(issues, 200)}`);
      }
    }
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const generated = counts.complete + counts.max_tokens;
  const compiled = entries.length - rejectedSchemas.size;
  const completePct = generated ? (100 * counts.complete / generated) : 0;
  console.log(`zod corpus: ${corpus.length} schemas (${emitErrors.length} not emittable), ${jobs.length} generations ` +
              `in ${seconds}s on ${MODEL_FILE.split('/').pop()}, maxTokens ${MAX_TOKENS}, ${RUNS} runs per schema (path and seed vary)`);
  console.log(`zod corpus: compiled ${compiled}/${entries.length}; complete ${counts.complete}, max_tokens ${counts.max_tokens} ` +
              `(${completePct.toFixed(1)}% complete); safeParse passed ${counts.complete - counts.parse_failed}/${counts.complete}; ` +
              `rejected ${counts.rejected}, errors ${counts.error}`);
  for (const [name, why] of Object.entries(EXCLUDED)) console.log(`  excluded: ${name}: ${why}`);
  for (const e of emitErrors) console.log(`  not emittable: ${e.name}: ${e.emitError}`);
  for (const [name, why] of rejectedSchemas) console.log(`  rejected: ${name}: ${short(why)}`);
  for (const f of parseFailures) console.log(`  safeParse failed: ${f}`);
  for (const e of errors) console.log(`  error: ${short(e)}`);

  assert.equal(emitErrors.length, 0, 'every corpus schema is emittable');
  assert.equal(rejectedSchemas.size, 0, `${rejectedSchemas.size} of ${entries.length} schemas refused`);
  assert.equal(errors.length, 0, `${errors.length} generations failed`);
  assert.equal(counts.parse_failed, 0, `${counts.parse_failed} of ${counts.complete} outputs failed safeParse`);
  assert.ok(completePct >= 95, `only ${completePct.toFixed(1)}% of generations completed`);
});
