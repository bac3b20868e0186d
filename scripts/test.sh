#!/usr/bin/env bash
# Runs every flyte-auth test, installing what the tests need first (idempotent).
#
# Needs a Rust toolchain (rustup, edition 2024) and root or sudo for apt on a fresh Debian.
# Installs: Node.js + npm (the real oidc-provider test IdP), util-linux (setpriv, to connect
# as another user), then `npm ci` for the IdP. Checks formatting and clippy, builds the
# binaries the end-to-end tests run, and runs all tests.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi

missing=()
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v setpriv >/dev/null 2>&1 || missing+=(util-linux)
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo not found: install a Rust toolchain with rustup (https://rustup.rs), then re-run" >&2
  exit 1
fi

echo "==> npm ci (test IdP)"
if [ ! -f tests/idp/node_modules/.package-lock.json ] \
  || ! cmp -s tests/idp/package-lock.json tests/idp/node_modules/.flyte-auth-lock; then
  (cd tests/idp && npm ci --no-audit --no-fund --loglevel=error && cp package-lock.json node_modules/.flyte-auth-lock)
fi

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "==> cargo build (binaries for the end-to-end tests)"
cargo build --workspace --bins --locked
echo "==> cargo test"
cargo test --workspace --locked
