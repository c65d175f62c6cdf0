"""Drive a stompbox broker with stomp.py, a client nobody here wrote.

For each of STOMP 1.0, 1.1 and 1.2: connect, subscribe with a receipt, send
with a receipt and a custom header, receive, ack, nack and redelivery (1.1+),
a committed and an aborted transaction, topic fan-out to two subscriptions,
heart-beats (1.1+), an ERROR for an unknown command, and disconnect with a
receipt; then all of it for 1.2 over WebSocket (stomp.py's WSStompConnection,
on the same port) and over TLS (set_ssl, trusting the CA the broker made,
presenting the client certificate it issued; a client without one is
refused). Any mismatch raises, and the script exits non-zero.

Usage: python stomppy_check.py HOST:PORT [TLS_HOST:PORT CA_FILE CERT_FILE KEY_FILE]
"""

import queue
import sys
import threading
import time

import stomp
from stomp.adapter.ws import WSStompConnection

WAIT = 5.0  # seconds for anything that must happen
QUIET = 0.3  # seconds to be confident that nothing more arrives


class Recorder(stomp.ConnectionListener):
    """Puts every frame the client receives on queues, by kind."""

    def __init__(self):
        self.messages = queue.Queue()
        self.receipts = queue.Queue()
        self.errors = queue.Queue()
        self.connected = queue.Queue()
        self.heartbeats = 0
        self.beat = threading.Condition()

    def on_connected(self, frame):
        self.connected.put(frame)

    def on_message(self, frame):
        self.messages.put(frame)

    def on_receipt(self, frame):
        self.receipts.put(frame)

    def on_error(self, frame):
        self.errors.put(frame)

    def on_heartbeat(self):
        with self.beat:
            self.heartbeats += 1
            self.beat.notify_all()

    def wait_heartbeats(self, count, timeout):
        with self.beat:
            return self.beat.wait_for(lambda: self.heartbeats >= count, timeout)


def expect(condition, what):
    if not condition:
        raise AssertionError(what)


def take(q, what):
    try:
        return q.get(timeout=WAIT)
    except queue.Empty:
        raise AssertionError(f"timed out waiting for {what}") from None


def nothing(q, what):
    try:
        frame = q.get(timeout=QUIET)
    except queue.Empty:
        return
    raise AssertionError(f"expected no {what}, got {frame.cmd} {frame.headers} {frame.body!r}")


def receipt(rec, rid):
    frame = take(rec.receipts, f"RECEIPT {rid}")
    expect(frame.headers.get("receipt-id") == rid, f"receipt-id {rid}, got {frame.headers}")


def open_connection(addr, version, heartbeats=(0, 0), websocket=False, ca=None):
    host, port = addr
    if ca:
        ca_file, cert_file, key_file = ca
        conn = stomp.Connection12([(host, port)], heartbeats=heartbeats)
        conn.set_ssl(for_hosts=[(host, port)], ca_certs=ca_file, cert_file=cert_file, key_file=key_file)
    elif websocket:
        conn = WSStompConnection([(host, port)], heartbeats=heartbeats, ws_path="/ws")
    elif version == "1.0":
        conn = stomp.Connection10([(host, port)])
    elif version == "1.1":
        conn = stomp.Connection11([(host, port)], heartbeats=heartbeats)
    else:
        conn = stomp.Connection12([(host, port)], heartbeats=heartbeats)
    rec = Recorder()
    conn.set_listener("recorder", rec)
    conn.connect("guest", "guest", wait=True)
    connected = take(rec.connected, "CONNECTED")
    got = connected.headers.get("version", "1.0")
    expect(got == version, f"negotiated {version}, got {got}")
    return conn, rec


def ack(conn, version, frame):
    h = frame.headers
    if version == "1.2":
        conn.ack(h["ack"])
    elif version == "1.1":
        conn.ack(h["message-id"], h["subscription"])
    else:
        conn.ack(h["message-id"])


def nack(conn, version, frame):
    h = frame.headers
    if version == "1.2":
        conn.nack(h["ack"])
    else:
        conn.nack(h["message-id"], h["subscription"])


