#!/usr/bin/env bash
# Runs a command inside a throwaway D-Bus session with its own unlocked gnome-keyring (a real
# Secret Service), so keyring tests touch neither the user's keyring nor the real home:
#
#   bash scripts/with-keyring.sh cargo test -p flyte-auth-agent --test keyring
#
# Needs dbus (dbus-run-session), gnome-keyring and libsecret-tools (secret-tool): see
# setup.sh. scripts/test.sh runs `cargo test` this way.
set -euo pipefail

if [ -z "${FLYTE_AUTH_KEYRING_SESSION:-}" ]; then
  for tool in dbus-run-session dbus-send gnome-keyring-daemon secret-tool; do
    command -v "$tool" >/dev/null 2>&1 \
      || { echo "with-keyring: $tool not found: run scripts/setup.sh" >&2; exit 1; }
  done
  # cargo and rustup find the toolchain through HOME unless told: pin them before HOME moves.
  export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  mkdir -m 700 "$scratch/run"
  # Set before dbus-run-session: the bus daemon, and gnome-keyring when the bus starts it on
  # demand, inherit this environment; otherwise the keyring lands in the real home.
  status=0
  HOME="$scratch" XDG_RUNTIME_DIR="$scratch/run" XDG_DATA_HOME="$scratch/.local/share" \
    XDG_CONFIG_HOME="$scratch/.config" XDG_CACHE_HOME="$scratch/.cache" \
    FLYTE_AUTH_KEYRING_SESSION=1 dbus-run-session -- bash "$0" "$@" || status=$?
  exit "$status"
fi

# Inside the session: start the keyring unlocked with a known password (this also creates
# the default "login" collection that new items go to), then wait until it owns its name.
echo -n test | gnome-keyring-daemon --unlock --components=secrets >/dev/null
has_owner() {
  dbus-send --session --print-reply --dest=org.freedesktop.DBus / \
    org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null \
    | grep -q 'boolean true'
}
for _ in $(seq 100); do
  has_owner && break
  sleep 0.1
done
has_owner || { echo "with-keyring: gnome-keyring did not start" >&2; exit 1; }
exec "$@"
