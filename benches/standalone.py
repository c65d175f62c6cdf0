#!/usr/bin/env python3
"""Whole-process figures of the stompbox binary: time from launch to its
ready line, and resident memory when idle.

Usage: python3 benches/standalone.py [path/to/stompbox] (default: target/release/stompbox)
"""
import socket
import statistics
import subprocess
import sys
import time

binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/stompbox"


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def open_idle(host, port, count):
    """`count` connected STOMP sessions that then stay silent."""
    clients = []
    for _ in range(count):
        s = socket.create_connection((host, int(port)))
        s.sendall(b"CONNECT\naccept-version:1.2\nhost:h\n\n\0")
        clients.append(s)
    for s in clients:
        assert s.recv(4096).startswith(b"CONNECTED")
    return clients


def launch():
    started = time.perf_counter()
    process = subprocess.Popen([binary, "--port", "0", "--quiet"], stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    return process, time.perf_counter() - started, line.split()[-1]


times = []
for _ in range(100):
    process, elapsed, _ = launch()
    times.append(elapsed * 1000)
    process.terminate()
    process.wait()
times.sort()
print(f"launch to ready line: median {statistics.median(times):.2f} ms, "
      f"p99 {times[98]:.2f} ms, min {times[0]:.2f} ms (100 runs)")

process, _, addr = launch()
host, port = addr.rsplit(":", 1)
print(f"idle resident memory: {rss_kib(process.pid)} KiB")
clients = open_idle(host, port, 100)
print(f"with 100 idle connections: {rss_kib(process.pid)} KiB")
for s in clients:
    s.close()
process.terminate()
process.wait()


def memory_per_item():
    """Resident memory per idle connection and per queued 100-byte message."""
    process, _, addr = launch()
    host, port = addr.rsplit(":", 1)
    base = rss_kib(process.pid)
    clients = open_idle(host, port, 1000)
    with_connections = rss_kib(process.pid)
    print(f"per idle connection: {(with_connections - base) / 1000:.1f} KiB (1,000 connections)")
    for s in clients:
        s.close()

    producer = socket.create_connection((host, int(port)))
    producer.sendall(b"CONNECT\naccept-version:1.2\nhost:h\n\n\0")
    assert producer.recv(4096).startswith(b"CONNECTED")
    before = rss_kib(process.pid)
    count = 100_000
    frame = b"SEND\ndestination:/queue/mem\n\n" + b"x" * 100 + b"\0"
    producer.sendall(frame * (count - 1) + frame.replace(b"\n\n", b"\nreceipt:done\n\n", 1))
    reply = b""
    while b"receipt-id:done" not in reply:
        reply += producer.recv(4096)
    after = rss_kib(process.pid)
    print(f"per queued 100-byte message: {(after - before) * 1024 / count:.0f} bytes "
          f"({count:,} messages, journal recording on)")
    producer.close()
    process.terminate()
    process.wait()


memory_per_item()
