#!/usr/bin/env bash
# Installs the Debian packages that ward needs and that are missing.
#
#   scripts/deps.sh build   building and running (make, make run)
#   scripts/deps.sh test    building, running and testing (make test)
#   scripts/deps.sh fuzz    the libFuzzer build (make fuzz)
#
# It is idempotent: it asks dpkg what is installed, prints what it will
# install, runs apt-get update only when something is missing, and uses sudo
# when not root.
set -euo pipefail

profile=${1:-build}

build_pkgs=(
  build-essential meson ninja-build pkg-config
  libmicrohttpd-dev libwslay-dev libcurl4-openssl-dev libdeflate-dev libssl-dev
  libsqlite3-dev libyaml-dev
)
# The dashboard's npm packages need npm (and Node.js); a machine that has
# them from elsewhere keeps its own.
if ! command -v npm >/dev/null 2>&1; then
  build_pkgs+=(nodejs npm)
fi
test_pkgs=(
  libcmocka-dev libjansson-dev clang-format
  python3 python3-pytest python3-requests python3-yaml prometheus
  prometheus-node-exporter victoria-metrics curl jq xxd openssl chromium
  iputils-ping
)
fuzz_pkgs=(clang libclang-rt-14-dev libjansson-dev)

case "$profile" in
  build) want=("${build_pkgs[@]}") ;;
  test) want=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
  fuzz) want=("${build_pkgs[@]}" "${fuzz_pkgs[@]}") ;;
  *) echo "usage: $0 build|test|fuzz" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  sudo=(sudo)
fi

echo "deps: installing missing Debian packages: ${missing[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
