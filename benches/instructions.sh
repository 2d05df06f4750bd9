#!/usr/bin/env bash
# Instructions per proxied request (README, "Benchmarks"): the release gateway under
# valgrind's callgrind, one proxy worker, all six default groups on, `tokens.track = "all"`,
# loaded by wrk -c8 with TOKENS real ES256 JWTs (benches/make_jwts.py) as benches/tokens.lua
# sends them. Only the connections' work is counted (--toggle-collect='*serve1*'),
# over a DURATION run after a 5 s warm-up that tracks every token. Unlike time, the count
# repeats to within a few tenths of a percent, so it shows changes of a few percent that one
# run of proxy_cpu.sh cannot.
#
#   bash benches/instructions.sh                  # this checkout's release build
#   BIN=/tmp/old/idlegate bash benches/instructions.sh
#
# Knobs: BIN, TOKENS (2000), DURATION (15s), PORT_BASE (19620; three ports from it).
set -euo pipefail
cd "$(dirname "$0")/.."

TOKENS=${TOKENS:-2000}
DURATION=${DURATION:-15s}
PORT_BASE=${PORT_BASE:-19620}
TARGET=${CARGO_TARGET_DIR:-target}
BIN=${BIN:-$TARGET/release/idlegate}
UP_PORT=$PORT_BASE PROXY_PORT=$((PORT_BASE + 1)) ADMIN_PORT=$((PORT_BASE + 2))

for tool in valgrind wrk; do
  command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install $tool)" >&2; exit 1; }
done
# Apart: built beside an example, the gateway would get the dev-dependencies' features
# (tokio's `test-util`: 380 instructions a request more) and not be the shipped build.
cargo build --release --example bench_upstream
cargo build --release --bin idlegate
work=$(mktemp -d)
pids=()
cleanup() {
  trap - EXIT INT TERM
  [ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

python3 benches/make_jwts.py "$work" "$TOKENS"
cat >"$work/idlegate.toml" <<TOML
[proxy]
listen = "127.0.0.1:$PROXY_PORT"
upstream = "http://127.0.0.1:$UP_PORT"
workers = 1
[admin]
listen = "127.0.0.1:$ADMIN_PORT"
[timeout]
idle = "30m"
[tokens]
track = "all"
[exclusions]
enabled_defaults = ["client-diagnostics", "token-checks", "notification-keepalive", "presence-polling", "stats-polling", "interaction-media-sync"]
TOML

"$TARGET/release/examples/bench_upstream" "127.0.0.1:$UP_PORT" >"$work/upstream.log" 2>&1 &
pids+=($!)
IDLEGATE_HASH_KEY=bench RUST_LOG=warn valgrind --tool=callgrind --toggle-collect='*serve1*' \
  --callgrind-out-file="$work/cg.out" "$BIN" run --config "$work/idlegate.toml" >"$work/idlegate.log" 2>&1 &
gateway=$!
pids+=("$gateway")
for _ in $(seq 1 200); do
  curl -fsS -o /dev/null "http://127.0.0.1:$ADMIN_PORT/readyz" 2>/dev/null && break
  sleep 0.5
done
wrk -t1 -c8 -d5s -s benches/tokens.lua "http://127.0.0.1:$PROXY_PORT/" -- "$work/tokens.txt" >/dev/null
callgrind_control -z "$gateway" >/dev/null
out=$(wrk -t1 -c8 -d"$DURATION" -s benches/tokens.lua "http://127.0.0.1:$PROXY_PORT/" -- "$work/tokens.txt")
callgrind_control -d "$gateway" >/dev/null
requests=$(awk '/requests in/ {print $1}' <<<"$out")
if [ -z "$requests" ] || [ "$requests" -eq 0 ]; then
  echo "wrk made no request through the gateway (see its log):" >&2
  cat "$work/idlegate.log" >&2
  exit 1
fi
# The dump made just now is the first numbered file.
for _ in $(seq 1 50); do [ -s "$work/cg.out.1" ] && break; sleep 0.1; done
instructions=$(awk '/^summary:/ {print $2}' "$work/cg.out.1")
echo "$BIN: $requests requests, $instructions instructions, $((instructions / requests)) per request"
