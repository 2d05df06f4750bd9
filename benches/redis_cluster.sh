#!/usr/bin/env bash
# A private local Redis Cluster (3 masters, no replicas, nothing on disk) for benchmarks
# against a cluster (README, "Benchmarks"). Starts it, runs the command given, stops it:
#
#   bash benches/redis_cluster.sh cargo bench --bench redis_flush
#
# The command sees IDLEGATE_BENCH_REDIS=redis+cluster://127.0.0.1:P,… (P = PORT, PORT+1,
# PORT+2; PORT defaults to 27300). Everything listens on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-27300}
PORTS=("$PORT" "$((PORT + 1))" "$((PORT + 2))")
DIR=$(mktemp -d)
PIDS=()
stop() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$DIR"
}
trap stop EXIT
for p in "${PORTS[@]}"; do
  redis-server --port "$p" --bind 127.0.0.1 --cluster-enabled yes \
    --cluster-config-file "nodes-$p.conf" --cluster-node-timeout 1000 \
    --save '' --appendonly no --dir "$DIR" >"$DIR/$p.log" 2>&1 &
  PIDS+=($!)
done
for p in "${PORTS[@]}"; do
  for _ in $(seq 100); do redis-cli -p "$p" ping >/dev/null 2>&1 && break; sleep 0.05; done
done
redis-cli --cluster create "${PORTS[@]/#/127.0.0.1:}" --cluster-yes >"$DIR/create.log"
for p in "${PORTS[@]}"; do
  for _ in $(seq 200); do
    redis-cli -p "$p" cluster info | grep -q 'cluster_state:ok' && break
    sleep 0.05
  done
done
NODES=$(printf '127.0.0.1:%s,' "${PORTS[@]}")
export IDLEGATE_BENCH_REDIS="redis+cluster://${NODES%,}"
echo "cluster up: $IDLEGATE_BENCH_REDIS" >&2
"$@"
