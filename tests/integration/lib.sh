#!/usr/bin/env bash
# lib.sh: helpers for integration scripts that run real broker processes.
# Source it; needs $BUILD (the build directory).

# Prints a free TCP port on 127.0.0.1 (random in 20000-31999, below the
# ephemeral range, so an outgoing connection cannot hold it).
free_port() {
  local p
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 12000)) # below the ephemeral range (32768+)
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

# wait_port PORT [TIMEOUT_S]: waits until 127.0.0.1:PORT accepts connections.
wait_port() {
  local port=$1 deadline=$((SECONDS + ${2:-10}))
  while [ $SECONDS -lt $deadline ]; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      return 0
    fi
    sleep 0.02
  done
  echo "port $port did not open" >&2
  return 1
}

# write_conf FILE DIR BROKER_PORT NAMESRV_PORT FLUSH [EXTRA LINES...]
write_conf() {
  local f=$1 dir=$2 bp=$3 np=$4 flush=$5
  shift 5
  {
    echo "brokerClusterName=DefaultCluster"
    echo "brokerName=broker-it"
    echo "brokerId=0"
    echo "brokerIP1=127.0.0.1"
    echo "listenPort=$bp"
    echo "namesrvPort=$np"
    echo "namesrvAddr=127.0.0.1:$np"
    echo "storePathRootDir=$dir"
    echo "flushDiskType=$flush"
    echo "autoCreateTopicEnable=true"
    for line in "$@"; do echo "$line"; done
  } >"$f"
}

# start_standalone BIN [EXTRA CONF LINES...]: a standalone broker (ASYNC_FLUSH,
# 16 MiB segments) in a new temporary directory on free ports. Sets dir, bp,
# np, ns (name-server address) and bpid; the EXIT trap kills it and removes
# dir. Waits until both ports accept; its log is $dir/broker.log.
start_standalone() {
  local bin=$1
  shift
  dir=$(mktemp -d)
  bp=$(free_port)
  np=$(free_port)
  ns="127.0.0.1:$np"
  write_conf "$dir/broker.conf" "$dir/store" "$bp" "$np" ASYNC_FLUSH \
    "mappedFileSizeCommitLog=16777216" "$@"
  bpid=
  trap '[ -n "$bpid" ] && kill -9 "$bpid" 2>/dev/null; rm -rf "$dir"' EXIT
  "$bin" --standalone -c "$dir/broker.conf" 2>"$dir/broker.log" &
  bpid=$!
  wait_port "$bp" 10
  wait_port "$np" 10
}
