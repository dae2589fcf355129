#!/usr/bin/env bash
# Checks that C sources match .clang-format (clang-format 14).
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files 'src/*.c' 'src/*.h' 'bench/*.c' 'tools/*.c' 'tests/*.c' 'tests/*.h' 'include/*.h' 'examples/*.c' 'examples/*.h' 2>/dev/null || true)
[ -z "$files" ] && { echo "format: no files"; exit 0; }
if clang-format --dry-run --Werror $files 2>/tmp/tern-format.$$; then
  echo "format ok"
  rm -f /tmp/tern-format.$$
else
  head -40 /tmp/tern-format.$$
  rm -f /tmp/tern-format.$$
  echo "format check failed: run 'clang-format -i' on the files above"
  exit 1
fi
