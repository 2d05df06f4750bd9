#!/usr/bin/env bash
# Side-by-side proxy benchmark (README, "Benchmarks"): idlegate, idlegate with [identity], nginx
# and haproxy, one worker each, in front of the same one-thread hyper upstream
# (examples/bench_upstream.rs), loaded in alternating rounds by the same wrk run. The figure
# that stays comparable on a busy machine is the proxy's CPU per request: utime + stime of the
# proxy's process(es) from /proc over the wrk run, divided by the requests wrk made.
#
#   bash benches/proxy_cpu.sh
#   DURATION=10s ROUNDS=2 OUT=/tmp/bench STRACE=1 bash benches/proxy_cpu.sh
#
# Knobs: DURATION (10s), ROUNDS (3), TOKENS (100000), CONNECTIONS (32), OUT (a folder for
# rounds.tsv, summary.tsv and table.md), STRACE=1 (then each proxy's syscalls per request under
# strace -c -f over one wrk run of STRACE_SECONDS, 5), PORT_BASE (19510; twelve ports from it),
# IDLEGATE_BIN (another idlegate binary to measure, e.g. an earlier commit's build),
# EVIDENCE_OFF=1 (also measures idlegate-noev: the plain config with `[evidence] enabled =
# false`, for the live-evidence bar: on within 5% of off), BASE_BIN (also measures
# idlegate-base: that binary with the plain config, side by side with this build in every
# round, e.g. the branch point's release build), FLOOR=1 (also measures floor:
# examples/bench_floor.rs, a relay that only moves the bytes, four syscalls per request and no
# HTTP work: the kernel's share of every proxy).
# Everything listens on 127.0.0.1; every process started here is stopped on exit and on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin:/sbin"
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
TOKENS=${TOKENS:-100000}
CONNECTIONS=${CONNECTIONS:-32}
STRACE=${STRACE:-0}
STRACE_SECONDS=${STRACE_SECONDS:-5}
OUT=${OUT:-}
PORT_BASE=${PORT_BASE:-19510}
EVIDENCE_OFF=${EVIDENCE_OFF:-0}
BASE_BIN=${BASE_BIN:-}
BASE_PORT=$((PORT_BASE + 6))
BASE_ADMIN=$((PORT_BASE + 10))
FLOOR=${FLOOR:-0}
FLOOR_PORT=$((PORT_BASE + 11))
NOEV_PORT=$((PORT_BASE + 5))
NOEV_ADMIN=$((PORT_BASE + 7))
UP_PORT=$PORT_BASE
NGINX_PORT=$((PORT_BASE + 1))
HAPROXY_PORT=$((PORT_BASE + 2))
IG_PORT=$((PORT_BASE + 3))
IGID_PORT=$((PORT_BASE + 4))
IG_ADMIN=$((PORT_BASE + 8))
IGID_ADMIN=$((PORT_BASE + 9))
TARGET=${CARGO_TARGET_DIR:-target}
# Another idlegate build to measure in the same conditions (an earlier commit, say).
IDLEGATE_BIN=${IDLEGATE_BIN:-$TARGET/release/idlegate}
HZ=$(getconf CLK_TCK)

install_tools() { # quietly, only what is missing
  local missing=() tool
  for tool in nginx haproxy wrk; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
  if [ "$STRACE" = 1 ] && ! command -v strace >/dev/null 2>&1; then missing+=(strace); fi
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq "${missing[@]}" >/dev/null
  fi
  python3 -c 'import cryptography' 2>/dev/null || python3 -m pip install -q cryptography
}

