#!/usr/bin/env bash
# Acceptance: the plinth command line — offline IAM, engine commands on fixture models, and clear
# errors with a non-zero exit for bad input.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
plinth=${PLINTH_BINARY:-$here/../../build/plinth}
data=$here/../data
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
check() {  # check NAME EXPECTED ACTUAL
  if [[ "$2" == "$3" ]]; then passed=$((passed + 1)); echo "ok - $1";
  else failed=$((failed + 1)); echo "not ok - $1: expected '$2', got '$3'"; fi
}
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# Offline IAM on a data dir.
"$plinth" iam create-user --data-dir "$work/d" --user-name bob >/dev/null
check "iam get-user" "bob" "$("$plinth" iam get-user --data-dir "$work/d" --user-name bob | json 'd["User"]["UserName"]')"
created=$("$plinth" iam create-access-key --data-dir "$work/d" --user-name bob)
key=$(echo "$created" | json 'd["AccessKey"]["AccessKeyId"]')
secret=$(echo "$created" | json 'd["AccessKey"]["SecretAccessKey"]')
check "access key id shape" "AKIA" "${key:0:4}"
check "secret is 40 characters" "40" "${#secret}"
check "secret not stored in plaintext" "0" "$(cat "$work/d"/plinth.db* | grep -c -F -a "$secret")"
check "listing hides the secret" "False" \
  "$("$plinth" iam list-access-keys --data-dir "$work/d" --user-name bob | json '"SecretAccessKey" in d["AccessKeyMetadata"][0]')"
"$plinth" iam create-user --data-dir "$work/d" --user-name bob >/dev/null 2>"$work/err"
check "duplicate user exits non-zero" "1" "$?"
check "duplicate user message" "1" "$(grep -c -i "exists" "$work/err")"
"$plinth" iam put-user-policy --data-dir "$work/d" --user-name bob --policy-name p \
  --policy-document '{"Statement":[{"Effect":"Maybe"}]}' 2>"$work/err"
check "malformed policy exits non-zero" "1" "$?"

# Jobs: jobs_fixture (tests/jobs) enqueues 2 jobs and dead-letters 2 more in a fresh data dir.
fixture=${PLINTH_JOBS_FIXTURE:-$(dirname "$plinth")/tests/jobs/jobs_fixture}
dead_ids=$("$fixture" "$work/j" 2 2)
dead_one=$(echo "$dead_ids" | head -1)
check "jobs list" "4" "$("$plinth" jobs list --data-dir "$work/j" --json | json 'len(d["jobs"])')"
check "jobs list --status queued" "2" "$("$plinth" jobs list --data-dir "$work/j" --status queued --json | json 'len(d["jobs"])')"
check "jobs list --limit" "1" "$("$plinth" jobs list --data-dir "$work/j" --limit 1 --json | json 'len(d["jobs"])')"
check "jobs list table" "2" "$("$plinth" jobs list --data-dir "$work/j" --status dead | grep -c "parse failed")"
check "jobs dlq list" "$(echo "$dead_ids" | sort | tr '\n' ' ')" \
  "$("$plinth" jobs dlq list --data-dir "$work/j" --queue documents --json | json '" ".join(sorted(j["id"] for j in d["jobs"]))+" "')"
check "jobs dlq redrive one" "1" "$("$plinth" jobs dlq redrive --data-dir "$work/j" --job "$dead_one" --json | json 'd["redriven"]')"
check "redriven job is queued" "queued 0" \
  "$("$plinth" jobs list --data-dir "$work/j" --json | json '" ".join(j["status"] + " " + str(j["receive_count"]) for j in d["jobs"] if j["id"] == "'"$dead_one"'")')"
"$plinth" jobs dlq redrive --data-dir "$work/j" --job "$dead_one" 2>"$work/err"
check "redriving a job that is not dead exits non-zero" "1" "$?"
check "redriving a job that is not dead says why" "1" "$(grep -c "not dead" "$work/err")"
check "jobs dlq redrive all" "redrove 1 job of queue documents" "$("$plinth" jobs dlq redrive --data-dir "$work/j")"
check "dead-letter queue is empty" "0" "$("$plinth" jobs dlq list --data-dir "$work/j" --json | json 'len(d["jobs"])')"
"$plinth" jobs list --data-dir "$work/j" --status finished 2>"$work/err"
check "unknown status exits non-zero" "1" "$?"
check "unknown status message" "1" "$(grep -c "unknown job status" "$work/err")"
"$plinth" jobs list --data-dir "$work/nowhere" 2>"$work/err"
check "missing data dir exits non-zero" "1" "$?"
check "missing data dir message" "1" "$(grep -c "no store at" "$work/err")"

