# geusemaker:restart-service
set -euo pipefail
# Run by GeuseMaker through SSM (AWS-RunShellScript) when the user restarts
# one service (`R`, `restart`): Docker restarts its container, found by its
# compose labels (no env files needed). The watchdog reads the line left in
# user-restarts and counts this restart as no failure.
service="{{SERVICE}}"
ids=$(docker ps -aq --filter label=com.docker.compose.project=geusemaker \
  --filter "label=com.docker.compose.service=$service")
if [ -z "$ids" ]; then
  echo "no $service container on this instance" >&2
  exit 3
fi
mkdir -p /run/geusemaker
echo "$service $(date +%s)" >>/run/geusemaker/user-restarts
# One argument per id.
# shellcheck disable=SC2086
docker restart $ids >/dev/null
echo "restarted $service"
