"""What the broker saw, as typed records built from its HTTP API's JSON.

Each record keeps the JSON's field names; fields a newer broker adds are kept
in ``extra`` rather than refused, so an older package reads a newer binary.
"""
from __future__ import annotations

import base64
import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple, Type, TypeVar

Headers = List[Tuple[str, str]]
T = TypeVar("T")


def _header(headers: Headers, name: str) -> Optional[str]:
    """The first value of header ``name`` (STOMP: the first one counts)."""
    for key, value in headers:
        if key == name:
            return value
    return None


def _body(text: Optional[str], encoded: Optional[str]) -> bytes:
    if text is not None:
        return text.encode("utf-8")
    return base64.b64decode(encoded or "")


def build(cls: Type[T], data: Dict[str, Any]) -> T:
    """A ``cls`` from a JSON object: known fields by name, the rest in ``extra``."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    known = {k: v for k, v in data.items() if k in names and k != "extra"}
    extra = {k: v for k, v in data.items() if k not in names}
    for key in ("headers",):
        if key in known and known[key] is not None:
            known[key] = [tuple(pair) for pair in known[key]]
    record = cls(**known)
    record.extra = extra  # type: ignore[attr-defined]
    return record


class _HeadersAndBody:
    """What a frame and a message share: headers to look up, a body in bytes."""

    headers: Headers
    body: Optional[str]
    body_base64: Optional[str]

    def header(self, name: str) -> Optional[str]:
        """The value of header ``name``, or None."""
        return _header(self.headers, name)

    @property
    def body_bytes(self) -> bytes:
        """The body as bytes (text or not)."""
        return _body(self.body, self.body_base64)


@dataclass
class Frame(_HeadersAndBody):
    """A STOMP frame: command, headers in order (repeats kept), body."""

    command: str
    headers: Headers = field(default_factory=list)
    body: Optional[str] = None
    body_base64: Optional[str] = None
    extra: Dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class Delivery:
    """A MESSAGE the broker delivered: to which connection and subscription."""

    connection: int
    subscription: str
    seq: Optional[int] = None
    message_id: Optional[str] = None
    destination: Optional[str] = None
    at_ms: Optional[float] = None
    redelivered: bool = False
    delivery_count: Optional[int] = None
    extra: Dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class Message(_HeadersAndBody):
    """A message published to the broker (by a client, or injected), and what
    became of it: ``status`` is one of queued, unacked, consumed, dropped,
    in-transaction, discarded, rolled-back."""

    seq: int
    message_id: str
    destination: str
    headers: Headers = field(default_factory=list)
    body: Optional[str] = None
    body_base64: Optional[str] = None
    at_ms: Optional[float] = None
    origin: Dict[str, Any] = field(default_factory=dict)
    transaction: Optional[str] = None
    status: Optional[str] = None
    deliveries: List[Delivery] = field(default_factory=list)
    extra: Dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.deliveries = [d if isinstance(d, Delivery) else build(Delivery, d) for d in self.deliveries]


@dataclass
class Ack:
    """An ACK or NACK (``kind``) a client sent for a message."""

    kind: str
    connection: int
    message_id: Optional[str] = None
    subscription: Optional[str] = None
    seq: Optional[int] = None
    transaction: Optional[str] = None
    at_ms: Optional[float] = None
    extra: Dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class Subscription:
    """An active subscription and its counts."""

    connection: int
    id: str
    destination: str
    ack: str
    selector: Optional[str] = None
    headers: Headers = field(default_factory=list)
    delivered: int = 0
    acked: int = 0
    nacked: int = 0
    unacked: int = 0
    extra: Dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class Transaction:
    """An open transaction and the frames it holds until COMMIT or ABORT."""

    connection: int
    id: str
    begun_at_ms: Optional[float] = None
    frames: List[Frame] = field(default_factory=list)
    extra: Dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.frames = [f if isinstance(f, Frame) else build(Frame, f) for f in self.frames]


@dataclass
class Connection:
    """A connection, open or closed (``closed`` says how, when it is)."""

    id: int
    peer: Optional[str] = None
    transport: Optional[str] = None
    version: Optional[str] = None
    login: Optional[str] = None
    principal: Optional[str] = None
    client_id: Optional[str] = None
    heart_beat: Optional[List[int]] = None
    headers: Headers = field(default_factory=list)
    opened_at_ms: Optional[float] = None
    closed: Optional[Any] = None
    subscribed: List[Dict[str, Any]] = field(default_factory=list)
    websocket: Optional[Any] = None
    extra: Dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def is_open(self) -> bool:
        """Whether the connection is still open."""
        return self.closed is None


@dataclass
class TranscriptEntry:
    """One entry of a connection's transcript: a frame in (``"in"``, from the
    client) or out, or a heart-beat (``frame`` is None)."""

    direction: str
    at_ms: Optional[float] = None
    frame: Optional[Frame] = None
    extra: Dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.frame, dict):
            self.frame = build(Frame, self.frame)

    @property
    def command(self) -> Optional[str]:
        """The frame's command, or None for a heart-beat."""
        return self.frame.command if self.frame else None


@dataclass
class ErrorRecord:
    """An ERROR frame the broker sent."""

    connection: int
    message: str
    receipt_id: Optional[str] = None
    at_ms: Optional[float] = None
    extra: Dict[str, Any] = field(default_factory=dict, repr=False)
