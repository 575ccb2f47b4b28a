#!/usr/bin/env bash
# Install the Debian packages of a single-node SLURM cluster (Slurm controller, node daemon, client tools, munge).
# Idempotent: does nothing when they are installed. Needs root (apt); otherwise stops with one clear message.
# Usage: scripts/slurm-install.sh        then: scripts/slurm-up.sh   (starts the daemons, see docs/cluster.md)
set -euo pipefail
packages=(slurmctld slurmd slurm-client munge)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "slurm-install: missing packages: ${missing[*]}; install them as root: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "slurm-install: installing ${missing[*]} with apt-get"
export DEBIAN_FRONTEND=noninteractive
# Package scripts try to start services through systemd/invoke-rc.d; there is no init system here.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; own_policy=1; fi
trap '[ "$own_policy" -eq 1 ] && rm -f "$policy"' EXIT
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
  || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }
echo "slurm-install: done ($(dpkg-query -W -f='${Version}' slurmctld))"
