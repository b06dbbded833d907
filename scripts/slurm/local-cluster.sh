#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for the tests of `cait … --executor slurm`
# and for trying a job template before a real cluster.
#
#   bash scripts/slurm/local-cluster.sh start    # munged, slurmctld, slurmd; waits until the node is idle
#   bash scripts/slurm/local-cluster.sh env      # prints: export SLURM_CONF=…  (for sbatch, squeue, cait)
#   bash scripts/slurm/local-cluster.sh status   # which daemons run (exit 0 if all three)
#   bash scripts/slurm/local-cluster.sh stop     # cancels the cluster's jobs, ends the three daemons
#
# Needs root and Debian's slurmctld, slurmd, slurm-client and munge (scripts/setup.sh installs
# them). Everything lives in one state directory, $CAIT_SLURM_DIR (default /tmp/cait-slurm):
# the slurm.conf (clients find it through SLURM_CONF; /etc/slurm is never touched), a private
# munge key and socket, spool directories, logs and pid files. The daemons are started directly
# (no systemd); `stop` ends only the daemons this script started, by their pid files (and only
# if the pid still belongs to that program), never by name. `start` on a running cluster says
# so and succeeds. Ports: $CAIT_SLURM_PORT (slurmctld, default 6817) and the next one (slurmd).
set -euo pipefail

STATE=${CAIT_SLURM_DIR:-/tmp/cait-slurm}
PORT=${CAIT_SLURM_PORT:-6817}
CONF=$STATE/slurm.conf
SOCKET=$STATE/munge/munge.socket
DAEMONS=(slurmd slurmctld munged)

say() { printf 'local-cluster: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
# a start that fails part-way ends the daemons it started
fail_start() { say "$*"; stop_quietly; exit 1; }

pidfile() { printf '%s/%s.pid' "$STATE" "$1"; }

# the pid in the daemon's pid file, if that process is alive and is that program
live_pid() {
  local f pid
  f=$(pidfile "$1")
  [[ -r $f ]] || return 1
  pid=$({ tr -dc '0-9' <"$f"; } 2>/dev/null)
  [[ -n $pid ]] || return 1
  [[ -r /proc/$pid/comm ]] || return 1
  # /proc/PID/comm holds the first 15 characters of the program's name
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$1"* ]] || return 1
  # an ended daemon that its parent has not reaped yet (a zombie, state Z) is not running
  local stat
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]] || return 1
  printf '%s' "$pid"
}

all_running() {
  local d
  for d in "${DAEMONS[@]}"; do live_pid "$d" >/dev/null || return 1; done
}

print_env() { printf 'export SLURM_CONF=%s\n' "$CONF"; }

