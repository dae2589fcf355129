#!/usr/bin/env bash
# Fails when a source file includes a layer it may not (STYLE.md §2):
#   protocol -> common; remoting, store -> protocol, common;
#   client, namesrv -> remoting, protocol, common;
#   broker -> store, remoting, protocol, common; console -> client, protocol, common;
#   openapi -> client, remoting, protocol, common; app (process entry points) -> all.
set -euo pipefail
cd "$(dirname "$0")/.."
declare -A allowed=(
  [common]="common"
  [protocol]="protocol common"
  [remoting]="remoting protocol common"
  [store]="store protocol common"
  [client]="client remoting protocol common"
  [namesrv]="namesrv remoting protocol common"
  [broker]="broker store remoting protocol common namesrv"
  [console]="console client protocol common"
  [openapi]="openapi client remoting protocol common"
  [app]="app broker namesrv openapi store client remoting protocol common"
)
bad=0
for mod in "${!allowed[@]}"; do
  [ -d "src/$mod" ] || continue
  while IFS= read -r line; do
    file=${line%%:*}
    inc=$(sed -E 's/.*#include "([a-z_]+)\/.*/\1/' <<<"$line")
    if ! grep -qw "$inc" <<<"${allowed[$mod]}"; then
      echo "layer violation: $file includes $inc/ (allowed: ${allowed[$mod]})"
      bad=1
    fi
  done < <(grep -HE '^#include "[a-z_]+/' src/"$mod"/*.[ch] 2>/dev/null || true)
done
[ $bad -eq 0 ] && echo "layers ok"
exit $bad
