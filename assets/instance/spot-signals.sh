#!/bin/bash
# Spot signals (geusemaker-spot-signals.service): IMDSv2 every 5 s.
# - A rebalance recommendation: a PostgreSQL CHECKPOINT and a Qdrant
#   snapshot to EFS, once; nothing stops.
# - An interruption notice, or the group's target lifecycle state
#   Terminated: drain within the two minutes AWS gives (a lifecycle hook
#   cannot extend a spot notice). n8n stops gracefully, PostgreSQL cleanly,
#   Qdrant writes a last snapshot (bounded), then the rest stops and the
#   writer lease is released; then the instance marks
#   itself Unhealthy, so its replacement launches at once.
# Each step writes a stage marker (drain.sh).
set -euo pipefail

REGION="{{REGION}}"
COMPOSE="docker compose -f /opt/geusemaker/docker-compose.yml"
IMDS=http://169.254.169.254

# shellcheck source=/dev/null # installed beside this script
. /opt/geusemaker/mark.sh

# imds PATH: the body of a 200, else nothing (404: no such signal).
imds() {
  local token
  token=$(curl -sf -m 2 -X PUT "$IMDS/latest/api/token" \
    -H "X-aws-ec2-metadata-token-ttl-seconds: 300") || return 1
  curl -sf -m 2 -H "X-aws-ec2-metadata-token: $token" "$IMDS/latest/$1"
}

checkpoint() {
  # shellcheck disable=SC2086 # COMPOSE is words on purpose
  timeout 30 $COMPOSE exec -T postgres psql -U n8n -d n8n -qc CHECKPOINT
}

drain() {
  /opt/geusemaker/drain.sh "$1"
  aws autoscaling set-instance-health --region "$REGION" \
    --instance-id "$(cat /var/lib/geusemaker/instance-id)" \
    --health-status Unhealthy --no-should-respect-grace-period || true
}

rebalanced=""
while sleep 5; do
  if notice=$(imds meta-data/spot/instance-action) && [ -n "$notice" ]; then
    drain "spot-notice"
    exit 0
  fi
  if [ "$(imds meta-data/autoscaling/target-lifecycle-state || true)" = Terminated ]; then
    drain "group-terminating"
    exit 0
  fi
  if [ -z "$rebalanced" ] && imds meta-data/events/recommendations/rebalance >/dev/null; then
    rebalanced=yes
    mark rebalance-recommended
    if checkpoint; then mark rebalance-checkpoint; fi
    if timeout 60 /opt/geusemaker/qdrant-snapshots.sh snapshot; then mark rebalance-qdrant-snapshot; fi
  fi
done
