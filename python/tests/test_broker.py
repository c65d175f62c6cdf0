"""The Python API over the binary, driven by real clients: stomp.py and stompest."""
import os
import socket
import sys
import threading
from pathlib import Path

import pytest
import stomp
from stompest.config import StompConfig
from stompest.protocol import StompSpec
from stompest.sync import Stomp

from stompbox import Broker, Message, StompboxError, WaitTimeout, find_binary


class Collector(stomp.ConnectionListener):
    def __init__(self):
        self.frames = []
        self.errors = []
        self.arrived = threading.Event()

    def on_message(self, frame):
        self.frames.append(frame)
        self.arrived.set()

    def on_error(self, frame):
        self.errors.append(frame)
        self.arrived.set()


def stompest_client(broker, **config):
    client = Stomp(StompConfig(broker.url, version=StompSpec.VERSION_1_2, **config))
    client.connect(host="localhost")
    return client


def test_the_installed_binary_is_the_one_the_wheel_carries():
    if os.environ.get("STOMPBOX_BIN"):
        pytest.skip("STOMPBOX_BIN names another binary")
    binary = Path(find_binary())
    assert binary.name == "stompbox"
    assert Path(sys.prefix) in binary.parents, f"{binary} is not in {sys.prefix}"


def test_stomppy_send_is_a_typed_message(stompbox):
    conn = stomp.Connection12(stompbox.host_and_ports)
    conn.connect(wait=True, headers={"client-id": "orders-service"})
    conn.send("/queue/orders", "order 42", headers={"priority": "9"})
    conn.disconnect()

    [message] = stompbox.wait_for_messages("/queue/orders")
    assert isinstance(message, Message)
    assert message.body == "order 42" and message.body_bytes == b"order 42"
    assert message.header("priority") == "9"
    assert message.origin["client_id"] == "orders-service"
    assert stompbox.message_body(message.message_id) == b"order 42"


def test_stomppy_consumer_acks_an_injected_message(stompbox):
    listener = Collector()
    conn = stomp.Connection12(stompbox.host_and_ports)
    conn.set_listener("", listener)
    conn.connect(wait=True)
    conn.subscribe("/queue/jobs", id="worker", ack="client-individual")
    message_id = stompbox.publish("/queue/jobs", "job 1", {"kind": "test"})
    assert listener.arrived.wait(5)
    [subscription] = stompbox.subscriptions()
    assert (subscription.id, subscription.ack, subscription.unacked) == ("worker", "client-individual", 1)
    conn.ack(listener.frames[0].headers["ack"])
    conn.disconnect(receipt="bye")

    [ack] = stompbox.acks()
    assert (ack.kind, ack.message_id, ack.subscription) == ("ACK", message_id, "worker")
    [delivery] = stompbox.deliveries()
    assert (delivery.message_id, delivery.redelivered) == (message_id, False)


def test_stompest_transaction_is_open_then_committed(stompbox):
    client = stompest_client(stompbox)
    transaction = "tx-1"
    client.begin(transaction)
    client.send("/queue/ledger", b"debit", headers={StompSpec.TRANSACTION_HEADER: transaction})
    client.send("/queue/ledger", b"credit", headers={StompSpec.TRANSACTION_HEADER: transaction},
                receipt="held")
    client.receiveFrame()
    [open_transaction] = stompbox.transactions()
    assert open_transaction.id == transaction
    assert [f.body for f in open_transaction.frames] == ["debit", "credit"]
    assert [m.status for m in stompbox.uncommitted()] == ["in-transaction"] * 2
    client.commit(transaction)
    client.disconnect()

    messages = stompbox.wait_for_messages("/queue/ledger", count=2)
    assert [m.body for m in messages] == ["debit", "credit"]
    [ended] = stompbox.transaction_history()
    assert ended["outcome"] == "committed"


def test_a_connections_frames_are_its_transcript(stompbox):
    client = stompest_client(stompbox)
    client.send("/topic/prices", b"EUR 1.08", receipt="r")
    client.receiveFrame()
    client.disconnect()

    [connection] = stompbox.connections()
    assert connection.version == "1.2" and connection.transport == "tcp"
    entries = stompbox.frames(connection)
    assert [(e.direction, e.command) for e in entries] == [
        ("in", "CONNECT"), ("out", "CONNECTED"), ("in", "SEND"), ("out", "RECEIPT"), ("in", "DISCONNECT")]
    assert entries[2].frame.header("receipt") == "r"


