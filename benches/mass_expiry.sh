#!/usr/bin/env bash
# Mass expiry under load (README, "Benchmarks"): 1,000,000 tracked tokens expire at once
# (a live `PUT /api/v1/settings` of `idle_seconds` to 10) while a steady client keeps one
# known token busy. Prints the steady client's latency and throughput in a baseline window
# and in the window of the sweep, how long until only the steady token is tracked, until
# `idlegate_revocations_total` counts every expired token and until every audit line is
# written, and the CPU each idlegate thread spent in the sweep window.
#
#   bash benches/mass_expiry.sh        # TOKENS=1000000 BASE=10 SWEEP=10 by default
#   NO_BUILD=1 BIN=/path/to/idlegate bash benches/mass_expiry.sh   # another build, as is
#   TRACE=1 ...                        # also print the counters every 0.1 s after the PUT
#   IDLE=1800 ...                      # the control: the same PUT, nothing expires
#   QUIET=1 ...                        # no client in the sweep window: with the proxy idle
#                                      # the sweep runs at full speed (how soon the table is
#                                      # empty is the figure)
#   NEIGHBOUR=1 ...                    # at the PUT, another process busy a quarter of a core
#                                      # for 3 s (the sweep's share and length); with
#                                      # IDLE=1800, the control for CPU share alone
#   PIN=1 ...                          # the proxy thread alone on CPU 0; idlegate's other
#                                      # threads, nginx and the steady wrk on CPU 1
#   WAITS=1 ...                        # strace -c of the proxy thread's futex and epoll_wait
#                                      # calls: 5 s of the baseline, the first 3 s of the sweep
#   PERF=/tmp/sweep.data ...           # perf record -g of idlegate over the first 8 s of the
#                                      # sweep (then: perf report -i /tmp/sweep.data --sort comm,sym)
#
# It also prints the proxy thread's scheduler figures in each window (/proc/PID/task/TID):
# time on CPU, time runnable but waiting for a CPU, voluntary switches (it blocked: nothing
# to do, or a lock) and involuntary ones (preempted); and for each of idlegate's threads, its
# CPU and switches in the sweep window.
#
# The steady client and the gateway share the machine's cores with the loader's leftovers,
# nginx and anything else running: compare the two windows of one run, repeat, and run the
# control beside it (its two windows differ by some ±25 % on a 2-core machine).
#
# Everything listens on 127.0.0.1 only; each load run is bounded.
set -euo pipefail
cd "$(dirname "$0")/.."
TOKENS=${TOKENS:-1000000}
BASE=${BASE:-10}
SWEEP=${SWEEP:-10}
# The PUT's idle_seconds: IDLE=1800 (the configured 30 min) changes nothing, a control run that
# shows how far the two windows differ without a sweep.
IDLE=${IDLE:-10}
# Audit lines are what a million revocations write: RUST_LOG=info keeps them.
LOG=${RUST_LOG:-info}
BIN=${BIN:-target/release/idlegate}
# Ports: PORT (upstream), PORT+1 (proxy), PORT+2 (admin).
PORT=${PORT:-27100}
UP=$PORT PX=$((PORT + 1)) AD=$((PORT + 2))

need() { command -v "$1" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; }; }
need nginx nginx
need wrk wrk
[ -z "${WAITS:-}" ] || need strace strace
[ -z "${PERF:-}" ] || need perf linux-perf
. benches/static_upstream.sh

[ -n "${NO_BUILD:-}" ] || cargo build --release --bin idlegate
work=$(mktemp -d)
trap 'kill $(cat "$work"/*.pid 2>/dev/null) 2>/dev/null || true; stop_static_upstream "$work/up"; rm -rf "$work"' EXIT

start_static_upstream "$work/up" "$UP" '{"ok":true}'

