#!/bin/bash
# Qdrant keeps its live storage on the instance's block storage: its own
# guide says it does not work on NFS. Its snapshots go to EFS, through its
# per-collection snapshot API, so a replacement gets the collections back.
#   qdrant-snapshots.sh migrate    before compose: a stack whose storage was
#                                  on EFS (the old layout) copies it here once
#   qdrant-snapshots.sh restore    after compose: empty storage recovers each
#                                  collection from its newest snapshot
#   qdrant-snapshots.sh snapshot [drain]   timer, rebalance and drain: one of each
#                                  collection changed since its last, keeping
#                                  the newest KEEP
# What a hard failure without a drain loses: writes since the last snapshot.
set -euo pipefail

LIVE=/var/lib/geusemaker/qdrant
OLD_LAYOUT=/mnt/efs/qdrant
SNAPSHOTS=/mnt/efs/qdrant-snapshots
STAMPS=/var/lib/geusemaker/qdrant-stamps
KEEP=3
QDRANT=http://127.0.0.1:6333
HEADER=/run/geusemaker/qdrant.header

# shellcheck source=/dev/null # installed beside this script
. /opt/geusemaker/mark.sh

# The API key as a header file on tmpfs: never in a command's arguments.
header() {
  local line
  line=$(grep '^QDRANT__SERVICE__API_KEY=' /run/geusemaker/secrets/qdrant.env)
  (umask 077 && printf 'api-key: %s\n' "${line#*=}" >"$HEADER")
}

api() {
  curl -sf -m "${TIMEOUT:-20}" -H "@$HEADER" -H 'Content-Type: application/json' "$@"
}

collections() {
  api "$QDRANT/collections" | jq -r '.result.collections[].name'
}

ready() {
  for _ in $(seq 1 60); do
    curl -sf -m 2 "$QDRANT/readyz" >/dev/null && return 0
    sleep 2
  done
  return 1
}

migrate() {
  mkdir -p "$LIVE" "$SNAPSHOTS"
  if [ -z "$(ls -A "$LIVE")" ] && [ -d "$OLD_LAYOUT/collections" ]; then
    cp -a "$OLD_LAYOUT/." "$LIVE/"
    mark qdrant-migrated
  fi
}

restore() {
  header
  ready
  [ -z "$(collections)" ] || return 0
  local dir name newest restored=0
  for dir in "$SNAPSHOTS"/*/; do
    [ -d "$dir" ] || continue
    name=$(basename "$dir")
    newest=$(find "$dir" -maxdepth 1 -name '*.snapshot' -printf '%T@ %f\n' | sort -n | tail -1 | cut -d' ' -f2)
    [ -n "$newest" ] || continue
    TIMEOUT=600 api -X PUT "$QDRANT/collections/$name/snapshots/recover?wait=true" \
      -d "{\"location\":\"file:///qdrant/snapshots/$name/$newest\"}" >/dev/null
    restored=$((restored + 1))
  done
  [ "$restored" -eq 0 ] || mark "qdrant-restored:$restored"
}

snapshot() {
  header
  mkdir -p "$STAMPS"
  local name old
  for name in $(collections); do
    # Unchanged since its last snapshot: nothing written under its storage.
    if [ -e "$STAMPS/$name" ] &&
      [ -z "$(find "$LIVE/collections/$name" -newer "$STAMPS/$name" -print -quit 2>/dev/null)" ]; then
      continue
    fi
    touch "$STAMPS/$name.next"
    TIMEOUT=120 api -X POST "$QDRANT/collections/$name/snapshots?wait=true" >/dev/null
    mv "$STAMPS/$name.next" "$STAMPS/$name"
    for old in $(api "$QDRANT/collections/$name/snapshots" |
      jq -r '.result | sort_by(.creation_time) | reverse | .['"$KEEP"':][].name'); do
      api -X DELETE "$QDRANT/collections/$name/snapshots/$old" >/dev/null || true
    done
  done
  # The drain's snapshot is a step of its own; the timer's are not marked.
  [ "${1:-}" != drain ] || mark drain-qdrant-snapshot
}

case "${1:-}" in
  migrate) migrate ;;
  restore) restore ;;
  snapshot) snapshot "${2:-}" ;;
  *)
    echo "usage: $0 migrate|restore|snapshot" >&2
    exit 2
    ;;
esac
