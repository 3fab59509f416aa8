#!/usr/bin/env bash
# Checks (or with --fix, applies) clang-format on every C file of the project.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files --cached --others --exclude-standard -- '*.c' '*.h')
[ ${#files[@]} -gt 0 ] || exit 0
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${files[@]}"
  exit 0
fi
if ! clang-format --dry-run --Werror "${files[@]}"; then
  echo "format: run 'make fmt' to fix the files above" >&2
  exit 1
fi
echo "format: ${#files[@]} files clean"