# The config has a folder of its own: idlegate watches its folder for changes, and a million
# audit lines written beside it would wake the watcher thousands of times a second.
mkdir "$work/conf"
cat > "$work/conf/idlegate.toml" <<TOML
[proxy]
listen = "127.0.0.1:$PX"
workers = 1
upstream = "http://127.0.0.1:$UP"
[admin]
listen = "127.0.0.1:$AD"
[timeout]
idle = "30m"
TOML
export IDLEGATE_HASH_KEY=bench IDLEGATE_ADMIN_TOKEN=bench-admin
RUST_LOG=$LOG "$BIN" run --config "$work/conf/idlegate.toml" --log-format json 2>"$work/idlegate.log" &
echo $! > "$work/idlegate.pid"
pid=$(cat "$work/idlegate.pid")
for _ in $(seq 1 100); do curl -fsS http://127.0.0.1:$AD/readyz >/dev/null 2>&1 && break; sleep 0.1; done
proxy_tid=$(grep -l '^idlegate-proxy' /proc/"$pid"/task/*/comm | head -1 | cut -d/ -f5)
if [ -n "${PIN:-}" ]; then
  for t in /proc/"$pid"/task/*; do
    cpu=1; [ "$(basename "$t")" = "$proxy_tid" ] && cpu=0
    taskset -p -c "$cpu" "$(basename "$t")" >/dev/null
  done
  for p in $(cat "$work"/up/nginx.pid) $(pgrep -P "$(cat "$work"/up/nginx.pid)"); do taskset -a -p -c 1 "$p" >/dev/null; done
fi

metric() { # sum of a metric family's samples
  curl -s http://127.0.0.1:$AD/metrics | awk -v m="$1" '$1 == m || index($1, m "{") == 1 {s += $2} END {printf "%d\n", s}'
}

# Load: one unique token per request until $TOKENS are tracked.
cat > "$work/load.lua" <<'LUA'
local i = 0
request = function()
  i = i + 1
  local tok = string.format("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJsb2FkIn0%010d.c2lnbmF0dXJl", i)
  return wrk.format("GET", "/api/v2/users/me", {["Authorization"] = "Bearer " .. tok})
end
LUA
wrk -t1 -c32 -d600s -s "$work/load.lua" http://127.0.0.1:$PX/ >/dev/null &
echo $! > "$work/load.pid"
start=$(date +%s.%N)
while [ "$(metric idlegate_tokens_tracked)" -lt "$TOKENS" ]; do sleep 0.2; done
kill "$(cat "$work/load.pid")"; rm "$work/load.pid"
tracked=$(metric idlegate_tokens_tracked)
printf 'loaded %d tokens in %.1f s\n' "$tracked" "$(echo "$(date +%s.%N) - $start" | bc)"
# Every loaded token is more than 10 s idle by the time of the PUT.
sleep 3

cat > "$work/steady.lua" <<'LUA'
wrk.headers["Authorization"] = "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzdGVhZHkifQ.c2lnbmF0dXJl"
wrk.path = "/api/v2/users/me"
LUA
steady() { ${PIN:+taskset -c 1} wrk -t1 -c16 -d"$1"s --latency -s "$work/steady.lua" http://127.0.0.1:$PX/; }
summary() { # name wrk-output
  awk -v n="$1" '/^    Latency/ {max = $4} $1 == "99%" {p99 = $2} /Requests\/sec/ {rps = $2}
    END {printf "%-8s req/s %9s   p99 %-8s max %s\n", n, rps, p99, max}' <<<"$2"
}
sched() { # the proxy thread: ns on CPU, ns waiting for a CPU, voluntary and involuntary switches
  echo "$(cut -d' ' -f1-2 /proc/"$pid"/task/"$proxy_tid"/schedstat) $(awk '/ctxt_switches/ {printf "%s ", $2}' /proc/"$pid"/task/"$proxy_tid"/status)"
}
waits() { # seconds file: the proxy thread's futex and epoll_wait calls
  [ -z "${WAITS:-}" ] || timeout -s INT "$1" strace -c -e trace=futex,epoll_wait -p "$proxy_tid" 2>"$2" || true
}
threads() { # per thread name: CPU ticks, voluntary and involuntary switches
  for t in /proc/"$pid"/task/*; do
    printf '%s %s\n' "$(awk '{sub(/^[0-9]+ \(/, ""); split($0, a, ") "); split(a[2], f, " "); print a[1], f[12] + f[13]}' "$t/stat")" \
      "$(awk '/ctxt_switches/ {printf "%s ", $2}' "$t/status")"
  done | awk '{n[$1] += $2; v[$1] += $3; i[$1] += $4} END {for (k in n) print k, n[k], v[k], i[k]}' | sort
}

# The observer (metrics scraped and the log read every 0.1 s) runs through both windows, so
# that its own load weighs on the baseline as much as on the sweep. It starts counting when
# the shell writes the PUT's time and the expected figures into $work/put.
python3 - "$work/idlegate.log" "$work/put" "$AD" > "$work/poll.out" <<'PY' &
import os, sys, time, urllib.request
trace = os.environ.get("TRACE")
log, put, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
seen, start = {}, None
audit, pos = 0, 0
def metric(text, name):
    return sum(float(l.split()[-1]) for l in text.splitlines()
               if l.startswith(name + " ") or l.startswith(name + "{"))
while len(seen) < 3 and (start is None or time.time() - start < 60):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
    with open(log, "rb") as f:
        f.seek(pos)
        chunk = f.read()
    cut = chunk.rfind(b"\n") + 1
    audit += chunk[:cut].count(b'"event":"revocation"')
    pos += cut
    if start is None and os.path.exists(put):
        fields = open(put).read().split()
        if len(fields) == 4:
            start, expected, revs0, audit0 = float(fields[0]), *map(int, fields[1:])
    if start is not None:
        now = time.time() - start
        if trace:
            print(f"{now:.2f} tracked {metric(text, 'idlegate_tokens_tracked'):.0f} counted "
                  f"{metric(text, 'idlegate_revocations_total') - revs0:.0f} audited {audit - audit0}",
                  file=sys.stderr)
        if metric(text, "idlegate_tokens_tracked") <= 1:
            seen.setdefault("tracked", now)
        if metric(text, "idlegate_revocations_total") - revs0 >= expected:
            seen.setdefault("counted", now)
        if audit - audit0 >= expected:
            seen.setdefault("audited", now)
    time.sleep(0.1)
for k in ("tracked", "counted", "audited"):
    print(f"{k} {seen.get(k, float('nan')):.2f}")
PY
echo $! > "$work/poll.pid"
sleep 1
sched0=$(sched)
(sleep 2; waits 5 "$work/waits.base") &
waits_base=$!
base=$(steady "$BASE")
sched1=$(sched)
threads > "$work/cpu.before"
audit_before=$(grep -c '"event":"revocation"' "$work/idlegate.log" || true)
if [ -n "${QUIET:-}" ]; then sleep "$SWEEP" & else steady "$SWEEP" > "$work/sweep.out" & fi
echo $! > "$work/steady.pid"
sleep 1
expected=$(( $(metric idlegate_tokens_tracked) - 1 ))
revs_before=$(metric idlegate_revocations_total)
put_at=$(date +%s.%N)
curl -fsS -o /dev/null -X PUT -H "Authorization: Bearer bench-admin" -H 'Content-Type: application/json' \
  -d "{\"idle_seconds\": $IDLE}" http://127.0.0.1:$AD/api/v1/settings
echo "$put_at $expected $revs_before $audit_before" > "$work/put"
waits 3 "$work/waits.sweep" &
waits_sweep=$!
[ -z "${PERF:-}" ] || (perf record -F 2000 -e cpu-clock -g -p "$pid" -o "$PERF" -- sleep 8 >/dev/null 2>&1 &)
[ -z "${NEIGHBOUR:-}" ] || timeout 3 python3 -c '
import time
while True:  # 0.3 ms busy, 0.9 ms asleep: a quarter of a core
    t = time.perf_counter()
    while time.perf_counter() - t < 0.0003: pass
    time.sleep(0.0009)' || true
wait "$(cat "$work/steady.pid")"; rm "$work/steady.pid"
threads > "$work/cpu.after"
sched2=$(sched)
wait "$(cat "$work/poll.pid")" || true; rm "$work/poll.pid"

echo "steady client wrk -t1 -c16 (one known token), 1 proxy worker, $(nproc) cores, $expected tokens expired"
summary baseline "$base"
if [ -n "${QUIET:-}" ]; then echo "sweep    (no client: QUIET=1)"; else summary sweep "$(cat "$work/sweep.out")"; fi
awk '
  $1 == "tracked" {printf "only the steady token tracked %s s after the PUT\n", $2}
  $1 == "counted" {printf "idlegate_revocations_total counts every one %s s after the PUT\n", $2}
  $1 == "audited" {printf "every audit line written %s s after the PUT\n", $2}' "$work/poll.out"
echo "audit lines: $(( $(grep -c '"event":"revocation"' "$work/idlegate.log" || true) - audit_before )) of $expected"
echo "per thread over the sweep window (${SWEEP} s): CPU seconds, switches voluntary / involuntary"
join "$work/cpu.before" "$work/cpu.after" | awk -v hz="$(getconf CLK_TCK)" '{d = ($5 - $2) / hz; v = $6 - $3; i = $7 - $4
  if (d > 0 || v > 0) printf "  %-22s %5.2f %8d / %7d\n", $1, d, v, i}'
echo "the proxy thread (on CPU, waiting for a CPU, switches voluntary / involuntary):"
echo "$sched0 $sched1 $sched2" | awk '{
  printf "  baseline %5.2f s %5.2f s %7d / %7d\n", ($5-$1)/1e9, ($6-$2)/1e9, $7-$3, $8-$4
  printf "  sweep    %5.2f s %5.2f s %7d / %7d\n", ($9-$5)/1e9, ($10-$6)/1e9, $11-$7, $12-$8}'
if [ -n "${WAITS:-}" ]; then
  wait "$waits_base" "$waits_sweep"
  for w in base sweep; do
    printf 'proxy thread, %s (strace -c): ' "$w"
    awk '$NF == "futex" || $NF == "epoll_wait" {printf "%s %s calls (%s us each)  ", $NF, $4, $3}' "$work/waits.$w"
    echo
  done
fi
