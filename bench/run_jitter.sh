#!/usr/bin/env bash
# bench/run_jitter.sh: builds bench/jitter.c in a scratch directory and runs
# it: ROUNDS times how late this machine wakes a thread sleeping to absolute
# deadlines PERIOD_US apart, then the cost of one thread waking another
# (back to back, and after the other's CPU sat idle 50 us and 500 us). These
# bound any latency measured here (docs/design/bench.md). Run it on an idle
# machine for the machine's own figures.
# Usage: bench/run_jitter.sh [PERIOD_US] [SECONDS] [ROUNDS]   (default 50, 8, 3)
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
gcc -O2 -Wall -Wextra -Werror -pthread -o "$scratch/jitter" bench/jitter.c
echo "Linux $(uname -r), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for _ in $(seq "${3:-3}"); do
  "$scratch/jitter" "${1:-50}" "${2:-8}"
done
for gap in 0 50 500; do
  "$scratch/jitter" pingpong 2 "$gap"
done
