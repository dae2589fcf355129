#!/usr/bin/env bash
# embedded.sh: `mqbroker --standalone` serves the Open API itself. With no
# account in its config it creates one (random keys, mode 0600) under the
# store root on first start and keeps it across restarts; requests signed with
# those keys succeed, others are refused. Real broker process, openssl + curl.
# Usage: bash tests/openapi/embedded.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
source tests/integration/lib.sh

T=$(mktemp -d)
BPID=""
cleanup() {
  [ -n "$BPID" ] && kill "$BPID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT
BP=$(free_port)
NP=$(free_port)
HP=$(free_port)
write_conf "$T/broker.conf" "$T/store" "$BP" "$NP" ASYNC_FLUSH "openApiPort=$HP"
CRED="$T/store/console/credentials.properties"

start() {
  "$BUILD/mqbroker" --standalone -c "$T/broker.conf" >>"$T/broker.log" 2>&1 &
  BPID=$!
  wait_port "$BP"
  wait_port "$HP"
}
stop() {
  kill "$BPID"
  wait "$BPID"
  BPID=""
}
fail() {
  echo "FAIL: $*" >&2
  tail -20 "$T/broker.log" >&2
  exit 1
}
key() { sed -n "s/^$1=//p" "$CRED"; }

# region_list SECRET: GET /json/region/list signed with SECRET (spec §2.4).
region_list() {
  local now sig
  now=$(date +%s%3N)
  sig=$(echo -n "${now}$(key openApiAccessKey)" | openssl dgst -hmac "$1" -sha1 -binary | base64 |
    sed 's/+/%2B/g; s/\//%2F/g; s/=/%3D/g')
  curl -s "http://127.0.0.1:$HP/json/region/list?_accesskey=$(key openApiAccessKey)&__preventCache=$now&_signature=$sig"
}

start
[ -f "$CRED" ] || fail "no credentials file at first start"
[ "$(stat -c %a "$CRED")" = 600 ] || fail "credentials file mode $(stat -c %a "$CRED")"
grep -q "Open API account keys are in $CRED" "$T/broker.log" || fail "the log does not name the keys file"
R=$(region_list "$(key openApiSecretKey)")
grep -q '"success":true' <<<"$R" || fail "signed region/list: $R"
echo "ok - the first start creates keys (0600) and a request signed with them succeeds"
R=$(region_list wrong-secret)
grep -q '"dynamicCode":"ONS_AUTH_FAILED"' <<<"$R" || fail "wrong secret: $R"
echo "ok - a wrong secret is refused"
first=$(key openApiAccessKey)
stop
start
[ "$(key openApiAccessKey)" = "$first" ] || fail "keys changed across a restart"
R=$(region_list "$(key openApiSecretKey)")
grep -q '"success":true' <<<"$R" || fail "after restart: $R"
echo "ok - the keys survive a restart"
stop
sed -i '$a openApiEnable=false' "$T/broker.conf"
"$BUILD/mqbroker" --standalone -c "$T/broker.conf" >>"$T/broker.log" 2>&1 &
BPID=$!
wait_port "$BP"
if (exec 3<>"/dev/tcp/127.0.0.1/$HP") 2>/dev/null; then fail "openApiEnable=false still serves"; fi
echo "ok - openApiEnable=false serves no Open API"
echo "embedded: passed"
