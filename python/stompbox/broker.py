"""A stompbox broker in a child process, and its HTTP API as Python calls."""
from __future__ import annotations

import collections
import json
import os
import shutil
import subprocess
import sysconfig
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Deque, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from .records import (
    Ack,
    Connection,
    Delivery,
    ErrorRecord,
    Message,
    Subscription,
    Transaction,
    TranscriptEntry,
    build,
)

#: How long a broker has to print its ready line, in seconds.
READY_TIMEOUT = 10.0
#: Log lines of the binary kept for :meth:`Broker.log` (the oldest go first).
LOG_LINES = 10_000


class StompboxError(Exception):
    """The broker could not start, stopped badly, or refused a request."""


class WaitTimeout(StompboxError, AssertionError):
    """A wait ran out of time. Its text is the broker's report: what was
    expected, what arrived instead, the subscriptions and the last frames.
    ``arrived`` holds what did arrive. An ``AssertionError`` too, so pytest
    reports it as a failed test rather than an error."""

    def __init__(self, report: str, arrived: Sequence[Any] = ()) -> None:
        super().__init__(report)
        self.report = report
        self.arrived = list(arrived)


def find_binary(explicit: Optional[Union[str, os.PathLike]] = None) -> str:
    """The stompbox binary to run: ``explicit``, else ``$STOMPBOX_BIN``, else
    the one this package installed (the wheel puts it beside Python's
    scripts), else ``stompbox`` on the PATH."""
    for candidate in (explicit, os.environ.get("STOMPBOX_BIN")):
        if candidate:
            return str(candidate)
    name = "stompbox.exe" if os.name == "nt" else "stompbox"
    schemes = [None] + [s for s in (f"{os.name}_user",) if s in sysconfig.get_scheme_names()]
    for scheme in schemes:
        scripts = sysconfig.get_path("scripts", scheme) if scheme else sysconfig.get_path("scripts")
        path = Path(scripts) / name
        if path.is_file():
            return str(path)
    found = shutil.which(name)
    if found:
        return found
    raise StompboxError(
        "no stompbox binary: install the stompbox package (pip install stompbox), "
        "or point STOMPBOX_BIN (or pytest's --stompbox-bin) at one")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def command_line(
    *,
    port: int = 0,
    profile: Optional[str] = None,
    users: Optional[Mapping[str, str]] = None,
    grants: Optional[Iterable[Union[str, Tuple[str, str, str]]]] = None,
    heart_beat: Optional[Tuple[int, int]] = None,
    log: str = "off",
    config: Optional[Union[str, os.PathLike]] = None,
    args: Sequence[str] = (),
    **options: Any,
) -> List[str]:
    """The binary's arguments for these options (without the binary).

    ``users`` maps logins (access keys, for the rocketmq profile) to passcodes;
    ``grants`` are ``(principal, topic, access)`` or ``"PRINCIPAL:TOPIC:ACCESS"``.
    Any other keyword is the binary's flag of that name: ``max_frame_size=1024``
    is ``--max-frame-size 1024``, ``True`` a flag alone, a list a repeated flag.

    >>> command_line(profile="rabbitmq", users={"app": "secret"}, max_frame_size=1024)[8:]
    ['--profile', 'rabbitmq', '--user', 'app:secret', '--max-frame-size', '1024']
    """
    line = ["--port", str(port), "--http-port", "0", "--ready-json", "--stop-on-stdin-close", "--log", log]
    if config is not None:
        line += ["--config", str(config)]
    if profile is not None:
        line += ["--profile", profile]
    for login, passcode in (users or {}).items():
        line += ["--user", f"{login}:{passcode}"]
    for grant in grants or ():
        line += ["--grant", grant if isinstance(grant, str) else ":".join(grant)]
    if heart_beat is not None:
        line += ["--heart-beat", f"{heart_beat[0]},{heart_beat[1]}"]
    for name, value in options.items():
        if value is None or value is False:
            continue
        if value is True:
            line.append(_flag(name))
            continue
        for one in value if isinstance(value, (list, tuple)) else [value]:
            line += [_flag(name), str(one)]
    return line + list(args)


