#!/usr/bin/env bash
# run_recovery.sh [BUILD_DIR] [GIB]: fills a broker's commit log with about
# GIB (default 1) GiB of 1 KiB messages (ASYNC_FLUSH, default 1 GiB segments),
# kills it with SIGKILL, restarts it on the same store and prints the time from
# exec to the broker port accepting connections, plus the store's own recovery
# log line. Loopback only; bounded by the message count.
set -euo pipefail
BUILD=${1:-build}
GIB=${2:-1}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tests/integration/lib.sh"
dir=$(mktemp -d)
trap 'kill -9 ${bpid:-0} 2>/dev/null || true; rm -rf "$dir"' EXIT
bp=$(free_port)
np=$(free_port)
write_conf "$dir/broker.conf" "$dir/store" "$bp" "$np" ASYNC_FLUSH
"$BUILD/mqbroker" --standalone -c "$dir/broker.conf" 2>"$dir/broker1.log" &
bpid=$!
wait_port "$bp" 10
count=$((GIB * 1024 * 1024 * 1024 / 1160 + 1000)) # 1 KiB body + ~136 B record overhead
"$BUILD/mqbench" produce -n "127.0.0.1:$np" -t RecoveryBench --create -q 8 -s 1024 \
  --mode async --inflight 2048 --count "$count" -d 600 >"$dir/produce.log" 2>&1
tail -1 "$dir/produce.log"
log_bytes=$(du -sb "$dir/store/commitlog" | cut -f1)
kill -9 "$bpid"
wait "$bpid" 2>/dev/null || true
t0=$(date +%s%N)
"$BUILD/mqbroker" --standalone -c "$dir/broker.conf" 2>"$dir/broker2.log" &
bpid=$!
wait_port "$bp" 60
t1=$(date +%s%N)
echo "commitlog files: $((log_bytes / 1048576)) MiB on disk (preallocated segments)"
grep -h "opened root" "$dir/broker2.log" | sed 's/^.*\[store\] /store: /'
echo "recovery after kill -9: exec to serving = $(((t1 - t0) / 1000000)) ms"
kill -TERM "$bpid"
wait "$bpid" || true
