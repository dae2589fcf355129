#!/usr/bin/env bash
# tools/check_clang.sh [BUILD_DIR]: compiles every C file of BUILD_DIR's
# compile_commands.json (default: build) once more with clang, -fsyntax-only,
# with the same flags (-Wall -Wextra -Werror ...). The test build uses gcc; the
# fuzzing build (README) uses clang, whose warnings differ
# (-Wstring-concatenation broke it once). Syntax only: no second full build.
# scripts/deps.sh --test installs clang.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
db="$build/compile_commands.json"
if [ ! -f "$db" ]; then
  echo "check_clang: $db missing (configure $build with cmake first)" >&2
  exit 2
fi
if ! command -v clang >/dev/null; then
  echo "check_clang: clang is not installed (bash scripts/deps.sh --test)" >&2
  exit 2
fi
jobs=$(nproc 2>/dev/null || echo 2)
node - "$db" "$jobs" <<'EOF'
// Each entry's command with its compiler replaced by clang, its "-o FILE"
// dropped and -fsyntax-only added, run through the shell in the entry's
// directory (the commands are shell-quoted by CMake), a few at a time.
const fs = require("fs");
const { exec } = require("child_process");
const db = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const jobs = Math.max(1, Number(process.argv[3]) || 2);
const cmds = db
  .filter((e) => /\.c$/.test(e.file))
  .map((e) => ({
    file: e.file,
    dir: e.directory,
    cmd: e.command.replace(/^\S+/, "clang").replace(/ -o \S+/, "") + " -fsyntax-only",
  }));
let next = 0, running = 0, failed = 0;
function start() {
  while (running < jobs && next < cmds.length) {
    const c = cmds[next++];
    running++;
    exec(c.cmd, { cwd: c.dir, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      running--;
      if (err) {
        failed++;
        process.stderr.write(`check_clang: ${c.file}\n${stderr}${stdout}`);
      }
      if (next < cmds.length) start();
      else if (running === 0) finish();
    });
  }
}
function finish() {
  if (failed) {
    console.error(`check_clang: ${failed} of ${cmds.length} files fail under clang`);
    process.exit(1);
  }
  console.log(`clang ok (${cmds.length} files)`);
}
if (cmds.length === 0) {
  console.error("check_clang: no C files in the compilation database");
  process.exit(2);
}
start();
EOF
