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
bash scripts/with-keyring.sh cargo test --workspace --locked
