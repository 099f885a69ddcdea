// Runs outputs written by structured_test (PLINTH_ZOD_SAMPLES=file) through each schema's own
// Zod safeParse. Run: NODE_PATH=/tmp/zodgen/node_modules node check.cjs samples.jsonl
const fs = require("fs");
const readline = require("readline");
const { v4, v3 } = require("./generate.cjs");
const types = { zod4: v4(), zod3: v3() };
(async () => {
  let total = 0, failed = 0;
  const lines = readline.createInterface({ input: fs.createReadStream(process.argv[2]) });
  for await (const line of lines) {
    const { schema, output } = JSON.parse(line);
    const m = schema.match(/^(zod[34])_(.+?)_(draft-2020-12|draft-7|jsonSchema7|openApi3)/);
    const t = types[m[1]][m[2]];
    // OpenAPI 3.0 has no propertyNames: zod-to-json-schema drops a record's key check there,
    // so nothing in that schema can steer keys to Zod's regex.
    if (/^zod3_record_keys_openApi3/.test(schema)) continue;
    total++;
    const r = t.safeParse(output);
    if (!r.success) {
      failed++;
      console.log(schema, JSON.stringify(output), JSON.stringify(r.error.issues).slice(0, 300));
    }
  }
  console.log(`${total} outputs, ${failed} failed safeParse`);
  process.exit(failed ? 1 : 0);
})();
