"""A stomp.py application that reconnects and resubscribes, tested against
stompbox's simulated failures: a kick, then a restart while the app's
reconnect attempts are refused, then the broker's heart-beats stopping."""
import threading
import time

import stomp


class Worker(stomp.ConnectionListener):
    """The application: resubscribes whenever it connects, reconnects
    whenever it is disconnected, and does not ack (so the broker redelivers)."""

    def __init__(self, broker):
        self.conn = stomp.Connection12(
            broker.host_and_ports,
            reconnect_attempts_max=200, reconnect_sleep_initial=0.05,
            reconnect_sleep_increase=0.0, reconnect_sleep_jitter=0.0,
            heartbeats=(0, 200))
        self.conn.set_listener("", self)
        self.messages = []
        self.got_message = threading.Condition()
        self.disconnects = 0
        self.stopping = False

    def start(self):
        self.conn.connect(wait=True, headers={"client-id": "worker"})

    def on_connected(self, frame):
        self.conn.subscribe("/queue/work", id="jobs", ack="client-individual")

    def on_disconnected(self):
        self.disconnects += 1
        if not self.stopping:
            threading.Thread(target=self.start, daemon=True).start()

    def on_message(self, frame):
        with self.got_message:
            self.messages.append(frame)
            self.got_message.notify_all()

    def wait_for_messages(self, count, timeout=10):
        with self.got_message:
            assert self.got_message.wait_for(lambda: len(self.messages) >= count, timeout), \
                [m.body for m in self.messages]
            return self.messages[:count]

    def stop(self):
        self.stopping = True
        self.conn.disconnect()


def current_connection(broker, client_id):
    return [c for c in broker.connections() if c.client_id == client_id and c.is_open][-1]


def test_stomppy_comes_back_after_a_kick_and_a_restart_and_gets_its_unacked_job(stompbox):
    worker = Worker(stompbox)
    worker.start()
    stompbox.publish("/queue/work", "job 1")
    [first] = worker.wait_for_messages(1)
    assert first.body == "job 1"

    # Kicked with an ERROR: it reconnects, resubscribes, and the job it
    # never acked comes again.
    stompbox.kick(current_connection(stompbox, "worker"), error="maintenance")
    client = stompbox.wait_for_reconnects("worker", 1)
    assert client["reconnects"] == 1
    [_, again] = worker.wait_for_messages(2)
    assert again.body == "job 1"
    assert again.headers.get("redelivered") == "true"

    # A restart that stays down 300 ms: its attempts are refused, then it
    # gets in, resubscribes with the same ack mode, and the job comes a third time.
    stompbox.restart(down_ms=300)
    client = stompbox.wait_for_reconnects("worker", 2)
    assert client["reconnect_gaps_ms"][1] >= 300
    [_, _, third] = worker.wait_for_messages(3)
    assert third.body == "job 1"
    assert current_connection(stompbox, "worker").subscribed == [
        {"destination": "/queue/work", "ack": "client-individual"}]
    worker.stop()


def test_stomppy_notices_when_the_broker_stops_its_heart_beats(stompbox):
    worker = Worker(stompbox)
    worker.stopping = True  # no reconnect: this test watches the first connection
    worker.start()
    connection = current_connection(stompbox, "worker")
    assert connection.heart_beat[0] == 200, "the broker beats every 200 ms"
    armed = stompbox.add_fault("stop_heart_beats", connection=connection.id)
    started = time.monotonic()
    deadline = started + 10
    while worker.disconnects == 0 and time.monotonic() < deadline:
        time.sleep(0.02)  # polling stomp.py's own flag: it offers no event to wait on
    noticed = time.monotonic() - started
    assert worker.disconnects >= 1, "stomp.py never noticed the silence"
    # stomp.py's check allows twice the interval, then some: well under 2 s.
    print(f"stomp.py noticed the silence after {noticed:.3f} s")
    assert noticed < 2.0, noticed
    [fault] = stompbox.faults()
    assert fault["id"] == armed["id"] and fault["fired"] == 1
