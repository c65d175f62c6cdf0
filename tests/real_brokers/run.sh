#!/usr/bin/env bash
# The conformance run: the behaviour tests that take a broker address, against
# stompbox (default, and --profile rabbitmq), real ActiveMQ and real RabbitMQ.
#
#   tests/real_brokers/run.sh PYTHON [--write]
#
# Installs Debian's activemq and rabbitmq-server when missing (without letting
# the packages start their services), starts each broker on loopback only,
# STOMP only, on free ports, waits until each answers CONNECT, runs the tests,
# and stops the brokers whatever happens. Then conformance.py compares what
# failed with the differences declared in differences.txt (an undeclared
# difference, or a declared one no longer seen, fails) and checks that
# docs/conformance.md is the table these results make (--write rewrites it).
set -euo pipefail
cd "$(dirname "$0")/../.."
python=$1
mode=${2:---check}
here=tests/real_brokers
tests=(acks connect frames messaging receipts transactions selectors wildcards dead_letters temporary durable composite)

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if [ ! -f /usr/share/activemq/bin/activemq.jar ] || [ ! -x /usr/lib/rabbitmq/bin/rabbitmq-server ]; then
  # policy-rc.d 101: the packages install without starting their services
  # (which would listen beyond loopback).
  policy=/usr/sbin/policy-rc.d
  had_policy=0; [ -e $policy ] && had_policy=1
  [ $had_policy -eq 1 ] || printf '#!/bin/sh\nexit 101\n' | $sudo tee $policy >/dev/null
  $sudo chmod +x $policy
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq activemq rabbitmq-server >/dev/null
  [ $had_policy -eq 1 ] || $sudo rm -f $policy
fi

work=$(mktemp -d)
out=target/conformance
rm -rf "$out"; mkdir -p "$out"
free_port() { "$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
amq_port=$(free_port); rmq_port=$(free_port); rmq_dist=$(free_port); epmd_port=$(free_port)

rabbit_env() {
  env HOME="$work/rabbitmq" RABBITMQ_CONFIG_FILE="$work/rabbitmq/rabbitmq.conf" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$work/rabbitmq/enabled_plugins" \
    RABBITMQ_MNESIA_BASE="$work/rabbitmq/mnesia" RABBITMQ_LOG_BASE="$work/rabbitmq/log" \
    RABBITMQ_NODENAME=stompbox-conformance@localhost RABBITMQ_DIST_PORT="$rmq_dist" \
    ERL_EPMD_ADDRESS=127.0.0.1 ERL_EPMD_PORT="$epmd_port" "$@"
}

amq_pid=""; rmq_pid=""
stop_brokers() {
  [ -z "$amq_pid" ] || kill "$amq_pid" 2>/dev/null || true
  if [ -n "$rmq_pid" ]; then
    rabbit_env /usr/lib/rabbitmq/bin/rabbitmqctl stop >/dev/null 2>&1 || kill "$rmq_pid" 2>/dev/null || true
  fi
  rabbit_env epmd -kill >/dev/null 2>&1 || true
  [ -z "$amq_pid" ] || wait "$amq_pid" 2>/dev/null || true
  [ -z "$rmq_pid" ] || wait "$rmq_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap stop_brokers EXIT

started=$(date +%s)
echo "ActiveMQ on 127.0.0.1:$amq_port, RabbitMQ on 127.0.0.1:$rmq_port"
mkdir -p "$work/activemq"
cp $here/activemq.xml "$work/activemq/"
java -Xmx256m -Dactivemq.home=/usr/share/activemq -Dactivemq.base="$work/activemq" \
  -Dactivemq.conf="$work/activemq" -Dactivemq.data="$work/activemq/data" \
  -Dstomp.port="$amq_port" -jar /usr/share/activemq/bin/activemq.jar \
  start "xbean:file:$work/activemq/activemq.xml" >"$out/activemq-broker.log" 2>&1 &
amq_pid=$!

mkdir -p "$work/rabbitmq/mnesia" "$work/rabbitmq/log"
sed -e "s|@STOMP_PORT@|$rmq_port|" -e "s|@DIR@|$work/rabbitmq|" $here/rabbitmq.conf.in >"$work/rabbitmq/rabbitmq.conf"
cp $here/definitions.json "$work/rabbitmq/"
echo "[rabbitmq_stomp]." >"$work/rabbitmq/enabled_plugins"
rabbit_env /usr/lib/rabbitmq/bin/rabbitmq-server >"$out/rabbitmq-broker.log" 2>&1 &
rmq_pid=$!

# Builds the tests while the brokers start.
cargo test --quiet --no-run "${tests[@]/#/--test=}" 2>/dev/null

answers_connect() {
  "$python" - "$1" <<'EOF'
import socket, sys
try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
    s.sendall(b"CONNECT\naccept-version:1.2\nhost:localhost\nlogin:guest\npasscode:guest\n\n\0")
    sys.exit(0 if s.recv(9).startswith(b"CONNECTED") else 1)
except OSError:
    sys.exit(1)
EOF
}
for port in "$amq_port" "$rmq_port"; do
  for _ in $(seq 600); do
    answers_connect "$port" && break
    kill -0 "$amq_pid" "$rmq_pid" 2>/dev/null || { echo "a broker died while starting; see $out/*-broker.log"; exit 1; }
    sleep 0.1
  done
  answers_connect "$port" || { echo "nothing answers CONNECT on $port after 60 s"; exit 1; }
done
echo "brokers up after $(( $(date +%s) - started )) s"

run() { # name, then the environment for the tests
  local name=$1; shift
  env "$@" STOMPBOX_CONFORMANCE_LOG="$PWD/$out/$name.used" \
    cargo test --no-fail-fast "${tests[@]/#/--test=}" >"$out/$name.log" 2>&1 || true
}
run stompbox
run stompbox-rabbitmq STOMPBOX_TEST_PROFILE=rabbitmq
run activemq STOMPBOX_TEST_ADDR="127.0.0.1:$amq_port"
run rabbitmq STOMPBOX_TEST_ADDR="127.0.0.1:$rmq_port"
echo "tests ran against all four in $(( $(date +%s) - started )) s (brokers' start included)"

"$python" $here/conformance.py "$mode" "$out" $here/differences.txt docs/conformance.md
