#!/usr/bin/env bash
# examples.sh BUILD_DIR: runs every SDK example (examples/*.c) against a real
# standalone broker on free loopback ports. Each example exits non-zero when
# it fails; the topic is created first with mqbench (the SDK never creates
# topics).
set -euo pipefail
BUILD=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
BIN=$BUILD/mqbroker
[ -x "$BIN" ] && [ -x "$BUILD/mqbench" ] || { echo "examples: build $BIN and mqbench first" >&2; exit 1; }

start_standalone "$BIN"
"$BUILD/mqbench" produce -n "$ns" -t TopicExample -q 4 --create -b "127.0.0.1:$bp" \
  -w 1 --count 1 -d 10 >"$dir/create.log" 2>&1 || { cat "$dir/create.log"; exit 1; }

failed=0
for ex in producer order_producer transaction_producer consumer order_consumer batch_consumer; do
  if timeout 60 "$BUILD/example_$ex" "$ns" TopicExample >"$dir/$ex.log" 2>&1; then
    echo "examples: $ex ok"
  else
    echo "examples: $ex FAILED" >&2
    cat "$dir/$ex.log" >&2
    failed=1
  fi
done
kill -TERM "$bpid"
wait "$bpid" 2>/dev/null || true
bpid=
[ "$failed" = 0 ] || exit 1
echo "examples: passed"
