#!/usr/bin/env bash
# Demo: starts the bundled test IdP (node oidc-provider with Flyte's discovery routes), then
# uses flyte-auth with an API key as a CI job would: a token, the same token again from the
# agent's cache, and the agent's status. Everything lives in a temp dir and is cleaned up.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "==> cargo build"
cargo build --workspace --bins --locked -q
bin=$PWD/target/debug

work=$(mktemp -d)
idp_pid=""
cleanup() {
  "$bin/flyte-auth" agent stop >/dev/null 2>&1 || true
  [ -n "$idp_pid" ] && kill "$idp_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
export FLYTE_AUTH_SOCK=$work/run/agent.sock XDG_STATE_HOME=$work/state HOME=$work/home
mkdir -p "$HOME"

node tests/idp/server.mjs --port 0 >"$work/idp.json" 2>"$work/idp.log" </dev/null &
idp_pid=$!
for _ in $(seq 100); do [ -s "$work/idp.json" ] && break; sleep 0.1; done
port=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$work/idp.json")
[ -n "$port" ] || { echo "the test IdP did not start:"; cat "$work/idp.log"; exit 1; }
echo "==> test IdP on http://127.0.0.1:$port"

# A Union API key is base64("endpoint:client_id:client_secret:org"). --endpoint points it at
# the local IdP, --insecure makes that plain http.
export FLYTE_API_KEY
FLYTE_API_KEY=$(printf '%s' "127.0.0.1:ci-client:ci-secret:None" | base64 -w0)
args=(--endpoint "127.0.0.1:$port" --insecure)

echo
echo "\$ flyte-auth token ${args[*]}     # starts the agent, which gets the token"
tok=$("$bin/flyte-auth" token "${args[@]}")
echo "${tok:0:48}...  (${#tok} chars)"
echo
echo "\$ flyte-auth token ${args[*]}     # again: served from the agent's cache"
start=$(date +%s%N)
tok2=$("$bin/flyte-auth" token "${args[@]}")
end=$(date +%s%N)
[ "$tok" = "$tok2" ] && echo "same token, $(((end - start) / 1000)) µs for the whole process"
echo
echo "\$ flyte-auth status"
"$bin/flyte-auth" status