write_conf() {
  local host node name mem cpus
  host=$(hostname -s)
  # the daemons talk over 127.0.0.1: the host's name need not resolve
  # the node as slurmd sees it (CPUs, sockets, cores, memory), so the node is never drained for a mismatch
  node=$(slurmd -C | head -n 1)
  [[ $node == NodeName=* ]] || die "slurmd -C did not describe the node: $node"
  cpus=$(sed -n 's/.* CPUs=\([0-9]*\).*/\1/p' <<<"$node")
  mem=$(sed -n 's/.* RealMemory=\([0-9]*\).*/\1/p' <<<"$node")
  name=${node%% *}
  name=${name#NodeName=}
  cat >"$CONF" <<EOF
# written by scripts/slurm/local-cluster.sh: a one-node cluster for tests ($cpus CPUs, $mem MB)
ClusterName=cait-local
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCKET
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SlurmctldPidFile=$(pidfile slurmctld)
SlurmdPidFile=$(pidfile slurmd)
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
SlurmdSpoolDir=$STATE/spool/slurmd
StateSaveLocation=$STATE/spool/slurmctld
$node NodeAddr=127.0.0.1
PartitionName=debug Nodes=$name Default=YES MaxTime=INFINITE State=UP
EOF
}

wait_for() { # seconds, daemon that must stay alive (or -), command...
  local t=$1 daemon=$2
  shift 2
  local i
  for ((i = 0; i < t * 5; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if [[ $daemon != - ]] && ! live_pid "$daemon" >/dev/null; then return 1; fi
    sleep 0.2
  done
  return 1
}

node_idle() {
  local s
  s=$(SLURM_CONF=$CONF sinfo -h -N -o '%T' 2>/dev/null) || return 1
  [[ $s == idle* ]]
}

show_log_tail() {
  local f=$STATE/log/$1.log
  [[ -r $f ]] && { say "last lines of $f:"; tail -n 15 "$f" >&2; }
  return 0
}

start() {
  (( EUID == 0 )) || die "start needs root (the daemons run as root, as SlurmUser=root)"
  local b
  for b in munged slurmctld slurmd sinfo sbatch; do
    command -v "$b" >/dev/null || die "$b is not installed: run scripts/setup.sh (Debian packages slurmctld slurmd slurm-client munge)"
  done
  if all_running; then
    say "already running (state in $STATE)"
    print_env
    return 0
  fi
  # a partial cluster (one daemon died): start afresh
  local d
  for d in "${DAEMONS[@]}"; do
    if live_pid "$d" >/dev/null; then
      say "$d runs but not all three daemons do: restarting"
      stop_quietly
      break
    fi
  done

  mkdir -p "$STATE"/{munge,log,spool/slurmd,spool/slurmctld}
  # munged refuses a socket directory that others cannot reach, and a key others can read
  chmod 0755 "$STATE" "$STATE/munge"
  chmod 0700 "$STATE/log" "$STATE/spool"
  if [[ ! -s $STATE/munge/munge.key ]]; then
    (umask 077 && head -c 1024 /dev/urandom >"$STATE/munge/munge.key")
  fi
  chmod 0600 "$STATE/munge/munge.key"
  write_conf

  munged --force --socket="$SOCKET" --key-file="$STATE/munge/munge.key" \
    --pid-file="$(pidfile munged)" --log-file="$STATE/log/munged.log" --seed-file="$STATE/munge/munged.seed" \
    || { show_log_tail munged; fail_start "munged did not start"; }
  wait_for 10 munged test -S "$SOCKET" || { show_log_tail munged; fail_start "munged made no socket at $SOCKET"; }

  slurmctld -f "$CONF" || { show_log_tail slurmctld; fail_start "slurmctld did not start"; }
  wait_for 20 slurmctld env SLURM_CONF="$CONF" scontrol ping || { show_log_tail slurmctld; fail_start "slurmctld does not answer (port $PORT), or ended"; }
  slurmd -f "$CONF" -N "$(slurmd -C | sed -n '1s/^NodeName=\([^ ]*\).*/\1/p')" || { show_log_tail slurmd; fail_start "slurmd did not start"; }
  if ! wait_for 30 slurmd node_idle; then
    show_log_tail slurmd
    show_log_tail slurmctld
    fail_start "the node did not become idle within 30 s (sinfo: $(SLURM_CONF=$CONF sinfo -h -N -o '%T %E' 2>&1))"
  fi
  say "running: $(SLURM_CONF=$CONF sinfo -h -N -o 'node %N, %c CPUs, %m MB, partition %P, %T'); state in $STATE"
  print_env
}

# end one daemon by its pid file: TERM, then KILL after 10 s
end_daemon() {
  local pid i
  pid=$(live_pid "$1") || { rm -f "$(pidfile "$1")"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    live_pid "$1" >/dev/null || break
    sleep 0.2
  done
  if live_pid "$1" >/dev/null; then
    say "$1 (pid $pid) did not end on TERM; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$(pidfile "$1")"
}

stop_quietly() {
  # cancel this cluster's jobs first, so that no job step outlives its slurmd
  if live_pid slurmctld >/dev/null && [[ -r $CONF ]]; then
    SLURM_CONF=$CONF scancel --quiet --full --user="$(id -un)" 2>/dev/null || true
    wait_for 10 - bash -c "[[ -z \$(SLURM_CONF='$CONF' squeue -h -o %i 2>/dev/null) ]]" || true
  fi
  local d
  for d in "${DAEMONS[@]}"; do end_daemon "$d"; done
}

stop() {
  stop_quietly
  say "stopped (state kept in $STATE)"
}

status() {
  local d pid rc=0
  for d in "${DAEMONS[@]}"; do
    if pid=$(live_pid "$d"); then say "$d: running (pid $pid)"; else say "$d: not running"; rc=1; fi
  done
  (( rc == 0 )) && print_env
  return $rc
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) print_env ;;
  *)
    say "usage: $0 start|stop|status|env   (state in \$CAIT_SLURM_DIR, default /tmp/cait-slurm)"
    exit 2
    ;;
esac
