#!/usr/bin/env bash
# Runs every test suite against an ASan+UBSan build with -Werror:
# static checks (format, banned functions), unit tests (cmocka), fuzz corpus
# replays, the dashboard's unit tests (node), integration tests (pytest,
# real binaries on loopback), then the browser test (the dashboard in
# headless chromium against a real server and agents).
set -euo pipefail
cd "$(dirname "$0")/.."

build=${1:-build-test}
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" -Dtests=enabled -Db_sanitize=address,undefined -Dwerror=true -Dbuildtype=debug
fi

echo "== static checks"
scripts/check-format.sh
scripts/check-banned.sh

echo "== build ($build, ASan+UBSan, -Wall -Wextra -Werror)"
ninja -C "$build"

# gcc warns about more once it optimises (maybe-uninitialized, format
# truncation), and not the same at -O2 as at -O3: build as make run does
# (meson's default, -O2 -g) and as make bench does (release, -O3).
for opt in debugoptimized release; do
  echo "== build ($build-$opt, $opt, -Werror)"
  if [ ! -f "$build-$opt/build.ninja" ]; then
    meson setup "$build-$opt" -Dtests=disabled -Dwerror=true -Dbuildtype=$opt
  fi
  ninja -C "$build-$opt"
done

echo "== unit tests and fuzz corpus replays"
meson test -C "$build" --suite unit --suite fuzz --print-errorlogs --num-processes 2

echo "== dashboard unit tests (node)"
(cd web && npm test --silent)

echo "== integration tests"
export WARD_BUILD="$PWD/$build"
/usr/bin/python3 -m pytest -q tests/integration

echo "== browser tests (playwright-core, Debian's chromium)"
node tests/e2e/dashboard.test.mjs --build "$build" --artifacts "$build/e2e-artifacts"
