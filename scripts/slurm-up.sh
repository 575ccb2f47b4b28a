#!/usr/bin/env bash
# Start (or stop) a single-node SLURM cluster on this machine without systemd: munge, slurmctld, slurmd.
# Everything talks over 127.0.0.1 (the host name need not resolve). The node offers its real CPUs and memory
# and one fake GPU (gres on /dev/null) so `--gres=gpu:1` jobs schedule.
# Two partitions on the one node mirror a real cluster: `cpu` (default) and `gpu` (see profiles/slurm/config.yaml).
# Config goes to /etc/slurm/ (the Snakemake job step strips SLURM_CONF, so it must be the default place).
#
# Usage (as root, after scripts/slurm-install.sh):
#   scripts/slurm-up.sh          start; idempotent (returns at once when the node is already idle)
#   scripts/slurm-up.sh status   exit 0 when the node answers idle/mixed/allocated, else 1
#   scripts/slurm-up.sh stop     stop slurmd, slurmctld and munged started by this script
# Logs: /var/log/slurm/{slurmctld,slurmd}.log ; state: /var/spool/slurm/.
set -euo pipefail
action=${1:-start}
conf_dir=/etc/slurm
log_dir=/var/log/slurm
spool=/var/spool/slurm
run_dir=/run/slurm
host=$(hostname -s)

die() { echo "slurm-up: $*" >&2; exit 1; }

node_state() { timeout 5 sinfo -h -n "$host" -o %t 2>/dev/null | head -n1 | tr -d '*~#!%$@^-' || true; }

is_up() { case "$(node_state)" in idle|mix|alloc|comp) return 0 ;; *) return 1 ;; esac; }

stop_pidfile() {  # stop the daemon whose pid is in $1 (only that process), wait until it is gone
  local pidfile=$1 pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$pidfile"
}

write_config() {
  local node_line mem gpu_mem
  node_line=$(slurmd -C | head -n1)
  # Leave memory for the OS and the controller: the node advertises 90 % of what it has.
  mem=$(sed -E 's/.*RealMemory=([0-9]+).*/\1/' <<<"$node_line")
  node_line=$(sed -E "s/RealMemory=[0-9]+/RealMemory=$((mem * 9 / 10))/" <<<"$node_line")
  install -d -m 755 "$conf_dir" "$log_dir" "$run_dir" "$spool/ctld" "$spool/d"
  cat >"$conf_dir/slurm.conf.new" <<CONF
# Written by gapbench scripts/slurm-up.sh: a single-node test cluster (no systemd, no accounting database).
ClusterName=gapbench
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=256
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
# squeue is the status command without slurmdbd: keep finished jobs visible long enough (>= 3x status interval).
MinJobAge=300
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
MessageTimeout=10
SlurmdTimeout=300
SlurmctldPidFile=$run_dir/slurmctld.pid
SlurmdPidFile=$run_dir/slurmd.pid
StateSaveLocation=$spool/ctld
SlurmdSpoolDir=$spool/d
SlurmctldLogFile=$log_dir/slurmctld.log
SlurmdLogFile=$log_dir/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# Open MPI (Debian: built with PMIx) initialises under srun only through PMIx (Dedalus imports mpi4py).
MpiDefault=pmix
GresTypes=gpu
$node_line NodeAddr=127.0.0.1 Gres=gpu:1 State=UNKNOWN
PartitionName=cpu Nodes=$host Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$host Default=NO MaxTime=INFINITE State=UP
CONF
  cat >"$conf_dir/gres.conf.new" <<CONF
# One fake GPU so that GPU requests schedule (jobs still run on the CPU).
NodeName=$host Name=gpu File=/dev/null
CONF
  local changed=1
  if cmp -s "$conf_dir/slurm.conf.new" "$conf_dir/slurm.conf" && cmp -s "$conf_dir/gres.conf.new" "$conf_dir/gres.conf"; then
    changed=0
  fi
  mv "$conf_dir/slurm.conf.new" "$conf_dir/slurm.conf"
  mv "$conf_dir/gres.conf.new" "$conf_dir/gres.conf"
  return $changed
}

start_munge() {
  if munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then return 0; fi
  [ -f /etc/munge/munge.key ] || die "no /etc/munge/munge.key (run scripts/slurm-install.sh)"
  install -d -o munge -g munge -m 755 /run/munge
  runuser -u munge -- /usr/sbin/munged  # daemonizes; pid in /run/munge/munged.pid
  for _ in $(seq 50); do munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1 && return 0; sleep 0.1; done
  die "munged did not start (see /var/log/munge/munged.log)"
}

daemon_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start() {
  [ "$(id -u)" -eq 0 ] || die "must run as root (it starts system daemons and writes $conf_dir)"
  command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null \
    || die "SLURM is not installed: run scripts/slurm-install.sh"
  local changed=0
  write_config || changed=1
  if [ "$changed" -eq 0 ] && daemon_alive "$run_dir/slurmctld.pid" && daemon_alive "$run_dir/slurmd.pid" && is_up; then
    return 0
  fi
  if [ "$changed" -eq 1 ]; then  # a new configuration: restart from a clean state
    stop_pidfile "$run_dir/slurmd.pid"; stop_pidfile "$run_dir/slurmctld.pid"
  fi
  start_munge
  daemon_alive "$run_dir/slurmctld.pid" || slurmctld -i  # -i: ignore saved state from an older config
  daemon_alive "$run_dir/slurmd.pid" || slurmd
  for _ in $(seq 300); do
    if is_up; then echo "slurm-up: node $host is $(node_state) (partitions cpu, gpu; 1 fake GPU)"; return 0; fi
    # A node left down/drained by an earlier run comes back explicitly.
    case "$(node_state)" in down|drain|drng) scontrol update nodename="$host" state=resume 2>/dev/null || true ;; esac
    sleep 0.1
  done
  die "node $host did not become idle in 30 s (state '$(node_state)'); see $log_dir/slurmctld.log and $log_dir/slurmd.log"
}

stop() {
  stop_pidfile "$run_dir/slurmd.pid"
  stop_pidfile "$run_dir/slurmctld.pid"
  stop_pidfile /run/munge/munged.pid
  echo "slurm-up: stopped"
}

case "$action" in
  start) start ;;
  stop) stop ;;
  status) is_up && echo "slurm-up: node $host is $(node_state)" ;;
  *) die "unknown action '$action' (start|status|stop)" ;;
esac
