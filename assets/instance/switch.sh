#!/bin/bash
# A deliberate switch (an update, a rollback), sent by GeuseMaker through
# SSM Run Command. The new instance has booted to ready-to-start beside this
# one and waits for the writer lease.
#   switch.sh release   drain, release the lease; the group keeps this
#                       instance until GeuseMaker terminates it (or resumes it)
#   switch.sh resume    the new one never became healthy and has let go:
#                       take the lease back (waiting while its lock lasts),
#                       start the services again, re-arm the watchdog
set -euo pipefail


# shellcheck source=/dev/null # installed beside this script
. /opt/geusemaker/mark.sh

case "${1:-}" in
release)
  if ! systemctl is-active --quiet geusemaker-lease.service; then
    echo not-holding
    exit 0
  fi
  # The spot poller must not drain again, nor the watchdog count a stop.
  systemctl stop geusemaker-spot-signals.service geusemaker-watchdog.timer || true
  /opt/geusemaker/drain.sh switch
  echo released
  ;;
resume)
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
