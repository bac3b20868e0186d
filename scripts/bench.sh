#!/usr/bin/env bash
# Benchmarks (release build); they print figures and assert nothing about speed.
#  1. token latency from a warm agent, with ssh-agent as a baseline when it is installed
#     (pass a run count to change it, default 300);
#  2. load: 200 concurrent clients x 1,000 token requests against the real node IdP with a
#     refresh in the middle; fails if any request fails or any token is not valid at the IdP
#     (override with LOAD_CLIENTS, LOAD_REQUESTS, LOAD_TTL_SECS).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --bins --locked -q
target/release/flyte-auth-bench "$@"
exec target/release/flyte-auth-load "${LOAD_CLIENTS:-200}" "${LOAD_REQUESTS:-1000}" "${LOAD_TTL_SECS:-10}"
