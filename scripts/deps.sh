#!/usr/bin/env bash
# Installs the Debian packages Nebula builds and tests with. Idempotent: when everything
# is present it only runs dpkg-query and returns in well under a second.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  libpq-dev libmariadb-dev libcurl4-openssl-dev libssl-dev
  zlib1g-dev libzstd-dev liblz4-dev libbz2-dev liblzma-dev libsnappy-dev
  libyaml-dev libavro-dev libcmocka-dev libmicrohttpd-dev
  postgresql mariadb-server nodejs npm python3 zstd xz-utils bzip2 lz4 gzip curl time
)
[ "${1:-}" = "--print" ] && { printf '%s\n' "${PACKAGES[@]}"; exit 0; }

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node/npm may come from outside Debian on some machines: accept any working binaries.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=(); for p in "${missing[@]}"; do case "$p" in nodejs|npm) ;; *) filtered+=("$p");; esac; done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# Package servers must not start on install: tests start their own throwaway instances.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null; $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get update -qq || true
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
