// Writes the JSON Schemas Zod emits for the types an application uses to describe a document.
// Run: cd /tmp/zodgen && npm i zod@4 zod3@npm:zod@3 zod-to-json-schema && node <this file> <outdir>
// (set NODE_PATH=/tmp/zodgen/node_modules). One file per (type, emitter) pair.
const fs = require("fs");
const path = require("path");
const z = require("zod");
const z3 = require("zod3");
const { zodToJsonSchema } = require("zod-to-json-schema");

function v4(z) {
  const Node = z.lazy(() => z.object({ name: z.string(), children: z.array(Node) }));
  const Category = z.object({ name: z.string(), get sub() { return z.array(Category).optional(); } });
  const Shape = z.discriminatedUnion("kind", [
    z.object({ kind: z.literal("circle"), r: z.number().positive() }),
    z.object({ kind: z.literal("rect"), w: z.number().nonnegative(), h: z.number().nonnegative() }),
  ]);
  const enumNative = { A: "a", B: "b", C: 3 };
  return {
    object_strict: z.strictObject({ a: z.string(), b: z.number().optional() }),
    object_passthrough: z.looseObject({ a: z.string() }),
    object_catchall: z.object({ a: z.string() }).catchall(z.number()),
    optional_nullable_default: z.object({ a: z.string().optional(), b: z.string().nullable(), c: z.number().default(3), d: z.boolean().nullish() }),
    arrays: z.object({ a: z.array(z.string()).min(1).max(4), b: z.array(z.number()).length(3), c: z.array(z.int()).nonempty() }),
    tuple: z.tuple([z.string(), z.number(), z.boolean()]),
    tuple_rest: z.tuple([z.string(), z.int()], z.boolean()),
    record: z.record(z.string(), z.number()),
    record_keys: z.record(z.string().regex(/^[a-z]+$/), z.string()),
    record_enum_keys: z.record(z.enum(["x", "y"]), z.int()),
    enum_string: z.enum(["red", "green", "blue"]),
    enum_native: z.nativeEnum(enumNative),
    literal: z.literal("yes"),
    literals: z.literal(["a", 1, true, null]),
    union: z.union([z.string(), z.number(), z.null()]),
    discriminated: Shape,
    intersection: z.intersection(z.object({ a: z.string() }), z.object({ b: z.int() })),
    lazy: Node,
    getter_recursion: Category,
    string_checks: z.object({ min: z.string().min(2), max: z.string().max(5), len: z.string().length(4), re: z.string().regex(/^[A-Z]{2}\d+$/), sw: z.string().startsWith("ab"), ew: z.string().endsWith("yz"), inc: z.string().includes("mid"), trim: z.string().trim().min(1), lower: z.string().toLowerCase().max(10), both: z.string().min(3).max(8).regex(/^[a-z]+$/) }),
    email: z.email(), uuid: z.uuid(), uuidv4: z.uuidv4(), guid: z.guid(), url: z.url(), httpurl: z.url({ protocol: /^https?$/ }),
    ipv4: z.ipv4(), ipv6: z.ipv6(), cidrv4: z.cidrv4(), cidrv6: z.cidrv6(),
    base64: z.base64(), base64url: z.base64url(), cuid: z.cuid(), cuid2: z.cuid2(), ulid: z.ulid(), nanoid: z.nanoid(),
    emoji: z.emoji(), jwt: z.jwt(), e164: z.e164(), hostname: z.hostname(),
    date: z.iso.date(), datetime: z.iso.datetime(), datetime_offset: z.iso.datetime({ offset: true }), datetime_local: z.iso.datetime({ local: true }), datetime_precision: z.iso.datetime({ precision: 3 }),
    time: z.iso.time(), time_precision: z.iso.time({ precision: 0 }), duration: z.iso.duration(),
    email_max: z.email().max(40), uuid_len: z.string().uuid(),
    numbers: z.object({ i: z.int(), n: z.number(), pos: z.number().positive(), nonneg: z.number().nonnegative(), neg: z.number().negative(), npos: z.int().nonpositive(), gt: z.number().gt(1.5).lt(9.5), gte: z.int().gte(-3).lte(3), mult: z.int().multipleOf(5), multf: z.number().multipleOf(0.25), int32: z.int32(), safe: z.number().int().min(-9007199254740991) }),
    booleans_null: z.object({ b: z.boolean(), n: z.null() }),
    annotations: z.object({ a: z.string().describe("the a").meta({ title: "A", examples: ["x"] }), r: z.string().readonly() }).describe("doc"),
    invoice: z.object({ id: z.uuid(), issued: z.iso.date(), due: z.iso.datetime(), vendor: z.object({ name: z.string().min(1), email: z.email().optional(), website: z.url().optional() }), lines: z.array(z.object({ sku: z.string().regex(/^[A-Z0-9-]{3,12}$/), qty: z.int().positive(), price: z.number().nonnegative() })).min(1), total: z.number(), currency: z.enum(["USD", "EUR"]), notes: z.string().max(200).nullable() }),
    person: z.object({ name: z.string().min(1).max(60), age: z.int().min(0).max(150), phone: z.e164().optional(), tags: z.array(z.string().max(12)).max(5), status: z.union([z.literal("active"), z.literal("inactive")]) }),    ids_more: z.object({ k: z.ksuid(), x: z.xid(), m: z.mac(), h: z.hex() }),
    money: z.object({ amount: z.number().multipleOf(0.01).min(0).max(1000), r: z.number().multipleOf(0.5), t: z.number().multipleOf(0.25) }),
    lazy_optional: (() => { const C = z.object({ text: z.string().max(20), get reply() { return C.optional(); } }); return z.object({ comment: C }); })(),
  };
}
function v3(z) {
  const Node = z.lazy(() => z.object({ name: z.string(), children: z.array(Node) }));
  return {
    object_strict: z.object({ a: z.string(), b: z.number().optional() }).strict(),
    object_passthrough: z.object({ a: z.string() }).passthrough(),
    object_catchall: z.object({ a: z.string() }).catchall(z.number()),
    optional_nullable_default: z.object({ a: z.string().optional(), b: z.string().nullable(), c: z.number().default(3), d: z.boolean().nullish() }),
    arrays: z.object({ a: z.array(z.string()).min(1).max(4), b: z.array(z.number()).length(3), c: z.array(z.number().int()).nonempty() }),
    tuple: z.tuple([z.string(), z.number(), z.boolean()]),
    tuple_rest: z.tuple([z.string(), z.number().int()]).rest(z.boolean()),
    record: z.record(z.string(), z.number()),
    record_keys: z.record(z.string().regex(/^[a-z]+$/), z.string()),
    enum_string: z.enum(["red", "green", "blue"]),
    enum_native: z.nativeEnum({ A: "a", B: "b", C: 3 }),
    literal: z.literal("yes"),
    union: z.union([z.string(), z.number(), z.null()]),
    literals: z.union([z.literal("a"), z.literal(1), z.literal(true)]),
    discriminated: z.discriminatedUnion("kind", [z.object({ kind: z.literal("circle"), r: z.number().positive() }), z.object({ kind: z.literal("rect"), w: z.number().nonnegative() })]),
    intersection: z.intersection(z.object({ a: z.string() }), z.object({ b: z.number().int() })),
    lazy: Node,
    string_checks: z.object({ min: z.string().min(2), max: z.string().max(5), len: z.string().length(4), re: z.string().regex(/^[A-Z]{2}\d+$/), sw: z.string().startsWith("ab"), ew: z.string().endsWith("yz"), inc: z.string().includes("mid"), trim: z.string().trim().min(1), lower: z.string().toLowerCase().max(10) }),
    formats: z.object({ email: z.string().email(), uuid: z.string().uuid(), url: z.string().url(), ip: z.string().ip(), ipv4: z.string().ip({ version: "v4" }), base64: z.string().base64(), cuid: z.string().cuid(), cuid2: z.string().cuid2(), ulid: z.string().ulid(), nanoid: z.string().nanoid(), emoji: z.string().emoji(), jwt: z.string().jwt(), date: z.string().date(), datetime: z.string().datetime(), datetime_offset: z.string().datetime({ offset: true }), time: z.string().time(), duration: z.string().duration() }),
    cidr_allof: z.string().cidr(),
    numbers: z.object({ i: z.number().int(), pos: z.number().positive(), nonneg: z.number().nonnegative(), gt: z.number().gt(1.5).lt(9.5), mult: z.number().int().multipleOf(5), safe: z.number().safe(), finite: z.number().finite() }),
    booleans_null: z.object({ b: z.boolean(), n: z.null() }),
    annotations: z.object({ a: z.string().describe("the a"), r: z.string().readonly() }).describe("doc"),
    invoice: z.object({ id: z.string().uuid(), issued: z.string().date(), due: z.string().datetime(), lines: z.array(z.object({ sku: z.string().regex(/^[A-Z0-9-]{3,12}$/), qty: z.number().int().positive() })).min(1), currency: z.enum(["USD", "EUR"]), notes: z.string().max(200).nullable() }),    money: z.object({ amount: z.number().multipleOf(0.01).min(0).max(1000), r: z.number().multipleOf(0.5) }),
    lazy_linked_list: (() => { const I = z.lazy(() => z.object({ value: z.number().int(), next: I.nullable() })); return z.object({ head: I }); })(),
    lazy_optional: (() => { const C = z.lazy(() => z.object({ text: z.string().max(20), reply: C.optional() })); return z.object({ comment: C }); })(),
    record_enum_keys: z.object({ names: z.record(z.enum(["de", "en"]), z.string()) }),
    base64: z.object({ b: z.string().base64() }),
  };
}
module.exports = { v4: () => v4(z), v3: () => v3(z3) };
if (require.main !== module) return;
const out = process.argv[2] || __dirname + "/schemas";
fs.mkdirSync(out, { recursive: true });
let n = 0;
function write(name, schema) { fs.writeFileSync(path.join(out, name + ".json"), JSON.stringify(schema) + "\n"); n++; }
for (const [name, t] of Object.entries(v4(z))) {
  for (const target of ["draft-2020-12", "draft-7"])
    for (const io of ["output", "input"])
      try { write(`zod4_${name}_${target}_${io}`, z.toJSONSchema(t, { target, io, unrepresentable: "any" })); }
      catch (e) { console.error(`zod4 ${name} ${target} ${io}: ${e.message}`); }
}
for (const [name, t] of Object.entries(v3(z3)))
  for (const target of ["jsonSchema7", "openApi3"]) {
    write(`zod3_${name}_${target}`, zodToJsonSchema(t, { target }));
    write(`zod3_${name}_${target}_root`, zodToJsonSchema(t, { target, name: "Root", $refStrategy: "root" }));
  }
console.error(`${n} schemas written to ${out}`);
