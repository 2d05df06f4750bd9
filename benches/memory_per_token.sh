#!/usr/bin/env bash
# Memory per tracked token end to end (README, "Benchmarks"): the release gateway as an operator
# runs it (1 worker, `tokens.track = "all"`, a snapshot file at the default interval), fed
# distinct tokens by wrk until each count is tracked; at each count the resident memory
# (VmRSS) is read while two more snapshots are written at that size, and compared with the
# RSS right after start.
#
#   bash benches/memory_per_token.sh                  # snapshot on, default interval
#   SNAPSHOT=off bash benches/memory_per_token.sh     # no snapshot file, for comparison
#   TRIAL=on bash benches/memory_per_token.sh         # a trial list set (8-byte word per token)
#   COUNTS="100000 1000000" BINARY=/tmp/idlegate NO_BUILD=1 bash benches/memory_per_token.sh
#   _RJEM_MALLOC_CONF=dirty_decay_ms:0 bash benches/memory_per_token.sh   # allocator purging at once
#
# Prints, per count: tracked tokens, RSS after the second snapshot at that size, the highest
# RSS seen meanwhile (a snapshot being written included), and bytes per token for both
# ((RSS - start RSS) / tracked). Everything listens on 127.0.0.1; needs nginx and wrk.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNTS=${COUNTS:-"100000 250000 500000 750000 1000000 1100000 1500000 2000000"}
SNAPSHOT=${SNAPSHOT:-on}
TRIAL=${TRIAL:-off}
BINARY=${BINARY:-target/release/idlegate}
CONNECTIONS=${CONNECTIONS:-64}

need() { command -v "$1" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; }; }
need nginx nginx
need wrk wrk
. benches/static_upstream.sh
[ -n "${NO_BUILD:-}" ] || cargo build --release --bin idlegate

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
UP=$(free_port); PROXY=$(free_port); ADMIN=$(free_port)
work=$(mktemp -d)
cleanup() {
  [ -z "${loader:-}" ] || kill "$loader" 2>/dev/null || true
  # The gateway writes a last snapshot on its way out: wait for it before removing its folder.
  if [ -f "$work/gw.pid" ]; then kill "$(cat "$work/gw.pid")" 2>/dev/null || true; wait 2>/dev/null || true; fi
  stop_static_upstream "$work/up"
  rm -rf "$work"
}
trap cleanup EXIT

start_static_upstream "$work/up" "$UP" 'ok'

state=""
[ "$SNAPSHOT" = "off" ] || state="[state]
snapshot = \"$work/state/idlegate.state\""
cat > "$work/idlegate.toml" <<TOML
[proxy]
listen = "127.0.0.1:$PROXY"
workers = 1
upstream = "http://127.0.0.1:$UP"
[admin]
listen = "127.0.0.1:$ADMIN"
[tokens]
track = "all"
$state
$([ "$TRIAL" = "off" ] || printf '[exclusions]\ntrial_custom = ["GET /api/v2/analytics/poll"]\n')
TOML
IDLEGATE_HASH_KEY=bench RUST_LOG=warn "$BINARY" run --config "$work/idlegate.toml" >"$work/gw.log" 2>&1 &
echo $! > "$work/gw.pid"
GW=$(cat "$work/gw.pid")
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$ADMIN/readyz" >/dev/null 2>&1 && break; sleep 0.1; done

# Every request a new token: "bench-<run>-<n>", run = one wrk run.
cat > "$work/tokens.lua" <<'LUA'
local run, sent = "0", 0
function init(args)
  run = args[1]
end
function request()
  sent = sent + 1
  return wrk.format("GET", "/api/v2/users/me", {["Authorization"] = "Bearer bench-" .. run .. "-" .. sent})
end
LUA

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$GW/status"; }
tracked() { curl -fsS "http://127.0.0.1:$ADMIN/metrics" | awk '$1 == "idlegate_tokens_tracked" {print $2}'; }
snap_mtime() { stat -c %y "$work/state/idlegate.state" 2>/dev/null || echo none; }

PEAK=0
sample() { local r; r=$(rss_kb); [ "$r" -gt "$PEAK" ] && PEAK=$r; return 0; }
# Waits, sampling RSS, until the snapshot file has been replaced twice (6 s without snapshots).
settle() {
  PEAK=0
  if [ "$SNAPSHOT" = "off" ]; then
    for _ in $(seq 1 30); do sample; sleep 0.2; done
    return
  fi
  local seen changes=0
  seen=$(snap_mtime)
  while [ "$changes" -lt 2 ]; do
    sample; sleep 0.1
    local now; now=$(snap_mtime)
    if [ "$now" != "$seen" ]; then changes=$((changes + 1)); seen=$now; fi
  done
  sample
}

sleep 1
BASE=$(rss_kb)
echo "idlegate $("$BINARY" --version 2>/dev/null | head -1), 1 worker, track = all, snapshot $SNAPSHOT (interval: default), $(nproc) cores"
echo "start: RSS $((BASE / 1024)) MB"
printf '%10s %12s %10s %12s %10s\n' tracked "RSS MB" "B/token" "peak RSS MB" "B/token"
run=0
for target in $COUNTS; do
  # wrk runs until the gateway counts `target` tokens (polled every 0.1 s), then is stopped.
  run=$((run + 1))
  wrk -t1 -c"$CONNECTIONS" -d600s -s "$work/tokens.lua" "http://127.0.0.1:$PROXY/" -- "$run" >/dev/null &
  loader=$!
  while :; do
    have=$(tracked); have=${have%.*}
    [ "$have" -ge "$target" ] && break
    kill -0 "$loader" 2>/dev/null || { echo "wrk ended before $target tokens were tracked"; exit 1; }
    sleep 0.1
  done
  kill "$loader" 2>/dev/null || true
  wait "$loader" 2>/dev/null || true
  settle
  have=$(tracked); have=${have%.*}
  rss=$(rss_kb)
  printf '%10d %12.1f %10.1f %12.1f %10.1f\n' "$have" "$(echo "$rss / 1024" | bc -l)" \
    "$(echo "($rss - $BASE) * 1024 / $have" | bc -l)" "$(echo "$PEAK / 1024" | bc -l)" \
    "$(echo "($PEAK - $BASE) * 1024 / $have" | bc -l)"
done
grep -E 'WARN|ERROR' "$work/gw.log" | head -5 || true
