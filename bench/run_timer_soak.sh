#!/usr/bin/env bash
# run_timer_soak.sh [BUILD_DIR] [MODE] [N]: the timer soak of issue 3.
#   full   (default) 1,000,000 timers due across 10 minutes (from +30 s) plus
#          100,000 due in 30-40 days, kill -9 twice during the window; checks
#          exactly-once, none early; prints lateness p50/p99/max, RSS, load.
#          Takes about 12 minutes. (tests/integration/timer_crash.sh with the
#          full sizes; the test suite runs it small: 20k over 60 s.)
#   small  what the test suite runs.
#   rss    loads N (default 10,000,000) timers due in 30-40 days (small
#          bodies, async sends) into a fresh broker, waits until all are
#          ingested, and prints the broker's RSS before and after, per pending
#          timer, and again after a clean restart with all N pending.
# Loopback only; bounded by the counts.
set -euo pipefail
BUILD=${1:-build}
MODE=${2:-full}
N=${3:-10000000}
here=$(cd "$(dirname "$0")" && pwd)
case "$MODE" in
full)
  TIMER_SOAK_COUNT=1000000 TIMER_SOAK_SPAN=600000 TIMER_SOAK_START=30000 TIMER_SOAK_FAR=100000 \
    TIMER_SOAK_KILLS=2 exec bash "$here/../tests/integration/timer_crash.sh" "$BUILD"
  ;;
small) exec bash "$here/../tests/integration/timer_crash.sh" "$BUILD" ;;
rss) ;;
*)
  echo "usage: run_timer_soak.sh [BUILD_DIR] [full|small|rss] [N]" >&2
  exit 2
  ;;
esac

. "$here/../tests/integration/lib.sh"
dir=$(mktemp -d)
trap 'kill -9 ${bpid:-0} 2>/dev/null || true; rm -rf "$dir"' EXIT
bp=$(free_port)
np=$(free_port)
write_conf "$dir/broker.conf" "$dir/store" "$bp" "$np" ASYNC_FLUSH
mem() { # VmRSS RssAnon RssFile of pid $1, KiB
  awk '/^VmRSS:/ {r = $2} /^RssAnon:/ {a = $2} /^RssFile:/ {f = $2} END {print r, a, f}' \
    "/proc/$1/status"
}
pending() { # day-index entries on disk (32 bytes each)
  find "$dir/store/timer/days" -name '*.idx' -printf '%s\n' 2>/dev/null |
    awk '{s += $1} END {print int(s / 32)}'
}
"$BUILD/mqbroker" --standalone -c "$dir/broker.conf" 2>"$dir/broker1.log" &
bpid=$!
wait_port "$bp" 10
sleep 2
read -r r0 a0 f0 <<<"$(mem "$bpid")"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "broker before: RSS $r0 KiB (anonymous $a0, file $f0)"
"$BUILD/timer_soak" produce -b "127.0.0.1:$bp" -t TimerRss -n 0 -F "$N" -a 1024
t0=$SECONDS
while [ "$(pending)" -lt "$N" ] && [ $((SECONDS - t0)) -lt 1800 ]; do sleep 1; done
echo "ingested: $(pending) day-index entries after $((SECONDS - t0)) s more"
sleep 2
read -r r1 a1 f1 <<<"$(mem "$bpid")"
echo "broker with $N pending: RSS $r1 KiB (anonymous $a1, file $f1)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
kill -TERM "$bpid"
wait "$bpid" || true
"$BUILD/mqbroker" --standalone -c "$dir/broker.conf" 2>"$dir/broker2.log" &
bpid=$!
wait_port "$bp" 120
sleep 5
read -r r2 a2 f2 <<<"$(mem "$bpid")"
echo "broker restarted with $N pending: RSS $r2 KiB (anonymous $a2, file $f2)"
awk -v n="$N" -v r0="$r0" -v a0="$a0" -v r1="$r1" -v a1="$a1" -v r2="$r2" -v a2="$a2" 'BEGIN {
  printf "per pending timer: RSS %.2f B (anonymous %.2f B) while loading; %.2f B (anonymous %.2f B) after restart\n",
    (r1 - r0) * 1024 / n, (a1 - a0) * 1024 / n, (r2 - r0) * 1024 / n, (a2 - a0) * 1024 / n }'
du -sh "$dir/store/commitlog" "$dir/store/timer" "$dir/store/consumequeue" 2>/dev/null || true
kill -TERM "$bpid"
wait "$bpid" || true
