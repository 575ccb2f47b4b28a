#!/usr/bin/env bash
# Install the system libraries Dedalus builds against (FFTW, Open MPI) when they are missing.
# Usage: scripts/system-deps.sh PKG... ; installs with apt as root, otherwise stops with one clear message.
set -euo pipefail
missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "gapbench set-up: missing system packages: ${missing[*]}" >&2
  echo "Install them as root, then re-run:  sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "gapbench set-up: installing ${missing[*]} with apt-get"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q "${missing[@]}" >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; }
