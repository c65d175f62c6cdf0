"""Application-style tests with real Python STOMP clients against stompbox,
asserting through its HTTP API."""
import threading

import stomp
from stompest.config import StompConfig
from stompest.protocol import StompSpec
from stompest.sync import Stomp


class Collector(stomp.ConnectionListener):
    def __init__(self):
        self.messages = []
        self.arrived = threading.Event()

    def on_message(self, frame):
        self.messages.append(frame)
        self.arrived.set()


def test_stomppy_send_is_seen_by_the_broker(broker):
    conn = stomp.Connection12([(broker.host, broker.port)])
    conn.connect(wait=True, headers={"client-id": "orders-service"})
    conn.send("/queue/orders", "order 42", headers={"priority": "9"})
    conn.disconnect()

    [message] = broker.wait_for_messages("/queue/orders")
    assert message["body"] == "order 42"
    assert ["priority", "9"] in message["headers"]
    assert message["origin"]["client_id"] == "orders-service"


def test_stomppy_consumer_acks_an_injected_message(broker):
    listener = Collector()
    conn = stomp.Connection12([(broker.host, broker.port)])
    conn.set_listener("", listener)
    conn.connect(wait=True)
    conn.subscribe("/queue/jobs", id="1", ack="client-individual")
    message_id = broker.publish("/queue/jobs", "job 1", {"kind": "test"})
    assert listener.arrived.wait(5)
    frame = listener.messages[0]
    assert frame.body == "job 1"
    conn.ack(frame.headers["ack"])
    conn.disconnect(receipt="bye")

    [ack] = broker.get("/acks")
    assert ack["message_id"] == message_id and ack["kind"] == "ACK"


def test_stompest_transaction_is_published_on_commit(broker):
    client = Stomp(StompConfig("tcp://%s:%d" % (broker.host, broker.port), version=StompSpec.VERSION_1_2))
    client.connect(host="localhost")
    with client.transaction() as transaction:
        client.send("/queue/ledger", b"debit", headers={StompSpec.TRANSACTION_HEADER: transaction})
        client.send("/queue/ledger", b"credit", headers={StompSpec.TRANSACTION_HEADER: transaction})
    client.disconnect()

    messages = broker.wait_for_messages("/queue/ledger", count=2)
    assert [m["body"] for m in messages] == ["debit", "credit"]
    [committed] = broker.get("/transactions/history")
    assert committed["outcome"] == "committed"


def test_a_wait_that_times_out_says_what_arrived(broker):
    broker.publish("/queue/typo", "misrouted")
    status, body = broker._call("GET", "/wait", {"destination": "/queue/right", "timeout_ms": 20})
    assert status == 408
    assert "/queue/typo: 1" in body["error"]
