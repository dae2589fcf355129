#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: unit tests and corpus
# replays (release and ASan+UBSan builds), integration tests with real broker
# processes, the ali-ons compatibility suite, and the layer/format/clang checks.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh --test

echo "== checks"
bash tools/check_layers.sh
bash tools/check_format.sh

echo "== release build"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
(cd build && ctest --output-on-failure -j2)

echo "== clang warnings (every file, syntax only)"
bash tools/check_clang.sh build

echo "== asan+ubsan build"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DTERN_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$(nproc)"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j2)

if [ -d tests/integration ] && ls tests/integration/*.sh >/dev/null 2>&1; then
  echo "== integration"
  for t in tests/integration/*.sh; do
    [ "$(basename "$t")" = lib.sh ] && continue
    echo "-- $t"
    bash "$t" build
  done
fi

# ali-ons (npm) is used by the compat suite and by the Open API end-to-end test.
if [ -f tests/compat/package.json ]; then
  (cd tests/compat && npm ci --no-audit --no-fund --loglevel=error)
fi

if [ -x build/tern-console ]; then
  echo "== openapi (tern-console against a real broker)"
  bash tests/openapi/curl_example.sh build
  bash tests/openapi/embedded.sh build
  node --test --test-concurrency=1 tests/openapi/
fi

if [ -f tests/compat/package.json ]; then
  echo "== compat (ali-ons)"
  (cd tests/compat && node --test --test-concurrency=1 .)
fi
echo "== all tests passed"
