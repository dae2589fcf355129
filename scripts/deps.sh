#!/usr/bin/env bash
# Installs the Debian packages Tern needs to build and test, only if missing.
# Idempotent; safe to run on every invocation of scripts/run.sh and scripts/test.sh.
# `scripts/deps.sh --fuzz` also installs clang for the libFuzzer builds.
set -euo pipefail
PKGS=(zlib1g-dev libssl-dev openssl clang-format)
if [ "${1:-}" = "--fuzz" ]; then
  PKGS+=(clang libclang-rt-14-dev)
fi
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
