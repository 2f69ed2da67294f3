#!/bin/bash
# GeuseMaker image builder for {{STACK}}: a throw-away instance from the base
# image that installs Docker, the compose plugin and the EFS utilities, pulls
# the stack's pinned images, cleans itself and powers off. GeuseMaker then
# makes an image of it (CreateImage) and terminates it. It never receives a
# secret and never mounts EFS: it has no instance role, and this script names
# neither. What it prints to the console (`geusemaker-bake: …`) is how
# GeuseMaker learns that it failed, as it has no role to say so otherwise.
set -Eeuo pipefail
shopt -s inherit_errexit 2>/dev/null || true

IMAGES="{{IMAGES}}"
BAKE_KEY="{{BAKE_KEY}}"
STEP="starting"

say() {
  echo "geusemaker-bake: $1" | tee /dev/console >&2 || true
}
on_err() {
  trap - ERR
  say "failed: $STEP (exit $1 at line $2)"
  exit 1
}
fail() {
  trap - ERR
  say "failed: $1"
  exit 1
}
{{NETWORK_STEPS}}

trap 'on_err $? $LINENO' ERR
say "started"

STEP="installing packages"
{{INSTALL_PACKAGES}}

STEP="pulling images"
systemctl start docker
for image in $IMAGES; do pull "$image"; done

STEP="cleaning up"
# Docker starts only once the boot has mounted EFS and taken the lease: it
# is left disabled here, and the boot's drop-ins order it.
systemctl disable docker.service docker.socket
systemctl stop docker.service docker.socket
mkdir -p /opt/geusemaker
# What the boot reads to skip the installs and the pulls.
printf 'key=%s\nimages=%s\n' "$BAKE_KEY" "$IMAGES" >/opt/geusemaker/baked
# Nothing of this instance's in the image. cloud-init runs the user data
# again on each new instance id, so its state needs no cleaning.
rm -rf /var/lib/geusemaker /tmp/pull.err
say "done"
systemctl poweroff
