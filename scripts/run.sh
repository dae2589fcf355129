#!/usr/bin/env bash
# Runs a standalone Tern broker: embedded name server on 9876, broker on 10911,
# Open API on 8080 (keys created in data/console/credentials.properties),
# data under ./data. Extra arguments go to mqbroker (e.g. -c broker.conf).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
mkdir -p data
exec ./build/mqbroker --standalone -c conf/broker.conf "$@"
