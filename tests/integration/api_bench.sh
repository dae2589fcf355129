#!/usr/bin/env bash
# api_bench.sh BUILD_DIR: a short `mqbench api` run (20 clients, 3 s) against
# a real standalone broker with its console on free loopback ports. The
# SUMMARY must show requests and no error on every endpoint. Keeps the tool
# from rotting; it measures nothing.
set -euo pipefail
BUILD=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
BIN=$BUILD/mqbroker
MQB=$BUILD/mqbench
[ -x "$BIN" ] && [ -x "$MQB" ] || { echo "api_bench: build $BIN and $MQB first" >&2; exit 1; }
hp=$(free_port)
start_standalone "$BIN" "openApiPort=$hp" "openApiBindAddress=127.0.0.1" \
  "openApiAccessKey=SmokeAK" "openApiSecretKey=SmokeSK"
wait_port "$hp" 10
out="$dir/api.log"
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
ok=1
timeout 120 "$MQB" api --url "127.0.0.1:$hp" --ak SmokeAK --sk SmokeSK -c 20 -d 3 --warmup 0.5 \
  >"$out" 2>&1 || ok=0
s=$(grep '^SUMMARY' "$out" || true)
n=$(field reqs "$s")
[ -n "$n" ] && [ "$n" -gt 0 ] 2>/dev/null || ok=0
[ "$(field errors "$s")" = 0 ] || ok=0
[ "$(grep -c '^ENDPOINT .* errors=0 ' "$out")" = 6 ] || ok=0
# A wrong secret: every request is refused, and the tool says so.
if "$MQB" api --url "127.0.0.1:$hp" --ak SmokeAK --sk wrong -c 2 -d 0.5 --warmup 0 \
  --instance MQ_INST_x --topic T --endpoints region/list >"$dir/bad.log" 2>&1; then
  echo "api_bench: a wrong secret passed" >&2
  ok=0
fi
[ "$(field api_errors "$(grep '^SUMMARY' "$dir/bad.log")")" -gt 0 ] 2>/dev/null || ok=0
kill -TERM "$bpid" 2>/dev/null || true
wait "$bpid" 2>/dev/null || true
bpid=
if [ "$ok" = 1 ]; then
  echo "api_bench: passed ($s)"
else
  echo "api_bench: FAILED" >&2
  cat "$out" "$dir/bad.log" >&2
  tail -20 "$dir/broker.log" >&2
  exit 1
fi
