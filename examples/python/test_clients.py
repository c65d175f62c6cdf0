"""Application-style tests with real Python STOMP clients against stompbox.

`pip install stompbox` (its pytest plugin gives each test the `stompbox`
fixture: a broker of its own, stopped after the test), then `pytest`."""
import threading

import pytest
import stomp
from stompest.config import StompConfig
from stompest.protocol import StompSpec
from stompest.sync import Stomp

from stompbox import WaitTimeout


class Collector(stomp.ConnectionListener):
    def __init__(self):
        self.messages = []
        self.arrived = threading.Event()

    def on_message(self, frame):
        self.messages.append(frame)
        self.arrived.set()


def test_stomppy_send_is_seen_by_the_broker(stompbox):
    conn = stomp.Connection12(stompbox.host_and_ports)
    conn.connect(wait=True, headers={"client-id": "orders-service"})
    conn.send("/queue/orders", "order 42", headers={"priority": "9"})
    conn.disconnect()

    [message] = stompbox.wait_for_messages("/queue/orders")
    assert message.body == "order 42"
    assert message.header("priority") == "9"
    assert message.origin["client_id"] == "orders-service"


def test_stomppy_consumer_acks_an_injected_message(stompbox):
    listener = Collector()
    conn = stomp.Connection12(stompbox.host_and_ports)
    conn.set_listener("", listener)
    conn.connect(wait=True)
    conn.subscribe("/queue/jobs", id="1", ack="client-individual")
    message_id = stompbox.publish("/queue/jobs", "job 1", {"kind": "test"})
    assert listener.arrived.wait(5)
    frame = listener.messages[0]
    assert frame.body == "job 1"
    conn.ack(frame.headers["ack"])
    conn.disconnect(receipt="bye")

    [ack] = stompbox.acks()
    assert ack.message_id == message_id and ack.kind == "ACK"


def test_stompest_transaction_is_published_on_commit(stompbox):
    client = Stomp(StompConfig(stompbox.url, version=StompSpec.VERSION_1_2))
    client.connect(host="localhost")
    with client.transaction() as transaction:
        client.send("/queue/ledger", b"debit", headers={StompSpec.TRANSACTION_HEADER: transaction})
        client.send("/queue/ledger", b"credit", headers={StompSpec.TRANSACTION_HEADER: transaction})
    client.disconnect()

    messages = stompbox.wait_for_messages("/queue/ledger", count=2)
    assert [m.body for m in messages] == ["debit", "credit"]
    [committed] = stompbox.transaction_history()
    assert committed["outcome"] == "committed"


def test_a_wait_that_times_out_says_what_arrived(stompbox):
    stompbox.publish("/queue/typo", "misrouted")
    with pytest.raises(WaitTimeout) as timeout:
        stompbox.wait_for_messages("/queue/right", timeout=0.02)
    assert "/queue/typo: 1" in str(timeout.value)
