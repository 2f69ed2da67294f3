#!/bin/bash
# GeuseMaker user data for {{STACK}}: install Docker and the EFS utilities,
# mount EFS, read the stack's secrets from SSM, and start the services.
# Progress is written as stage markers to /var/lib/geusemaker/stage, which
# GeuseMaker reads over SSM. No secret is in this file.
set -euo pipefail

STACK="{{STACK}}"
REGION="{{REGION}}"
EFS_ID="{{EFS_ID}}"
SECRETS_PATH="{{SECRETS_PATH}}"
MARKERS=/var/lib/geusemaker/stage

mkdir -p /var/lib/geusemaker /etc/geusemaker /opt/geusemaker
mark() {
  echo "$1 $(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$MARKERS"
}
mark cloud-init

# Amazon Linux 2023 has dnf; older Amazon Linux images (some GPU AMIs) yum.
if command -v dnf >/dev/null; then PKG=dnf; else PKG=yum; fi
"$PKG" install -y docker amazon-efs-utils
mkdir -p /usr/local/lib/docker/cli-plugins
curl -fsSL --retry 5 -o /usr/local/lib/docker/cli-plugins/docker-compose \
  "https://github.com/docker/compose/releases/download/{{COMPOSE_VERSION}}/docker-compose-linux-$(uname -m)"
chmod 0755 /usr/local/lib/docker/cli-plugins/docker-compose
systemctl enable --now docker
mark packages

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
mountpoint -q /mnt/efs
mkdir -p /mnt/efs/n8n /mnt/efs/ollama /mnt/efs/qdrant /mnt/efs/postgres
chown 1000:1000 /mnt/efs/n8n
mark efs-mounted

# Secrets: generated once per stack, reused on every redeploy.
secret() {
  aws ssm get-parameter --region "$REGION" --with-decryption \
    --name "$SECRETS_PATH$1" --query Parameter.Value --output text
}
umask 077
{
  echo "POSTGRES_PASSWORD=$(secret postgres-password)"
  echo "DB_POSTGRESDB_PASSWORD=$(secret postgres-password)"
  echo "N8N_ENCRYPTION_KEY=$(secret n8n-encryption-key)"
  echo "CRAWL4AI_API_TOKEN=$(secret crawl4ai-api-token)"
} >/etc/geusemaker/stack.env
chmod 0600 /etc/geusemaker/stack.env
umask 022
mark secrets

cat >/opt/geusemaker/docker-compose.yml <<'COMPOSE'
{{COMPOSE}}
COMPOSE
{{GPU_CHECK}}
docker compose -f /opt/geusemaker/docker-compose.yml pull
mark images-pulled
docker compose -f /opt/geusemaker/docker-compose.yml up -d
mark compose-up
{{OLLAMA_DEVICE}}
echo "GeuseMaker stack $STACK is up"
