"""The pytest plugin (registered through the ``pytest11`` entry point, so
installing the package is all it takes).

Fixtures:

- ``stompbox``: a fresh broker for the test, with the options of the test's
  ``@pytest.mark.stompbox(...)`` marker (those :class:`stompbox.Broker` takes:
  ``profile="rocketmq"``, ``users={"AK": "secret"}``, ``max_frame_size=1024``...).
- ``stompbox_shared``: one broker for the whole session, made like new before
  each test (connections closed, faults disarmed, journal and queues cleared):
  faster when there are many tests and they need no options of their own.
- ``stompbox_factory``: a function that starts brokers with the options given
  (several per test, or options computed in the test); all stop after it.

When a test that used a broker fails, its report gets a section with what the
broker saw (connections, messages, subscriptions, errors, every connection's
frames), the way pytest shows captured output. ``--stompbox-bin PATH`` (or
``$STOMPBOX_BIN``) runs another binary than the installed one.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Dict, Iterator, List

import pytest

from .broker import Broker, StompboxError

_BROKERS = pytest.StashKey[List[Broker]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("stompbox", "stompbox STOMP broker")
    group.addoption("--stompbox-bin", metavar="PATH", default=None,
                    help="the stompbox binary to run (default: $STOMPBOX_BIN, else the installed one)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "stompbox(**options): options for the test's stompbox broker, "
        "as stompbox.Broker takes them (profile=..., users={...}, grants=[...], max_frame_size=...)")


def _binary(config: pytest.Config) -> Any:
    return config.getoption("stompbox_bin")


def _watch(node: pytest.Item, broker: Broker) -> None:
    """Remembers that ``node`` used ``broker``, for its failure report."""
    node.stash.setdefault(_BROKERS, []).append(broker)


@pytest.fixture
def stompbox_factory(request: pytest.FixtureRequest) -> Iterator[Callable[..., Broker]]:
    """Starts brokers with the options given; stops them after the test."""
    started: List[Broker] = []

    def start(**options: Any) -> Broker:
        options.setdefault("binary", _binary(request.config))
        broker = Broker(**options).start()
        started.append(broker)
        _watch(request.node, broker)
        return broker

    yield start
    problems = []
    for broker in started:
        try:
            broker.stop()
        except Exception as problem:  # stop every one before reporting
            problems.append(problem)
    if problems:
        raise problems[0]


@pytest.fixture
def stompbox(stompbox_factory: Callable[..., Broker], request: pytest.FixtureRequest) -> Broker:
    """A broker of this test's own, with its ``stompbox`` marker's options."""
    options: Dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers("stompbox"))):
        options.update(marker.kwargs)
    return stompbox_factory(**options)


@pytest.fixture(scope="session")
def _stompbox_session_broker(request: pytest.FixtureRequest) -> Iterator[Broker]:
    with Broker(binary=_binary(request.config)) as broker:
        yield broker


@pytest.fixture
def stompbox_shared(_stompbox_session_broker: Broker, request: pytest.FixtureRequest) -> Broker:
    """The session's broker, made like new: the connections an earlier test
    left open closed, its faults disarmed, journal and queues cleared."""
    broker = _stompbox_session_broker
    left_open = [c for c in broker.connections() if c.is_open]
    for connection in left_open:
        broker.kick(connection)
    # A kick closes the socket at once; its close is recorded a moment later.
    deadline = time.monotonic() + 5
    while left_open and any(c.is_open for c in broker.connections()):
        if time.monotonic() > deadline:
            raise StompboxError("connections an earlier test left open did not close within 5 s")
        time.sleep(0.001)
    for fault in broker.faults():
        broker.remove_fault(fault)
    broker.resume()
    broker.reset(queues=True)
    _watch(request.node, broker)
    return broker


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    for broker in item.stash.get(_BROKERS, []):
        if broker.process is None:
            continue
        try:
            text = broker.report()
        except Exception as problem:
            text = f"(the broker's report could not be read: {problem})"
        report.sections.append((f"stompbox {broker.stomp_address}: what the broker saw", text))
