#!/usr/bin/env bash
# bench/run_core.sh: the core benchmark matrix of Tern's broker, printed as a
# markdown table ready for bench/RESULTS.md.
#
# Usage: bench/run_core.sh [BUILD_DIR] [options]
#   BUILD_DIR          holds mqbroker and mqbench (default: build-bench)
#   -d SECONDS         measured seconds per load cell (default 10)
#   -w SECONDS         warm-up seconds per load cell (default 1)
#   --backlog N        messages for the consumer catch-up cell (default 200000)
#   --full             the full run: --backlog 5000000
#   -s SIZE            message body bytes (default 1024)
#   --keep             keep the scratch directory (stores, logs) afterwards
#   --set KEY=VALUE    add a broker.conf line to every broker (repeatable),
#                      e.g. --set commitLogCacheBytes=0 for an A/B in one sitting
# Environment: NSPORT (default 29876) and BPORT (default 30911) choose the
# loopback ports, away from a broker you may be running on 9876/10911.
#
# Each configuration (ASYNC_FLUSH, SYNC_FLUSH) gets a fresh standalone broker
# (embedded name server) with a generated broker.conf in a scratch directory.
# All load goes to 127.0.0.1 and every run is bounded by time and count. The
# broker is stopped by its pid (SIGTERM, then SIGKILL after 10 s).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build="build-bench"
dur=10
warm=1
backlog=200000
size=1024
keep=0
extra_conf=""
while [ $# -gt 0 ]; do
  case "$1" in
    -d) dur=$2; shift 2 ;;
    -w) warm=$2; shift 2 ;;
    --backlog) backlog=$2; shift 2 ;;
    --full) backlog=5000000; shift ;;
    -s) size=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --set) extra_conf="${extra_conf:+$extra_conf
}$2"; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run_core.sh: unknown option $1" >&2; exit 2 ;;
    *) build=$1; shift ;;
  esac
