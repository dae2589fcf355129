#!/usr/bin/env bash
# bench_smoke.sh BUILD_DIR: runs every libons mode of mqbench for about a
# second against a real standalone broker on free loopback ports, and checks
# each SUMMARY line: messages > 0 and no failures. Keeps the modes from
# rotting; it measures nothing.
set -euo pipefail
BUILD=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
BIN=$BUILD/mqbroker
MQB=$BUILD/mqbench
[ -x "$BIN" ] && [ -x "$MQB" ] || { echo "bench_smoke: build $BIN and $MQB first" >&2; exit 1; }

start_standalone "$BIN"

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
failed=0
# check NAME KEY-OF-COUNT KEY=WANTED... -- MQBENCH-ARGS...: runs mqbench; the
# SUMMARY line must show KEY-OF-COUNT > 0 and every KEY=WANTED.
check() {
  local name=$1 count=$2; shift 2
  local want=()
  while [ "$1" != -- ]; do want+=("$1"); shift; done
  shift
  local out="$dir/$name.log" ok=1
  timeout 120 "$MQB" "$@" >"$out" 2>&1 || ok=0
  local s; s=$(grep '^SUMMARY' "$out" || true)
  local n; n=$(field "$count" "$s")
  [ -n "$n" ] && [ "$n" -gt 0 ] 2>/dev/null || ok=0
  for w in "${want[@]}"; do
    [ "$(field "${w%%=*}" "$s")" = "${w#*=}" ] || ok=0
  done
  if [ "$ok" = 1 ]; then
    echo "bench_smoke: $name ok ($count=$n)"
  else
    echo "bench_smoke: $name FAILED" >&2
    tail -5 "$out" >&2
    failed=1
  fi
}

check produce-raw msgs failed=0 -- produce -n "$ns" -t SmokeT --create -q 4 -b "127.0.0.1:$bp" \
  -w 2 -d 1 --client raw --cpu-pid "$bpid"
# --cpu-pid: the broker's CPU per message is reported, and is a number; the
# tool's own (getrusage, microseconds) cannot be zero for messages it sent.
cpu=$(field peer_cpu_us "$(grep '^SUMMARY' "$dir/produce-raw.log" || true)")
own=$(field client_cpu_us "$(grep '^SUMMARY' "$dir/produce-raw.log" || true)")
if ! [[ "$cpu" =~ ^[0-9]+\.[0-9]+$ && "$own" =~ ^[0-9]+\.[0-9]+$ && "$own" != 0.00 ]]; then
  echo "bench_smoke: --cpu-pid gave peer_cpu_us='$cpu' client_cpu_us='$own'" >&2
  failed=1
fi
for mode in sync async oneway; do
  check "produce-ons-$mode" msgs failed=0 failures=none client=ons -- produce -n "$ns" -t SmokeT \
    --mode "$mode" -w 2 --inflight 64 -d 1 --client ons
done
# Exits non-zero unless the whole backlog (from offset 0) was delivered.
check consume-ons msgs client=ons -- consume --client ons -n "$ns" -t SmokeT -g smoke_drain \
  --from-start -w 4 -d 30
check e2e recv lost=0 dups=0 send_failed=0 -- e2e -n "$ns" -t SmokeE2E --rate 500 -d 1 \
  --warmup 0.5 -w 4
check e2e-oneway recv lost=0 send=oneway -- e2e -n "$ns" -t SmokeE2E --rate 500 -d 1 \
  --warmup 0.5 -w 4 --send oneway
check e2e-burst recv lost=0 dups=0 send_failed=0 burst=16 -- e2e -n "$ns" -t SmokeE2E --rate 500 \
  -d 1 --warmup 0.5 -w 4 --burst 16
# Refusals are part of the interface.
if "$MQB" produce -n "$ns" -t SmokeT --batch 4 --client ons -d 1 >"$dir/batch.log" 2>&1; then
  echo "bench_smoke: --batch with --client ons was accepted" >&2
  failed=1
elif ! grep -q "libons has no batch send" "$dir/batch.log"; then
  echo "bench_smoke: --batch refusal does not say why" >&2
  failed=1
fi

kill -TERM "$bpid"
wait "$bpid" 2>/dev/null || true
bpid=
[ "$failed" = 0 ] || exit 1
echo "bench_smoke: passed"
