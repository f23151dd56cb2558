#!/usr/bin/env bash
# A single-node SLURM on this machine, from Debian's packages, to test the workflow's slurm
# profile against the real thing (tests/test_slurm.py; .ci/run starts and stops it).
#
#   tests/slurm/cluster.sh start   # installs slurm-wlm and munge if missing, starts the daemons
#   tests/slurm/cluster.sh stop    # stops every daemon by its pid file
#
# Needs root (apt-get, daemons). Everything but munge's key lives in $SLURM_TEST_DIR
# (default /tmp/taskconflict-slurm); /etc/slurm/slurm.conf links to its slurm.conf, where
# srun inside a job looks for it (an existing, different slurm.conf is left alone: then this
# is no test machine). The node is this host, with all its CPUs and memory.
set -euo pipefail

DIR=${SLURM_TEST_DIR:-/tmp/taskconflict-slurm}
CONF=$DIR/slurm.conf
SYSTEM_CONF=/etc/slurm/slurm.conf
MUNGE_PID=/run/munge/munged.pid

install() {
    command -v slurmctld >/dev/null && command -v munged >/dev/null && return
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q slurm-wlm munge >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null && apt-get install -y -q slurm-wlm munge >/dev/null; }
}

write_conf() {
    local host cpus mem
    host=$(hostname -s)
    cpus=$(nproc)
    mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
    mkdir -p "$DIR/ctld" "$DIR/d" "$DIR/log"
    cat >"$CONF" <<EOF
ClusterName=taskconflict-test
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
ReturnToService=2
MinJobAge=600
StateSaveLocation=$DIR/ctld
SlurmdSpoolDir=$DIR/d
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
}

start() {
    install
    write_conf
    if [ -e "$SYSTEM_CONF" ] && [ "$(readlink -f "$SYSTEM_CONF")" != "$CONF" ]; then
        echo "$SYSTEM_CONF exists and is not ours; not a test machine?" >&2
        exit 1
    fi
    mkdir -p "$(dirname "$SYSTEM_CONF")"
    ln -sf "$CONF" "$SYSTEM_CONF"
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge 2>/dev/null || true
    [ -f /etc/munge/munge.key ] || mungekey --create
    pgrep -x munged >/dev/null || runuser -u munge -- munged
    slurmctld -f "$CONF"
    slurmd -f "$CONF"
    for _ in $(seq 60); do
        if sinfo -h -o %T 2>/dev/null | grep -qx idle; then
            echo "SLURM up: $(sinfo -h -o '%P %D node(s) %c CPUs %m MB %T')"
            return
        fi
        sleep 0.5
    done
    echo "SLURM did not come up; see $DIR/log" >&2
    exit 1
}

stop() {
    for pidfile in "$DIR/slurmd.pid" "$DIR/slurmctld.pid" "$MUNGE_PID"; do
        [ -f "$pidfile" ] || continue
        pid=$(cat "$pidfile")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        rm -f "$pidfile"
    done
    if [ "$(readlink -f "$SYSTEM_CONF" 2>/dev/null)" = "$CONF" ]; then rm -f "$SYSTEM_CONF"; fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
