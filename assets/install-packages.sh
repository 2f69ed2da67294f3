# Docker, the EFS utilities and jq from the distribution, and the compose
# plugin from GitHub, installed only if it matches its published SHA-256.
# Rendered into user-data.sh and bake.sh (their retry, download and fail).
# Amazon Linux 2023 has dnf; older Amazon Linux images (some GPU AMIs) yum.
if command -v dnf >/dev/null; then PKG=dnf; else PKG=yum; fi
retry 5 "$PKG" install -y docker amazon-efs-utils jq ||
  fail "packages: $PKG could not install docker, amazon-efs-utils and jq"
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
