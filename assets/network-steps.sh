# Network steps, rendered into user-data.sh and bake.sh (their fail).
# retry TRIES CMD...: network steps (package mirrors, GitHub, Docker Hub, SSM)
# have bad minutes; wait 5, 10, 20, 40, 60... s between tries. CMD must be one
# command or an && chain: set -e does not apply inside a condition.
retry() {
  local tries=$1 n=1 pause=5
  shift
  until "$@"; do
    [ "$n" -lt "$tries" ] || return 1
    echo "try $n of $tries of $1 failed; again in ${pause}s" >&2
    sleep "$pause"
    n=$((n + 1))
    pause=$((pause * 2 > 60 ? 60 : pause * 2))
  done
}

# download FILE URL: one try, bounded in time.
download() {
  curl -fsSL --connect-timeout 10 --max-time 300 -o "$1" "$2"
}

# pull_once IMAGE: one pull; notes when Docker Hub refused for its rate limit.
pull_once() {
  local out
  if out=$(docker pull --quiet "$1" 2>&1); then return 0; fi
  echo "$out" >&2
  case "$out" in
    *toomanyrequests* | *"pull rate limit"*) RATE_LIMITED=yes ;;
  esac
  return 1
}
# pull IMAGE: retried; a Docker Hub rate limit is named.
pull() {
  RATE_LIMITED=no
  # Baked into the image already: nothing to fetch from Docker Hub.
  docker image inspect "$1" >/dev/null 2>&1 && return 0
  retry 5 pull_once "$1" && return 0
  if [ "$RATE_LIMITED" = yes ]; then
    fail "images: Docker Hub rate limit reached pulling $1; wait, or pull with a Docker Hub login"
  fi
  fail "images: could not pull $1"
}
