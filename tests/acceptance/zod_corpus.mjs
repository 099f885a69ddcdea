// The Zod schema corpus (issue 11): document-shaped Zod 4 and Zod 3 schemas covering every Zod type an
// application uses, each emitted as JSON Schema the way applications emit it (Zod 4 z.toJSONSchema for
// draft-2020-12 and draft-7 with io input and output; Zod 3 through zod-to-json-schema, default and
// openApi3 targets). Every entry keeps its Zod schema so that outputs are checked with safeParse.
import { z as z4 } from 'zod';
import { z as z3 } from 'zod3';
import { zodToJsonSchema } from 'zod-to-json-schema';

// TypeScript-style enums as `enum` compiles them (numeric ones carry the reverse mapping).
const Color = { Red: 'red', Green: 'green', Blue: 'blue' };
const Priority = { Low: 0, Medium: 1, High: 2, 0: 'Low', 1: 'Medium', 2: 'High' };
const Mixed = { Draft: 'draft', Final: 2 };

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

// [name, build with Zod 4, build with Zod 3 (or null: the type has no Zod 3 form)]. `same` builds
// with whichever z it is given. Every root is an object, as a Bedrock tool input schema must be.
const same = (f) => [f, f];
const cases = [
  // Objects.
  ['object_plain', ...same((z) => z.object({ title: z.string(), pages: z.number() }))],
  ['object_strict', (z) => z.strictObject({ name: z.string(), age: z.number() }),
    (z) => z.object({ name: z.string(), age: z.number() }).strict()],
  ['object_passthrough', (z) => z.looseObject({ id: z.string() }),
    (z) => z.object({ id: z.string() }).passthrough()],
  ['object_catchall', ...same((z) => z.object({ id: z.string() }).catchall(z.number()))],
  ['object_nested', ...same((z) => z.object({
    customer: z.object({ name: z.string(), address: z.object({ city: z.string(), zip: z.string() }) }),
    total: z.number() }))],
  ['object_empty', ...same((z) => z.object({}))],
  ['object_strict_nested', (z) => z.strictObject({ a: z.strictObject({ b: z.boolean() }) }),
    (z) => z.object({ a: z.object({ b: z.boolean() }).strict() }).strict()],
  // Optional, nullable, default.
  ['optional_fields', ...same((z) => z.object({ a: z.string(), b: z.string().optional(),
                                                c: z.number().optional() }))],
  ['optional_only', ...same((z) => z.object({ note: z.string().optional() }))],
  ['nullable_fields', ...same((z) => z.object({ a: z.string().nullable(), b: z.number().nullable(),
                                                c: z.object({ x: z.boolean() }).nullable() }))],
  ['nullish_field', ...same((z) => z.object({ a: z.string().nullish(), b: z.number().int().nullish() }))],
  ['default_values', ...same((z) => z.object({ currency: z.string().default('EUR'),
                                               qty: z.number().int().default(1),
                                               paid: z.boolean().default(false) }))],
  ['default_object', ...same((z) => z.object({ meta: z.object({ v: z.number() }).default({ v: 1 }) }))],
  ['nullable_enum', ...same((z) => z.object({ kind: z.enum(['a', 'b']).nullable() }))],
  // Arrays.
  ['array_plain', ...same((z) => z.object({ tags: z.array(z.string()) }))],
  ['array_min', ...same((z) => z.object({ tags: z.array(z.string()).min(2) }))],
  ['array_max', ...same((z) => z.object({ tags: z.array(z.string()).max(3) }))],
  ['array_length', ...same((z) => z.object({ rgb: z.array(z.number().int()).length(3) }))],
  ['array_nonempty', ...same((z) => z.object({ items: z.array(z.number()).nonempty() }))],
  ['array_min_max_objects', ...same((z) => z.object({
    lines: z.array(z.object({ sku: z.string(), qty: z.number().int() })).min(1).max(3) }))],
  ['array_nested', ...same((z) => z.object({ grid: z.array(z.array(z.number().int()).max(3)).max(3) }))],
  ['array_of_enums', ...same((z) => z.object({ days: z.array(z.enum(['mon', 'tue', 'wed'])).min(1) }))],
  // Tuples.
  ['tuple_pair', ...same((z) => z.object({ point: z.tuple([z.number(), z.number()]) }))],
  ['tuple_mixed', ...same((z) => z.object({ row: z.tuple([z.string(), z.boolean(), z.null()]) }))],
  ['tuple_rest', (z) => z.object({ t: z.tuple([z.string()], z.number()) }),
    (z) => z.object({ t: z.tuple([z.string()]).rest(z.number()) })],
  // Records.
  ['record_string', ...same((z) => z.object({ scores: z.record(z.string(), z.number()) }))],
  ['record_key_regex', ...same((z) => z.object({
    labels: z.record(z.string().regex(/^[a-z]{1,8}$/), z.string()) }))],
  ['record_enum_keys', ...same((z) => z.object({ names: z.record(z.enum(['de', 'en']), z.string()) }))],
  ['record_objects', ...same((z) => z.object({ byId: z.record(z.string(), z.object({ n: z.number().int() })) }))],
  // Enums and literals.
  ['enum_string', ...same((z) => z.object({ label: z.enum(['invoice', 'receipt', 'other']) }))],
  ['enum_native_string', (z) => z.object({ color: z.enum(Color) }),
    (z) => z.object({ color: z.nativeEnum(Color) })],
  ['enum_native_numeric', (z) => z.object({ priority: z.enum(Priority) }),
    (z) => z.object({ priority: z.nativeEnum(Priority) })],
  ['enum_native_mixed', (z) => z.object({ state: z.enum(Mixed) }),
    (z) => z.object({ state: z.nativeEnum(Mixed) })],
  ['literal_string', ...same((z) => z.object({ kind: z.literal('invoice'), n: z.number() }))],
  ['literal_number', ...same((z) => z.object({ version: z.literal(2) }))],
  ['literal_boolean', ...same((z) => z.object({ ok: z.literal(true) }))],
  ['literal_multiple', (z) => z.object({ v: z.literal(['a', 1, true]) }),
    (z) => z.object({ v: z.union([z.literal('a'), z.literal(1), z.literal(true)]) })],
  // Unions, discriminated unions, intersections.
  ['union_scalars', ...same((z) => z.object({ v: z.union([z.string(), z.number(), z.boolean()]) }))],
  ['union_objects', ...same((z) => z.object({ v: z.union([
    z.object({ kind: z.string(), a: z.number().int() }), z.object({ b: z.boolean() })]) }))],
  ['union_with_null', ...same((z) => z.object({ v: z.union([z.string().min(1), z.null()]) }))],
  ['discriminated_union', ...same((z) => z.object({ payment: z.discriminatedUnion('type', [
    z.object({ type: z.literal('card'), last4: z.string().length(4) }),
    z.object({ type: z.literal('cash'), amount: z.number().nonnegative() }),
    z.object({ type: z.literal('none') })]) }))],
  ['intersection_objects', ...same((z) => z.object({
    v: z.intersection(z.object({ a: z.string() }), z.object({ b: z.number() })) }))],
  ['intersection_and', ...same((z) => z.object({ a: z.string() }).and(z.object({ b: z.boolean() })))],
  ['intersection_union', ...same((z) => z.object({ v: z.intersection(
    z.object({ id: z.string() }), z.union([z.object({ x: z.number() }), z.object({ y: z.string() })])) }))],
  ['intersection_strings', ...same((z) => z.object({
    s: z.intersection(z.string().min(2), z.string().max(5)) }))],
  // Recursion.
  ['lazy_tree', (z) => {
    const Node = z.object({ name: z.string(), get children() { return z.array(Node).max(2); } });
    return z.object({ root: Node });
  }, (z) => {
    const Node = z.lazy(() => z.object({ name: z.string(), children: z.array(Node).max(2) }));
    return z.object({ root: Node });
  }],
  ['lazy_root', (z) => {
    const Category = z.object({ name: z.string(), get sub() { return z.array(Category).max(2); } });
    return Category;
  }, (z) => {
    const Category = z.lazy(() => z.object({ name: z.string(), sub: z.array(Category).max(2) }));
    return Category;
  }],
  ['lazy_linked_list', (z) => {
    const Item = z.object({ value: z.number().int(), get next() { return Item.nullable(); } });
    return z.object({ head: Item });
  }, (z) => {
    const Item = z.lazy(() => z.object({ value: z.number().int(), next: Item.nullable() }));
    return z.object({ head: Item });
  }],
  ['lazy_optional', (z) => {
    const Comment = z.object({ text: z.string().max(20), get reply() { return Comment.optional(); } });
    return z.object({ comment: Comment });
  }, (z) => {
    const Comment = z.lazy(() => z.object({ text: z.string().max(20), reply: Comment.optional() }));
    return z.object({ comment: Comment });
  }],
  // String checks.
  ['string_min', ...same((z) => z.object({ s: z.string().min(3) }))],
  ['string_max', ...same((z) => z.object({ s: z.string().max(5) }))],
  ['string_length', ...same((z) => z.object({ s: z.string().length(4) }))],
  ['string_min_max', ...same((z) => z.object({ s: z.string().min(2).max(6) }))],
  ['string_nonempty', ...same((z) => z.object({ s: z.string().nonempty() }))],
  ['string_regex', ...same((z) => z.object({ code: z.string().regex(/^[A-Z]{3}-\d{4}$/) }))],
  ['string_regex_unanchored', ...same((z) => z.object({ s: z.string().regex(/ab+c/) }))],
  ['string_starts_with', ...same((z) => z.object({ s: z.string().startsWith('INV-') }))],
  ['string_ends_with', ...same((z) => z.object({ s: z.string().endsWith('.pdf') }))],
  ['string_includes', ...same((z) => z.object({ s: z.string().includes('@') }))],
  ['string_checks_combined', ...same((z) => z.object({
    s: z.string().startsWith('a').endsWith('z').min(3).max(10) }))],
  ['string_trim', ...same((z) => z.object({ s: z.string().trim().min(1) }))],
  ['string_to_lower', ...same((z) => z.object({ s: z.string().toLowerCase() }))],
  ['string_to_upper', ...same((z) => z.object({ s: z.string().toUpperCase() }))],
  ['string_lowercase', (z) => z.object({ s: z.string().lowercase() }), null],
  ['string_uppercase', (z) => z.object({ s: z.string().uppercase() }), null],
  ['string_length_unicode', ...same((z) => z.object({ name: z.string().min(1).max(3) }))],
  // String formats.
  ['format_date', (z) => z.object({ d: z.iso.date() }), (z) => z.object({ d: z.string().date() })],
  ['format_datetime', (z) => z.object({ at: z.iso.datetime() }),
    (z) => z.object({ at: z.string().datetime() })],
  ['format_datetime_offset', (z) => z.object({ at: z.iso.datetime({ offset: true }) }),
    (z) => z.object({ at: z.string().datetime({ offset: true }) })],
  ['format_datetime_local', (z) => z.object({ at: z.iso.datetime({ local: true }) }),
    (z) => z.object({ at: z.string().datetime({ local: true }) })],
  ['format_datetime_precision', (z) => z.object({ at: z.iso.datetime({ precision: 3 }) }),
    (z) => z.object({ at: z.string().datetime({ precision: 3 }) })],
  ['format_datetime_no_seconds', (z) => z.object({ at: z.iso.datetime({ precision: -1 }) }), null],
  ['format_time', (z) => z.object({ t: z.iso.time() }), (z) => z.object({ t: z.string().time() })],
  ['format_time_precision', (z) => z.object({ t: z.iso.time({ precision: 0 }) }),
    (z) => z.object({ t: z.string().time({ precision: 0 }) })],
  ['format_duration', (z) => z.object({ p: z.iso.duration() }),
    (z) => z.object({ p: z.string().duration() })],
  ['format_email', (z) => z.object({ email: z.email() }), (z) => z.object({ email: z.string().email() })],
  ['format_email_max', (z) => z.object({ email: z.email().max(24) }),
    (z) => z.object({ email: z.string().email().max(24) })],
  ['format_uuid', (z) => z.object({ id: z.uuid() }), (z) => z.object({ id: z.string().uuid() })],
  ['format_uuidv4', (z) => z.object({ id: z.uuidv4() }), null],
  ['format_uuidv7', (z) => z.object({ id: z.uuidv7() }), null],
  ['format_guid', (z) => z.object({ id: z.guid() }), null],
  ['format_url', (z) => z.object({ u: z.url() }), (z) => z.object({ u: z.string().url() })],
  ['format_ipv4', (z) => z.object({ ip: z.ipv4() }), (z) => z.object({ ip: z.string().ip({ version: 'v4' }) })],
  ['format_ipv6', (z) => z.object({ ip: z.ipv6() }), (z) => z.object({ ip: z.string().ip({ version: 'v6' }) })],
  ['format_ip_any', (z) => z.object({ ip: z.union([z.ipv4(), z.ipv6()]) }),
    (z) => z.object({ ip: z.string().ip() })],
  ['format_cidrv4', (z) => z.object({ net: z.cidrv4() }),
    (z) => z.object({ net: z.string().cidr({ version: 'v4' }) })],
  ['format_cidrv6', (z) => z.object({ net: z.cidrv6() }),
    (z) => z.object({ net: z.string().cidr({ version: 'v6' }) })],
  ['format_base64', (z) => z.object({ b: z.base64() }), (z) => z.object({ b: z.string().base64() })],
  ['format_base64url', (z) => z.object({ b: z.base64url() }),
    (z) => z.object({ b: z.string().base64url() })],
  ['format_cuid', (z) => z.object({ id: z.cuid() }), (z) => z.object({ id: z.string().cuid() })],
  ['format_cuid2', (z) => z.object({ id: z.cuid2() }), (z) => z.object({ id: z.string().cuid2() })],
  ['format_ulid', (z) => z.object({ id: z.ulid() }), (z) => z.object({ id: z.string().ulid() })],
  ['format_nanoid', (z) => z.object({ id: z.nanoid() }), (z) => z.object({ id: z.string().nanoid() })],
  ['format_emoji', (z) => z.object({ e: z.emoji() }), (z) => z.object({ e: z.string().emoji() })],
  ['format_jwt', (z) => z.object({ token: z.jwt() }), (z) => z.object({ token: z.string().jwt() })],
  ['format_e164', (z) => z.object({ phone: z.e164() }), null],
  ['format_hostname', (z) => z.object({ host: z.hostname() }), null],
  ['format_ksuid', (z) => z.object({ id: z.ksuid() }), null],
  ['format_xid', (z) => z.object({ id: z.xid() }), null],
  ['format_mac', (z) => z.object({ mac: z.mac() }), null],
  ['format_hex', (z) => z.object({ h: z.hex() }), null],
  ['format_optional_nullable', (z) => z.object({ at: z.iso.date().optional(), email: z.email().nullable() }),
    (z) => z.object({ at: z.string().date().optional(), email: z.string().email().nullable() })],
  // Numbers.
  ['number_plain', ...same((z) => z.object({ x: z.number() }))],
  ['number_int', (z) => z.object({ n: z.int() }), (z) => z.object({ n: z.number().int() })],
  ['number_int_method', ...same((z) => z.object({ n: z.number().int() }))],
  ['number_safe', ...same((z) => z.object({ n: z.number().safe() }))],
  ['number_bounds_2p53', ...same((z) => z.object({ n: z.number().min(-MAX_SAFE).max(MAX_SAFE) }))],
  ['number_int_bounds_2p53', ...same((z) => z.object({ n: z.number().int().min(-(2 ** 53)).max(2 ** 53) }))],
  ['number_min_max', ...same((z) => z.object({ pct: z.number().min(0).max(100) }))],
  ['number_gt_lt', ...same((z) => z.object({ x: z.number().gt(0).lt(1) }))],
  ['number_gte_lte', ...same((z) => z.object({ x: z.number().gte(-5).lte(5) }))],
  ['number_int_gt_lt', ...same((z) => z.object({ n: z.number().int().gt(10).lt(20) }))],
  ['number_multiple_of_int', ...same((z) => z.object({ n: z.number().int().multipleOf(5) }))],
  ['number_multiple_of_cents', ...same((z) => z.object({ amount: z.number().multipleOf(0.01).min(0).max(1000) }))],
  ['number_multiple_of_half', ...same((z) => z.object({ r: z.number().multipleOf(0.5) }))],
  ['number_positive', ...same((z) => z.object({ x: z.number().positive() }))],
  ['number_nonnegative', ...same((z) => z.object({ x: z.number().nonnegative() }))],
  ['number_negative', ...same((z) => z.object({ x: z.number().negative() }))],
  ['number_nonpositive', ...same((z) => z.object({ x: z.number().nonpositive() }))],
  ['number_int_positive', ...same((z) => z.object({ n: z.number().int().positive() }))],
  ['number_finite', ...same((z) => z.object({ x: z.number().finite() }))],
  ['number_int32', (z) => z.object({ n: z.int32() }), null],
  ['number_uint32', (z) => z.object({ n: z.uint32() }), null],
  ['number_float32', (z) => z.object({ x: z.float32() }), null],
  ['number_float64', (z) => z.object({ x: z.float64() }), null],
  ['number_small_range', ...same((z) => z.object({ x: z.number().gt(0.1).lt(0.2) }))],
  // Booleans and null.
  ['boolean', ...same((z) => z.object({ ok: z.boolean() }))],
  ['null', ...same((z) => z.object({ nothing: z.null() }))],
  ['boolean_nullable_default', ...same((z) => z.object({ flag: z.boolean().nullable().default(null) }))],
  // Annotations.
  ['annotation_describe', ...same((z) => z.object({
    total: z.number().describe('The invoice total'), note: z.string().describe('Free text') })
    .describe('An invoice'))],
  ['annotation_meta', (z) => z.object({
    total: z.number().meta({ title: 'Total', description: 'Sum due', examples: [12.5] }),
    id: z.string().meta({ readOnly: true, examples: ['A-1'] }) }).meta({ title: 'Invoice' }), null],
  ['annotation_default_described', ...same((z) => z.object({
    lang: z.enum(['de', 'en']).default('en').describe('Language') }))],
  // Realistic extraction documents.
  ['doc_invoice', (z) => z.object({
    invoiceNumber: z.string().regex(/^INV-\d{4,6}$/), issued: z.iso.date(), due: z.iso.date().optional(),
    vendor: z.object({ name: z.string().min(1).max(40), email: z.email().optional(), vatId: z.string().nullable() }),
    lines: z.array(z.object({ description: z.string().max(40), qty: z.int().positive(),
                              unitPrice: z.number().nonnegative() })).min(1).max(3),
    currency: z.enum(['EUR', 'USD', 'GBP']), total: z.number().nonnegative() }),
  (z) => z.object({
    invoiceNumber: z.string().regex(/^INV-\d{4,6}$/), issued: z.string().date(), due: z.string().date().optional(),
    vendor: z.object({ name: z.string().min(1).max(40), email: z.string().email().optional(), vatId: z.string().nullable() }),
    lines: z.array(z.object({ description: z.string().max(40), qty: z.number().int().positive(),
                              unitPrice: z.number().nonnegative() })).min(1).max(3),
    currency: z.enum(['EUR', 'USD', 'GBP']), total: z.number().nonnegative() })],
  ['doc_person', (z) => z.object({
    name: z.string().min(1), born: z.iso.date().nullable(), email: z.email(), phone: z.e164().optional(),
    website: z.url().optional(), tags: z.array(z.string().max(12)).max(3) }),
  (z) => z.object({
    name: z.string().min(1), born: z.string().date().nullable(), email: z.string().email(),
    website: z.string().url().optional(), tags: z.array(z.string().max(12)).max(3) })],
  ['doc_event', (z) => z.object({
    id: z.uuid(), title: z.string().max(30), start: z.iso.datetime(), end: z.iso.datetime({ offset: true }),
    attendees: z.array(z.object({ email: z.email(), rsvp: z.enum(['yes', 'no', 'maybe']) })).max(2) }),
  (z) => z.object({
    id: z.string().uuid(), title: z.string().max(30), start: z.string().datetime(),
    end: z.string().datetime({ offset: true }),
    attendees: z.array(z.object({ email: z.string().email(), rsvp: z.enum(['yes', 'no', 'maybe']) })).max(2) })],
  ['doc_classification', ...same((z) => z.object({
    label: z.enum(['contract', 'invoice', 'letter', 'other']), confidence: z.number().min(0).max(1),
    reasons: z.array(z.string().max(30)).max(2) }))],
  ['doc_server_log', (z) => z.object({
    host: z.hostname(), ip: z.ipv4(), at: z.iso.datetime(), status: z.int().min(100).max(599),
    path: z.string().startsWith('/').max(30) }),
  (z) => z.object({
    ip: z.string().ip({ version: 'v4' }), at: z.string().datetime(),
    status: z.number().int().min(100).max(599), path: z.string().startsWith('/').max(30) })],
  ['doc_shipment', ...same((z) => z.object({
    tracking: z.string().length(10), weightKg: z.number().positive().max(1000),
    dims: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]),
    status: z.discriminatedUnion('state', [
      z.object({ state: z.literal('in_transit'), eta: z.string().max(20) }),
      z.object({ state: z.literal('delivered'), signedBy: z.string().max(20).nullable() })]) }))],
];

