"""stompbox: a real STOMP 1.0/1.1/1.2 broker for tests.

``pip install stompbox`` brings the broker (the ``stompbox`` binary) and a
pytest plugin: a test that asks for the ``stompbox`` fixture gets a broker of
its own on a free loopback port, points its STOMP client at it, and asks it
what it saw.

>>> import stompbox
>>> with stompbox.Broker() as broker:
...     _ = broker.publish("/queue/jobs", "job 1")
...     [m.body for m in broker.wait_for_messages("/queue/jobs")]
['job 1']
"""
from .broker import Broker, StompboxError, WaitTimeout, command_line, find_binary
from .records import (
    Ack,
    Connection,
    Delivery,
    ErrorRecord,
    Frame,
    Message,
    Subscription,
    Transaction,
    TranscriptEntry,
)

__all__ = [
    "Ack",
    "Broker",
    "Connection",
    "Delivery",
    "ErrorRecord",
    "Frame",
    "Message",
    "StompboxError",
    "Subscription",
    "Transaction",
    "TranscriptEntry",
    "WaitTimeout",
    "command_line",
    "find_binary",
]
