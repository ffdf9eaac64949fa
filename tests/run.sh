#!/usr/bin/env bash
# Runs costd's whole test suite on a fresh machine: installs headless Chromium
# (the dashboard test) and the AWS API emulators, then runs every test target,
# benches in test mode included. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/setup.sh
apt_install chromium chromium
apt_install openssl openssl   # the TLS test makes its certificates
apt_install systemd-analyze systemd   # the systemd unit is checked with `systemd-analyze verify`
install_postgres   # the store and replica tests start throw-away clusters
install_emulators
cargo test --all-targets --locked "$@"
