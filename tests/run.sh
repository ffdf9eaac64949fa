#!/usr/bin/env bash
# Runs costd's whole test suite on a fresh machine: installs the AWS API
# emulators into a venv (once; again when tests/emulators-requirements.txt
# changes), then runs every test target, benches in test mode included.
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${COSTD_EMULATORS_VENV:-$PWD/target/emulators-venv}"
req=tests/emulators-requirements.txt
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ ! -x "$venv/bin/moto_server" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "== installing AWS emulators into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
  echo "$want" > "$stamp"
fi
export COSTD_EMULATORS_VENV="$venv"

cargo test --all-targets --locked "$@"
