#!/usr/bin/env bash
# Benchmark: token latency from a warm agent (release build), with ssh-agent as a baseline
# when it is installed. Prints figures; pass a run count to change it (default 300).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --bins --locked -q
exec target/release/flyte-auth-bench "$@"