// Emissions left out of the corpus because the emitted JSON Schema itself cannot carry the Zod schema:
// no generator can satisfy both. (z.url({hostname, protocol}) is not in the corpus for the same reason:
// Zod 4 emits only format uri, without the hostname and protocol checks.)
export const EXCLUDED = {
  'zod3/jsonSchema7/intersection_union': 'zod-to-json-schema keeps additionalProperties:false on the ' +
    "union's members inside allOf: no instance satisfies it (id is required and forbidden by each branch)",
  'zod3/openApi3/intersection_union': 'as zod3/jsonSchema7/intersection_union',
  'zod3/openApi3/record_key_regex': 'the openApi3 target drops propertyNames, so the key regex Zod ' +
    'checks never reaches the schema',
  'zod3/jsonSchema7/format_datetime_precision': 'zod-to-json-schema emits a bare date-time, without the ' +
    'precision: exactly three fractional digits (what Zod checks) is not what a plain z3 datetime needs',
  'zod3/openApi3/format_datetime_precision': 'as zod3/jsonSchema7/format_datetime_precision',
};

// Emits one base case through every JSON Schema emitter that applies. Returns corpus entries
// {name, zod, jsonSchema}; an emitter that throws is reported as an entry with `emitError`.
function emit(name, build4, build3) {
  const entries = [];
  if (build4) {
    const zod = build4(z4);
    for (const target of ['draft-2020-12', 'draft-7']) {
      for (const io of ['input', 'output']) {
        const entryName = `zod4/${target}/${io}/${name}`;
        try {
          entries.push({ name: entryName, zod, jsonSchema: z4.toJSONSchema(zod, { target, io }) });
        } catch (e) {
          entries.push({ name: entryName, zod, emitError: String(e?.message ?? e) });
        }
      }
    }
  }
  if (build3) {
    const zod = build3(z3);
    for (const target of ['jsonSchema7', 'openApi3']) {
      const entryName = `zod3/${target}/${name}`;
      try {
        const jsonSchema = zodToJsonSchema(zod, { target });
        entries.push({ name: entryName, zod, jsonSchema });
      } catch (e) {
        entries.push({ name: entryName, zod, emitError: String(e?.message ?? e) });
      }
    }
  }
  return entries;
}

// The whole corpus, in a stable order. Emissions of one base case that differ only in `$schema` (most
// draft-7 and draft-2020-12 pairs) are kept once: the first emitter's name stands for them. Each entry
// carries `caseIndex` (its base case) and `indexInCase`.
export function buildCorpus({ dedupe = true } = {}) {
  const corpus = [];
  cases.forEach(([name, build4, build3], caseIndex) => {
    const seen = new Set();
    let indexInCase = 0;
    for (const entry of emit(name, build4, build3)) {
      if (EXCLUDED[entry.name]) continue;
      if (dedupe && entry.jsonSchema) {
        const { $schema, ...rest } = entry.jsonSchema;
        const key = JSON.stringify(rest);
        if (seen.has(key)) continue;
        seen.add(key);
      }
      corpus.push({ ...entry, caseIndex, indexInCase: indexInCase++ });
    }
  });
  return corpus;
}

export const baseCaseCount = cases.length;
