#!/usr/bin/env bash
# bench/run_memtouch.sh: builds bench/memtouch.c in a scratch directory and
# runs it: the cost of fresh memory on this machine (4 KiB and huge pages;
# cold, reused at once, reused after a pause), and the guest's free page
# reporting settings that decide whether freed memory stays warm. (The peers'
# physical/membench.c measures only the cold 4 KiB case.)
# Usage: bench/run_memtouch.sh [MIB] [PAUSE_MS]   (default 2048 MiB, 3000 ms)
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
gcc -O2 -Wall -Wextra -Werror -o "$scratch/memtouch" bench/memtouch.c
echo "Linux $(uname -r), $(nproc) CPUs, MemFree $(awk '$1 == "MemFree:" {print $2}' /proc/meminfo) kB"
for f in page_reporting_order min_free_ms; do
  p=/sys/module/page_reporting/parameters/$f
  [ -r "$p" ] && echo "page_reporting $f=$(cat "$p")"
done
if ls /sys/bus/virtio/drivers/virtio_balloon/virtio* >/dev/null 2>&1; then
  echo "virtio_balloon present (free page reporting is its feature bit 5)"
fi
"$scratch/memtouch" "${1:-2048}" "${2:-3000}"
