#!/usr/bin/env bash
# Sourced by tests/run.sh and tests/proof.sh: installs what the tests and the
# proofs need on a fresh machine (as root, as on CI) and exports
# COSTD_EMULATORS_VENV. Each install is skipped when already done.

apt_install() { # apt_install <command> <package>
  command -v "$1" >/dev/null && return
  echo "== installing $2 (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "$2" >/dev/null
}

# The AWS API emulators, one venv each (again when tests/emulators/<name>.txt changes).
install_emulators() {
  local base="${COSTD_EMULATORS_VENV:-$PWD/target/emulators}" req name venv want
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
}

# PostgreSQL's server binaries (Debian's layout): the store tests and the
# replica tests start throw-away clusters from them.
install_postgres() {
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && return
  echo "== installing postgresql (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
}
