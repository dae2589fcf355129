#!/usr/bin/env bash
# Installs the Debian packages Tern needs to build and test, only if missing.
# Idempotent; safe to run on every invocation of scripts/run.sh and scripts/test.sh.
# `scripts/deps.sh --test` also installs clang (scripts/test.sh compiles every file
# with it too, tools/check_clang.sh); `--fuzz` clang and its runtime for the
# libFuzzer builds.
set -euo pipefail
PKGS=(zlib1g-dev libdeflate-dev clang-format libmicrohttpd-dev libsqlite3-dev libssl-dev curl openssl)
case "${1:-}" in
  --test) PKGS+=(clang) ;;
  --fuzz) PKGS+=(clang libclang-rt-14-dev) ;;
esac
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
