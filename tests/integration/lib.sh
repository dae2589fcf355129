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
