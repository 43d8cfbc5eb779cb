#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Install the Debian 12 packages hookstream builds, runs and tests with.
# Does nothing when they are all present; needs root (or sudo) otherwise.
set -euo pipefail

pkgs=(build-essential pkg-config meson ninja-build
      libevent-dev libjansson-dev libhiredis-dev libssl-dev zlib1g-dev libcmocka-dev
      redis-server redis-tools curl clang clang-format libclang-rt-14-dev
      python3-pytest python3-redis python3-requests python3-cryptography prometheus)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q >&2
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
