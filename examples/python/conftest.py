"""A pytest fixture that runs stompbox for each test.

It spawns `stompbox --port 0 --http-port 0 --ready-json --log off`, reads the
ready line to learn both ports, and stops it (SIGTERM) after the test. Tests
talk STOMP to `broker.host, broker.port` with any client and ask the HTTP API
what the broker saw.

The binary is $STOMPBOX_BIN, or target/debug/stompbox of this checkout.
"""
import json
import os
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

DEFAULT_BINARY = Path(__file__).resolve().parents[2] / "target" / "debug" / "stompbox"


class Stompbox:
    """A running broker: where it listens, and its HTTP inspection API."""

    def __init__(self, ready):
        self.stomp = ready["stomp"]
        self.host, port = self.stomp.rsplit(":", 1)
        self.port = int(port)
        self.http = "http://" + ready["http"]

    def _call(self, method, path, params=None, body=None):
        url = self.http + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method)
        try:
            with urllib.request.urlopen(request) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)

    def get(self, path, **params):
        status, body = self._call("GET", path, params)
        assert status == 200, body
        return body

    def messages(self, destination=None):
        return self.get("/messages", **({"destination": destination} if destination else {}))

    def wait_for_messages(self, destination, count=1, timeout_ms=5000):
        """The messages once `count` are published, or fail with what arrived."""
        status, body = self._call(
            "GET", "/wait", {"destination": destination, "count": count, "timeout_ms": timeout_ms})
        assert status == 200, body["error"]
        return body["messages"]

    def post(self, path, body=None, **params):
        status, answer = self._call("POST", path, params, body)
        assert status in (200, 201), answer
        return answer

    def wait_for_reconnects(self, client, reconnects=1, timeout_ms=10000):
        """The client's record once it has reconnected, or fail saying what was seen."""
        status, body = self._call(
            "GET", "/wait", {"client": client, "reconnects": reconnects, "timeout_ms": timeout_ms})
        assert status == 200, body["error"]
        return body["client"]

    def publish(self, destination, body, headers=None):
        status, answer = self._call(
            "POST", "/messages", body={"destination": destination, "body": body, "headers": headers or {}})
        assert status == 201, answer
        return answer["message_id"]


@pytest.fixture
def broker():
    binary = os.environ.get("STOMPBOX_BIN", str(DEFAULT_BINARY))
    process = subprocess.Popen(
        [binary, "--port", "0", "--http-port", "0", "--ready-json", "--log", "off"],
        stdout=subprocess.PIPE, text=True)
    try:
        yield Stompbox(json.loads(process.stdout.readline()))
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0, "stompbox exits 0 on SIGTERM"
