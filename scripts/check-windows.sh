#!/usr/bin/env bash
# Cross-checks that both binaries compile for Windows (named pipes, `cfg(windows)` code):
# `cargo check` and `cargo clippy -D warnings` for x86_64-pc-windows-gnu. This compiles only;
# nothing here runs on Windows. Needs the target's Rust std (rustup) and, for the C that
# ring's build script compiles for the target, MinGW's gcc (installed here if missing).
set -euo pipefail
cd "$(dirname "$0")/.."

target=x86_64-pc-windows-gnu

if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
  echo "the Rust standard library for $target is not installed;" >&2
  echo "install it with \`rustup target add $target\`, then re-run" >&2
  exit 1
fi

if ! command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  echo "==> installing gcc-mingw-w64-x86-64 (C compiler for $target)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq gcc-mingw-w64-x86-64 >/dev/null
fi

packages=(-p flyte-auth-proto -p flyte-auth -p flyte-auth-agent)
echo "==> cargo check --target $target"
cargo check --target "$target" "${packages[@]}" --all-targets --locked
echo "==> cargo clippy --target $target"
cargo clippy --target "$target" "${packages[@]}" --all-targets --locked -- -D warnings
echo "==> $target: compiles (untested: no Windows machine ran it)"
