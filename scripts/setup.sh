#!/usr/bin/env bash
# Installs what the demo and the tests need on a fresh Debian machine (idempotent):
# Node.js + npm for the bundled test IdP (node oidc-provider) and its `npm ci`, util-linux
# (setpriv), Chromium (a real browser for PKCE), flytekit in a venv (Flyte's Python SDK
# running flyte-auth as its ExternalCommand), systemd's tools and python3 (unit and plist checks), dbus + gnome-keyring +
# secret-tool (a real Secret Service for the keyring tests). Needs a Rust toolchain already
# (rustup; edition 2024).
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
# A real Secret Service for the keyring tests (scripts/with-keyring.sh): dbus-run-session,
# gnome-keyring, and secret-tool to look at what the agent stored.
{ command -v dbus-run-session && command -v dbus-send; } >/dev/null 2>&1 || missing+=(dbus)
command -v gnome-keyring-daemon >/dev/null 2>&1 || missing+=(gnome-keyring)
command -v secret-tool >/dev/null 2>&1 || missing+=(libsecret-tools)
# A venv for flytekit (the SDK tests), and a real browser for the PKCE test that lets the
# agent open one (headless Chromium).
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v script >/dev/null 2>&1 || missing+=(bsdutils)
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

# flytekit from PyPI, only when the pinned requirements changed since the last install.
if ! cmp -s tests/python/requirements.txt tests/python/.venv/.flyte-auth-reqs 2>/dev/null; then
  echo "==> python venv (flytekit)"
  python3 -m venv tests/python/.venv
  tests/python/.venv/bin/pip install -q --disable-pip-version-check -r tests/python/requirements.txt
  cp tests/python/requirements.txt tests/python/.venv/.flyte-auth-reqs
fi
