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
# On a GPU instance, where Ollama's loaded model sits: "#ps" and Ollama's
# /api/ps. Nothing loaded yet: the first installed model is loaded once a
# boot, with an empty prompt (Ollama's own warm-up; it generates nothing),
# so the answer says whether a generation would run on the GPU.
if command -v nvidia-smi >/dev/null 2>&1; then
  api=http://127.0.0.1:11434/api
  run=${GEUSEMAKER_RUN:-/run/geusemaker}
  warmed=$run/ollama-warmed
  ps=$(curl -fsS --max-time 3 "$api/ps" 2>/dev/null || true)
  if [ ! -e "$warmed" ] && [ -n "$ps" ] && ! printf '%s' "$ps" | grep -q '"size_vram"'; then
    model=$(curl -fsS --max-time 3 "$api/tags" 2>/dev/null |
      grep -o '"name":"[a-z0-9._:/-]*"' | head -n 1 | cut -d '"' -f 4 || true)
    if [ -n "$model" ]; then
      mkdir -p "$run" && touch "$warmed"
      curl -fsS --max-time 60 -X POST "$api/generate" \
        -d "{\"model\":\"$model\",\"prompt\":\"\",\"keep_alive\":\"30m\"}" >/dev/null 2>&1 || true
      ps=$(curl -fsS --max-time 3 "$api/ps" 2>/dev/null || true)
    fi
  fi
  [ -z "$ps" ] || printf '#ps %s\n' "$(printf '%s' "$ps" | tr -d '\n')"
fi
