#!/usr/bin/env bash
# timer_crash.sh BUILD_DIR: the timer soak (issue 3) in a small size. Sends
# TIMER_SOAK_COUNT (default 20000) timers due over TIMER_SOAK_SPAN ms (default
# 60000) starting TIMER_SOAK_START ms out (default 4000), plus TIMER_SOAK_FAR
# (default 2000) due in 30-40 days; kills the broker with SIGKILL
# TIMER_SOAK_KILLS times (default 2) spread over the delivery window,
# restarting it on the same store each time; then checks that every timer of
# the window arrived exactly once and none early, that no far timer arrived,
# and that the far timers are still pending on disk. Prints lateness
# p50/p99/max, the broker's peak RSS (and its anonymous part) and the load
# average. bench/run_timer_soak.sh runs the full size with the same script.
# Other knobs: TIMER_SOAK_INFLIGHT (async sends in flight, default 512),
# TIMER_SOAK_CONF (extra broker.conf lines, ';'-separated).
set -euo pipefail
BUILD=${1:-build}
COUNT=${TIMER_SOAK_COUNT:-20000}
SPAN=${TIMER_SOAK_SPAN:-60000}
START=${TIMER_SOAK_START:-4000}
FAR=${TIMER_SOAK_FAR:-2000}
KILLS=${TIMER_SOAK_KILLS:-2}
INFLIGHT=${TIMER_SOAK_INFLIGHT:-512}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
BIN=$BUILD/mqbroker
TS=$BUILD/timer_soak
[ -x "$BIN" ] && [ -x "$TS" ] || { echo "timer_crash: build $BIN and $TS first" >&2; exit 1; }

dir=$(mktemp -d)
bp=$(free_port)
np=$(free_port)
IFS=';' read -r -a extra <<<"${TIMER_SOAK_CONF:-}"
write_conf "$dir/broker.conf" "$dir/store" "$bp" "$np" ASYNC_FLUSH \
  "mappedFileSizeCommitLog=67108864" ${extra[@]+"${extra[@]}"}
peak=0
peak_anon=0
load_max=0
sample() { # records peak VmRSS / RssAnon (KiB) of pid $1 and the 1-minute load
  local st rss anon l
  st=$(cat "/proc/$1/status" 2>/dev/null) || return 0
  rss=$(awk '/^VmRSS:/ {print $2}' <<<"$st")
  anon=$(awk '/^RssAnon:/ {print $2}' <<<"$st")
  [ -n "$rss" ] && [ "$rss" -gt "$peak" ] && peak=$rss
  [ -n "$anon" ] && [ "$anon" -gt "$peak_anon" ] && peak_anon=$anon
  l=$(cut -d' ' -f1 /proc/loadavg)
  awk -v a="$l" -v b="$load_max" 'BEGIN {exit !(a > b)}' && load_max=$l
  true
}
start_broker() {
  "$BIN" --standalone -c "$dir/broker.conf" 2>"$dir/broker$1.log" &
  bpid=$!
  wait_port "$bp" 60
}
cleanup() { kill -9 "${bpid:-0}" 2>/dev/null || true; }
trap cleanup EXIT

echo "timer soak: $COUNT due over $SPAN ms from +$START ms, $FAR due in 30-40 days, $KILLS kill -9"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
start_broker 1
t0=$(date +%s%N)
"$TS" produce -b "127.0.0.1:$bp" -t TimerSoak -n "$COUNT" -s "$SPAN" -d "$START" -F "$FAR" \
  -a "$INFLIGHT" | tee "$dir/produce.log"
sample "$bpid"
elapsed_ms() { echo $((($(date +%s%N) - t0) / 1000000)); }
for k in $(seq 1 "$KILLS"); do
  kill_at=$((START + SPAN * k / (KILLS + 1)))
  while [ "$(elapsed_ms)" -lt "$kill_at" ]; do sample "$bpid"; sleep 0.5; done
  kill -9 "$bpid"
  wait "$bpid" 2>/dev/null || true
  t_kill=$(date +%s%N)
  start_broker $((k + 1))
  echo "kill -9 #$k at +$(elapsed_ms) ms; restart to serving $((($(date +%s%N) - t_kill) / 1000000)) ms"
done
rc=0
(while kill -0 "$bpid" 2>/dev/null; do cat /proc/loadavg; sleep 1; done) >"$dir/load" &
"$TS" check -x -b "127.0.0.1:$bp" -t TimerSoak -n "$COUNT" -T $((SPAN / 1000 + START / 1000 + 120)) |
  tee "$dir/check.log" || rc=$?
sample "$bpid"
load_end=$(sort -n "$dir/load" | tail -1 | cut -d' ' -f1)
awk -v a="${load_end:-0}" -v b="$load_max" 'BEGIN {exit !(a > b)}' && load_max=$load_end
# The far timers wait on disk: count the entries of the day indexes (32 bytes
# each; a re-ingest after a kill may repeat some) and the record copies.
idx_bytes=$(find "$dir/store/timer/days" -name '*.idx' -printf '%s\n' | awk '{s += $1} END {print s + 0}')
dat_bytes=$(find "$dir/store/timer/days" -name '*.dat' -printf '%s\n' | awk '{s += $1} END {print s + 0}')
echo "far timers pending on disk: $((idx_bytes / 32)) day-index entries, $((dat_bytes / 1024)) KiB of record copies"
[ $((idx_bytes / 32)) -ge "$FAR" ] || { echo "timer_crash: far timers missing from the day indexes"; rc=1; }
echo "broker peak RSS ${peak} KiB (anonymous ${peak_anon} KiB); peak 1-min load average $load_max"
grep -h "deliveries found after the last save" "$dir"/broker*.log | sed 's/^.*\[broker\] /broker: /' || true
kill -TERM "$bpid" 2>/dev/null || true
wait "$bpid" 2>/dev/null || true
if [ "$rc" -eq 0 ]; then
  echo "timer_crash: ok"
  rm -rf "$dir"
else
  tail -20 "$dir/broker$((KILLS + 1)).log"
  echo "timer_crash: FAILED (files kept in $dir)"
fi
exit "$rc"
