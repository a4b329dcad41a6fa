#!/usr/bin/env bash
# Installs the Go toolchain and hashicorp/yamux (Debian packages) if missing,
# then builds the Go interop peer (spec/interop/go/yamuxpeer) to
# .tmp/interop/yamuxpeer and prints its path. Idempotent: rebuilds only when
# the binary is missing or older than the peer's source.
#
# There is no Go module proxy here: the peer is built in GOPATH mode against
# the Debian-packaged source in /usr/share/gocode.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC_DIR="$ROOT/spec/interop/go/yamuxpeer"
OUT_DIR="$ROOT/.tmp/interop"
OUT="$OUT_DIR/yamuxpeer"
GOPATH_DIR=/usr/share/gocode
YAMUX_SRC="$GOPATH_DIR/src/github.com/hashicorp/yamux"

if ! command -v go >/dev/null 2>&1 || [ ! -f "$YAMUX_SRC/session.go" ]; then
  echo "setup-interop: installing golang-go and golang-github-hashicorp-yamux-dev" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update >&2
  $SUDO apt-get install -y --no-install-recommends golang-go golang-github-hashicorp-yamux-dev >&2
fi

if ! command -v go >/dev/null 2>&1; then
  echo "setup-interop: go is still not on PATH after installing golang-go" >&2
  exit 1
fi
if [ ! -f "$YAMUX_SRC/session.go" ]; then
  echo "setup-interop: hashicorp/yamux source not found in $YAMUX_SRC" >&2
  exit 1
fi

mkdir -p "$OUT_DIR"
if [ ! -x "$OUT" ] || [ -n "$(find "$SRC_DIR" -name '*.go' -newer "$OUT" -print -quit)" ]; then
  echo "setup-interop: building $OUT ($(go version), yamux $(dpkg-query -W -f='${Version}' golang-github-hashicorp-yamux-dev 2>/dev/null || echo unknown))" >&2
  (
    cd "$SRC_DIR"
    GO111MODULE=off GOPATH="$GOPATH_DIR" GOFLAGS= GOCACHE="${GOCACHE:-$ROOT/.tmp/interop/gocache}" \
      go build -o "$OUT.tmp.$$" . && mv -f "$OUT.tmp.$$" "$OUT"
  )
fi

echo "$OUT"
