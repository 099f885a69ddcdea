#!/usr/bin/env bash
# Upstream gateway overhead (issue 14): a fixed-response OpenAI upstream (nginx), Portkey's
# gateway and Plinth (provider kind openai -> the same nginx), each measured with wrk at
# concurrency 1 and 16: req/s, p50, p99, RSS, printed side by side with the ratios.
#
# Needs: nginx (Debian nginx-light), wrk (Debian wrk), node, and Portkey installed outside the
# repository:   mkdir -p /tmp/portkey && cd /tmp/portkey && npm install @portkey-ai/gateway
# Environment: PLINTH_BINARY (default build/plinth), PORTKEY_DIR (default /tmp/portkey),
# DURATION (seconds per wrk run, default 10).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
plinth="${PLINTH_BINARY:-$here/build/plinth}"
portkey_dir="${PORTKEY_DIR:-/tmp/portkey}"
duration="${DURATION:-10}"
for tool in nginx wrk node; do
  command -v "$tool" >/dev/null || { echo "upstream_bench: $tool is not installed" >&2; exit 2; }
done
portkey_js="$portkey_dir/node_modules/@portkey-ai/gateway/build/start-server.js"
[[ -f "$portkey_js" ]] || { echo "upstream_bench: no Portkey in $portkey_dir (see the header)" >&2; exit 2; }

work="$(mktemp -d /tmp/plinth-upstream-bench.XXXXXX)"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() {  # URL: until it answers at all
  for _ in $(seq 1 200); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done
  echo "upstream_bench: $1 never answered" >&2; exit 1
}

# 1. nginx answering every chat completion with one fixed body.
nginx_port=$(free_port)
answer='{"id":"chatcmpl-bench","object":"chat.completion","created":1,"model":"bench","choices":[{"index":0,"message":{"role":"assistant","content":"The total is 42."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":6,"total_tokens":18}}'
mkdir -p "$work/nginx/logs"
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $work/nginx/body;
  server {
    listen 127.0.0.1:$nginx_port;
    location / { default_type application/json; return 200 '$answer'; }
  }
}
CONF
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" &
pids+=($!)
wait_http "http://127.0.0.1:$nginx_port/"

# 2. Portkey, provider openai with the nginx as its custom host.
portkey_port=$(free_port)
(cd "$portkey_dir" && NODE_ENV=production exec node "$portkey_js" --port="$portkey_port" --headless \
   >"$work/portkey.log" 2>&1) &
portkey_pid=$!
pids+=($portkey_pid)
wait_http "http://127.0.0.1:$portkey_port/"

# 3. Plinth: no local model, one upstream model on the nginx.
cat >"$work/plinth.toml" <<CONF
listen = "127.0.0.1:0"
log_level = "warn"
[[providers]]
id = "nginx"
kind = "openai"
base_url = "http://127.0.0.1:$nginx_port/v1"
api_key_env = "BENCH_UPSTREAM_KEY"
[[models]]
id = "bench"
provider = "nginx"
upstream_model = "gpt-bench"
tier = "small"
CONF
BENCH_UPSTREAM_KEY=sk-bench PLINTH_ROOT_ACCESS_KEY_ID=AKIAPLINTHTESTROOT01 \
  PLINTH_ROOT_SECRET_ACCESS_KEY=plinth-test-root-secret-key-0123456789ab \
  "$plinth" serve --config "$work/plinth.toml" --data-dir "$work/plinth-data" >"$work/plinth.log" 2>&1 &
plinth_pid=$!
pids+=($plinth_pid)
for _ in $(seq 1 200); do [[ -s "$work/plinth-data/listen-address" ]] && break; sleep 0.1; done
plinth_address="$(cat "$work/plinth-data/listen-address")"
wait_http "http://$plinth_address/health"
token="$(cd "$here/tests/acceptance" && node -e "
  import('./harness.mjs').then((h) => h.mintBearerToken('http://$plinth_address', 3600))
    .then((t) => console.log(t))")"

body='{"model":"bench","messages":[{"role":"user","content":"What is the total?"}],"max_tokens":16}'
# wrk script: POST with the body and the headers named in $work/headers-<name>.
make_script() {  # name, header lines ("name: value")...
  local name=$1; shift
  {
    echo "wrk.method = 'POST'"
    echo "wrk.body = [[$body]]"
    echo "wrk.headers['Content-Type'] = 'application/json'"
    for header in "$@"; do echo "wrk.headers['${header%%: *}'] = [[${header#*: }]]"; done
  } >"$work/$name.lua"
}
make_script nginx
make_script portkey "x-portkey-provider: openai" "x-portkey-custom-host: http://127.0.0.1:$nginx_port/v1" \
  "Authorization: Bearer sk-bench"
