# geusemaker:inside-health
set -euo pipefail
# Run by GeuseMaker through SSM (AWS-RunShellScript): one line per container
# of the compose project, its service, a tab, and Docker's .State as JSON
# (src/cloud/inside.rs reads it). By label, not `docker compose ps`: that
# would need the compose file's env files, which are gone if a boot failed.
# No containers, no output.
command -v docker >/dev/null || exit 0
ids=$(docker ps -aq --filter label=com.docker.compose.project=geusemaker)
[ -n "$ids" ] || exit 0
# One argument per id.
# shellcheck disable=SC2086
docker inspect --format '{{index .Config.Labels "com.docker.compose.service"}}{{"\t"}}{{json .State}}' $ids
