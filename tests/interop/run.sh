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

# The ready line (JSON) names the addresses; read it as it is written.
mkfifo "$work/out"
"$binary" --port 0 --tls-port 0 --tls-client-certificates --issue-client-cert stomppy \
  --ready-json --quiet >"$work/out" 2>&1 &
pid=$!
exec 3<"$work/out"
read -r -t 10 line <&3 || { echo "stompbox printed no ready line" >&2; exit 1; }
field() {
  "$python" -c 'import json, sys
value = json.loads(sys.argv[1])
for key in sys.argv[2:]:
    value = value[key]
print(value)' "$line" "$@"
}
addr=$(field stomp) || { echo "stompbox did not print its addresses: $line" >&2; exit 1; }
tls=$(field tls)
ca=$(field ca)
cert=$(field client_certs stomppy cert)
key=$(field client_certs stomppy key)
echo "stompbox listening on $addr, TLS on $tls (client certificates required)"
"$python" "$here/stomppy_check.py" "$addr" "$tls" "$ca" "$cert" "$key"