# Engine commands against the reference outputs.
check "tokenize" "[9707,1879]" "$("$plinth" tokenize --model "$data/models/qwen2-32-tied-q8_0.gguf" --text 'Hello world' --json | json 'json.dumps(d["ids"],separators=(",",":"))')"
check "generate greedy" "[54566,54566,54566,54566]" "$("$plinth" generate --model "$data/models/qwen2-32-tied-q8_0.gguf" --prompt 'Hello world' --max-tokens 4 --greedy --exact --json | json 'json.dumps(d["ids"],separators=(",",":"))')"
check "generate logprobs" "3" "$("$plinth" generate --model "$data/models/qwen2-32-tied-q8_0.gguf" --prompt 'Hi' --max-tokens 2 --greedy --logprobs 3 --json | json 'len(d["steps"][0]["top"])')"
check "embed" "64" "$("$plinth" embed --model "$data/models/bert-bge-64-mean-f16.gguf" --text 'hello' --normalize --json | json 'len(d["embedding"])')"
printf '{"type":"object","properties":{"ok":{"type":"boolean"}},"required":["ok"]}' >"$work/schema.json"
check "generate with schema is valid" "True" "$("$plinth" generate --model "$data/models/qwen2-32-tied-q8_0.gguf" --prompt 'x' --max-tokens 16 --seed 3 --schema "$work/schema.json" --json | json 'd["valid"]')"

# Bad input: a clear message and a non-zero exit.
printf 'GGUF-but-not-really' >"$work/bad.gguf"
"$plinth" tokenize --model "$work/bad.gguf" --text x 2>"$work/err"
check "corrupt model exits non-zero" "1" "$?"
check "corrupt model message" "1" "$(grep -c -i "gguf" "$work/err")"
printf 'listen = \n' >"$work/bad.toml"
"$plinth" serve --config "$work/bad.toml" --data-dir "$work/s" 2>"$work/err"
check "bad config exits 2" "2" "$?"
check "bad config names the line" "1" "$(grep -c "line" "$work/err")"
printf '[[models]]\nid = "m"\nfile = "missing.gguf"\n' >"$work/missing.toml"
"$plinth" serve --config "$work/missing.toml" --data-dir "$work/s" 2>"$work/err"
check "missing model file exits 2" "2" "$?"
check "missing model file message" "1" "$(grep -c "file not found" "$work/err")"

# plinth extract: a document to schema-valid JSON without a server (the bundled models, with the
# 1024-wide embedding model the build writes there).
export PLINTH_MODELS_DIR=$here/../../models
make_pdf() {  # make_pdf FILE [TEXT]: one page with TEXT, or with only a drawn rectangle
  python3 - "$@" <<'PY'
import sys
text = sys.argv[2] if len(sys.argv) > 2 else None
content = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET" if text else "0 0 1 rg 100 100 200 200 re f"
objs = ["<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
pdf, offsets = "%PDF-1.4\n", []
for i, body in enumerate(objs):
    offsets.append(len(pdf)); pdf += f"{i + 1} 0 obj\n{body}\nendobj\n"
xref = len(pdf)
pdf += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n" + "".join(f"{o:010d} 00000 n \n" for o in offsets)
pdf += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
open(sys.argv[1], "w", encoding="latin-1").write(pdf)
PY
}
echo '{"type":"object","properties":{"total":{"type":"number"}},"required":["total"],"additionalProperties":false}' >"$work/total.json"
make_pdf "$work/invoice.pdf" "Invoice total 12.50 EUR"
check "extract a PDF prints schema-valid JSON" "True" \
  "$("$plinth" extract "$work/invoice.pdf" --schema "$work/total.json" --max-tokens 24 | json 'list(d) == ["total"] and isinstance(d["total"], (int, float))')"
make_pdf "$work/scan.pdf"
"$plinth" extract "$work/scan.pdf" --schema "$work/total.json" 2>"$work/err" >/dev/null
check "extract an image-only PDF exits non-zero" "1" "$?"
check "extract an image-only PDF says why" "1" "$(grep -c "no text layer" "$work/err")"
echo '{"type":"object","properties":{"a":{"type":"strin"}}}' >"$work/broken.json"
"$plinth" extract "$work/invoice.pdf" --schema "$work/broken.json" 2>"$work/err" >/dev/null
check "extract with a schema that does not compile exits non-zero" "1" "$?"
check "extract names the schema problem" "1" "$(grep -c "does not compile" "$work/err")"
"$plinth" extract "$work/nowhere.txt" --schema "$work/total.json" 2>"$work/err" >/dev/null
check "extract a missing file exits non-zero" "1" "$?"

# plinth bench documents, small: every part runs and prints its block with the target beside it.
"$plinth" bench documents --documents 2 --pages 2 --vectors 2000 --queue-jobs 50 >"$work/bench" 2>"$work/err"
check "bench documents exits 0" "0" "$?"
check "bench documents prints the three blocks" "== documents pipeline ==|== queue ==|== vectors ==" \
  "$(grep -E '^== ' "$work/bench" | paste -sd '|')"
check "bench documents: every document succeeded" "1" "$(grep -c '^succeeded 2 of 2 ' "$work/bench")"
check "bench documents: targets beside the figures" "3" "$(grep -c '(target [^)]*: \(met\|MISSED\))' "$work/bench")"
unset PLINTH_MODELS_DIR

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
