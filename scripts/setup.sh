#!/usr/bin/env bash
# Installs what ScanHive needs on a fresh Debian/Ubuntu machine: system packages (ClamAV's clamd,
# libmagic, libarchive, unrar/7z) and a virtual environment in .venv with ScanHive in it.
# Pass --test to also install the test dependencies. Safe to run again: it skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

SYSTEM_PACKAGES=(clamav-daemon clamdscan libmagic1 libarchive13 p7zip-full unrar-free openssl)
[ "${1:-}" = "--test" ] && SYSTEM_PACKAGES+=(arj)  # the tests make ARJ archives with it
missing=()
for package in "${SYSTEM_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
extras=""; [ "${1:-}" = "--test" ] && extras="[test]"
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e ".${extras}"