make_script plinth "Authorization: Bearer $token"

# Sanity: each answers a chat completion.
curl -sf -X POST "http://127.0.0.1:$portkey_port/v1/chat/completions" -H 'content-type: application/json' \
  -H 'x-portkey-provider: openai' -H "x-portkey-custom-host: http://127.0.0.1:$nginx_port/v1" \
  -H 'authorization: Bearer sk-bench' -d "$body" | grep -q '"The total is 42."' \
  || { echo "upstream_bench: Portkey did not relay the answer" >&2; cat "$work/portkey.log" >&2; exit 1; }
curl -sf -X POST "http://$plinth_address/v1/chat/completions" -H 'content-type: application/json' \
  -H "authorization: Bearer $token" -d "$body" | grep -q 'The total is 42.' \
  || { echo "upstream_bench: Plinth did not relay the answer" >&2; curl -s -X POST "http://$plinth_address/v1/chat/completions" -H "content-type: application/json" -H "authorization: Bearer $token" -d "$body" >&2; exit 1; }

ms() {  # wrk latency ("812.00us", "1.20ms", "2.01s") -> milliseconds
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0;
                         else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'
}
declare -A rps p50 p99
run() {  # name url concurrency
  local out
  out="$(wrk -t "$(( $3 < 4 ? 1 : 4 ))" -c "$3" -d "${duration}s" --latency -s "$work/$1.lua" "$2")"
  if grep -q "Non-2xx" <<<"$out"; then echo "upstream_bench: $1 answered errors:" >&2; echo "$out" >&2; exit 1; fi
  rps[$1,$3]="$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")"
  p50[$1,$3]="$(ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")"
  p99[$1,$3]="$(ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")"
}
rss_mb() { awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

targets=(nginx "http://127.0.0.1:$nginx_port/v1/chat/completions"
         portkey "http://127.0.0.1:$portkey_port/v1/chat/completions"
         plinth "http://$plinth_address/v1/chat/completions")
for c in 1 16; do
  for ((i = 0; i < ${#targets[@]}; i += 2)); do
    wrk -t1 -c"$c" -d2s -s "$work/${targets[i]}.lua" "${targets[i+1]}" >/dev/null  # warm-up
    run "${targets[i]}" "${targets[i+1]}" "$c"
  done
done
nginx_rss="$(ps --ppid "$(cat "$work/nginx/nginx.pid")" -o rss= | awk '{ s += $1 } END { printf "%.1f", s / 1024 }')"
portkey_rss="$(rss_mb "$(pgrep -P "$portkey_pid" node || echo "$portkey_pid")")"
plinth_rss="$(rss_mb "$plinth_pid")"

echo
echo "Upstream overhead: wrk ${duration}s per run, POST /v1/chat/completions, fixed nginx answer"
printf '%-8s %12s %10s %10s %12s %10s %10s %10s\n' gateway "c=1 req/s" "p50 ms" "p99 ms" \
  "c=16 req/s" "p50 ms" "p99 ms" "RSS MB"
for name in nginx portkey plinth; do
  rss=$nginx_rss; [[ $name == portkey ]] && rss=$portkey_rss; [[ $name == plinth ]] && rss=$plinth_rss
  printf '%-8s %12s %10s %10s %12s %10s %10s %10s\n' "$name" "${rps[$name,1]}" "${p50[$name,1]}" \
    "${p99[$name,1]}" "${rps[$name,16]}" "${p50[$name,16]}" "${p99[$name,16]}" "$rss"
done
awk -v pr="${rps[plinth,16]}" -v kr="${rps[portkey,16]}" -v pp="${p50[plinth,1]}" \
    -v np="${p50[nginx,1]}" -v rss="$plinth_rss" 'BEGIN {
  ratio = pr / kr; added = (pp - np) * 1000;
  printf "\nPlinth/Portkey req/s at c=16: %.1fx (target >= 10x) %s\n", ratio, (ratio >= 10 ? "MET" : "MISSED");
  printf "Plinth added p50 over direct nginx at c=1: %.0f us (target < 100 us) %s\n", added, (added < 100 ? "MET" : "MISSED");
  printf "Plinth RSS with no local model: %.1f MB (target < 50 MB) %s\n", rss, (rss < 50 ? "MET" : "MISSED");
}'