def test_a_bad_frame_is_an_error_record(stompbox):
    with socket.create_connection((stompbox.host, stompbox.stomp_port)) as raw:
        raw.sendall(b"CONNECT\naccept-version:1.2\nhost:h\n\n\0SEND\nreceipt:oops\n\nx\0")
        while raw.recv(4096):
            pass
    [error] = stompbox.errors()
    assert (error.message, error.receipt_id) == ("missing 'destination' header", "oops")


def test_a_wait_that_times_out_is_an_assertion_error_holding_what_arrived(stompbox):
    stompbox.publish("/queue/typo", "misrouted")
    with pytest.raises(WaitTimeout) as timeout:
        stompbox.wait_for_messages("/queue/typo", count=2, timeout=0.05)
    assert isinstance(timeout.value, AssertionError), "pytest reports it as a failure"
    assert [m.body for m in timeout.value.arrived] == ["misrouted"]
    assert str(timeout.value).startswith("timed out after 50ms waiting for 2 messages published to /queue/typo")


@pytest.mark.stompbox(users={"app": "secret"}, grants=[("app", "/queue/mine", "PUB")])
def test_the_marker_sets_users_and_grants(stompbox):
    wrong = stomp.Connection12(stompbox.host_and_ports)
    with pytest.raises(stomp.exception.ConnectFailedException):
        wrong.connect("app", "guess", wait=True)
    [failure] = stompbox.auth_failures()
    assert failure["login"] == "app"
    assert "guess" not in str(failure), "a passcode never shows"

    listener = Collector()
    conn = stomp.Connection12(stompbox.host_and_ports)
    conn.set_listener("", listener)
    conn.connect("app", "secret", wait=True)
    conn.send("/queue/theirs", "no", receipt="r")
    assert listener.arrived.wait(5)
    [denial] = stompbox.permission_denials()
    assert denial["destination"] == "/queue/theirs"


@pytest.mark.stompbox(profile="rabbitmq")
def test_the_marker_sets_the_profile(stompbox):
    refused = stomp.Connection12(stompbox.host_and_ports, vhost="no-such-vhost")
    with pytest.raises(stomp.exception.ConnectFailedException):
        refused.connect(wait=True)
    [error] = stompbox.errors()
    assert error.message == "Bad CONNECT"


def test_the_factory_starts_brokers_of_their_own(stompbox_factory):
    small = stompbox_factory(max_frame_size=16)
    other = stompbox_factory()
    assert small.stomp_port != other.stomp_port
    client = stompest_client(small)
    client.send("/queue/a", b"x" * 17)
    assert client.receiveFrame().command == "ERROR"
    [error] = small.errors()
    assert error.message == "frame exceeds the maximum frame size"
    assert other.errors() == []


def test_faults_kicks_and_restarts(stompbox):
    fault = stompbox.add_fault("drop", direction="out", command="RECEIPT", times=1)
    assert [f["id"] for f in stompbox.faults()] == [fault["id"]]
    client = stompest_client(stompbox)
    client.send("/queue/a", b"1", receipt="lost")
    client.send("/queue/a", b"2", receipt="kept")
    assert client.receiveFrame().headers["receipt-id"] == "kept"
    assert stompbox.faults()[0]["fired"] == 1
    stompbox.remove_fault(fault)
    assert stompbox.faults() == []
    [connection] = stompbox.connections()
    stompbox.kick(connection)
    with pytest.raises(Exception):
        client.receiveFrame()


def test_the_broker_stops_with_the_with_block():
    with Broker() as broker:
        pid = broker.pid
        assert broker.memory()["in_use"] >= 0
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(StompboxError, match="not running"):
        broker.messages()


def test_a_bad_option_is_the_binarys_own_message():
    with pytest.raises(StompboxError) as error:
        Broker(max_frame_size="lots").start()
    assert "--max-frame-size" in str(error.value) and "lots" in str(error.value)


def test_a_report_dir_gets_the_html_report_of_a_failed_wait(stompbox_factory, tmp_path):
    broker = stompbox_factory(env={"STOMPBOX_REPORT_DIR": str(tmp_path)})
    broker.publish("/queue/typo", "misrouted")
    with pytest.raises(WaitTimeout) as timeout:
        broker.wait_for_messages("/queue/right", timeout=0.02)
    [line] = [line for line in str(timeout.value).splitlines() if line.startswith("HTML report: ")]
    report = Path(line[len("HTML report: "):])
    assert report.parent == tmp_path
    html = report.read_text()
    assert "waiting for 1 message published to /queue/right" in html and "StompboxDiagram" in html
