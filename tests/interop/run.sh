#!/usr/bin/env bash
# Runs the third-party client checks against a freshly started stompbox binary.
# Usage: tests/interop/run.sh PYTHON STOMPBOX_BINARY
set -euo pipefail
python=$1
binary=$2
here=$(cd "$(dirname "$0")" && pwd)

log=$(mktemp)
"$binary" --port 0 --quiet >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -f "$log"' EXIT

# The first line of stdout names the address; wait for it (bounded).
for _ in $(seq 1 100); do
  line=$(head -n 1 "$log" || true)
  [ -n "$line" ] && break
  sleep 0.05
done
addr=${line##* }
case "$addr" in
  *:*) ;;
  *) echo "stompbox did not print its address: $(cat "$log")" >&2; exit 1 ;;
esac
echo "stompbox listening on $addr"
"$python" "$here/stomppy_check.py" "$addr"
