#!/usr/bin/env bash
# Fails when a banned C function is called (see STYLE.md, "Unsafe calls").
# Comment lines are skipped, so documentation may still name them.
set -euo pipefail
cd "$(dirname "$0")/.."
pattern='\b(sprintf|vsprintf|strcpy|strcat|atoi|atol|strtok|gets)[[:space:]]*\('
hits=$(git ls-files --cached --others --exclude-standard -- '*.c' '*.h' |
  xargs -r grep -nE "$pattern" | grep -vE '^[^:]+:[0-9]+:[[:space:]]*(\*|/\*|//)' || true)
if [ -n "$hits" ]; then
  printf '%s\n' "$hits"
  echo "banned: use snprintf, the ward_buf type and ward_parse_* instead" >&2
  exit 1
fi
echo "banned: no banned calls"
