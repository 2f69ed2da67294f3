#!/bin/bash
# Drain this instance and release the writer lease, in the order the data
# needs: n8n stops gracefully (no new executions), PostgreSQL checkpoints
# and stops cleanly, Qdrant writes a last snapshot (bounded), the rest
# stops, then the lease goes. Bounded throughout by the two minutes of a
# spot notice. Run by the spot-signal poller and by a deliberate switch.
#   drain.sh WHY [DUMP]   WHY: spot-notice, group-terminating, switch
# DUMP (a switch to a newer n8n): once n8n has stopped, n8n's database is
# written there with pg_dump, for a revert to restore. A dump that fails
# starts n8n again and exits 3: the switch does not go on without it.
set -euo pipefail

COMPOSE="docker compose -f /opt/geusemaker/docker-compose.yml"

# shellcheck source=/dev/null # installed beside this script
. /opt/geusemaker/mark.sh

mark "drain-started:${1:?why}"
started=$(date +%s)
rm -f /run/geusemaker/watchdog-armed
# shellcheck disable=SC2086 # COMPOSE is words on purpose
timeout 40 $COMPOSE stop --timeout 30 n8n || mark drain-n8n-timeout
mark drain-n8n-stopped
if [ -n "${2:-}" ]; then
  mkdir -p "${2%/*}"
  # shellcheck disable=SC2086
  if timeout 600 $COMPOSE exec -T postgres pg_dump -U n8n -d n8n --format=custom >"$2.part" &&
    mv "$2.part" "$2"; then
    mark database-dumped
  else
    rm -f "$2.part"
    mark database-dump-failed
    # shellcheck disable=SC2086
    timeout 60 $COMPOSE start n8n || true
    exit 3
  fi
fi
# shellcheck disable=SC2086
timeout 30 $COMPOSE exec -T postgres psql -U n8n -d n8n -qc CHECKPOINT || true
# shellcheck disable=SC2086
timeout 50 $COMPOSE stop --timeout 40 postgres || mark drain-postgres-timeout
mark drain-postgres-stopped
timeout 20 /opt/geusemaker/qdrant-snapshots.sh snapshot drain || mark drain-qdrant-snapshot-timeout
# shellcheck disable=SC2086
timeout 20 $COMPOSE stop --timeout 15 || true
systemctl stop geusemaker-stack.service geusemaker-lease.service
mark drained
# A switch is the product's own doing; a notice or a loss the user hears of.
if [ "$1" != switch ]; then
  notify "drained for $1 in $(($(date +%s) - started)) s: n8n and PostgreSQL stopped cleanly, the lease released"
fi
