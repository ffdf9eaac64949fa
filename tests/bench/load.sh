#!/usr/bin/env bash
# Load on loopback: wrk against the dashboard and /api/v1/projection of a
# release build running the embedded default config (dry-run) plus a viewer
# token; prints wrk's figures and the daemon's RSS before and after.
# Usage: bash tests/bench/load.sh [seconds=20] [connections=32]
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-20}; conns=${2:-32}
command -v wrk >/dev/null || { export DEBIAN_FRONTEND=noninteractive; apt-get update -qq; apt-get install -y -qq wrk >/dev/null; }
cargo build --release --locked -q
work=$(mktemp -d); trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
token=load-test-viewer-token-0123
sed -e "s|path = \"costd.db\"|path = \"$work/costd.db\"|" -e "s|127.0.0.1:8080|127.0.0.1:$port|" config/costd.toml > "$work/costd.toml"
cat >> "$work/costd.toml" <<EOT
[[web.tokens]]
name = "load"
role = "viewer"
token = "$token"
EOT
t0=$(date +%s%N)
RUST_LOG=warn target/release/costd serve --config "$work/costd.toml" 2>"$work/log" &
pid=$!
until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do sleep 0.005; done
echo "cold start to /readyz OK: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
sleep 1
rss() { awk '/VmRSS/{print $2" kB"}' /proc/$pid/status; }
echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(lscpu | awk -F: '/Model name/{gsub(/^ +/,"",$2);print $2}')"
echo "idle RSS: $(rss)"
echo "== GET / (dashboard), ${secs}s, ${conns} connections"
wrk -t2 -c"$conns" -d"${secs}s" --latency "http://127.0.0.1:$port/"
echo "== GET /api/v1/projection, ${secs}s, ${conns} connections"
wrk -t2 -c"$conns" -d"${secs}s" --latency -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/projection"
echo "RSS after load: $(rss)"
