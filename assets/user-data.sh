#!/bin/bash
# GeuseMaker user data for {{STACK}}: install Docker and the EFS utilities,
# mount EFS, read the stack's secrets from SSM, and start the services.
# Progress is written as stage markers to /var/lib/geusemaker/stage, which
# GeuseMaker reads over SSM: "<step> <time>" for each step done, and on a
# failure one "failed:<line> <time> <what failed>". No secret is in this file,
# and none is ever printed or in a command's arguments. Run again as
# `boot.sh secrets` (a unit before Docker, at each later boot), it only writes
# the secrets' tmpfs anew.
set -Eeuo pipefail
# Command substitutions inherit set -e (bash 4.4+; AL2's 4.2 lacks the option,
# so it may not stop the script: every secret read is checked explicitly).
shopt -s inherit_errexit 2>/dev/null || true

STACK="{{STACK}}"
REGION="{{REGION}}"
EFS_ID="{{EFS_ID}}"
SECRETS_PATH="{{SECRETS_PATH}}"
OWNER_EMAIL="{{OWNER_EMAIL}}"
GROUP="{{GROUP}}"
LAUNCH_HOOK="{{LAUNCH_HOOK}}"
MARKERS=/var/lib/geusemaker/stage
COMPOSE_FILE=/opt/geusemaker/docker-compose.yml
SECRETS=/run/geusemaker/secrets
N8N=http://127.0.0.1:5678
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
{{NETWORK_STEPS}}
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

# write_secrets: each container's secrets as files on a tmpfs (never on
# disk), owned by the user it runs as: postgres 70, n8n 1000 (node). The
# env files are read by compose, as root, for the containers whose images
# take no file (n8n's encryption key, Qdrant's key, Crawl4AI's token).
write_secrets() {
  secret postgres-password POSTGRES_PASSWORD
  secret n8n-encryption-key N8N_ENCRYPTION_KEY
  secret qdrant-api-key QDRANT_API_KEY
  secret crawl4ai-api-token CRAWL4AI_API_TOKEN
  mkdir -p "$SECRETS"
  mountpoint -q "$SECRETS" ||
    mount -t tmpfs -o size=1m,mode=0700,nosuid,nodev,noexec tmpfs "$SECRETS"
  umask 077
  mkdir -p "$SECRETS/postgres" "$SECRETS/n8n"
  # No newline after a value: n8n reads a _FILE byte for byte.
  printf '%s' "$POSTGRES_PASSWORD" >"$SECRETS/postgres/postgres-password"
  printf '%s' "$POSTGRES_PASSWORD" >"$SECRETS/n8n/postgres-password"
  printf '{"qdrantApi":{"qdrantUrl":"http://qdrant:6333","apiKey":"%s"}}' \
    "$QDRANT_API_KEY" >"$SECRETS/n8n/credentials-overwrite.json"
  printf 'N8N_ENCRYPTION_KEY=%s\n' "$N8N_ENCRYPTION_KEY" >"$SECRETS/n8n.env"
  printf 'QDRANT__SERVICE__API_KEY=%s\n' "$QDRANT_API_KEY" >"$SECRETS/qdrant.env"
  printf 'CRAWL4AI_API_TOKEN=%s\n' "$CRAWL4AI_API_TOKEN" >"$SECRETS/crawl4ai.env"
  umask 022
  unset POSTGRES_PASSWORD N8N_ENCRYPTION_KEY QDRANT_API_KEY CRAWL4AI_API_TOKEN
  chmod 0400 "$SECRETS"/*.env "$SECRETS"/*/*
  chmod 0500 "$SECRETS/postgres" "$SECRETS/n8n"
  chown -R 70:70 "$SECRETS/postgres"
  chown -R 1000:1000 "$SECRETS/n8n"
}

# imds PATH: one IMDSv2 read; the token goes to curl on stdin, not argv.
imds() {
  local token
  token=$(curl -fsS --max-time 5 -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" \
    http://169.254.169.254/latest/api/token) &&
    printf 'X-aws-ec2-metadata-token: %s\n' "$token" |
    curl -fsS --max-time 5 -H @- "http://169.254.169.254/latest/meta-data/$1"
}

# n8n_ready: n8n answers /healthz before its migrations are done, and
# /healthz/readiness with 200 only once its database is ready.
n8n_ready() {
  curl -fsS -o /dev/null --max-time 5 "$N8N/healthz/readiness"
}

# setup_owner: n8n's owner, as the editor's first page makes it. The body is
# built by printf (a builtin) and sent on stdin: the password is in no
# process's arguments. An owner already there is left as it is.
setup_owner() {
  local out status
  secret n8n-owner-password OWNER_PASSWORD
  out=$(printf '{"email":"%s","firstName":"GeuseMaker","lastName":"Owner","password":"%s"}' \
    "$OWNER_EMAIL" "$OWNER_PASSWORD" |
    curl -sS --max-time 30 -w '\n%{http_code}' -H 'Content-Type: application/json' \
      --data-binary @- "$N8N/rest/owner/setup") || out=$'\n000'
  unset OWNER_PASSWORD
  status=${out##*$'\n'}
  case "$status" in
    200) echo "n8n's owner is $OWNER_EMAIL" ;;
    400)
      case "$out" in
        *"already setup"*) echo "n8n's owner was set up before; left as it is" >&2 ;;
        *) fail "n8n: owner setup answered HTTP 400" ;;
      esac
      ;;
    *) fail "n8n: owner setup answered HTTP $status" ;;
  esac
}

