#!/bin/bash
# The instance's watchdog (geusemaker-watchdog.timer, every WATCH_SECS): the
# inside view of health, Docker's healthchecks. After THRESHOLD failed checks
# in a row of n8n or postgres it leaves its last logs and stage markers on
# EFS and marks itself Unhealthy in its group: AWS replaces it. At most
# REPLACEMENTS_PER_HOUR such replacements an hour, counted on EFS: a new
# instance runs the same version, and a failure the data causes would loop.
# Disarmed until the boot completes its launch hook, and while a deliberate
# switch runs (the product writes $STATE/switching). A container Docker
# started again since the last check, which the user did not ask for, is a
# failed check even if it is healthy by now: a crash loop between checks
# would otherwise never be seen.
set -euo pipefail

REGION="{{REGION}}"
THRESHOLD="{{THRESHOLD}}"
REPLACEMENTS_PER_HOUR=2
STATE=/mnt/efs/.geusemaker
RUN=${GEUSEMAKER_RUN:-/run/geusemaker}
OPT=${GEUSEMAKER_OPT:-/opt/geusemaker}
ARMED=$RUN/watchdog-armed
FAILURES=$RUN/watchdog-failures
LAST_CHECK=$RUN/watchdog-last-check
COMPOSE_FILE=$OPT/docker-compose.yml

# shellcheck source=/dev/null # installed beside this script
. "$OPT/mark.sh"

# "healthy", or what Docker says of the service's container.
health_of() {
  local id
  id=$(docker ps -q --filter label=com.docker.compose.project=geusemaker \
    --filter "label=com.docker.compose.service=$1") || true
  if [ -z "$id" ]; then
    echo "not running"
    return
  fi
  docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$id"
}

# A restart the user asked for (restart-service.sh) in the last 5 minutes:
# its service starting again is no failure.
user_restarted() {
  [ -f "$RUN/user-restarts" ] &&
    awk -v s="$1" -v since=$(($(date +%s) - 300)) \
      '$1 == s && $2 > since { found = 1 } END { exit !found }' "$RUN/user-restarts"
}

# Docker started the service's container since $1 (Unix seconds).
started_since() {
  docker events --since "$1" --until "$(date +%s)" --filter type=container \
    --filter event=start --filter label=com.docker.compose.project=geusemaker \
    --filter "label=com.docker.compose.service=$2" --format x 2>/dev/null | grep -q .
}

# Disarmed: the next armed check starts afresh (a switch restarts containers).
if [ ! -e "$ARMED" ] || [ -e "$STATE/switching" ]; then
  rm -f "$LAST_CHECK"
  exit 0
fi

now=$(date +%s)
since=$(cat "$LAST_CHECK" 2>/dev/null || echo "$now")
echo "$now" >"$LAST_CHECK"
failing=""
for service in n8n postgres; do
  user_restarted "$service" && continue
  status=$(health_of "$service")
  if [ "$status" != healthy ]; then
    failing="$failing $service ($status)"
  elif started_since "$since" "$service"; then
    failing="$failing $service (restarted by Docker)"
  fi
done
if [ -z "$failing" ]; then
  echo 0 >"$FAILURES"
  exit 0
fi
count=$(($(cat "$FAILURES" 2>/dev/null || echo 0) + 1))
echo "$count" >"$FAILURES"
echo "watchdog: check $count of $THRESHOLD failed:$failing" >&2
[ "$count" -ge "$THRESHOLD" ] || exit 0

INSTANCE=$(cat /var/lib/geusemaker/instance-id)
NOW=$(date +%s)
mkdir -p "$STATE"
touch "$STATE/replacements"
recent=$(awk -v since=$((NOW - 3600)) '$1 > since' "$STATE/replacements" | wc -l)
if [ "$recent" -ge "$REPLACEMENTS_PER_HOUR" ]; then
  # Left down, saying why, rather than loop.
  if ! grep -q '^watchdog-capped ' "$MARKERS"; then
    mark watchdog-capped
    echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $INSTANCE:$failing; $recent replacements in the last hour, none more" \
      >"$STATE/stuck"
    notify "watchdog:$failing failed $count checks in a row, and $recent replacements in the last hour is the most; left down rather than loop"
  fi
  exit 0
fi

# What the next instance, and the user, can read of this one.
CRASH="$STATE/crashes/$INSTANCE-$NOW"
mkdir -p "$CRASH"
cp "$MARKERS" "$CRASH/stage"
docker compose -f "$COMPOSE_FILE" logs --no-color --timestamps --tail 500 >"$CRASH/logs.txt" 2>&1 || true
echo "$failing" >"$CRASH/failing"
echo "$NOW $INSTANCE" >>"$STATE/replacements"
mark watchdog-unhealthy
rm -f "$ARMED"
notify "watchdog:$failing failed $count checks in a row; Auto Scaling replaces this instance (logs kept in $CRASH)"
aws autoscaling set-instance-health --region "$REGION" --instance-id "$INSTANCE" \
  --health-status Unhealthy --no-should-respect-grace-period
