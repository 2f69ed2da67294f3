#!/bin/bash
# GeuseMaker user data for {{STACK}}: install Docker and the EFS utilities,
# mount EFS, read the stack's secrets from SSM, and start the services.
# Progress is written as stage markers to /var/lib/geusemaker/stage, which
# GeuseMaker reads over SSM: "<step> <time>" for each step done, and on a
# failure one "failed:<line> <time> <what failed>". No secret is in this file,
# and none is ever printed.
set -Eeuo pipefail
# Command substitutions inherit set -e (bash 4.4+; AL2's 4.2 lacks the option,
# so it may not stop the script: every secret read is checked explicitly).
shopt -s inherit_errexit 2>/dev/null || true

STACK="{{STACK}}"
REGION="{{REGION}}"
EFS_ID="{{EFS_ID}}"
SECRETS_PATH="{{SECRETS_PATH}}"
MARKERS=/var/lib/geusemaker/stage
COMPOSE_FILE=/opt/geusemaker/docker-compose.yml
STEP="starting"

mark() {
  echo "$1 $(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$MARKERS"
}
mark_failed() {
  echo "failed:$1 $(date -u +%Y-%m-%dT%H:%M:%SZ) $2" >>"$MARKERS"
}
# A failure we can name: say what failed, in words, and stop. The line is the
# main script's, of the step that failed, even when a helper calls this.
fail() {
  trap - ERR
  echo "GeuseMaker boot failed: $1" >&2
  mark_failed "${BASH_LINENO[${#BASH_LINENO[@]} - 2]}" "$1"
  exit 1
}
# Any other failing command. A subshell's failure also fails its parent, so
# only the main shell writes the marker: there is exactly one.
on_err() {
  echo "GeuseMaker boot: exit $1 at line $2 while $STEP" >&2
  if [ "$BASH_SUBSHELL" -eq 0 ]; then
    trap - ERR
    mark_failed "$2" "$STEP (exit $1)"
  fi
}
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

# fetch_secret NAME VAR: one read of the stack's secret NAME from SSM into
# VAR. printf -v is a builtin: the value is never printed nor in a process's
# arguments.
fetch_secret() {
  local value
  value=$(aws ssm get-parameter --region "$REGION" --with-decryption \
    --name "$SECRETS_PATH$1" --query Parameter.Value --output text) &&
    printf -v "$2" '%s' "$value"
}
# secret NAME VAR: retried, as the instance role can take a moment to reach
# the instance and SSM throttles; an empty value fails closed.
secret() {
  retry 8 fetch_secret "$1" "$2" ||
    fail "secrets: could not read $SECRETS_PATH$1 from SSM"
  if [ -z "${!2}" ] || [ "${!2}" = None ]; then
    fail "secrets: $SECRETS_PATH$1 is empty"
  fi
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
# pull IMAGE: retried; a Docker Hub rate limit is named in the marker.
pull() {
  RATE_LIMITED=no
  retry 5 pull_once "$1" && return 0
  if [ "$RATE_LIMITED" = yes ]; then
    fail "images: Docker Hub rate limit reached pulling $1; wait, or pull with a Docker Hub login"
  fi
  fail "images: could not pull $1"
}

trap 'on_err $? $LINENO' ERR
mkdir -p /var/lib/geusemaker /etc/geusemaker /opt/geusemaker
mark cloud-init

STEP="installing packages"
# Amazon Linux 2023 has dnf; older Amazon Linux images (some GPU AMIs) yum.
if command -v dnf >/dev/null; then PKG=dnf; else PKG=yum; fi
retry 5 "$PKG" install -y docker amazon-efs-utils ||
  fail "packages: $PKG could not install docker and amazon-efs-utils"

# The compose plugin, installed only if it matches its published SHA-256.
ARCH=$(uname -m)
COMPOSE_URL="https://github.com/docker/compose/releases/download/{{COMPOSE_VERSION}}/docker-compose-linux-$ARCH"
DOWNLOAD=$(mktemp -d)
retry 5 download "$DOWNLOAD/compose" "$COMPOSE_URL" ||
  fail "packages: could not download the compose plugin from GitHub"
retry 5 download "$DOWNLOAD/compose.sha256" "$COMPOSE_URL.sha256" ||
  fail "packages: could not download the compose plugin's checksum from GitHub"
SUM=$(cut -d' ' -f1 "$DOWNLOAD/compose.sha256")
echo "$SUM  $DOWNLOAD/compose" | sha256sum -c --quiet - ||
  fail "packages: the compose plugin does not match its published SHA-256"
mkdir -p /usr/local/lib/docker/cli-plugins
install -m 0755 "$DOWNLOAD/compose" /usr/local/lib/docker/cli-plugins/docker-compose
rm -rf "$DOWNLOAD"
mark packages

STEP="mounting EFS"
# EFS, over TLS; _netdev,nofail so a slow mount target never blocks boot.
mkdir -p /mnt/efs
if ! grep -q " /mnt/efs " /etc/fstab; then
  echo "$EFS_ID:/ /mnt/efs efs _netdev,nofail,tls 0 0" >>/etc/fstab
fi
for attempt in $(seq 1 60); do
  if mountpoint -q /mnt/efs || mount -t efs -o tls,_netdev,nofail "$EFS_ID:/" /mnt/efs; then
    break
  fi
  echo "EFS mount attempt $attempt failed; the mount target may not answer yet" >&2
  sleep 10
done
mountpoint -q /mnt/efs ||
  fail "efs: $EFS_ID did not mount at /mnt/efs within 10 minutes"
mkdir -p /mnt/efs/n8n /mnt/efs/ollama /mnt/efs/qdrant /mnt/efs/postgres
chown 1000:1000 /mnt/efs/n8n
# Docker only with EFS mounted: after a reboot where the mount failed, Postgres
# and n8n would otherwise start on an empty local /mnt/efs, as a new stack.
mkdir -p /etc/systemd/system/docker.service.d
printf '[Unit]\nRequiresMountsFor=/mnt/efs\n' \
  >/etc/systemd/system/docker.service.d/geusemaker-efs.conf
systemctl daemon-reload
systemctl enable --now docker
mark efs-mounted

STEP="reading secrets"
secret postgres-password POSTGRES_PASSWORD
secret n8n-encryption-key N8N_ENCRYPTION_KEY
secret crawl4ai-api-token CRAWL4AI_API_TOKEN
umask 077
printf '%s=%s\n' \
  POSTGRES_PASSWORD "$POSTGRES_PASSWORD" \
  DB_POSTGRESDB_PASSWORD "$POSTGRES_PASSWORD" \
  N8N_ENCRYPTION_KEY "$N8N_ENCRYPTION_KEY" \
  CRAWL4AI_API_TOKEN "$CRAWL4AI_API_TOKEN" >/etc/geusemaker/stack.env
chmod 0600 /etc/geusemaker/stack.env
umask 022
unset POSTGRES_PASSWORD N8N_ENCRYPTION_KEY CRAWL4AI_API_TOKEN
mark secrets

cat >"$COMPOSE_FILE" <<'COMPOSE'
{{COMPOSE}}
COMPOSE
STEP="checking the GPU"
{{GPU_CHECK}}

STEP="pulling images"
IMAGES=$(docker compose -f "$COMPOSE_FILE" config --images)
for image in $IMAGES; do pull "$image"; done
mark images-pulled

STEP="starting the services"
docker compose -f "$COMPOSE_FILE" up -d
mark compose-up
{{OLLAMA_DEVICE}}
echo "GeuseMaker stack $STACK is up"
