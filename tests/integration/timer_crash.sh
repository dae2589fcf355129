#!/usr/bin/env bash
# timer_crash.sh BUILD_DIR: scheduled delivery across a kill -9. Sends
# TIMER_SOAK_COUNT (default 20000) timers due over TIMER_SOAK_SPAN ms (default
# 15000) starting 4 s out, kills the broker with SIGKILL in the middle of the
# deliveries, restarts it on the same store and checks that every timer
# arrives, none before its due time (duplicates are reported, allowed).
# Prints the broker's peak RSS and the lateness percentiles.
set -euo pipefail
BUILD=${1:-build}
COUNT=${TIMER_SOAK_COUNT:-20000}
SPAN=${TIMER_SOAK_SPAN:-15000}
KILL_AFTER_S=${TIMER_KILL_AFTER_S:-}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
BIN=$BUILD/mqbroker
TS=$BUILD/timer_soak
[ -x "$BIN" ] && [ -x "$TS" ] || { echo "timer_crash: build $BIN and $TS first" >&2; exit 1; }

dir=$(mktemp -d)
bp=$(free_port)
np=$(free_port)
write_conf "$dir/broker.conf" "$dir/store" "$bp" "$np" ASYNC_FLUSH "mappedFileSizeCommitLog=67108864"
"$BIN" --standalone -c "$dir/broker.conf" 2>"$dir/broker1.log" &
bpid=$!
wait_port "$bp" 10
peak=0
rss() { local r; r=$(ps -o rss= -p "$1" 2>/dev/null | tr -d ' '); [ -n "$r" ] && [ "$r" -gt "$peak" ] && peak=$r; true; }

t0=$(date +%s)
"$TS" produce -b "127.0.0.1:$bp" -t TimerSoak -n "$COUNT" -s "$SPAN" -d 4000 -w 8 | tee "$dir/produce.log"
rss "$bpid"
# Kill in the middle of the delivery window unless told otherwise.
kill_at=${KILL_AFTER_S:-$((4 + SPAN / 2000))}
while [ $(($(date +%s) - t0)) -lt "$kill_at" ]; do rss "$bpid"; sleep 0.5; done
kill -9 "$bpid"
wait "$bpid" 2>/dev/null || true
echo "killed the broker $(($(date +%s) - t0)) s after the first send"
"$BIN" --standalone -c "$dir/broker.conf" 2>"$dir/broker2.log" &
bpid=$!
wait_port "$bp" 30
( while kill -0 "$bpid" 2>/dev/null; do ps -o rss= -p "$bpid" 2>/dev/null; sleep 0.5; done ) >"$dir/rss2" &
rc=0
"$TS" check -b "127.0.0.1:$bp" -t TimerSoak -n "$COUNT" -T $((SPAN / 1000 + 60)) | tee "$dir/check.log" || rc=$?
peak2=$(sort -n "$dir/rss2" | tail -1 | tr -d ' ')
echo "broker peak RSS: before kill ${peak} KiB, after restart ${peak2:-?} KiB"
kill -TERM "$bpid" 2>/dev/null || true
wait "$bpid" 2>/dev/null || true
if [ "$rc" -eq 0 ]; then
  echo "timer_crash: ok"
  rm -rf "$dir"
else
  tail -20 "$dir/broker2.log"
  echo "timer_crash: FAILED (files kept in $dir)"
fi
exit "$rc"
