#!/usr/bin/env bash
# End-to-end comparison (README, "Benchmarks"): idlegate with idle tracking on vs nginx `proxy_pass` with
# keep-alive, same upstream, same machine, same load, side by side in one run.
#
#   bash benches/e2e_nginx.sh            # DURATION=10s CONNECTIONS=64 TOKENS=10000 by default
#
# Everything listens on 127.0.0.1 only and each load run is bounded by DURATION.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
TOKENS=${TOKENS:-10000}
ROUNDS=${ROUNDS:-2}

need() { command -v "$1" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; }; }
need nginx nginx
need wrk wrk

cargo build --release --bin idlegate
work=$(mktemp -d)
trap 'kill $(cat "$work"/*.pid 2>/dev/null) 2>/dev/null || true; for d in up px; do nginx -p "$work/$d" -c nginx.conf -s stop 2>/dev/null || true; done; rm -rf "$work"' EXIT

# The upstream (a static 200) is its own nginx instance with one worker, shared by both
# proxies. The reference proxy is a second nginx instance with as many workers as idlegate has
# runtime threads: neither proxy shares a process with the upstream.
WORKERS=${WORKERS:-$(nproc)}
mkdir -p "$work/up" "$work/px"
cat > "$work/up/nginx.conf" <<NGINX
worker_processes 1;
pid $work/up/nginx.pid;
error_log $work/up/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:19000; location / { return 200 '{"ok":true}'; } }
}
NGINX
cat > "$work/px/nginx.conf" <<NGINX
worker_processes $WORKERS;
pid $work/px/nginx.pid;
error_log $work/px/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  upstream backend { server 127.0.0.1:19000; keepalive 128; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:19080;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
    }
  }
}
NGINX
nginx -p "$work/up" -c nginx.conf
nginx -p "$work/px" -c nginx.conf

cat > "$work/idlegate.toml" <<TOML
[proxy]
listen = "127.0.0.1:19081"
workers = $WORKERS
upstream = "http://127.0.0.1:19000"
[admin]
listen = "127.0.0.1:19901"
[timeout]
idle = "30m"
[exclusions]
enabled_defaults = ["client-diagnostics", "token-checks", "presence-polling"]
TOML
IDLEGATE_HASH_KEY=bench RUST_LOG=warn ./target/release/idlegate run --config "$work/idlegate.toml" >"$work/idlegate.log" 2>&1 &
echo $! > "$work/idlegate.pid"
for _ in $(seq 1 100); do curl -fsS http://127.0.0.1:19901/readyz >/dev/null 2>&1 && break; sleep 0.1; done

# Each request carries one of $TOKENS JWT-shaped bearer tokens; paths mix activity and excluded.
cat > "$work/tokens.lua" <<LUA
local n = $TOKENS
local paths = {"/api/v2/users/me", "/api/v2/conversations/calls/1234", "/api/v2/users/42/presences/purecloud"}
local i = 0
request = function()
  i = i + 1
  local tok = string.format("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyLSVkIn0%08d.c2lnbmF0dXJl", i % n)
  return wrk.format("GET", paths[(i % #paths) + 1], {["Authorization"] = "Bearer " .. tok})
end
LUA

cpu_ticks() { # total user+system clock ticks of the given pids
  local t=0 pid
  for pid in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$pid/stat"))); done
  echo "$t"
}

run() { # name port pids...
  local name=$1 port=$2; shift 2
  local before out after rps p99
  before=$(cpu_ticks "$@")
  out=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$work/tokens.lua" "http://127.0.0.1:$port/")
  after=$(cpu_ticks "$@")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  local requests
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  printf '%-10s %12s req/s   p99 %-8s proxy CPU %5.1f us/request\n' "$name" "$rps" "$p99" \
    "$(awk -v t=$((after - before)) -v n="$requests" -v hz="$(getconf CLK_TCK)" 'BEGIN {print t * 1e6 / hz / n}')"
}

echo "wrk -t2 -c$CONNECTIONS -d$DURATION, $TOKENS tokens, $(nproc) cores, $WORKERS proxy workers"
for _ in $(seq 1 "$ROUNDS"); do
  run nginx 19080 $(pgrep -P "$(cat "$work/px/nginx.pid")")
  run idlegate 19081 "$(cat "$work/idlegate.pid")"
done
curl -s http://127.0.0.1:19901/metrics | grep -E '^idlegate_(tokens_tracked|requests_total)'
