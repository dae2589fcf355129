#!/usr/bin/env bash
# proto_client.sh BUILD_DIR: protocol-level checks against a real broker
# (tests/integration/proto_client.c): transactions with check-back, queue
# locks between two clients (short lease), topic message types; then
# transactions across kill -9: TXN_COUNT (default 2000) half messages, a
# quarter resolved before the kill, the broker killed and restarted, and every
# one checked back and resolved exactly as the producer answers.
set -euo pipefail
BUILD=${1:-build}
COUNT=${TXN_COUNT:-2000}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
BIN=$BUILD/mqbroker
PC=$BUILD/proto_client
[ -x "$BIN" ] && [ -x "$PC" ] || { echo "proto_client: build $BIN and $PC first" >&2; exit 1; }

dir=$(mktemp -d)
bp=$(free_port)
np=$(free_port)
write_conf "$dir/broker.conf" "$dir/store" "$bp" "$np" ASYNC_FLUSH \
  "transactionCheckInterval=1000" "transactionTimeOut=1000" "lockLeaseMs=2000" \
  "mappedFileSizeCommitLog=67108864"
bpid=
cleanup() { [ -n "$bpid" ] && kill -9 "$bpid" 2>/dev/null || true; }
trap cleanup EXIT

"$BIN" --standalone -c "$dir/broker.conf" 2>"$dir/broker1.log" &
bpid=$!
wait_port "$bp" 10
"$PC" basic -b "127.0.0.1:$bp"

resolved=$((COUNT / 4))
"$PC" produce -b "127.0.0.1:$bp" -n "$COUNT" -r "$resolved"
kill -9 "$bpid"
wait "$bpid" 2>/dev/null || true
"$BIN" --standalone -c "$dir/broker.conf" 2>"$dir/broker2.log" &
bpid=$!
wait_port "$bp" 30
if ! "$PC" resolve -b "127.0.0.1:$bp" -n "$COUNT" -r "$resolved" -w 120; then
  tail -20 "$dir/broker2.log"
  exit 1
fi
kill -TERM "$bpid"
wait "$bpid" 2>/dev/null || true
bpid=
rm -rf "$dir"
echo "proto_client: passed"
