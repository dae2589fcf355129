#!/usr/bin/env bash
# tls.sh BUILD_DIR: TLS on the broker port (and the embedded name server) with
# a throwaway self-signed certificate made by the openssl CLI.
# 1. tls.server.certPath/keyPath set, tlsMode unset = permissive: a plain
#    libons client and a TLS one (tls.enable=true) both send and consume.
# 2. tlsMode=enforcing (with aclEnable=true as well): the TLS client works,
#    a plain request gets no answer (the connection is closed).
# 3. A key that does not match the certificate: the broker refuses to start.
set -euo pipefail
BUILD=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
BIN=$BUILD/mqbroker
AC=$BUILD/acl_client
[ -x "$BIN" ] && [ -x "$AC" ] || { echo "tls: build $BIN and $AC first" >&2; exit 1; }
command -v openssl >/dev/null || { echo "tls: the openssl CLI is missing (scripts/deps.sh)" >&2; exit 1; }

dir=$(mktemp -d)
bpid=
cleanup() { [ -n "$bpid" ] && kill -9 "$bpid" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=localhost" \
  -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=other" \
  -keyout "$dir/other-key.pem" -out "$dir/other-cert.pem" 2>/dev/null
printf 'appKey appSecret\nopsKey opsSecret admin\n' >"$dir/acl.txt"
creds=(-u appKey:appSecret -a opsKey:opsSecret)

start() { # start CONF LOG PORT
  "$BIN" --standalone -c "$1" 2>"$2" &
  bpid=$!
  wait_port "$3" 10
}
stop() { # stop LOG: clean shutdown, and no sanitizer report in LOG
  kill -TERM "$bpid"
  wait "$bpid" 2>/dev/null || true
  bpid=
  if grep -q "Sanitizer" "$1"; then
    grep -A30 "Sanitizer" "$1" >&2
    return 1
  fi
}

# 1. permissive (the default once a certificate is configured)
bp=$(free_port)
np=$(free_port)
write_conf "$dir/p.conf" "$dir/store-p" "$bp" "$np" ASYNC_FLUSH "vipChannelEnable=false" \
  "tls.server.certPath=$dir/cert.pem" "tls.server.keyPath=$dir/key.pem"
start "$dir/p.conf" "$dir/p.log" "$bp"
grep -q "tls=permissive" "$dir/p.log" || { cat "$dir/p.log" >&2; exit 1; }
ok=1
"$AC" roundtrip -n "127.0.0.1:$np" -b "127.0.0.1:$bp" "${creds[@]}" || ok=0
"$AC" roundtrip -n "127.0.0.1:$np" -b "127.0.0.1:$bp" "${creds[@]}" -T || ok=0
# The port really speaks TLS: a handshake with the openssl CLI shows our certificate.
echo | openssl s_client -connect "127.0.0.1:$bp" 2>/dev/null | grep -q "CN *= *localhost" || {
  echo "tls: no TLS handshake on the permissive port" >&2; ok=0; }
stop "$dir/p.log" || ok=0
[ $ok -eq 1 ] || { tail -20 "$dir/p.log"; exit 1; }

# 2. enforcing, with ACL
bp=$(free_port)
np=$(free_port)
write_conf "$dir/e.conf" "$dir/store-e" "$bp" "$np" ASYNC_FLUSH "vipChannelEnable=false" \
  "tlsMode=enforcing" "tls.server.certPath=$dir/cert.pem" "tls.server.keyPath=$dir/key.pem" \
  "aclEnable=true" "aclCredentialsFile=$dir/acl.txt"
start "$dir/e.conf" "$dir/e.log" "$bp"
ok=1
"$AC" roundtrip -n "127.0.0.1:$np" -b "127.0.0.1:$bp" "${creds[@]}" -T || ok=0
"$AC" refused -b "127.0.0.1:$bp" || ok=0
"$AC" refused -b "127.0.0.1:$np" || ok=0
stop "$dir/e.log" || ok=0
[ $ok -eq 1 ] || { tail -20 "$dir/e.log"; exit 1; }

# 3. a key that does not belong to the certificate
write_conf "$dir/bad.conf" "$dir/store-bad" "$(free_port)" "$(free_port)" ASYNC_FLUSH \
  "tls.server.certPath=$dir/cert.pem" "tls.server.keyPath=$dir/other-key.pem"
if "$BIN" --standalone -c "$dir/bad.conf" 2>"$dir/bad.log"; then
  echo "tls: broker started with a mismatched key" >&2
  exit 1
fi
grep -qE "private key|does not match" "$dir/bad.log" || { cat "$dir/bad.log" >&2; exit 1; }
echo "tls: passed"
