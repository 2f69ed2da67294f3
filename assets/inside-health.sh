# geusemaker:inside-health
set -euo pipefail
# Run by GeuseMaker through SSM (AWS-RunShellScript): one line per container
# of the compose project, its service, a tab, its image, a tab, and Docker's
# .State as JSON
# (src/cloud/inside.rs reads it). By label, not `docker compose ps`: that
# would need the compose file's env files, which are gone if a boot failed.
# No containers, no output. Then the OOM kills (below).
command -v docker >/dev/null || exit 0
ids=$(docker ps -aq --filter label=com.docker.compose.project=geusemaker)
[ -n "$ids" ] || exit 0
# One argument per id.
# shellcheck disable=SC2086
docker inspect --format '{{index .Config.Labels "com.docker.compose.service"}}{{"\t"}}{{.Config.Image}}{{"\t"}}{{json .State}}' $ids
# Then the compose project's OOM kills and starts of the last 24 hours, one
# line each: "#oom" or "#start", the service, Docker's event time (Unix
# seconds). A restarted container's .State no longer says it was OOM-killed,
# and its RestartCount leaves out a manual restart; its events say both.
docker events --since 24h --until "$(date +%s)" --filter type=container \
  --filter event=oom --filter event=start \
  --filter label=com.docker.compose.project=geusemaker \
  --format '#{{.Action}} {{index .Actor.Attributes "com.docker.compose.service"}} {{.Time}}' 2>/dev/null || true
