#!/usr/bin/env bash
# crash_recovery.sh BUILD_DIR [RUNS]: under SYNC_FLUSH a producer sends
# CRASH_COUNT (default 100000) messages while the broker is killed with
# SIGKILL at a random moment; after a restart every acknowledged message must
# be readable and intact. Repeated RUNS (default 5) times with different kill
# points. Prints the recovery time (restart to serving) of each run.
set -euo pipefail
BUILD=${1:-build}
RUNS=${2:-5}
COUNT=${CRASH_COUNT:-100000}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
BIN=$BUILD/mqbroker
CC=$BUILD/crashcheck
[ -x "$BIN" ] && [ -x "$CC" ] || { echo "crash_recovery: build $BIN and $CC first" >&2; exit 1; }

pass=0
fail=0
for run in $(seq 1 "$RUNS"); do
  dir=$(mktemp -d)
  bp=$(free_port)
  np=$(free_port)
  # Odd runs write the commit log through the mapping, even runs with pwrite.
  mode=mmap
  [ $((run % 2)) -eq 0 ] && mode=pwrite
  write_conf "$dir/broker.conf" "$dir/store" "$bp" "$np" SYNC_FLUSH "mappedFileSizeCommitLog=8388608" \
    "commitLogWriteMode=$mode"
  "$BIN" --standalone -c "$dir/broker.conf" 2>"$dir/broker1.log" &
  bpid=$!
  wait_port "$bp" 10
  "$CC" produce -b "127.0.0.1:$bp" -t CrashTest -n "$COUNT" -w 32 -a "$dir/acks" >"$dir/produce.log" 2>&1 &
  ppid=$!
  # Kill somewhere between 0.1 s and 5 s into the run.
  delay_ms=$((100 + (RANDOM * 7 + run * 331) % 4900))
  sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
  kill -9 "$bpid"
  wait "$bpid" 2>/dev/null || true
  wait "$ppid" || true
  acked=$(wc -l <"$dir/acks" 2>/dev/null || echo 0)
  t0=$(date +%s%N)
  "$BIN" --standalone -c "$dir/broker.conf" 2>"$dir/broker2.log" &
  bpid=$!
  wait_port "$bp" 30
  t1=$(date +%s%N)
  if "$CC" verify -b "127.0.0.1:$bp" -t CrashTest -n "$COUNT" -a "$dir/acks" >"$dir/verify.log" 2>&1; then
    pass=$((pass + 1))
    res=ok
  else
    fail=$((fail + 1))
    res=FAILED
    cat "$dir/verify.log" "$dir/broker2.log" | tail -20
  fi
  echo "crash run $run ($mode): killed after ${delay_ms} ms, acked=$acked, restart-to-serving=$(((t1 - t0) / 1000000)) ms, $(tail -1 "$dir/verify.log") -> $res"
  kill -TERM "$bpid" 2>/dev/null || true
  wait "$bpid" 2>/dev/null || true
  [ "$res" = ok ] && rm -rf "$dir"
done
echo "crash_recovery: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
