#!/usr/bin/env bash
# acl.sh BUILD_DIR: a broker with aclEnable=true (tests/integration/acl_client.c):
# unsigned, unknown-key and non-admin admin requests are refused with
# NO_PERMISSION; the admin account creates a topic; libons with AccessKey and
# SecretKey sends and consumes; a wrong secret gets NO_PERMISSION and stores
# nothing. Also: aclEnable=true without a usable credentials file refuses to
# start.
set -euo pipefail
BUILD=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
BIN=$BUILD/mqbroker
AC=$BUILD/acl_client
[ -x "$BIN" ] && [ -x "$AC" ] || { echo "acl: build $BIN and $AC first" >&2; exit 1; }

dir=$(mktemp -d)
bpid=
cleanup() { [ -n "$bpid" ] && kill -9 "$bpid" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT

cat >"$dir/acl.txt" <<'ACCOUNTS'
# accessKey secretKey [admin]
appKey   appSecret-123
opsKey   opsSecret-456 admin
ACCOUNTS

# A broken credentials file: the broker must not start.
bp=$(free_port)
np=$(free_port)
echo "appKey" >"$dir/bad.txt"
write_conf "$dir/bad.conf" "$dir/store-bad" "$bp" "$np" ASYNC_FLUSH \
  "aclEnable=true" "aclCredentialsFile=$dir/bad.txt" "vipChannelEnable=false"
if "$BIN" --standalone -c "$dir/bad.conf" 2>"$dir/bad.log"; then
  echo "acl: broker started with a malformed credentials file" >&2
  exit 1
fi
grep -q "line 1" "$dir/bad.log" || { cat "$dir/bad.log" >&2; exit 1; }

bp=$(free_port)
np=$(free_port)
write_conf "$dir/broker.conf" "$dir/store" "$bp" "$np" ASYNC_FLUSH \
  "aclEnable=true" "aclCredentialsFile=$dir/acl.txt" "vipChannelEnable=false"
"$BIN" --standalone -c "$dir/broker.conf" 2>"$dir/broker.log" &
bpid=$!
wait_port "$bp" 10
if ! "$AC" check -n "127.0.0.1:$np" -b "127.0.0.1:$bp" -u appKey:appSecret-123 \
  -a opsKey:opsSecret-456; then
  tail -20 "$dir/broker.log"
  exit 1
fi
kill -TERM "$bpid"
wait "$bpid" 2>/dev/null || true
bpid=
if grep -q "Sanitizer" "$dir/broker.log"; then
  grep -A30 "Sanitizer" "$dir/broker.log" >&2
  exit 1
fi
echo "acl: passed"
