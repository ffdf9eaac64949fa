#!/usr/bin/env bash
# Runs costd's whole test suite on a fresh machine: installs the AWS API
# emulators, one venv each (again when tests/emulators/<name>.txt changes),
# then runs every test target, benches in test mode included.
set -euo pipefail
cd "$(dirname "$0")/.."

# Headless Chromium for the dashboard test (Debian's package; needs root, as on CI).
if [ ! -x /usr/bin/chromium ]; then
  echo "== installing chromium (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi

base="${COSTD_EMULATORS_VENV:-$PWD/target/emulators}"
for req in tests/emulators/*.txt; do
  name=$(basename "$req" .txt)
  venv="$base/$name"
  want=$(sha256sum "$req" | cut -d' ' -f1)
  if [ "$(cat "$venv/.requirements.sha256" 2>/dev/null)" != "$want" ]; then
    echo "== installing $name into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
    echo "$want" > "$venv/.requirements.sha256"
  fi
done
export COSTD_EMULATORS_VENV="$base"

cargo test --all-targets --locked "$@"
