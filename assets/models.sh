# geusemaker:models-{{ACTION}}
set -euo pipefail
# Run by GeuseMaker through SSM (AWS-RunShellScript) for Ollama's models on
# the stack's EFS; Ollama listens on 127.0.0.1 only. ACTION is list, pull,
# progress or rm. MODEL was checked to be [a-z0-9._:/-] before it was put
# here. A pull runs detached, its progress lines going to a file that
# `progress` reads (a Run Command is no stream); pulling again stops the one
# before, and Ollama resumes from the blobs already on the EFS.
action="{{ACTION}}"
model="{{MODEL}}"
api=http://127.0.0.1:11434/api
pulls=/run/geusemaker/pulls
file="$pulls/$(printf '%s' "$model" | tr '/:' '__').jsonl"
case "$action" in
  list)
    curl -fsS "$api/tags"
    echo
    curl -fsS "$api/ps"
    echo
    ;;
  pull)
    mkdir -p "$pulls"
    if [ -f "$file.pid" ]; then
      kill "$(cat "$file.pid")" 2>/dev/null || true
    fi
    setsid curl -sSN -X POST "$api/pull" -d "{\"model\":\"$model\"}" >"$file" 2>&1 </dev/null &
    echo $! >"$file.pid"
    echo started
    ;;
  progress)
    if [ -f "$file.pid" ] && kill -0 "$(cat "$file.pid")" 2>/dev/null; then
      echo "#running"
    else
      echo "#stopped"
    fi
    tail -n 1 "$file" 2>/dev/null || true
    ;;
  rm)
    curl -sS -X DELETE "$api/delete" -d "{\"model\":\"$model\"}"
    echo removed
    ;;
esac
