#!/usr/bin/env bash
# curl_example.sh: the guide's own curl example (spec/open-api.md §2.6) works
# verbatim against a local console, and a request signed from the shell with
# openssl + curl (docs/open-api.md) is accepted. Real broker + tern-console.
# Usage: bash tests/openapi/curl_example.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
source tests/integration/lib.sh

T=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT
BP=$(free_port)
NP=$(free_port)
HP=$(free_port)
write_conf "$T/broker.conf" "$T/store" "$BP" "$NP" ASYNC_FLUSH \
  "openApiEnable=false" "openApiPort=$HP" "openApiDbPath=$T/openapi.db" \
  "openApiAccessKey=ACCESSKEY_XXX" "openApiSecretKey=SECRETKET_XXX"
"$BUILD/mqbroker" --standalone -c "$T/broker.conf" >"$T/broker.log" 2>&1 &
PIDS+=($!)
wait_port "$BP"
"$BUILD/tern-console" -c "$T/broker.conf" >"$T/console.log" 2>&1 &
PIDS+=($!)
wait_port "$HP"

# sign STRING-TO-SIGN: the §2.4 one-liner, then URL-encoded (§2.5).
sign() {
  echo -n "$1" | openssl dgst -hmac 'SECRETKET_XXX' -sha1 -binary | base64 |
    sed 's/+/%2B/g; s/\//%2F/g; s/=/%3D/g'
}
expect_success() {
  if ! grep -q '"success":true' <<<"$1"; then
    echo "FAIL: $2: $1" >&2
    exit 1
  fi
  echo "ok - $2"
}

# The guide's topic has no instanceId: the account needs its instance without
# a namespace first, created with a request signed in the shell.
NOW=$(date +%s%3N)
S=$(sign "${NOW}ACCESSKEY_XXXmq-privateDefaultClusterfalsedefault-instance10001000")
R=$(curl -s "http://127.0.0.1:$HP/json/instance/create?_accesskey=ACCESSKEY_XXX&__preventCache=$NOW&_regionId=mq-private&cluster=DefaultCluster&independentNaming=false&instanceName=default-instance&maxReceiveTps=1000&maxSendTps=1000&_signature=$S")
expect_success "$R" "instance/create signed with openssl"

# The example of §2.6 verbatim (host mapped to the local console), with the
# spec's test-vector signature, once with the guide's doubled slash too.
R=$(curl -s --resolve "mq.console.example.com:$HP:127.0.0.1" "http://mq.console.example.com:$HP/json/topic/create?_accesskey=ACCESSKEY_XXX&__preventCache=1498029701000&_platform=onsConsole&_regionId=mq-private&topic=TOPIC_XXX&_signature=cihuNT3WWvjutsHSkQ1MSYXst7c%3D")
expect_success "$R" "guide example topic/create"
test "$(sign '1498029701000ACCESSKEY_XXXonsConsolemq-privateTOPIC_XXX')" = 'cihuNT3WWvjutsHSkQ1MSYXst7c%3D'
echo "ok - openssl reproduces the test vector"
R=$(curl -s "http://127.0.0.1:$HP//json/topic/get?_accesskey=ACCESSKEY_XXX&__preventCache=1498029701000&_platform=onsConsole&_regionId=mq-private&topic=TOPIC_XXX&_signature=cihuNT3WWvjutsHSkQ1MSYXst7c%3D")
expect_success "$R" "doubled slash, same signed parameters on topic/get"
grep -q '"orderType":0' <<<"$R" || { echo "FAIL: orderType default: $R" >&2; exit 1; }
"$BUILD/broker_probe" "127.0.0.1:$BP" topics | grep -q '"TOPIC_XXX"' || { echo "FAIL: broker lacks TOPIC_XXX" >&2; exit 1; }
echo "ok - the broker holds TOPIC_XXX"

# The same example with a broken signature changes nothing.
R=$(curl -s "http://127.0.0.1:$HP/json/topic/create?_accesskey=ACCESSKEY_XXX&__preventCache=1498029701000&_platform=onsConsole&_regionId=mq-private&topic=TOPIC_YYY&_signature=cihuNT3WWvjutsHSkQ1MSYXst7c%3D")
grep -q '"dynamicCode":"ONS_AUTH_FAILED"' <<<"$R" || { echo "FAIL: expected ONS_AUTH_FAILED: $R" >&2; exit 1; }
if "$BUILD/broker_probe" "127.0.0.1:$BP" topics | grep -q '"TOPIC_YYY"'; then
  echo "FAIL: a refused request created TOPIC_YYY" >&2
  exit 1
fi
echo "ok - a bad signature is refused and creates nothing"
# HTTPS (§2.1): a second console on the same database with a self-signed certificate.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" -days 1 \
  -subj /CN=localhost >/dev/null 2>&1
SP=$(free_port)
sed "s/^openApiPort=.*/openApiPort=$SP/" "$T/broker.conf" >"$T/tls.conf"
printf 'openApiTlsCertFile=%s\nopenApiTlsKeyFile=%s\n' "$T/cert.pem" "$T/key.pem" >>"$T/tls.conf"
"$BUILD/tern-console" -c "$T/tls.conf" >"$T/console-tls.log" 2>&1 &
PIDS+=($!)
wait_port "$SP"
NOW=$(date +%s%3N)
S=$(sign "${NOW}ACCESSKEY_XXX")
R=$(curl -sk "https://127.0.0.1:$SP/json/region/list?_accesskey=ACCESSKEY_XXX&__preventCache=$NOW&_signature=$S")
expect_success "$R" "HTTPS region/list"
echo "curl_example: all passed"