# Each service's share of the memory left after 512 MiB for the system, as
# compose's .env (the limits in the compose file): Ollama's models need the
# most; PostgreSQL and Qdrant are small at this scale.
size_memory() {
  local total usable
  total=$(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo)
  usable=$((total > 1536 ? total - 512 : total * 2 / 3))
  {
    echo "OLLAMA_MEMORY=$((usable * 40 / 100))m"
    echo "N8N_MEMORY=$((usable * 20 / 100))m"
    echo "CRAWL4AI_MEMORY=$((usable * 15 / 100))m"
    echo "QDRANT_MEMORY=$((usable * 13 / 100))m"
    echo "POSTGRES_MEMORY=$((usable * 12 / 100))m"
  } >/opt/geusemaker/.env
}
# A 4 GiB swap file on the root volume, once: a 4 GiB instance pages
# instead of meeting the kernel's OOM killer.
add_swap() {
  if ! swapon --show=NAME --noheadings | grep -qx /swapfile; then
    [ -e /swapfile ] || { fallocate -l 4G /swapfile && chmod 600 /swapfile && mkswap /swapfile >/dev/null; }
    swapon /swapfile
  fi
  grep -q '^/swapfile ' /etc/fstab || echo '/swapfile none swap defaults 0 0' >>/etc/fstab
}
trap 'on_err $? $LINENO' ERR
mkdir -p /var/lib/geusemaker /opt/geusemaker
if [ "${1:-}" = secrets ]; then
  STEP="writing the secrets at boot"
  write_secrets
  exit 0
fi
mark cloud-init
INSTANCE_ID=$(retry 3 imds instance-id) || fail "imds: no instance id"
echo "$INSTANCE_ID" >/var/lib/geusemaker/instance-id

STEP="installing packages"
# A baked image (GeuseMaker's, from this base) has them all: a relaunch
# boots straight to taking the lease.
if [ -f /opt/geusemaker/baked ] && command -v docker >/dev/null &&
  [ -x /usr/local/lib/docker/cli-plugins/docker-compose ]; then
  mark packages
else
{{INSTALL_PACKAGES}}
  mark packages
fi

STEP="adding swap"
add_swap

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
mkdir -p /mnt/efs/n8n /mnt/efs/ollama /mnt/efs/qdrant-snapshots /mnt/efs/postgres
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
write_secrets
mark secrets

size_memory
cat >"$COMPOSE_FILE" <<'COMPOSE'
{{COMPOSE}}
COMPOSE
{{PUBLIC_ADDRESS}}
STEP="checking the GPU"
{{GPU_CHECK}}

STEP="pulling images"
IMAGES=$(docker compose -f "$COMPOSE_FILE" config --images)
for image in $IMAGES; do pull "$image"; done
mark images-pulled

STEP="installing the units"
# Later boots: the secrets' tmpfs is written again before Docker starts.
install -m 0700 "$0" /opt/geusemaker/boot.sh
mkdir -p /etc/systemd/system/docker.service.d
{{INSTANCE_FILES}}
systemctl daemon-reload
systemctl enable geusemaker-secrets.service geusemaker-stack.service \
  geusemaker-spot-signals.service geusemaker-watchdog.timer geusemaker-qdrant-snapshots.timer
# From here on each marker is also copied to EFS, as the units' are.
# shellcheck source=/dev/null
. /opt/geusemaker/mark.sh
mark ready-to-start

STEP="taking the writer lease"
# Ready to start: images here, EFS mounted, nothing running. One instance at
# a time runs the services; this waits while another holds the lease.
systemctl start geusemaker-lease.service
{{CLAIM_ADDRESS}}
STEP="moving Qdrant to block storage"
/opt/geusemaker/qdrant-snapshots.sh migrate

STEP="starting the services"
systemctl start geusemaker-stack.service
mark compose-up
# Empty storage (a new instance) gets its collections back from EFS; a
# failed restore is marked, not fatal: n8n runs, Qdrant's data waits on EFS.
/opt/geusemaker/qdrant-snapshots.sh restore || mark qdrant-restore-failed
{{OLLAMA_DEVICE}}

STEP="setting up n8n's owner"
for _ in $(seq 1 120); do
  if n8n_ready; then break; fi
  sleep 5
done
n8n_ready || fail "n8n: $N8N/healthz/readiness did not answer 200 within 10 minutes"
setup_owner
mark owner-ready
systemctl start geusemaker-spot-signals.service geusemaker-qdrant-snapshots.timer
touch /run/geusemaker/watchdog-armed
systemctl start geusemaker-watchdog.timer

STEP="joining the group"
# The group's launch hook holds this instance out of service (no load
# balancer traffic) until its boot says the stack is ready: now.
retry 5 aws autoscaling complete-lifecycle-action --region "$REGION" \
  --auto-scaling-group-name "$GROUP" --lifecycle-hook-name "$LAUNCH_HOOK" \
  --instance-id "$INSTANCE_ID" --lifecycle-action-result CONTINUE ||
  fail "group: could not complete the launch lifecycle action of $GROUP"
echo "GeuseMaker stack $STACK is up"
