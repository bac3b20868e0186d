#!/usr/bin/env bash
# Runs every flyte-auth test, installing what the tests need first (see setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "==> cargo build (the binaries the end-to-end tests run)"
cargo build --workspace --bins --locked
echo "==> cargo test (in a throwaway D-Bus session with its own gnome-keyring)"
# Four at a time on two cores: most end-to-end tests wait on processes, sockets and the
# clock (a 60 s outage, a 30 s kill loop), not on the CPU.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
bash scripts/with-keyring.sh cargo test --workspace --all-targets --locked --no-fail-fast \
  -- --test-threads 4 2>&1 | tee "$log" \
  || status=$?
# One closing line for the whole run, summed over every test binary.
awk '/^test result:/ { p += $4; f += $6 } END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
