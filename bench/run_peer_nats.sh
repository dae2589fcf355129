#!/usr/bin/env bash
# run_peer_nats.sh [COUNT] [REPS]: runs the NATS JetStream peer measurement of
# ../shared/peers/nats (next to the project root) on loopback, installing the
# Debian packages it needs (nats-server, libnats-dev) if missing, so a
# benchmark session can put Tern and NATS side by side in one run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
peer="$root/../shared/peers/nats/run.sh"
[ -f "$peer" ] || { echo "run_peer_nats: $peer not found" >&2; exit 1; }
missing=()
for p in nats-server libnats-dev pkg-config; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
bash "$peer" "${1:-1000000}" "${2:-1}"
