#!/usr/bin/env bash
# Install the Debian packages cymbalism's tests need, only those that are missing.
set -euo pipefail
need=()
for pkg in ${CYMBALISM_DEBS:-libportaudio2 libsndfile1 jackd2 postgresql chromium}; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing system packages: ${need[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
