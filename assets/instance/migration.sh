#!/bin/bash
# Moving a stack from its bare instance (deployed before groups) into its
# Auto Scaling group, by prepare-then-switch. GeuseMaker sends this through
# SSM Run Command to the bare instance, whose boot took no writer lease:
# it takes the lease on its own behalf while its services run on, so the
# group's new instance boots to ready-to-start and waits; then it drains
# and lets go, and the new one takes over. Its layout is the one that
# version wrote: EFS at /mnt/efs, compose in /opt/geusemaker.
#   hold     take the lease now if it is free, never waiting:
#            holding | held-elsewhere | not-mounted
#   release  drain (n8n, PostgreSQL, the rest), let go: released | not-holding
#   resume   the new one never became healthy and let go: take the lease
#            back (waiting while its lock lasts), start again: resuming
set -euo pipefail

STEP="{{STEP}}"
LEASE_DIR=/mnt/efs/.geusemaker
UNIT=geusemaker-migration-lease
HELD=/run/geusemaker-migration-held
MARKERS=/var/lib/geusemaker/stage
COMPOSE="docker compose -f /opt/geusemaker/docker-compose.yml"

mark() {
  mkdir -p "${MARKERS%/*}"
  echo "$1 $(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$MARKERS"
}

holding() {
  systemctl is-active --quiet "$UNIT.service"
}

# The lock, held by a transient unit while it runs: flock keeps it for as
# long as its child does, and the child says when it has it.
take() {
  mkdir -p "$LEASE_DIR"
  rm -f "$HELD"
  systemctl reset-failed "$UNIT.service" 2>/dev/null || true
  systemd-run --quiet --collect --unit="$UNIT" \
    --property=RequiresMountsFor=/mnt/efs \
    flock "$@" "$LEASE_DIR/writer.lock" \
    /bin/sh -c "touch $HELD && exec sleep infinity"
}

# Whether the lock came within $1 tenths of a second (or the unit gave up).
came() {
  for _ in $(seq "$1"); do
    [ -e "$HELD" ] && return 0
    holding || return 1
    sleep 0.1
  done
  [ -e "$HELD" ]
}

hold() {
  if ! mountpoint -q /mnt/efs; then
    echo not-mounted
    return
  fi
  if holding && [ -e "$HELD" ]; then
    echo holding
    return
  fi
  take --nonblock
  if came 50; then
    mark lease-held-for-migration
    echo holding
  else
    systemctl stop "$UNIT.service" 2>/dev/null || true
    echo held-elsewhere
  fi
}

release() {
  if ! holding; then
    echo not-holding
    return
  fi
  mark drain-started:switch
  # shellcheck disable=SC2086 # COMPOSE is words on purpose
  timeout 40 $COMPOSE stop --timeout 30 n8n || mark drain-n8n-timeout
  # shellcheck disable=SC2086
  timeout 30 $COMPOSE exec -T postgres psql -U n8n -d n8n -qc CHECKPOINT || true
  # shellcheck disable=SC2086
  timeout 50 $COMPOSE stop --timeout 40 postgres || mark drain-postgres-timeout
  # shellcheck disable=SC2086
  timeout 30 $COMPOSE stop --timeout 20 || true
  systemctl stop "$UNIT.service"
  rm -f "$HELD"
  mark drained
  echo released
}

resume() {
  holding || take --exclusive
  # As long as the dropped one's NFS lease lasts (90 s), and a little more.
  came 1500 || {
    echo held-elsewhere
    return
  }
  # shellcheck disable=SC2086
  $COMPOSE start
  mark resumed
  echo resuming
}

case "$STEP" in
hold) hold ;;
release) release ;;
resume) resume ;;
*)
  echo "usage: migration.sh with STEP hold|release|resume" >&2
  exit 2
  ;;
esac
