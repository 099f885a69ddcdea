#!/usr/bin/env bash
# Acceptance: the AWS CLI (Debian's awscli) against a real plinth serve, for IAM and STS.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
plinth=${PLINTH_BINARY:-$here/../../build/plinth}
work=$(mktemp -d)
trap 'kill $server_pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

export PLINTH_ROOT_ACCESS_KEY_ID=AKIAPLINTHCLIROOT001
export PLINTH_ROOT_SECRET_ACCESS_KEY=plinth-cli-root-secret-0123456789abcdef
"$plinth" serve --listen 127.0.0.1:0 --data-dir "$work/data" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 300); do
  [[ -s "$work/data/listen-address" ]] && curl -fs "http://$(cat "$work/data/listen-address")/health" >/dev/null && break
  sleep 0.1
done
endpoint="http://$(cat "$work/data/listen-address")"

export AWS_ACCESS_KEY_ID=$PLINTH_ROOT_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$PLINTH_ROOT_SECRET_ACCESS_KEY
export AWS_DEFAULT_REGION=us-east-1 AWS_PAGER="" AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_SESSION_TOKEN AWS_PROFILE
aws() { command aws --endpoint-url "$endpoint" "$@"; }
passed=0 failed=0
check() {  # check NAME EXPECTED ACTUAL
  if [[ "$2" == "$3" ]]; then passed=$((passed + 1)); echo "ok - $1";
  else failed=$((failed + 1)); echo "not ok - $1: expected '$2', got '$3'"; fi
}

check "root identity" "arn:aws:iam::000000000000:root" \
  "$(aws sts get-caller-identity --query Arn --output text)"
aws iam create-user --user-name alice >/dev/null
check "get-user" "alice" "$(aws iam get-user --user-name alice --query User.UserName --output text)"
read -r key secret < <(aws iam create-access-key --user-name alice \
  --query '[AccessKey.AccessKeyId, AccessKey.SecretAccessKey]' --output text)
check "list-access-keys" "$key" \
  "$(aws iam list-access-keys --user-name alice --query 'AccessKeyMetadata[0].AccessKeyId' --output text)"
check "duplicate user is EntityAlreadyExists" "EntityAlreadyExists" \
  "$(aws iam create-user --user-name alice 2>&1 | grep -o EntityAlreadyExists | head -1)"
aws iam put-user-policy --user-name alice --policy-name invoke --policy-document \
  '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"bedrock:InvokeModel","Resource":"*"}]}'
check "get-user-policy" "invoke" \
  "$(aws iam get-user-policy --user-name alice --policy-name invoke --query PolicyName --output text 2>/dev/null || echo invoke-missing)"
check "malformed policy" "MalformedPolicyDocument" \
  "$(aws iam put-user-policy --user-name alice --policy-name bad --policy-document '{not json' 2>&1 | grep -o MalformedPolicyDocument | head -1)"
aws iam create-role --role-name reader --assume-role-policy-document \
  '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:user/alice"},"Action":"sts:AssumeRole"}]}' >/dev/null
check "list-roles" "reader" "$(aws iam list-roles --query 'Roles[0].RoleName' --output text)"

# As alice: identity, then AssumeRole through the trust policy.
check "alice identity" "arn:aws:iam::000000000000:user/alice" \
  "$(AWS_ACCESS_KEY_ID=$key AWS_SECRET_ACCESS_KEY=$secret aws sts get-caller-identity --query Arn --output text)"
read -r tkey tsecret ttoken < <(AWS_ACCESS_KEY_ID=$key AWS_SECRET_ACCESS_KEY=$secret \
  aws sts assume-role --role-arn arn:aws:iam::000000000000:role/reader --role-session-name cli \
  --query '[Credentials.AccessKeyId, Credentials.SecretAccessKey, Credentials.SessionToken]' --output text)
check "assumed identity" "arn:aws:sts::000000000000:assumed-role/reader/cli" \
  "$(AWS_ACCESS_KEY_ID=$tkey AWS_SECRET_ACCESS_KEY=$tsecret AWS_SESSION_TOKEN=$ttoken aws sts get-caller-identity --query Arn --output text)"
check "root may not assume a role trusting only alice" "AccessDenied" \
  "$(aws sts assume-role --role-arn arn:aws:iam::000000000000:role/reader --role-session-name rootsession 2>&1 | grep -o AccessDenied | head -1)"
check "wrong secret" "SignatureDoesNotMatch" \
  "$(AWS_ACCESS_KEY_ID=$key AWS_SECRET_ACCESS_KEY=wrong aws sts get-caller-identity 2>&1 | grep -o SignatureDoesNotMatch | head -1)"
check "unknown key" "InvalidClientTokenId" \
  "$(AWS_ACCESS_KEY_ID=AKIANOSUCHKEY0000000 aws sts get-caller-identity 2>&1 | grep -o InvalidClientTokenId | head -1)"
aws iam delete-user-policy --user-name alice --policy-name invoke
aws iam delete-access-key --user-name alice --access-key-id "$key"
aws iam delete-role --role-name reader
aws iam delete-user --user-name alice
check "deleted user" "NoSuchEntity" "$(aws iam get-user --user-name alice 2>&1 | grep -o NoSuchEntity | head -1)"

# The README's first example: a converse call that names no max tokens, on a 512-token-context model
# whose configured default is 512; then a Meta Llama InvokeModel body without max_gen_len.
readme_stop=$(aws bedrock-runtime converse --model-id anthropic.claude-3-haiku-20240307-v1:0 \
  --messages '[{"role":"user","content":[{"text":"Hello"}]}]' --query stopReason --output text 2>&1 || true)
case "$readme_stop" in end_turn|max_tokens) readme_stop=answered ;; esac
check "README converse without max tokens answers" "answered" "$readme_stop"
llama_out=$(aws bedrock-runtime invoke-model --model-id meta.llama3-8b-instruct-v1:0 \
  --body '{"prompt":"Hello"}' "$work/llama.json" 2>&1 >/dev/null || true)
llama_stop=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["stop_reason"])' "$work/llama.json" 2>/dev/null || echo "$llama_out")
case "$llama_stop" in stop|length) llama_stop=answered ;; esac
check "Llama invoke without max_gen_len answers" "answered" "$llama_stop"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
