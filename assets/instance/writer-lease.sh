#!/bin/bash
# The stack's writer lease: at most one instance runs the stack's services on
# its EFS. The lease is an exclusive lock on a file of that EFS. Linux sends
# flock() on NFSv4.1 to the server as a whole-file lock, and EFS keeps lock
# state under NFSv4's lease: when a holder dies or is cut off, it stops
# renewing and the server drops its lock after the lease period. The lock
# lives where the data does, so a holder cut off from the lock is cut off
# from the data too. Run by geusemaker-lease.service (Type=notify): ready
# once held, and held while this process (sleep, with fd 9) runs.
#   writer-lease.sh            wait for the lock, take it, hold it
#   writer-lease.sh released   (ExecStopPost) write the marker
set -euo pipefail

LEASE_DIR=/mnt/efs/.geusemaker

# shellcheck source=/dev/null # installed beside this script
. /opt/geusemaker/mark.sh

if [ "${1:-}" = released ]; then
  mark lease-released
  exit 0
fi

mkdir -p "$LEASE_DIR"
exec 9>>"$LEASE_DIR/writer.lock"
mark lease-waiting
# As long as it takes: a holder that died loses its lock when its NFS lease
# expires; one that drains releases it at once.
flock --exclusive 9
INSTANCE=$(cat /var/lib/geusemaker/instance-id 2>/dev/null || hostname)
echo "$INSTANCE $(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$LEASE_DIR/writer"
mark lease-taken
systemd-notify --ready
# fd 9 goes on in sleep: the lock is held until the unit stops.
exec sleep infinity
