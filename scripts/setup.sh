#!/usr/bin/env bash
# Installs what the demo and the tests need on a fresh Debian machine (idempotent):
# Node.js + npm for the bundled test IdP (node oidc-provider) and its `npm ci`, util-linux
# (setpriv), systemd's tools and python3 (unit and plist checks). Needs a Rust toolchain
# already (rustup; edition 2024).
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi

missing=()
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v setpriv >/dev/null 2>&1 || missing+=(util-linux)
# Unit checks (systemd-analyze) and socket activation (systemd-socket-activate); the package
# installs fine without systemd running. python3 parses the launchd plist (plistlib).
{ command -v systemd-analyze && command -v systemd-socket-activate; } >/dev/null 2>&1 \
  || missing+=(systemd)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo not found: install a Rust toolchain with rustup, then re-run" >&2
  exit 1
fi

# npm ci only when the lock file changed since the last install.
if ! cmp -s tests/idp/package-lock.json tests/idp/node_modules/.flyte-auth-lock 2>/dev/null; then
  echo "==> npm ci (test IdP)"
  (cd tests/idp && npm ci --no-audit --no-fund --loglevel=error \
    && cp package-lock.json node_modules/.flyte-auth-lock)
fi
