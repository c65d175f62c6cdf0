#!/usr/bin/env bash
# The two stompest programs of the RocketMQ STOMP gateway's page (subscriber
# and sender, STOMP 1.2, HMAC-SHA1 passcode) against `stompbox --profile
# rocketmq`; then the sender with a wrong secret, and on a topic without PUB,
# must each get an ERROR.
# Usage: tests/interop/rocketmq.sh PYTHON STOMPBOX_BINARY
set -euo pipefail
python=$1
binary=$2
here=$(cd "$(dirname "$0")" && pwd)
count=3
access_key=AK_ci
secret=secret_ci

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# The broker: topic xx has PUB and SUB, topic nopub only SUB.
mkfifo "$work/broker" "$work/subscriber"
"$binary" --port 0 --quiet --profile rocketmq --user "$access_key:$secret" \
  --grant "$access_key:xx:PUB+SUB" --grant "$access_key:nopub:SUB" >"$work/broker" &
pids+=($!)
exec 3<"$work/broker"
read -r -t 10 ready <&3 || fail "stompbox printed no address"
addr=${ready##* }
echo "stompbox --profile rocketmq listening on $addr"
export BROKER_URL="tcp://$addr" ACCESS_KEY=$access_key SECRET_KEY=$secret

# Subscriber first (a topic keeps nothing for absent subscribers); its first
# line is the RECEIPT of its SUBSCRIBE, after which the sender may start.
COUNT=$count "$python" -u "$here/rocketmq/subscriber.py" >"$work/subscriber" 2>&1 &
subscriber=$!
pids+=($subscriber)
exec 4<"$work/subscriber"
read -r -t 10 line <&4 || fail "the subscriber printed nothing"
echo "subscriber: $line"
[[ $line == recv:*RECEIPT* ]] || fail "expected the RECEIPT first, got: $line"

sent=$(COUNT=$count "$python" -u "$here/rocketmq/sender.py" 2>&1) || fail "sender failed: $sent"
echo "$sent" | sed 's/^/sender: /'
receipts=$(grep -c '^resp: RECEIPT' <<<"$sent" || true)
[ "$receipts" -eq "$count" ] || fail "expected $count RECEIPTs, got $receipts"

for i in $(seq 1 "$count"); do
  read -r -t 10 line <&4 || fail "the subscriber got no message $i"
  echo "subscriber: $line"
  [[ $line == recv:*MESSAGE*m_$i* ]] || fail "expected MESSAGE m_$i, got: $line"
done
wait "$subscriber" || fail "the subscriber did not end cleanly"

echo "--- sender with a wrong secret"
if out=$(SECRET_KEY=not_the_secret COUNT=1 "$python" -u "$here/rocketmq/sender.py" 2>&1); then
  fail "the sender with a wrong secret succeeded: $out"
fi
echo "$out" | tail -n 3
grep -q "bad signature for login '$access_key'" <<<"$out" || fail "no 'bad signature' ERROR"

echo "--- sender on a topic without PUB"
out=$(QUEUE=/nopub/x COUNT=1 "$python" -u "$here/rocketmq/sender.py" 2>&1) || true
echo "$out" | tail -n 3
grep -q "^resp: ERROR" <<<"$out" || fail "no ERROR frame for the SEND"
grep -q "needs PUB on topic 'nopub'" <<<"$out" || fail "the ERROR does not name the missing PUB"
echo "rocketmq interoperability: ok"