class Broker:
    """A stompbox broker in a child process, on free loopback ports.

    >>> with Broker() as broker:
    ...     message_id = broker.publish("/queue/jobs", "job 1")
    ...     [message] = broker.wait_for_messages("/queue/jobs")
    ...     message.body
    'job 1'

    Options are those of :func:`command_line` (the binary's flags), plus
    ``binary`` (see :func:`find_binary`), ``http_token``, and ``env``
    (variables for the binary beside this process's: ``STOMPBOX_REPORT_DIR``
    makes a failed wait also write an HTML report with the sequence diagram).
    """

    def __init__(self, *, binary: Optional[Union[str, os.PathLike]] = None,
                 http_token: Optional[str] = None, env: Optional[Mapping[str, str]] = None,
                 **options: Any) -> None:
        self.binary = find_binary(binary)
        self.env = {**os.environ, **(env or {})}
        self.http_token = http_token
        if http_token is not None:
            options["http_token"] = http_token
        self.arguments = command_line(**options)
        self.process: Optional[subprocess.Popen] = None
        self.ready: Dict[str, Any] = {}
        self._log: Deque[str] = collections.deque(maxlen=LOG_LINES)
        self._stderr: Deque[str] = collections.deque(maxlen=200)
        self._threads: List[threading.Thread] = []

    # -- lifetime -----------------------------------------------------------

    def start(self) -> "Broker":
        """Starts the binary and waits for its ready line; returns self."""
        if self.process is not None:
            raise StompboxError("this broker is started already")
        self.process = subprocess.Popen(
            [self.binary, *self.arguments], env=self.env, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
            errors="replace")
        # The broker stops when the pipe to its stdin closes
        # (--stop-on-stdin-close): when this process ends, however it ends.
        first: "collections.deque[str]" = collections.deque(maxlen=1)
        got_first = threading.Event()
        self._threads = [
            threading.Thread(target=self._read_stdout, args=(first, got_first), daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        if not got_first.wait(READY_TIMEOUT) or not first:
            self._abandon()
            raise StompboxError(f"stompbox printed no ready line within {READY_TIMEOUT:g} s"
                                f"{self._stderr_text()}")
        try:
            self.ready = json.loads(first[0])
        except ValueError:
            self._abandon()
            raise StompboxError(f"stompbox's first line is not its ready line: {first[0]!r}"
                                f"{self._stderr_text()}") from None
        return self

    def _read_stdout(self, first: "collections.deque[str]", got_first: threading.Event) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            if not got_first.is_set():
                first.append(line)
                got_first.set()
            else:
                self._log.append(line.rstrip("\n"))
        got_first.set()

    def _read_stderr(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        for line in self.process.stderr:
            self._stderr.append(line.rstrip("\n"))

    def _stderr_text(self) -> str:
        self._join_readers()
        return (":\n" + "\n".join(self._stderr)) if self._stderr else ""

    def _join_readers(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            for thread in self._threads:
                thread.join(timeout=5)

    def _abandon(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
        if self.process is not None:
            self.process.wait()

    def stop(self) -> None:
        """Stops the broker (SIGTERM, then SIGKILL after 10 s) and waits for
        it. Raises :class:`StompboxError` if it did not exit cleanly (a
        broker that crashed fails the test that used it)."""
        process, self.process = self.process, None
        if process is None:
            return
        self.process = process
        try:
            if process.poll() is None:
                process.terminate()
            if process.stdin is not None:
                process.stdin.close()
            try:
                code = process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                raise StompboxError("stompbox did not stop within 10 s of SIGTERM; killed")
            if code != 0:
                raise StompboxError(f"stompbox exited with status {code}{self._stderr_text()}")
        finally:
            self._join_readers()
            for stream in (process.stdin, process.stdout, process.stderr):
                if stream is not None:
                    stream.close()
            self.process = None

    def __enter__(self) -> "Broker":
        return self.start() if self.process is None else self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __del__(self) -> None:
        process = getattr(self, "process", None)
        if process is not None and process.poll() is None:
            process.kill()

    @property
    def pid(self) -> Optional[int]:
        """The broker process's id while it runs."""
        return self.process.pid if self.process else None

    def log(self) -> List[str]:
        """The binary's traffic log so far (with ``log="frames"`` or ``"all"``)."""
        return list(self._log)

    # -- where it listens ---------------------------------------------------

    @property
    def stomp_address(self) -> str:
        """``HOST:PORT`` of the STOMP port (which serves WebSocket too)."""
        return self.ready["stomp"]

    @property
    def host(self) -> str:
        """The STOMP port's host (loopback unless ``bind`` says otherwise)."""
        return self.stomp_address.rsplit(":", 1)[0]

    @property
    def stomp_port(self) -> int:
        """The STOMP port's number."""
        return int(self.stomp_address.rsplit(":", 1)[1])

    @property
    def host_and_ports(self) -> List[Tuple[str, int]]:
        """``[(host, port)]``, as stomp.py's ``Connection`` takes it."""
        return [(self.host, self.stomp_port)]

    @property
    def url(self) -> str:
        """``tcp://HOST:PORT``, as stompest's ``StompConfig`` takes it."""
        return f"tcp://{self.stomp_address}"

    @property
    def ws_url(self) -> str:
        """The WebSocket URL (``ws://HOST:PORT/``), for stompjs and the like."""
        return self.ready["ws"]

    @property
    def tls_address(self) -> Optional[str]:
        """``HOST:PORT`` of the TLS port, with ``tls_port=0``."""
        return self.ready.get("tls")

    @property
    def ca_file(self) -> Optional[str]:
        """The CA certificate to trust for the TLS port, when it made one."""
        return self.ready.get("ca")

    @property
    def http_url(self) -> str:
        """The HTTP inspection API's base URL."""
        return "http://" + self.ready["http"]

    # -- the HTTP API -------------------------------------------------------

    def _call(self, method: str, path: str, params: Optional[Mapping[str, Any]] = None,
              body: Any = None, timeout: float = 30.0) -> Tuple[int, bytes]:
        if self.process is None:
            raise StompboxError("this broker is not running (use it inside `with Broker() as broker:`)")
        url = self.http_url + path
        if params:
            url += "?" + urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method)
        if self.http_token is not None:
            request.add_header("Authorization", f"Bearer {self.http_token}")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def _json(self, method: str, path: str, params: Optional[Mapping[str, Any]] = None,
              body: Any = None, ok: Tuple[int, ...] = (200,)) -> Any:
        status, raw = self._call(method, path, params, body)
        value = json.loads(raw) if raw else None
        if status not in ok:
            message = value.get("error") if isinstance(value, dict) else raw.decode(errors="replace")
            raise StompboxError(f"{method} {path}: {status}: {message}")
        return value

    # -- what it saw --------------------------------------------------------

    def messages(self, destination: Optional[str] = None) -> List[Message]:
        """Published messages (to ``destination`` if given), oldest first."""
        return [build(Message, m) for m in self._json("GET", "/messages", {"destination": destination})]

    def uncommitted(self) -> List[Message]:
        """Messages sent in transactions that have not committed."""
        return [build(Message, m) for m in self._json("GET", "/messages/uncommitted")]

    def message_body(self, message_id: str) -> bytes:
        """One message's body as it was sent."""
        status, raw = self._call("GET", f"/messages/{urllib.parse.quote(message_id)}/body")
        if status != 200:
            raise StompboxError(json.loads(raw).get("error"))
        return raw

    def deliveries(self) -> List[Delivery]:
        """Every MESSAGE the broker delivered, in order."""
        return [build(Delivery, d) for d in self._json("GET", "/deliveries")]

    def acks(self) -> List[Ack]:
        """Every ACK and NACK, in order."""
        return [build(Ack, a) for a in self._json("GET", "/acks")]

    def subscriptions(self) -> List[Subscription]:
        """The active subscriptions."""
        return [build(Subscription, s) for s in self._json("GET", "/subscriptions")]

    def durable_subscriptions(self) -> List[Dict[str, Any]]:
        """Durable subscriptions, active or not."""
        return self._json("GET", "/durable-subscriptions")

    def transactions(self) -> List[Transaction]:
        """The open transactions, with the frames each holds."""
        return [build(Transaction, t) for t in self._json("GET", "/transactions")]

    def transaction_history(self) -> List[Dict[str, Any]]:
        """Ended transactions and how each ended (``outcome``)."""
        return self._json("GET", "/transactions/history")

    def connections(self) -> List[Connection]:
        """Every connection, open or closed."""
        return [build(Connection, c) for c in self._json("GET", "/connections")]

    def frames(self, connection: Union[int, Connection]) -> List[TranscriptEntry]:
        """A connection's transcript: every frame in and out, in order."""
        number = connection.id if isinstance(connection, Connection) else connection
        return [build(TranscriptEntry, e) for e in self._json("GET", f"/connections/{number}/frames")]

    def clients(self) -> List[Dict[str, Any]]:
        """Connections grouped by client, with reconnects."""
        return self._json("GET", "/clients")

    def errors(self) -> List[ErrorRecord]:
        """The ERROR frames the broker sent."""
        return [build(ErrorRecord, e) for e in self._json("GET", "/errors")]

    def protocol_warnings(self) -> List[Dict[str, Any]]:
        """Things a client did that the broker let pass (a stray NUL...)."""
        return self._json("GET", "/protocol-warnings")

    def auth_failures(self) -> List[Dict[str, Any]]:
        """CONNECTs refused for their credentials."""
        return self._json("GET", "/auth-failures")

    def permission_denials(self) -> List[Dict[str, Any]]:
        """SENDs and SUBSCRIBEs refused for want of a grant."""
        return self._json("GET", "/permission-denials")

    def queues(self, destination: Optional[str] = None) -> List[Dict[str, Any]]:
        """Each queue's waiting and unacked messages."""
        return self._json("GET", "/queues", {"destination": destination})

    def memory(self) -> Dict[str, Any]:
        """What the broker holds against its memory budget."""
        return self._json("GET", "/memory")

    def report(self) -> str:
        """What the broker saw, as text for a person (what a failed test shows)."""
        status, raw = self._call("GET", "/report")
        if status != 200:
            raise StompboxError(f"GET /report: {status}")
        return raw.decode("utf-8", errors="replace")

    # -- waits --------------------------------------------------------------

    def wait_for_messages(self, destination: str, count: int = 1, timeout: float = 5.0) -> List[Message]:
        """The messages published to ``destination`` once ``count`` are there.
        Raises :class:`WaitTimeout` (the broker's report) after ``timeout`` s."""
        params = {"destination": destination, "count": count, "timeout_ms": int(timeout * 1000)}
        status, raw = self._call("GET", "/wait", params, timeout=timeout + 30)
        value = json.loads(raw)
        if status == 408:
            raise WaitTimeout(value["error"], [build(Message, m) for m in value.get("arrived", [])])
        if status != 200:
            raise StompboxError(f"GET /wait: {status}: {value.get('error')}")
        return [build(Message, m) for m in value["messages"]]

    def wait_for_reconnects(self, client: str, reconnects: int = 1, timeout: float = 10.0) -> Dict[str, Any]:
        """The client's record (by client-id or login) once it has reconnected
        ``reconnects`` times and is connected; :class:`WaitTimeout` otherwise."""
        params = {"client": client, "reconnects": reconnects, "timeout_ms": int(timeout * 1000)}
        status, raw = self._call("GET", "/wait", params, timeout=timeout + 30)
        value = json.loads(raw)
        if status == 408:
            raise WaitTimeout(value["error"])
        if status != 200:
            raise StompboxError(f"GET /wait: {status}: {value.get('error')}")
        return value["client"]

    # -- control ------------------------------------------------------------

    def publish(self, destination: str, body: str = "", headers: Optional[Mapping[str, str]] = None) -> str:
        """Injects a message as if a producer sent it; returns its message-id."""
        answer = self._json("POST", "/messages",
                            body={"destination": destination, "body": body, "headers": dict(headers or {})},
                            ok=(201,))
        return answer["message_id"]

    def reset(self, queues: bool = False) -> None:
        """Clears the journal (and every queue's messages, with ``queues``)."""
        self._json("POST", "/reset", {"queues": "true" if queues else None})

    def add_fault(self, kind: str, **rule: Any) -> Dict[str, Any]:
        """Arms a fault (``kind`` drop, delay, jitter, duplicate, error, close, reset, split,
        throttle, corrupt, stop_heart_beats, black_hole: the
        binary's ``POST /faults`` rule, one keyword per part); returns it,
        with its ``id``."""
        return self._json("POST", "/faults", body={"kind": kind, **rule}, ok=(201,))

    def faults(self) -> List[Dict[str, Any]]:
        """The armed faults and what each did."""
        return self._json("GET", "/faults")

    def remove_fault(self, fault: Union[int, Mapping[str, Any]]) -> None:
        """Disarms a fault (its id, or the record :meth:`add_fault` returned)."""
        number = fault["id"] if isinstance(fault, Mapping) else fault
        self._json("DELETE", f"/faults/{number}")

    def kick(self, connection: Union[int, Connection], error: Optional[str] = None) -> None:
        """Closes a connection (with an ERROR saying ``error``, if given)."""
        number = connection.id if isinstance(connection, Connection) else connection
        self._json("POST", f"/connections/{number}/kick", body={"error": error} if error else None)

    def restart(self, down_ms: int = 0, wipe_queues: bool = False) -> None:
        """Drops every connection and stops listening for ``down_ms``, as a
        broker restart would; the queues survive unless ``wipe_queues``."""
        self._json("POST", "/restart", {"down_ms": down_ms, "wipe_queues": "true" if wipe_queues else None})

    def pause(self) -> None:
        """Stops accepting new connections (open ones carry on)."""
        self._json("POST", "/pause")

    def resume(self) -> None:
        """Accepts new connections again."""
        self._json("POST", "/resume")

    def __repr__(self) -> str:
        where = self.ready.get("stomp", "not started") if self.process else "not running"
        return f"<stompbox.Broker {where}>"
