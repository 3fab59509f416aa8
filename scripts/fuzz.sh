#!/usr/bin/env bash
# Runs every libFuzzer target for a while, each on a copy of its corpus, so
# new inputs land in a scratch directory rather than in the repository.
# Usage: scripts/fuzz.sh BUILD_DIR [SECONDS_PER_TARGET]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-fuzz}
seconds=${2:-60}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for target in "$build"/tests/fuzz/fuzz-*; do
  # Skip meson's object directories (fuzz-NAME.p) next to the binaries.
  [ -f "$target" ] && [ -x "$target" ] || continue
  name=$(basename "$target")
  name=${name#fuzz-}
  mkdir -p "$scratch/$name"
  cp -r "tests/fuzz/corpus/$name/." "$scratch/$name/"
  echo "== fuzzing $name for ${seconds}s"
  "$target" -max_total_time="$seconds" -max_len=65536 "$scratch/$name"
done