done
case "$build" in /*) ;; *) build="$root/$build" ;; esac
me=run_core.sh
. "$root/bench/lib.sh"

# rss_kb PID [KEY]: VmRSS (or RssAnon, ...) of PID in kB; 0 when gone.
rss_kb() { awk -v k="${2:-VmRSS}:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

rows=()
peak_rss=0
peak_anon=0

# cell LABEL ARGS...: one produce run; appends a table row.
cell() {
  local label=$1; shift
  local out="$scratch/cell-${#rows[@]}.log"
  log "$label: mqbench produce $*"
  "$bench_bin" produce -n "$ns" -t BenchCore -s "$size" -d "$dur" --warmup "$warm" \
    --cpu-pid "$broker_pid" "$@" >"$out" 2>&1 &
  local bpid=$!
  while kill -0 "$bpid" 2>/dev/null; do
    local r a; r=$(rss_kb "$broker_pid"); a=$(rss_kb "$broker_pid" RssAnon)
    [ "${r:-0}" -gt "$peak_rss" ] && peak_rss=$r
    [ "${a:-0}" -gt "$peak_anon" ] && peak_anon=$a
    sleep 0.5
  done
  wait "$bpid" || log "$label: mqbench exited non-zero (see below)"
  local s; s=$(grep '^SUMMARY' "$out" || true)
  if [ -z "$s" ]; then
    tail -5 "$out" >&2
    rows+=("| $label | failed to run | | | | | | | |")
    return
  fi
  log "$s"
  local fails; fails=$(field failed "$s")
  local fdt; fdt=$(field flush_disk_timeout "$s")
  [ "${fdt:-0}" != 0 ] && fails="$fails (FLUSH_DISK_TIMEOUT $fdt)"
  local other; other=$(field failures "$s")
  [ "$other" != none ] && fails="$fails $other"
  rows+=("| $label | $(field msgs_per_s "$s") | $(field mb_per_s "$s") | $(field p50_us "$s") | $(field p99_us "$s") | $(field p999_us "$s") | $(field max_us "$s") | $(field peer_cpu_us "$s") / $(field client_cpu_us "$s") | $fails |")
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- start-to-serving and idle RSS (fresh, empty store) -------------------
write_conf "$scratch/startup" ASYNC_FLUSH
log "startup: mqbench startup --rss 5"
startup=$("$bench_bin" startup --bin "$broker_bin" --port "$bport" --ns-port "$nsport" --rss 5 \
  --log "$scratch/startup/broker.log" -- --standalone -c "$scratch/startup/broker.conf" | grep '^SUMMARY' || true)
log "$startup"
serving_ms=$(field serving_ms "$startup")
idle_kb=$(field rss_idle_kb "$startup")
idle_anon_kb=$(field anon_kb "$startup")
stop_ms=$(field stop_ms "$startup")

# ---- ASYNC_FLUSH matrix ------------------------------------------------------
start_broker async ASYNC_FLUSH
cell "sync, 1 thread" --mode sync -w 1 --create -q 8
cell "sync, 64 threads" --mode sync -w 64
cell "async, 1024 in flight" --mode async --inflight 1024
cell "async, 4096 in flight" --mode async --inflight 4096
cell "batch 32, sync 16 threads" --mode sync -w 16 --batch 32
load_rss_kb=$peak_rss
load_anon_kb=$peak_anon

# Consumer catch-up: fill a fresh topic, then drain it from offset 0.
log "backlog: $backlog messages into BenchBacklog"
fill=$("$bench_bin" produce -n "$ns" -t BenchBacklog -s "$size" --create -q 8 --mode async \
  --inflight 1024 --count "$backlog" -d 3600 2>"$scratch/fill.err" | grep '^SUMMARY' || true)
log "$fill"
drain=$("$bench_bin" consume -n "$ns" -t BenchBacklog --from-start --expect "$backlog" -d 600 \
  2>"$scratch/drain.err" | grep '^SUMMARY' || true)
log "$drain"
idle_after_kb=$(rss_kb "$broker_pid")
idle_after_anon_kb=$(rss_kb "$broker_pid" RssAnon)
stop_broker

# ---- SYNC_FLUSH -------------------------------------------------------------
# The backlog fill leaves gigabytes of dirty pages whose write-back keeps the
# disk busy for a while; a group commit measured meanwhile measures that
# write-back. Wait until it is done (sync, then Dirty + Writeback small).
log "waiting for the write-back of the earlier cells"
wb_start=$(date +%s%N)
sync
for _ in $(seq 1 600); do
  dirty=$(awk '$1 == "Dirty:" || $1 == "Writeback:" {s += $2} END {print s}' /proc/meminfo)
  [ "${dirty:-0}" -lt 65536 ] && break
  sleep 0.5
done
wb_ms=$((($(date +%s%N) - wb_start) / 1000000))
log "write-back done after $wb_ms ms"
peak_rss=0
start_broker syncflush SYNC_FLUSH
cell "SYNC_FLUSH, sync 64 threads" --mode sync -w 64 --create -q 8
stop_broker

load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report -------------------------------------------------------------------
mib() { awk -v k="${1:-0}" 'BEGIN { if (k == "" || k < 0) print "n/a"; else printf "%.1f", k / 1024 }'; }
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
cat <<EOF
### Core matrix, $(date -u '+%Y-%m-%d %H:%M UTC')

Machine: $(nproc) CPUs, ${cpu:-unknown CPU}, Linux $(uname -r). Broker and load tool share it;
all traffic on 127.0.0.1. Messages of $size bytes, 8 queues, ${dur} s per cell after ${warm} s warm-up,
one fresh standalone broker per flush mode. Latency is per request (a batch counts once). CPU
µs/msg: the broker's and mqbench's user + system CPU time over the measured seconds, per message.
RSS includes the mapped store files the broker touched; the anonymous part is heap and stacks.
Load average (1/5/15 min) before the run: $load_before; after: $load_after. Other load on the
machine lowers every figure.${extra_conf:+ Broker settings added to the defaults: $(tr '\n' ' ' <<<"$extra_conf")}

| Scenario | msgs/s | MiB/s | p50 µs | p99 µs | p99.9 µs | max µs | CPU µs/msg broker / mqbench | failed |
|---|---:|---:|---:|---:|---:|---:|---:|---|
EOF
for r in "${rows[@]}"; do echo "$r"; done
cat <<EOF

| Other | Value |
|---|---|
| Start to serving (exec → both ports accept), empty store | ${serving_ms:-n/a} ms |
| Stop after SIGTERM (idle) | ${stop_ms:-n/a} ms |
| RSS idle, 5 s after start (anonymous part) | $(mib "$idle_kb") MiB ($(mib "$idle_anon_kb") MiB) |
| RSS under load, peak of the ASYNC_FLUSH cells (anonymous part) | $(mib "$load_rss_kb") MiB ($(mib "$load_anon_kb") MiB) |
| RSS after the backlog drain (anonymous part) | $(mib "$idle_after_kb") MiB ($(mib "$idle_after_anon_kb") MiB) |
| Backlog fill ($backlog msgs, async 1024) | $(field msgs_per_s "$fill") msgs/s, failed $(field failed "$fill") |
| Consumer catch-up ($backlog msgs, 8 queues, 4 pulls in flight each) | $(field drain_ms "$drain") ms, $(field msgs_per_s "$drain") msgs/s, $(field mb_per_s "$drain") MiB/s, errors $(field errors "$drain") |
| Wait for the write-back of the fill before the SYNC_FLUSH cell | $wb_ms ms |
EOF
