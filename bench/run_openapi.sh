#!/usr/bin/env bash
# bench/run_openapi.sh: load test of the management Open API. Starts a
# standalone broker (embedded name server and console) in a scratch
# directory, lets `mqbench api` create an instance, a topic and a group
# through the API, then runs CONNS keep-alive clients signing every request
# over the cheap read endpoints (region/list, instance/list, topic/get,
# topic/listNames, group/list, instance/baseInfo) for SECONDS, and prints the
# per-endpoint lines, the tool's SUMMARY and one SUMMARY openapi line.
#
# Usage: bench/run_openapi.sh [BUILD_DIR] [options]
#   BUILD_DIR          holds mqbroker and mqbench (default: build-bench)
#   -c CONNS           concurrent clients (default 200)
#   -d SECONDS         measured seconds (default 60)
#   -w THREADS         client epoll threads (default 2)
#   --rate R           total requests/s (open loop); default: closed loop
#   --threads N        openApiThreads of the console (default 4)
#   --keep             keep the scratch directory afterwards
# Environment: NSPORT (29876), BPORT (30911) and HPORT (28080) choose the
# loopback ports. The machine load (uptime) is printed with the result.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build="build-bench"
conns=200
dur=60
cthreads=2
sthreads=4
keep=0
rate=""
while [ $# -gt 0 ]; do
  case "$1" in
    -c) conns=$2; shift 2 ;;
    -d) dur=$2; shift 2 ;;
    -w) cthreads=$2; shift 2 ;;
    --threads) sthreads=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run_openapi.sh: unknown option $1" >&2; exit 2 ;;
    *) build=$1; shift ;;
  esac
done
case "$build" in /*) ;; *) build="$root/$build" ;; esac
me=run_openapi.sh
. "$root/bench/lib.sh"
hport=${HPORT:-28080}
if port_open "$hport"; then
  echo "$me: port $hport is already in use; set HPORT" >&2
  exit 1
fi

write_conf "$scratch/api" ASYNC_FLUSH
cat >>"$scratch/api/broker.conf" <<EOF2
openApiPort=$hport
openApiBindAddress=127.0.0.1
openApiThreads=$sthreads
openApiAccessKey=BenchApiAK
openApiSecretKey=BenchApiSecret
EOF2
"$broker_bin" --standalone -c "$scratch/api/broker.conf" >"$scratch/api/broker.log" 2>&1 &
broker_pid=$!
for _ in $(seq 1 300); do
  port_open "$hport" && break
  kill -0 "$broker_pid" 2>/dev/null || { log "broker exited; log:"; tail -20 "$scratch/api/broker.log" >&2; exit 1; }
  sleep 0.1
done
port_open "$hport" || { log "console not serving after 30 s"; exit 1; }

load0=$(uptime | sed 's/.*load average: //; s/, /\//g')
log "mqbench api -c $conns -d $dur (console threads $sthreads; load before: $load0)"
out="$scratch/api/bench.log"
rc=0
"$bench_bin" api --url "127.0.0.1:$hport" --ak BenchApiAK --sk BenchApiSecret -c "$conns" \
  -w "$cthreads" -d "$dur" --warmup 2 ${rate:+--rate "$rate"} >"$out" 2>"$scratch/api/bench.err" || rc=$?
load=$(uptime | sed 's/.*load average: //; s/, /\//g')
grep -E '^(ENDPOINT|SUMMARY)' "$out" || true
s=$(grep '^SUMMARY' "$out" || true)
if [ -z "$s" ]; then
  log "mqbench api failed (rc=$rc):"
  tail -20 "$scratch/api/bench.err" "$out" >&2
  exit 1
fi
echo "SUMMARY openapi conns=$conns rate=${rate:-closed} duration_s=$dur rps=$(field rps "$s") errors=$(field errors "$s")" \
  "p50_us=$(field p50_us "$s") p90_us=$(field p90_us "$s") p99_us=$(field p99_us "$s")" \
  "max_us=$(field max_us "$s") nproc=$(nproc) load_before=$load0 load=$load"
exit "$rc"