work=$(mktemp -d)
cleanup() { # stop what was started here (TERM, then KILL after 5 s), then remove the files
  trap - EXIT INT TERM
  local pids=() f
  for f in "$work"/*.pid; do [ -e "$f" ] && pids+=("$(cat "$f")"); done
  if [ ${#pids[@]} -gt 0 ]; then
    kill "${pids[@]}" 2>/dev/null || true
    for _ in $(seq 1 50); do
      local alive=0 pid
      for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
      [ "$alive" = 0 ] && break
      sleep 0.1
    done
    kill -9 "${pids[@]}" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start() { # name command...: run in the background, remember its pid
  local name=$1; shift
  "$@" >"$work/$name.log" 2>&1 &
  echo $! >"$work/$name.pid"
}

wait_http() { # url: until it answers 2xx (at most 30 s)
  for _ in $(seq 1 300); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "no answer from $1" >&2
  return 1
}

write_configs() {
  mkdir -p "$work/nginx"
  cat >"$work/nginx/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid.run;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  upstream backend { server 127.0.0.1:$UP_PORT; keepalive 64; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
    }
  }
}
NGINX
  cat >"$work/haproxy.cfg" <<HAPROXY
global
  nbthread 1
  maxconn 4096
defaults
  mode http
  option forwardfor
  http-reuse always
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 60s
frontend fe
  bind 127.0.0.1:$HAPROXY_PORT
  default_backend be
backend be
  server up 127.0.0.1:$UP_PORT
HAPROXY
  local groups='"client-diagnostics", "token-checks", "notification-keepalive", "presence-polling", "stats-polling", "interaction-media-sync"'
  local variant port admin
  for variant in plain identity; do
    if [ "$variant" = plain ]; then port=$IG_PORT admin=$IG_ADMIN; else port=$IGID_PORT admin=$IGID_ADMIN; fi
    cat >"$work/idlegate-$variant.toml" <<TOML
[proxy]
listen = "127.0.0.1:$port"
upstream = "http://127.0.0.1:$UP_PORT"
workers = 1
[admin]
listen = "127.0.0.1:$admin"
[timeout]
idle = "30m"
[tokens]
track = "all"
[exclusions]
enabled_defaults = [$groups]
TOML
  done
  printf '[identity]\njwks = "jwks.json"\nalgorithms = ["ES256"]\n' >>"$work/idlegate-identity.toml"
  sed -e "s/127.0.0.1:$IG_PORT/127.0.0.1:$NOEV_PORT/" -e "s/127.0.0.1:$IG_ADMIN/127.0.0.1:$NOEV_ADMIN/" \
    "$work/idlegate-plain.toml" >"$work/idlegate-noev.toml"
  printf '[evidence]\nenabled = false\n' >>"$work/idlegate-noev.toml"
  sed -e "s/127.0.0.1:$IG_PORT/127.0.0.1:$BASE_PORT/" -e "s/127.0.0.1:$IG_ADMIN/127.0.0.1:$BASE_ADMIN/" \
    "$work/idlegate-plain.toml" >"$work/idlegate-base.toml"
}

cpu_ticks() { # "utime stime" (fields 14 and 15 of /proc/PID/stat, all threads) of the pids
  local u=0 s=0 pid
  for pid in "$@"; do
    [ -r "/proc/$pid/stat" ] || { echo "process $pid is gone (see its log)" >&2; exit 1; }
    u=$((u + $(awk '{print $14}' "/proc/$pid/stat")))
    s=$((s + $(awk '{print $15}' "/proc/$pid/stat")))
  done
  echo "$u $s"
}

per_request() { # "u0 s0" "u1 s1" requests: "total user system" µs per request
  awk -v a="$1" -v b="$2" -v n="$3" -v hz="$HZ" 'BEGIN {split(a, x, " "); split(b, y, " ");
    u = (y[1] - x[1]) * 1e6 / hz / n; s = (y[2] - x[2]) * 1e6 / hz / n; printf "%.2f %.2f %.2f", u + s, u, s}'
}

metric() { # admin_port name: sum of the metric's series
  curl -fsS "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 == m || index($1, m "{") == 1 {s += $2} END {print s + 0}'
}

to_ms() { # a wrk latency (850.00us, 1.23ms, 1.02s) in ms
  awk -v v="$1" 'BEGIN { if (v ~ /us$/) print v / 1000; else if (v ~ /ms$/) print v + 0;
    else if (v ~ /m$/) print v * 60000; else print v * 1000 }'
}

proxy_pids() { # name: the process(es) whose CPU counts for that proxy
  case $1 in
  nginx) pgrep -P "$(cat "$work/nginx.pid")" ;; # the worker, not the idle master
  *) cat "$work/$1.pid" ;;
  esac
}

port_of() {
  case $1 in nginx) echo "$NGINX_PORT" ;; haproxy) echo "$HAPROXY_PORT" ;; idlegate) echo "$IG_PORT" ;; idlegate-identity) echo "$IGID_PORT" ;; idlegate-noev) echo "$NOEV_PORT" ;; idlegate-base) echo "$BASE_PORT" ;; floor) echo "$FLOOR_PORT" ;; esac
}

warm() { # name [admin_port]: pools up; for idlegate, load until every token is tracked
  local url tracked=0 wrk_pid
  url="http://127.0.0.1:$(port_of "$1")/"
  if [ $# -eq 1 ]; then
    wrk -t1 -c"$CONNECTIONS" -d3s -s benches/tokens.lua "$url" -- "$work/tokens.txt" >/dev/null
    return
  fi
  # wrk sends the tokens in order from the first, so the count reaching TOKENS means each was
  # seen. wrk stops and reports on SIGINT; 120 s bounds a proxy that never gets there.
  wrk -t1 -c"$CONNECTIONS" -d120s -s benches/tokens.lua "$url" -- "$work/tokens.txt" >/dev/null &
  wrk_pid=$!
  while kill -0 "$wrk_pid" 2>/dev/null; do
    tracked=$(metric "$2" idlegate_tokens_tracked)
    [ "$tracked" -ge "$TOKENS" ] && break
    sleep 0.5
  done
  kill -INT "$wrk_pid" 2>/dev/null || true
  wait "$wrk_pid" || true
  echo "$1: $tracked tokens tracked after warm-up"
  if [ "$tracked" -lt "$TOKENS" ]; then echo "$1 tracks $tracked < $TOKENS tokens" >&2; exit 1; fi
}

measure() { # round name: one wrk run, one row of rounds.tsv
  local round=$1 name=$2 pids up before up_before out after up_after
  pids=$(proxy_pids "$name")
  up=$(cat "$work/upstream.pid")
  # shellcheck disable=SC2086 # several nginx workers are several words
  before=$(cpu_ticks $pids)
  up_before=$(cpu_ticks "$up")
  out=$(wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -s benches/tokens.lua "http://127.0.0.1:$(port_of "$name")/" -- "$work/tokens.txt")
  # shellcheck disable=SC2086
  after=$(cpu_ticks $pids)
  up_after=$(cpu_ticks "$up")
  local requests rps p50 p99 bad cpu user sys up_cpu
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
  p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
  bad=$(awk '/Non-2xx/ {n += $NF} /Socket errors/ {gsub(/,/, ""); n += $4 + $6 + $8 + $10} END {print n + 0}' <<<"$out")
  read -r cpu user sys <<<"$(per_request "$before" "$after" "$requests")"
  up_cpu=$(per_request "$up_before" "$up_after" "$requests" | cut -d' ' -f1)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$name" "$requests" "$rps" "$cpu" "$up_cpu" \
    "$p50" "$p99" "$bad" "$user" "$sys" >>"$work/rounds.tsv"
  printf 'round %s  %-18s %9s req/s  p50 %6.3f ms  p99 %7.3f ms  proxy %6s us/req (user %s, sys %s)  upstream %6s us/req  errors %s\n' \
    "$round" "$name" "$rps" "$p50" "$p99" "$cpu" "$user" "$sys" "$up_cpu" "$bad"
}

strace_proxy() { # name: the proxy's syscalls over one wrk run of STRACE_SECONDS, into strace.tsv
  local name=$1 pids pid args=() out requests
  pids=$(proxy_pids "$name")
  for pid in $pids; do args+=(-p "$pid"); done
  strace -c -f "${args[@]}" -o "$work/strace-$name.txt" 2>/dev/null &
  echo $! >"$work/strace.pid"
  sleep 1 # attached before the load starts: every request of the run is seen
  out=$(wrk -t1 -c"$CONNECTIONS" -d"${STRACE_SECONDS}s" -s benches/tokens.lua "http://127.0.0.1:$(port_of "$name")/" -- "$work/tokens.txt")
  kill -INT "$(cat "$work/strace.pid")"
  wait "$(cat "$work/strace.pid")" || true
  rm -f "$work/strace.pid"
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  awk -v name="$name" -v n="$requests" -v OFS='\t' \
    '$NF ~ /^[a-z_0-9]+$/ && $4 ~ /^[0-9]+$/ && $NF != "total" {print name, n, $NF, $4}' \
    "$work/strace-$name.txt" >>"$work/strace.tsv"
}

install_tools
# Two builds: examples bring the dev-dependencies' features in (tokio's `test-util`, whose
# clock is looked up through the runtime), and a gateway built beside them is not the one
# `cargo build --release` makes: 380 instructions a request more (benches/instructions.sh).
cargo build --release --example bench_upstream --example bench_floor
cargo build --release --bin idlegate
echo "load before: $(uptime)"
python3 benches/make_jwts.py "$work" "$TOKENS"
write_configs
start upstream "$TARGET/release/examples/bench_upstream" "127.0.0.1:$UP_PORT"
start nginx nginx -e "$work/nginx/error.log" -p "$work/nginx" -c nginx.conf
start haproxy haproxy -db -f "$work/haproxy.cfg"
export IDLEGATE_HASH_KEY=bench RUST_LOG=warn
start idlegate "$IDLEGATE_BIN" run --config "$work/idlegate-plain.toml"
start idlegate-identity "$IDLEGATE_BIN" run --config "$work/idlegate-identity.toml"
PROXIES=(nginx haproxy idlegate idlegate-identity)
if [ "$EVIDENCE_OFF" = 1 ]; then
  start idlegate-noev "$IDLEGATE_BIN" run --config "$work/idlegate-noev.toml"
  wait_http "http://127.0.0.1:$NOEV_ADMIN/readyz"
  PROXIES+=(idlegate-noev)
fi
if [ -n "$BASE_BIN" ]; then
  start idlegate-base "$BASE_BIN" run --config "$work/idlegate-base.toml"
  wait_http "http://127.0.0.1:$BASE_ADMIN/readyz"
  PROXIES+=(idlegate-base)
fi
if [ "$FLOOR" = 1 ]; then
  start floor "$TARGET/release/examples/bench_floor" "127.0.0.1:$FLOOR_PORT" "127.0.0.1:$UP_PORT"
  wait_http "http://127.0.0.1:$FLOOR_PORT/"
  PROXIES+=(floor)
fi
wait_http "http://127.0.0.1:$IG_ADMIN/readyz"
wait_http "http://127.0.0.1:$IGID_ADMIN/readyz"
for p in "$NGINX_PORT" "$HAPROXY_PORT"; do wait_http "http://127.0.0.1:$p/"; done

warm nginx
warm haproxy
warm idlegate "$IG_ADMIN"
warm idlegate-identity "$IGID_ADMIN"
if [ "$EVIDENCE_OFF" = 1 ]; then warm idlegate-noev "$NOEV_ADMIN"; fi
if [ -n "$BASE_BIN" ]; then warm idlegate-base "$BASE_ADMIN"; fi
if [ "$FLOOR" = 1 ]; then warm floor; fi
verified=$(metric "$IGID_ADMIN" idlegate_token_verifications_total)

echo "wrk -t1 -c$CONNECTIONS -d$DURATION --latency, $TOKENS ES256 JWTs, $(nproc) cores, one worker per proxy, $ROUNDS rounds"
printf 'round\tproxy\trequests\treq_per_s\tcpu_us_per_req\tupstream_cpu_us_per_req\tp50_ms\tp99_ms\terrors\tuser_us_per_req\tsys_us_per_req\n' >"$work/rounds.tsv"
for round in $(seq 1 "$ROUNDS"); do
  for name in "${PROXIES[@]}"; do measure "$round" "$name"; done
done
reverified=$(($(metric "$IGID_ADMIN" idlegate_token_verifications_total) - verified))
echo "load after: $(uptime)"
echo "idlegate-identity: $verified verifications during warm-up, $reverified while measuring (known tokens: 0 expected)"
echo
TOKENS=$TOKENS python3 benches/proxy_cpu_table.py "$work/rounds.tsv" "$work" "$(nginx -v 2>&1 | sed 's/.*nginx\///')" "$(haproxy -v | awk 'NR == 1 {split($3, v, "-"); print v[1]}')"
if [ -n "$OUT" ]; then mkdir -p "$OUT" && cp "$work/rounds.tsv" "$work/summary.tsv" "$work/table.md" "$OUT/"; fi
if [ "$STRACE" = 1 ]; then
  for name in nginx haproxy idlegate idlegate-identity; do strace_proxy "$name"; done
  echo
  echo "Syscalls per request under strace -c -f (one wrk run of ${STRACE_SECONDS}s each; strace slows every proxy, the counts per request are what compares):"
  python3 benches/proxy_cpu_table.py --strace "$work/strace.tsv"
  if [ -n "$OUT" ]; then cp "$work/strace.tsv" "$OUT/"; fi
fi
