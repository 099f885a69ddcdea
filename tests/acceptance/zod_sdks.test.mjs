// Acceptance (issue 11): the libraries people use for "document -> JSON validated with Zod" against a
// real plinth serve: LangChain's ChatBedrockConverse.withStructuredOutput(zodSchema) and the Vercel AI
// SDK's generateObject / streamObject with @ai-sdk/amazon-bedrock. Each returned object must pass the
// Zod schema's own safeParse. The fixture models have random weights, so the object is whatever the
// constraint forces; an honest max_tokens stop is the one outcome that may leave no object.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { ChatBedrockConverse } from '@langchain/aws';
import { generateObject, streamObject } from 'ai';
import { createAmazonBedrock } from '@ai-sdk/amazon-bedrock';
import { z } from 'zod';
import { z as z3 } from 'zod3';
import { startPlinth, ROOT, SMALL } from './harness.mjs';

const HAIKU = 'anthropic.claude-3-haiku-20240307-v1:0';  // an alias of the small model
const LLAMA = 'meta.llama3-8b-instruct-v1:0';             // another alias of it

let server;

before(async () => { server = await startPlinth(); });
after(async () => { await server?.stop(); });

const invoice = z.object({
  invoiceNumber: z.string().regex(/^INV-\d{4}$/),
  issued: z.iso.date(),
  vendor: z.object({ name: z.string().min(1).max(20), email: z.email().optional() }),
  lines: z.array(z.object({ description: z.string().max(20), qty: z.int().positive(),
                            unitPrice: z.number().nonnegative() })).min(1).max(2),
  currency: z.enum(['EUR', 'USD']),
  paid: z.boolean(),
});

const contact = z.object({
  name: z.string().min(1).max(16),
  email: z.email(),
  phone: z.e164().nullable(),
  updatedAt: z.iso.datetime(),
  id: z.uuid(),
});

const invoice3 = z3.object({
  number: z3.string().startsWith('INV-').max(12),
  due: z3.string().date(),
  at: z3.string().datetime(),
  total: z3.number().int().min(0).max(100000),
  status: z3.enum(['open', 'paid']),
});

function assertZod(schema, value) {
  const parsed = schema.safeParse(value);
  assert.ok(parsed.success, `${JSON.stringify(value)}\n${JSON.stringify(parsed.error?.issues)}`);
}

const langchain = (model) => new ChatBedrockConverse({
  model, region: 'us-east-1', temperature: 1, maxTokens: 300,
  client: new BedrockRuntimeClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: ROOT }),
});

for (const [name, schema] of [['invoice (Zod 4)', invoice], ['contact (Zod 4)', contact], ['invoice (Zod 3)', invoice3]]) {
  test(`LangChain ChatBedrockConverse.withStructuredOutput: ${name} passes safeParse`, async () => {
    const structured = langchain(HAIKU).withStructuredOutput(schema, { name: 'record_document' });
    for (let i = 0; i < 2; ++i) {
      const value = await structured.invoke(`Extract the document. (sample ${i})`);
      assertZod(schema, value);
    }
  });
}

test('LangChain withStructuredOutput with includeRaw shows a forced tool call', async () => {
  const structured = langchain(HAIKU).withStructuredOutput(invoice, { name: 'record_invoice', includeRaw: true });
  const { raw, parsed } = await structured.invoke('Extract the invoice.');
  assert.equal(raw.tool_calls?.[0]?.name, 'record_invoice');
  assertZod(invoice, parsed);
});

const bedrock = () => createAmazonBedrock({
  region: 'us-east-1', accessKeyId: ROOT.accessKeyId, secretAccessKey: ROOT.secretAccessKey,
  baseURL: server.endpoint,
});

// The AI SDK picks how to ask for JSON from the model id: for Anthropic ids a forced 'json' tool
// (structuredOutputMode auto), for other ids the same tool with toolChoice any.
for (const model of [HAIKU, LLAMA, SMALL]) {
  for (const [name, schema] of [['invoice (Zod 4)', invoice], ['contact (Zod 4)', contact], ['invoice (Zod 3)', invoice3]]) {
    test(`AI SDK generateObject on ${model}: ${name} passes safeParse`, async () => {
      const { object, finishReason } = await generateObject({
        model: bedrock()(model), schema, prompt: `Extract the document for ${model}.`,
        temperature: 1, maxOutputTokens: 300, maxRetries: 0 });
      assert.notEqual(finishReason, 'length');
      assertZod(schema, object);
    });
  }
}

test('AI SDK streamObject: partial objects stream and the final object passes safeParse', async () => {
  const result = streamObject({ model: bedrock()(HAIKU), schema: invoice, prompt: 'Extract the invoice.',
                                temperature: 1, maxOutputTokens: 300, maxRetries: 0 });
  let partials = 0;
  for await (const partial of result.partialObjectStream) {
    assert.equal(typeof partial, 'object');
    partials += 1;
  }
  // Plinth streams the tool input as it is generated (sdk.test.mjs counts the deltas), but
  // @ai-sdk/amazon-bedrock holds its 'json' tool's input until contentBlockStop and hands it on as
  // one text delta, so this SDK sees a single partial here.
  assert.ok(partials >= 1);
  assertZod(invoice, await result.object);
});

test('AI SDK streamObject on a non-Anthropic id', async () => {
  const result = streamObject({ model: bedrock()(SMALL), schema: contact, prompt: 'Extract the contact.',
                                temperature: 1, maxOutputTokens: 300, maxRetries: 0 });
  for await (const partial of result.partialObjectStream) void partial;
  assertZod(contact, await result.object);
});

// structuredOutputMode 'outputFormat' sends Anthropic's native additionalModelRequestFields.output_config
// .format = {type: 'json_schema', schema}, which the SDK's auto mode picks for Claude 4.5+ model ids;
// Plinth constrains the text answer to that schema. The SDK first moves what Anthropic's native mode
// does not enforce (pattern, min/max length and items, numeric bounds) into descriptions, so the
// guarantee covers what survives: types, enums, required and extra properties, date formats.
const order = z.object({
  issued: z.iso.date(),
  vendor: z.object({ name: z.string(), vatRegistered: z.boolean() }),
  lines: z.array(z.object({ sku: z.string(), qty: z.int() })),
  currency: z.enum(['EUR', 'USD']),
  status: z.enum(['open', 'paid']).nullable(),
});
test('AI SDK generateObject with structuredOutputMode outputFormat', async () => {
  const { object } = await generateObject({
    model: bedrock()(HAIKU), schema: order, prompt: 'Extract the order.', temperature: 1,
    maxOutputTokens: 400, maxRetries: 0,
    providerOptions: { bedrock: { structuredOutputMode: 'outputFormat' } } });
  assertZod(order, object);
});
