#!/usr/bin/env python3
"""Writes docs/http-api.md: one real request and answer per endpoint of the
binary's HTTP API, taken from a running broker after a little traffic.

    python3 docs/http_api_examples.py target/debug/stompbox > docs/http-api.md

Standard library only. Ports, times and ids differ from run to run; the
shapes are what the examples are for.
"""
import json
import socket
import subprocess
import sys
import time
import urllib.request


def frame(sock, text, body=""):
    sock.sendall(text.encode() + b"\n" + body.encode() + b"\0")


def read_frames(sock, until):
    sock.settimeout(5)
    buf = b""
    while until not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            break
        buf += chunk
    return buf


def connect(port, extra=""):
    sock = socket.create_connection(("127.0.0.1", port))
    frame(sock, f"CONNECT\naccept-version:1.2\nhost:localhost\n{extra}")
    read_frames(sock, b"\0")
    return sock


def call(base, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def shown(text, limit=40):
    try:
        value = json.loads(text)
    except ValueError:
        lines = text.splitlines()
        if len(lines) > limit:
            lines = lines[:limit] + ["..."]
        return "\n".join(lines)
    if isinstance(value, list) and len(value) > 2:
        value = value[:2]
    lines = json.dumps(value, indent=2).splitlines()
    if len(lines) > limit:
        lines = lines[:limit] + ["  ..."]
    return "\n".join(lines)


def main():
    binary = sys.argv[1]
    broker = subprocess.Popen(
        [binary, "--port", "0", "--http-port", "0", "--ready-json", "-q"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        ready = json.loads(broker.stdout.readline())
        port = int(ready["stomp"].rsplit(":", 1)[1])
        base = ready["http"].rstrip("/")
        if not base.startswith("http"):
            base = "http://" + base
        worker = connect(port, "client-id:worker-1\n")
        frame(worker, "SUBSCRIBE\nid:jobs\ndestination:/queue/jobs\nack:client-individual\nreceipt:s\n")
        read_frames(worker, b"receipt-id:s")
        frame(worker, "SUBSCRIBE\nid:daily\ndestination:/topic/sales\nactivemq.subscriptionName:daily\nreceipt:d\n")
        read_frames(worker, b"receipt-id:d")
        producer = connect(port, "login:shop\n")
        frame(producer, "SEND\ndestination:/queue/jobs\ncontent-type:text/plain\nreceipt:r1\n", "job 1")
        got = read_frames(worker, b"job 1")
        ack = [l for l in got.decode().split("\n") if l.startswith("ack:")][0][4:]
        frame(worker, f"ACK\nid:{ack}\nreceipt:a\n")
        read_frames(worker, b"receipt-id:a")
        frame(producer, "BEGIN\ntransaction:tx-1\n")
        frame(producer, "SEND\ndestination:/queue/jobs\ntransaction:tx-1\nreceipt:r2\n", "held in tx-1")
        read_frames(producer, b"receipt-id:r2")
        frame(producer, "SEND\ndestination:/queue/waiting\nreceipt:r3\n", "nobody reads me")
        read_frames(producer, b"receipt-id:r3")
        bad = connect(port)
        frame(bad, "SEND\nreceipt:oops\n", "no destination")
        read_frames(bad, b"\0")
        stray = connect(port)
        stray.sendall(b"\0SEND\ndestination:/queue/waiting\nreceipt:r4\n\nafter a NUL\0")
        read_frames(stray, b"receipt-id:r4")

        first_id = json.loads(call(base, "GET", "/messages")[1])[0]["message_id"]
        examples = [
            ("GET", "/messages", None),
            ("GET", "/messages?destination=%2Fqueue%2Fwaiting&limit=1", None),
            ("GET", "/messages/uncommitted", None),
            ("GET", f"/messages/{first_id}/body", None),
            ("POST", "/messages", {"destination": "/queue/jobs", "body": "injected", "headers": {"kind": "test"}}),
            ("GET", "/wait?destination=%2Fqueue%2Fwaiting&count=1&timeout_ms=1000", None),
            ("GET", "/wait?destination=%2Fqueue%2Fnever&count=1&timeout_ms=50", None),
            ("GET", "/subscriptions", None),
            ("GET", "/durable-subscriptions", None),
            ("GET", "/transactions", None),
            ("GET", "/transactions/history", None),
            ("GET", "/connections", None),
            ("GET", "/connections/1/frames", None),
            ("GET", "/clients", None),
            ("GET", "/deliveries", None),
            ("GET", "/acks", None),
            ("GET", "/errors", None),
            ("GET", "/protocol-warnings", None),
            ("GET", "/auth-failures", None),
            ("GET", "/permission-denials", None),
            ("GET", "/queues?destination=%2Fqueue%2Fwaiting", None),
            ("GET", "/memory", None),
            ("GET", "/report", None),
            ("GET", "/traffic?after=0&limit=2", None),
            ("GET", "/traffic?after=0&command=ERROR", None),
            ("GET", "/info", None),
            ("POST", "/faults", {"kind": "drop", "direction": "out", "command": "RECEIPT", "times": 1}),
            ("GET", "/faults", None),
            ("DELETE", "/faults/1", None),
            ("POST", "/connections/2/kick", None),
            ("POST", "/pause", None),
            ("POST", "/resume", None),
            ("POST", "/restart?down_ms=10", None),
            ("DELETE", "/queues", None),
            ("POST", "/reset", None),
        ]
        print("# The HTTP API, endpoint by endpoint\n")
        print("Each example is a real answer of `stompbox --http-port` after a little")
        print("traffic (a worker with a client-acked and a durable subscription, a shop")
        print("producing, an open transaction, a SEND without destination, a stray NUL),")
        print("written by `python3 docs/http_api_examples.py target/debug/stompbox`.")
        print("Lists longer than two entries are cut to two. The README's table says what")
        print("each endpoint is for.\n")
        for method, path, body in examples:
            status, text = call(base, method, path, body)
            print(f"## `{method} {path}`\n")
            if body is not None:
                print("Body:\n\n```json\n" + json.dumps(body) + "\n```\n")
            fence = "text" if path == "/report" else "json"
            print(f"Answer: {status}\n\n```{fence}\n{shown(text)}\n```\n")
            if path.startswith("/restart"):
                time.sleep(0.2)
    finally:
        broker.terminate()
        broker.wait(timeout=10)


if __name__ == "__main__":
    main()
