#!/usr/bin/env bash
# Runs the stomp.py checks against a freshly started stompbox binary.
# Usage: tests/interop/run.sh PYTHON STOMPBOX_BINARY
set -euo pipefail
python=$1
binary=$2
here=$(cd "$(dirname "$0")" && pwd)

work=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The first line of stdout names the address; read it as it is written.
mkfifo "$work/out"
"$binary" --port 0 --quiet >"$work/out" 2>&1 &
pid=$!
exec 3<"$work/out"
read -r -t 10 line <&3 || { echo "stompbox printed no address" >&2; exit 1; }
addr=${line##* }
case "$addr" in
  *:*) ;;
  *) echo "stompbox did not print its address: $line" >&2; exit 1 ;;
esac
echo "stompbox listening on $addr"
"$python" "$here/stomppy_check.py" "$addr"
