#!/usr/bin/env bash
# bench/lib.sh: what the benchmark scripts share: a standalone broker in a
# scratch directory on fixed loopback ports, stopped by its pid, and the
# SUMMARY-line helpers. Source it after setting: me (script name, for log
# lines), build (absolute build directory), keep (1 = keep the scratch dir).
# Sets broker_bin, bench_bin, nsport, bport, ns, scratch, broker_pid and the
# EXIT/INT/TERM traps. NSPORT / BPORT override the ports (29876 / 30911).

broker_bin="$build/mqbroker"
bench_bin="$build/mqbench"
for b in "$broker_bin" "$bench_bin"; do
  [ -x "$b" ] || { echo "$me: $b not built (cmake --build $build --target mqbroker mqbench)" >&2; exit 1; }
done
nsport=${NSPORT:-29876}
bport=${BPORT:-30911}
ns="127.0.0.1:$nsport"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/tern-bench.XXXXXX")
broker_pid=""

log() { echo "${me%.sh}: $*" >&2; }

# stop_broker: SIGTERM, then SIGKILL after 10 s.
stop_broker() {
  [ -n "$broker_pid" ] || return 0
  if kill -0 "$broker_pid" 2>/dev/null; then
    kill -TERM "$broker_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$broker_pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$broker_pid" 2>/dev/null; then
      log "broker $broker_pid ignored SIGTERM for 10 s; SIGKILL"
      kill -KILL "$broker_pid" 2>/dev/null || true
    fi
  fi
  wait "$broker_pid" 2>/dev/null || true
  broker_pid=""
}

cleanup() {
  stop_broker
  if [ "$keep" = 1 ]; then log "scratch kept in $scratch"; else rm -rf "$scratch"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

for p in "$nsport" "$bport"; do
  if port_open "$p"; then
    echo "$me: port $p is already in use; set NSPORT/BPORT" >&2
    exit 1
  fi
done

# write_conf DIR FLUSH: a broker.conf for a standalone broker storing in DIR.
write_conf() {
  mkdir -p "$1/store"
  cat >"$1/broker.conf" <<EOF2
brokerClusterName=BenchCluster
brokerName=bench-a
brokerId=0
listenPort=$bport
brokerIP1=127.0.0.1
namesrvPort=$nsport
namesrvAddr=$ns
standalone=true
storePathRootDir=$1/store
flushDiskType=$2
vipChannelEnable=false
autoCreateTopicEnable=true
autoCreateSubscriptionGroup=true
defaultTopicQueueNums=8
EOF2
  # Extra KEY=VALUE lines (run_core.sh --set), later keys win.
  if [ -n "${extra_conf:-}" ]; then printf '%s\n' "$extra_conf" >>"$1/broker.conf"; fi
}

# start_broker NAME FLUSH: fresh store in $scratch/NAME, waits until both
# ports accept.
start_broker() {
  local dir="$scratch/$1"
  write_conf "$dir" "$2"
  "$broker_bin" --standalone -c "$dir/broker.conf" >"$dir/broker.log" 2>&1 &
  broker_pid=$!
  for _ in $(seq 1 300); do
    if port_open "$bport" && port_open "$nsport"; then return 0; fi
    kill -0 "$broker_pid" 2>/dev/null || { log "broker exited; log:"; tail -20 "$dir/broker.log" >&2; exit 1; }
    sleep 0.1
  done
  log "broker not serving after 30 s"; tail -20 "$dir/broker.log" >&2
  exit 1
}

# field KEY LINE: the value of KEY=... in a SUMMARY line.
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
