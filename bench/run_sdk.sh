#!/usr/bin/env bash
# bench/run_sdk.sh: libons (the C SDK) beside mqbench's raw protocol client,
# end-to-end latency (evenly paced, and in bursts of 16 as the NATS peer's
# publisher paces) and push-consumer drain, printed as a markdown table
# ready for bench/RESULTS.md (issue 4).
#
# Usage: bench/run_sdk.sh [BUILD_DIR] [options]
#   BUILD_DIR          holds mqbroker and mqbench (default: build-bench)
#   -d SECONDS         measured seconds per producer cell and for e2e (default 10)
#   -w SECONDS         warm-up seconds per cell (default 1; e2e uses at least 2)
#   --rate N           e2e messages per second (default 20000)
#   --backlog N        messages for the push-consumer drain (default 200000)
#   --full             the full run: --backlog 5000000
#   -s SIZE            message body bytes (default 1024)
#   --threads N        ConsumeThreadNums of the push consumers (default 64)
#   --keep             keep the scratch directory (store, logs) afterwards
# Environment: NSPORT (default 29876) and BPORT (default 30911) choose the
# loopback ports, away from a broker you may be running on 9876/10911.
#
# One fresh standalone broker (ASYNC_FLUSH, embedded name server) with a
# generated broker.conf in a scratch directory; stopped by its pid (SIGTERM,
# then SIGKILL after 10 s). All load goes to 127.0.0.1, every run is bounded.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build="build-bench"
dur=10
warm=1
rate=20000
backlog=200000
size=1024
threads=64
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    -d) dur=$2; shift 2 ;;
    -w) warm=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --backlog) backlog=$2; shift 2 ;;
    --full) backlog=5000000; shift ;;
    -s) size=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run_sdk.sh: unknown option $1" >&2; exit 2 ;;
    *) build=$1; shift ;;
  esac
