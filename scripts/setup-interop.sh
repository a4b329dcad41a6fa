#!/usr/bin/env bash
# Installs the Go toolchain and hashicorp/yamux (Debian packages) if missing,
# then builds the Go interop peer (spec/interop/go/yamuxpeer) to
# .tmp/interop/yamuxpeer and prints its path, and the Go bench driver
# (bench/go/benchpeer, the go-yamux peer of `npm run bench`) to
# .tmp/interop/benchpeer. Idempotent: rebuilds a binary only when it is
# missing or older than its source. A failure to build the bench driver is
# reported but does not fail the script (the benchmark then skips go-yamux).
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

BENCH_SRC="$ROOT/bench/go/benchpeer"
BENCH_OUT="$OUT_DIR/benchpeer"
if [ -d "$BENCH_SRC" ] && { [ ! -x "$BENCH_OUT" ] || [ -n "$(find "$BENCH_SRC" -name '*.go' -newer "$BENCH_OUT" -print -quit)" ]; }; then
  echo "setup-interop: building $BENCH_OUT (go-yamux bench driver)" >&2
  if ! (
    cd "$BENCH_SRC"
    GO111MODULE=off GOPATH="$GOPATH_DIR" GOFLAGS= GOCACHE="${GOCACHE:-$ROOT/.tmp/interop/gocache}" \
      go build -o "$BENCH_OUT.tmp.$$" . && mv -f "$BENCH_OUT.tmp.$$" "$BENCH_OUT"
  ); then
    echo "setup-interop: could not build the bench driver; npm run bench will skip go-yamux" >&2
  fi
fi

echo "$OUT"
