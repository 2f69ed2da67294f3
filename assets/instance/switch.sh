#!/bin/bash
# A deliberate switch (an update, a rollback), sent by GeuseMaker through
# SSM Run Command. The new instance has booted to ready-to-start beside this
# one and waits for the writer lease.
#   switch.sh release [--dump PATH]
#                       drain, release the lease; the group keeps this
#                       instance until GeuseMaker terminates it (or resumes
#                       it). With --dump (to a newer n8n), n8n's database is
#                       written to PATH once n8n stops: `dump-failed` if it
#                       could not be, and this instance serves on.
#   switch.sh resume [--restore PATH]
#                       the new one never became healthy and has let go:
#                       take the lease back (waiting while its lock lasts),
#                       with --restore put back the database the new n8n
#                       may have migrated, start the services again, re-arm
#                       the watchdog. `restore-failed` leaves n8n stopped:
#                       it must not run on a database it cannot read.
set -euo pipefail

COMPOSE="docker compose -f /opt/geusemaker/docker-compose.yml"

# shellcheck source=/dev/null # installed beside this script
. /opt/geusemaker/mark.sh

# The database as it was at PATH: n8n's dropped and made again (a newer
# n8n's own tables go too), then restored, with only PostgreSQL running
# (its container is there, stopped by the drain).
# shellcheck disable=SC2086 # COMPOSE is words on purpose
restore() {
  $COMPOSE start postgres
  for _ in $(seq 60); do
    $COMPOSE exec -T postgres pg_isready -q -U n8n -d postgres && break
    sleep 2
  done
  $COMPOSE exec -T postgres psql -U n8n -d postgres -v ON_ERROR_STOP=1 -q \
    -c 'DROP DATABASE IF EXISTS n8n WITH (FORCE)' -c 'CREATE DATABASE n8n' &&
    $COMPOSE exec -T postgres pg_restore -U n8n -d n8n --no-owner --exit-on-error <"$1"
}

case "${1:-}" in
release)
  if ! systemctl is-active --quiet geusemaker-lease.service; then
    echo not-holding
    exit 0
  fi
  # The spot poller must not drain again, nor the watchdog count a stop.
  systemctl stop geusemaker-spot-signals.service geusemaker-watchdog.timer || true
  dump=""
  [ "${2:-}" = --dump ] && dump="${3:?switch.sh release --dump PATH}"
  if ! /opt/geusemaker/drain.sh switch "$dump"; then
    systemctl start geusemaker-spot-signals.service geusemaker-watchdog.timer
    touch /run/geusemaker/watchdog-armed
    echo dump-failed
    exit 0
  fi
  echo released
  ;;
resume)
  if [ "${2:-}" = --restore ]; then
    # The lease first (Type=notify: this blocks until it is ours).
    systemctl start geusemaker-lease.service
    if ! restore "${3:?switch.sh resume --restore PATH}"; then
      mark database-restore-failed
      echo restore-failed
      exit 0
    fi
    mark database-restored
  fi
  # Requires= takes the lease first: this blocks until it is ours.
  systemctl start geusemaker-stack.service
  systemctl start geusemaker-spot-signals.service geusemaker-watchdog.timer
  touch /run/geusemaker/watchdog-armed
  mark resumed
  echo resuming
  ;;
*)
  echo "usage: switch.sh release|resume" >&2
  exit 2
  ;;
esac