done
case "$build" in /*) ;; *) build="$root/$build" ;; esac
me=run_sdk.sh
. "$root/bench/lib.sh"
e2e_warm=$warm
[ "$(awk -v w="$warm" 'BEGIN { print (w < 2) }')" = 1 ] && e2e_warm=2

start_broker sdk ASYNC_FLUSH

# run NAME ARGS...: runs mqbench ARGS, logs to the scratch dir, prints the
# SUMMARY line (empty when mqbench printed none).
run() {
  local name=$1; shift
  log "$name: mqbench $*"
  "$bench_bin" "$@" >"$scratch/$name.log" 2>&1 || log "$name: mqbench exited non-zero (log: $scratch/$name.log)"
  local s; s=$(grep '^SUMMARY' "$scratch/$name.log" || true)
  [ -n "$s" ] && log "$s"
  echo "$s"
}

ratio() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "n/a"; else printf "%.0f %%", 100 * a / b }'; }

failures() {
  local f; f=$(field failed "$1")
  local o; o=$(field failures "$1")
  [ -n "$o" ] && [ "$o" != none ] && f="$f $o"
  echo "${f:-n/a}"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- raw vs ons producers, same options -------------------------------------
rows=()
cells=("sync, 1 thread|--mode sync -w 1" "sync, 64 threads|--mode sync -w 64"
  "async, 1024 in flight|--mode async --inflight 1024")
first=1
for c in "${cells[@]}"; do
  label=${c%%|*}
  read -r -a args <<<"${c#*|}"
  create=()
  [ "$first" = 1 ] && create=(--create -q 8)
  first=0
  i=${#rows[@]}
  raw=$(run "raw-$i" produce -n "$ns" -t BenchSdk -s "$size" -d "$dur" --warmup "$warm" "${create[@]}" "${args[@]}" --client raw --cpu-pid "$broker_pid")
  ons=$(run "ons-$i" produce -n "$ns" -t BenchSdk -s "$size" -d "$dur" --warmup "$warm" "${args[@]}" --client ons --cpu-pid "$broker_pid")
  rows+=("| $label | $(field msgs_per_s "$raw") | $(field msgs_per_s "$ons") | $(ratio "$(field msgs_per_s "$ons")" "$(field msgs_per_s "$raw")") | $(field p50_us "$raw") / $(field p99_us "$raw") | $(field p50_us "$ons") / $(field p99_us "$ons") | $(field client_cpu_us "$raw") / $(field client_cpu_us "$ons") | $(field peer_cpu_us "$raw") / $(field peer_cpu_us "$ons") | $(failures "$raw") / $(failures "$ons") |")
done

# ---- end-to-end latency at a fixed rate ---------------------------------------
e2e=$(run e2e e2e -n "$ns" -t BenchE2E --rate "$rate" -s "$size" -d "$dur" --warmup "$e2e_warm" -w "$threads")
# The same paced as peers/nats/natsbench paces its publisher (16 back to back).
e2eb=$(run e2e-burst e2e -n "$ns" -t BenchE2E --rate "$rate" -s "$size" -d "$dur" --warmup "$e2e_warm" -w "$threads" --burst 16)

# ---- push-consumer drain of a backlog -----------------------------------------
fill=$(run fill produce -n "$ns" -t BenchSdkBacklog -s "$size" --create -q 8 --mode async \
  --inflight 1024 --count "$backlog" -d 3600 --client raw)
drain=$(run drain consume --client ons -n "$ns" -t BenchSdkBacklog -g mqbench_sdk_drain \
  --from-start --expect "$backlog" -w "$threads" -d 1800)
stop_broker
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report -------------------------------------------------------------------
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
cat <<EOF
### libons (C SDK), $(date -u '+%Y-%m-%d %H:%M UTC')

Machine: $(nproc) CPUs, ${cpu:-unknown CPU}, Linux $(uname -r). Broker and load tool share it;
all traffic on 127.0.0.1. One fresh standalone broker, ASYNC_FLUSH, 8 queues, messages of
$size bytes. Producer cells: ${dur} s after ${warm} s warm-up, \`mqbench produce --client raw\`
(remoting protocol) and \`--client ons\` (libons) with the same options; latency per send; CPU
µs/msg is user + system time over the measured seconds, per message.
Load average (1/5/15 min) before the run: $load_before; after: $load_after.

| Producer | raw msgs/s | ons msgs/s | ons / raw | raw p50 / p99 µs | ons p50 / p99 µs | client CPU µs/msg raw / ons | broker CPU µs/msg raw / ons | failed raw / ons |
|---|---:|---:|---:|---:|---:|---:|---:|---|
EOF
for r in "${rows[@]}"; do echo "$r"; done
cat <<EOF

| Other | Value |
|---|---|
| End to end at $(field rate "$e2e") msgs/s (ons producer, $(field send "$e2e") → ons push consumer, $threads consume threads), ${dur} s after ${e2e_warm} s warm-up | achieved $(field msgs_per_s "$e2e") msgs/s; p50 $(field p50_us "$e2e") µs, p99 $(field p99_us "$e2e") µs, p99.9 $(field p999_us "$e2e") µs, max $(field max_us "$e2e") µs; sent $(field sent "$e2e"), lost $(field lost "$e2e"), dups $(field dups "$e2e"), send failures $(field send_failed "$e2e"), pacer behind at most $(field behind_max_us "$e2e") µs |
| The same, paced in bursts of $(field burst "$e2eb") as \`peers/nats/natsbench\` paces | achieved $(field msgs_per_s "$e2eb") msgs/s; p50 $(field p50_us "$e2eb") µs, p99 $(field p99_us "$e2eb") µs, p99.9 $(field p999_us "$e2eb") µs, max $(field max_us "$e2eb") µs; lost $(field lost "$e2eb"), dups $(field dups "$e2eb"), send failures $(field send_failed "$e2eb") |
| Backlog fill ($backlog msgs, raw async 1024) | $(field msgs_per_s "$fill") msgs/s, failed $(field failed "$fill") |
| Push-consumer drain ($backlog msgs from offset 0, $threads consume threads) | $(field drain_ms "$drain") ms, $(field msgs_per_s "$drain") msgs/s, $(field mb_per_s "$drain") MiB/s, first message after $(field first_msg_ms "$drain") ms |
EOF
