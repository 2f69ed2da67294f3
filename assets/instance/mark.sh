# shellcheck shell=bash
# Sourced by the instance's scripts: `mark NAME` appends "NAME TIME" to this
# instance's stage markers and, once the stack's EFS is mounted, to its copy
# there, which outlives the instance: the next one reads a lost instance's
# drain from it (src/instance/markers.rs). A hard NFS mount can hang, so the
# copy is bounded and best effort; the local file is the record.
MARKERS=/var/lib/geusemaker/stage
EFS_MARKERS=/mnt/efs/.geusemaker/markers

mark() {
  local line id
  line="$1 $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  mkdir -p "${MARKERS%/*}"
  echo "$line" >>"$MARKERS"
  id=$(cat /var/lib/geusemaker/instance-id 2>/dev/null) || return 0
  # shellcheck disable=SC2016 # expanded by the inner bash
  timeout 5 bash -c 'mountpoint -q /mnt/efs && mkdir -p "$1" && echo "$2" >>"$1/$3"' \
    _ "$EFS_MARKERS" "$line" "$id" || true
}
