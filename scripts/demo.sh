#!/usr/bin/env bash
# Demo: starts the bundled test IdP (node oidc-provider with Flyte's discovery routes) and a
# throwaway keyring, then shows flyte-auth as a CI job and as a developer use it:
#   1. an API key: a token, the same token again from the agent's cache;
#   2. a device-flow login (approved through the test IdP, as a person would in a browser),
#      shared by every later `flyte-auth token`;
#   3. the agent killed with SIGKILL: the next `token` starts a new agent, which restores the
#      login from the keyring without asking anyone;
#   4. `flyte-auth status`.
# Everything lives in temp dirs and is cleaned up.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${FLYTE_AUTH_KEYRING_SESSION:-}" ]; then
  bash scripts/setup.sh
  echo "==> cargo build"
  cargo build --workspace --bins --locked -q
  exec bash scripts/with-keyring.sh bash "$0" "$@"
fi
bin=$PWD/target/debug
fa() { "$bin/flyte-auth" "$@"; }

work=$(mktemp -d)
idp_pid=""
cleanup() {
  fa agent stop >/dev/null 2>&1 || true
  [ -n "$idp_pid" ] && kill "$idp_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
export FLYTE_AUTH_SOCK=$work/run/agent.sock XDG_STATE_HOME=$work/state FLYTE_AUTH_BROWSER=none
mkdir -p "$work/project"

node tests/idp/server.mjs --port 0 --device-interval 1 >"$work/idp.json" 2>"$work/idp.log" </dev/null &
idp_pid=$!
for _ in $(seq 100); do [ -s "$work/idp.json" ] && break; sleep 0.1; done
port=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$work/idp.json")
[ -n "$port" ] || { echo "the test IdP did not start:"; cat "$work/idp.log"; exit 1; }
idp=http://127.0.0.1:$port
echo "==> test IdP (node oidc-provider + Flyte discovery) on $idp"

echo
echo "## 1. CI: an API key (base64 of endpoint:client_id:client_secret:org)"
key=$(printf '%s' "127.0.0.1:ci-client:ci-secret:None" | base64 -w0)
args=(--endpoint "127.0.0.1:$port" --insecure)
echo "\$ FLYTE_API_KEY=… flyte-auth token ${args[*]}    # starts the agent, which gets the token"
tok=$(FLYTE_API_KEY=$key fa token "${args[@]}")
echo "${tok:0:40}…  (${#tok} chars)"
start=$(date +%s%N)
tok2=$(FLYTE_API_KEY=$key fa token "${args[@]}")
end=$(date +%s%N)
[ "$tok" = "$tok2" ] && echo "again: the same token from the agent's cache, $(((end - start) / 1000)) µs for the whole process"

echo
echo "## 2. A developer: device-flow login, shared by every terminal"
cd "$work/project"
fa create config --endpoint "http://127.0.0.1:$port" --auth-type headless -o .flyte/config.yaml
cat .flyte/config.yaml
echo "\$ flyte-auth login --device"
fa login --device 2>"$work/login.err" &
login_pid=$!
code=""
for _ in $(seq 100); do
  code=$(sed -n 's/.*confirm the code \([A-Z0-9-]*\).*/\1/p' "$work/login.err" | head -1)
  [ -n "$code" ] && break
  sleep 0.1
done
cat "$work/login.err"
echo "(the test IdP approves code $code, as a person would in the browser)"
curl -fsS -X POST -H 'content-type: application/json' -d "{\"user_code\":\"$code\"}" \
  "$idp/test/device/approve" >/dev/null
wait "$login_pid"
cat "$work/login.err" | tail -1
utok=$(fa token)
echo "\$ flyte-auth token    # in any other terminal or SDK: no new login"
echo "${utok:0:40}…"

echo
echo "## 3. kill -9 the agent; the next request restores the login from the keyring"
pid=$(fa status --json | sed -n 's/.*"pid": \([0-9]*\).*/\1/p' | head -1)
kill -9 "$pid"
echo "killed agent $pid"
utok2=$(fa token)
[ "$utok" = "$utok2" ] && echo "same token from a new agent: restored from the keyring, no login, no IdP call"

echo
echo "## 4. \$ flyte-auth status"
fa status
