#!/bin/sh
# Install geusemaker-tui from a GitHub release, no Rust needed:
#   curl -LsSf https://github.com/OWNER/geusemaker-tui/releases/latest/download/geusemaker-tui-installer.sh | sh
# Picks the archive for this OS and CPU (Linux or macOS, x86_64 or aarch64),
# checks its SHA-256 against the release's, and puts the binary in
# $GEUSEMAKER_INSTALL_DIR (default ~/.local/bin).
#   GEUSEMAKER_VERSION=v0.1.0   a given release instead of the latest
#   GEUSEMAKER_REPO=owner/name  another repository (the release workflow fills in its own)
set -eu

repo="${GEUSEMAKER_REPO:-OWNER/geusemaker-tui}"
version="${GEUSEMAKER_VERSION:-latest}"
dir="${GEUSEMAKER_INSTALL_DIR:-$HOME/.local/bin}"

fail() {
  echo "geusemaker-tui installer: $*" >&2
  exit 1
}

case "$(uname -s)" in
  Linux) os=unknown-linux-gnu ;;
  Darwin) os=apple-darwin ;;
  *) fail "no build for $(uname -s); install from source: cargo install --locked --git https://github.com/$repo" ;;
esac
case "$(uname -m)" in
  x86_64 | amd64) arch=x86_64 ;;
  aarch64 | arm64) arch=aarch64 ;;
  *) fail "no build for $(uname -m); install from source: cargo install --locked --git https://github.com/$repo" ;;
esac
name="geusemaker-tui-$arch-$os"

if [ "$version" = latest ]; then
  base="https://github.com/$repo/releases/latest/download"
else
  base="https://github.com/$repo/releases/download/$version"
fi

download() {
  if command -v curl >/dev/null 2>&1; then
    curl --proto '=https' --tlsv1.2 -fsSL -o "$2" "$1"
  elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$2" "$1"
  else
    fail "needs curl or wget"
  fi
}

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d' ' -f1
  else
    fail "needs sha256sum or shasum to check the download"
  fi
}

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT INT TERM

echo "Downloading $name ($version) from github.com/$repo"
download "$base/$name.tar.gz" "$tmp/$name.tar.gz" || fail "could not download $base/$name.tar.gz"
download "$base/$name.tar.gz.sha256" "$tmp/$name.tar.gz.sha256" || fail "could not download its checksum"
want="$(cut -d' ' -f1 <"$tmp/$name.tar.gz.sha256")"
got="$(sha256 "$tmp/$name.tar.gz")"
[ "$want" = "$got" ] || fail "checksum mismatch for $name.tar.gz: expected $want, got $got"

tar -xzf "$tmp/$name.tar.gz" -C "$tmp"
mkdir -p "$dir"
# Into place by a rename, so a running copy is never overwritten in place.
cp "$tmp/$name/geusemaker-tui" "$dir/.geusemaker-tui.new"
chmod 755 "$dir/.geusemaker-tui.new"
mv -f "$dir/.geusemaker-tui.new" "$dir/geusemaker-tui"
echo "Installed $("$dir/geusemaker-tui" --version) to $dir/geusemaker-tui"

case ":$PATH:" in
  *":$dir:"*) ;;
  *) echo "Note: $dir is not on your PATH; add it, e.g. export PATH=\"$dir:\$PATH\"" ;;
esac
