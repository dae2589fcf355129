#!/usr/bin/env bash
# bad_input.sh BUILD_DIR: runs tests/integration/badinput.c against a real
# standalone broker, then checks the broker process is still alive.
set -euo pipefail
BUILD=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
dir=$(mktemp -d)
bp=$(free_port)
np=$(free_port)
write_conf "$dir/broker.conf" "$dir/store" "$bp" "$np" ASYNC_FLUSH "mappedFileSizeCommitLog=16777216"
"$BUILD/mqbroker" --standalone -c "$dir/broker.conf" 2>"$dir/broker.log" &
bpid=$!
trap 'kill -9 $bpid 2>/dev/null || true; rm -rf "$dir"' EXIT
wait_port "$bp" 10
rc=0
"$BUILD/badinput" -b "127.0.0.1:$bp" || rc=$?
if ! kill -0 "$bpid" 2>/dev/null; then
  echo "bad_input: the broker died"; tail -20 "$dir/broker.log"; exit 1
fi
kill -TERM "$bpid"
wait "$bpid" || { echo "bad_input: broker exit status $?"; rc=1; }
[ $rc -eq 0 ] || tail -20 "$dir/broker.log"
exit $rc