def check_version(addr, version, websocket=False, ca=None):
    over = "-ws" if websocket else "-tls" if ca else ""
    q = f"/queue/stomppy-{version}{over}"
    beats = (100, 100) if version != "1.0" else (0, 0)
    conn, rec = open_connection(addr, version, beats, websocket, ca)
    mode = "client" if version == "1.0" else "client-individual"

    conn.subscribe(destination=q, id="s1", ack=mode, headers={"receipt": "sub"})
    receipt(rec, "sub")

    conn.send(destination=q, body="hello", headers={"x-custom": "yes", "receipt": "send1"})
    receipt(rec, "send1")
    msg = take(rec.messages, "MESSAGE hello")
    expect(msg.body == "hello", f"body hello, got {msg.body!r}")
    expect(msg.headers.get("x-custom") == "yes", f"custom header carried, got {msg.headers}")
    expect(msg.headers.get("destination") == q, f"destination {q}, got {msg.headers}")
    expect("message-id" in msg.headers, "message-id present")
    ack(conn, version, msg)

    if version != "1.0":
        conn.send(destination=q, body="again")
        first = take(rec.messages, "MESSAGE again")
        expect("redelivered" not in first.headers, "first delivery not redelivered")
        nack(conn, version, first)
        second = take(rec.messages, "redelivery of again")
        expect(second.body == "again", f"redelivered body, got {second.body!r}")
        expect(second.headers.get("redelivered") == "true", f"redelivered:true, got {second.headers}")
        ack(conn, version, second)

    tx = conn.begin()
    conn.send(destination=q, body="in-tx", transaction=tx)
    nothing(rec.messages, "MESSAGE before COMMIT")
    conn.commit(tx, headers={"receipt": "commit"})
    receipt(rec, "commit")
    msg = take(rec.messages, "MESSAGE after COMMIT")
    expect(msg.body == "in-tx", f"committed body, got {msg.body!r}")
    ack(conn, version, msg)

    tx = conn.begin()
    conn.send(destination=q, body="aborted", transaction=tx)
    conn.abort(tx, headers={"receipt": "abort"})
    receipt(rec, "abort")
    nothing(rec.messages, "MESSAGE from an aborted transaction")

    t = f"/topic/stomppy-{version}{over}"
    conn.subscribe(destination=t, id="t1", ack="auto")
    conn.subscribe(destination=t, id="t2", ack="auto", headers={"receipt": "topics"})
    receipt(rec, "topics")
    conn.send(destination=t, body="fan-out")
    subs = sorted(take(rec.messages, "topic copy").headers["subscription"] for _ in range(2))
    expect(subs == ["t1", "t2"], f"one copy per subscription, got {subs}")

    if version != "1.0":
        expect(rec.wait_heartbeats(3, WAIT), "three heart-beats from the broker")

    conn.disconnect(receipt="bye")
    receipt(rec, "bye")

    # A second connection provokes an ERROR with an unknown command.
    conn, rec = open_connection(addr, version, websocket=websocket, ca=ca)
    conn.send_frame("BOGUS", {"receipt": "bogus"})
    err = take(rec.errors, "ERROR for BOGUS")
    expect(err.headers.get("message") == "unknown command 'BOGUS'", f"error message, got {err.headers}")
    expect(err.headers.get("receipt-id") == "bogus", f"receipt-id on the ERROR, got {err.headers}")
    try:
        conn.disconnect()
    except Exception:
        pass  # the broker has already closed the connection
    print(f"stomp.py {stomp.__version__} STOMP {version}{describe(websocket, ca)}: ok")


def refused_without_certificate(addr, ca_file):
    host, port = addr
    conn = stomp.Connection12([(host, port)], reconnect_attempts_max=1)
    conn.set_ssl(for_hosts=[(host, port)], ca_certs=ca_file)
    try:
        conn.connect(wait=True)
    except Exception:
        return
    raise AssertionError("a TLS connection without a client certificate was accepted")


def timed_transactions(addr, count=20, within_ms=400):
    """`count` transactions (BEGIN, SEND, COMMIT with a receipt, each
    receipt awaited), timed: stomp.py leaves Nagle's algorithm on, so a
    broker that delays its ACKs stalls each one about 40 ms (880 ms for 20).
    About 9 ms without the stalls on a quiet machine; the bound leaves room
    for a loaded CI machine and still catches one stall per transaction."""
    conn, rec = open_connection(addr, "1.2")
    started = time.monotonic()
    for n in range(count):
        tx = f"tx-{n}"
        conn.begin(tx)
        conn.send("/queue/timed", f"body {n}", transaction=tx)
        conn.commit(tx, headers={"receipt": f"commit-{n}"})
        receipt(rec, f"commit-{n}")
    took_ms = (time.monotonic() - started) * 1000
    conn.disconnect()
    print(f"stomp.py: {count} transactions (BEGIN, SEND, COMMIT with a receipt) in {took_ms:.1f} ms")
    expect(took_ms < within_ms, f"{count} transactions took {took_ms:.0f} ms, over {within_ms}")


def describe(websocket, ca):
    return " over WebSocket" if websocket else " over TLS" if ca else ""


def main():
    def parse(text):
        host, port = text.rsplit(":", 1)
        return (host, int(port))

    addr = parse(sys.argv[1])
    failed = 0
    runs = [(addr, "1.0", False, None), (addr, "1.1", False, None), (addr, "1.2", False, None),
            (addr, "1.2", True, None)]
    if len(sys.argv) > 5:
        runs.append((parse(sys.argv[2]), "1.2", False, tuple(sys.argv[3:6])))
    for where, version, websocket, ca in runs:
        try:
            check_version(where, version, websocket, ca)
        except Exception as e:  # report every run, then fail
            failed += 1
            print(f"stomp.py STOMP {version}{describe(websocket, ca)}: FAILED: {e}")
    try:
        timed_transactions(addr)
    except Exception as e:
        failed += 1
        print(f"stomp.py timed transactions: FAILED: {e}")
    runs.append(None)
    if len(sys.argv) > 5:
        try:
            refused_without_certificate(parse(sys.argv[2]), sys.argv[3])
            print("stomp.py over TLS without a client certificate: refused, as it must be")
        except Exception as e:
            failed += 1
            print(f"stomp.py over TLS without a client certificate: FAILED: {e}")
        runs.append(None)
    passed = len(runs) - failed
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
