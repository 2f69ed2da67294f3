# shellcheck shell=bash
# Sourced by the instance's scripts: `mark NAME` appends "NAME TIME" to this
# instance's stage markers and, once the stack's EFS is mounted, to its copy
# there, which outlives the instance: the next one reads a lost instance's
# drain from it (src/instance/markers.rs). A hard NFS mount can hang, so the
# copy is bounded and best effort; the local file is the record.
# `notify TEXT` tells the stack's SNS topic, when it has one.
MARKERS=/var/lib/geusemaker/stage
EFS_MARKERS=/mnt/efs/.geusemaker/markers
SNS_TOPIC="{{SNS_TOPIC}}"
STACK_NAME="{{STACK}}"

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

# Publish TEXT to the stack's topic (the role may publish to it alone):
# bounded, tried three times by the CLI, and a failure only logged, so a
# drain or a check is never held up by it.
notify() {
  [ -n "$SNS_TOPIC" ] || return 0
  local id region
  id=$(cat /var/lib/geusemaker/instance-id 2>/dev/null) || id=unknown
  region=$(echo "$SNS_TOPIC" | cut -d: -f4)
  AWS_RETRY_MODE=standard AWS_MAX_ATTEMPTS=3 timeout 15 \
    aws sns publish --region "$region" --topic-arn "$SNS_TOPIC" \
    --subject "GeuseMaker: $STACK_NAME" \
    --message "$STACK_NAME on $id: $1" --output text >/dev/null ||
    echo "notify: could not publish to $SNS_TOPIC: $1" >&2
  return 0
}
