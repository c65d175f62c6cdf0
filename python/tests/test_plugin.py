"""The pytest plugin as a user meets it: whole pytest runs (pytester), the
plugin found through its entry point."""
import os
import select
import signal
import subprocess
import sys
import textwrap

import pytest


def gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A child of a finished process is reaped by init; until then it is a zombie.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ")[1].startswith("Z")


def test_a_failing_test_shows_what_the_broker_saw(pytester):
    pytester.makepyfile(textwrap.dedent("""
        import socket

        def test_order(stompbox):
            with socket.create_connection((stompbox.host, stompbox.stomp_port)) as s:
                s.sendall(b"CONNECT\\naccept-version:1.2\\nhost:h\\n\\n\\0"
                          b"SEND\\ndestination:/queue/order\\nreceipt:r\\n\\nwrong queue\\0")
                s.recv(4096)
            stompbox.wait_for_messages("/queue/orders", timeout=0.05)

        def test_passing(stompbox):
            pass
    """))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines([
        "*WaitTimeout: timed out after 50ms waiting for 1 message published to /queue/orders",
        "*stompbox 127.0.0.1:*: what the broker saw*",
        "published (1 message) per destination: /queue/order: 1",
        "frames of connection 1 (4 in all):",
        "*<- SEND destination:/queue/order receipt:r*",
        "*-> RECEIPT receipt-id:r",
    ])
    assert result.stdout.str().count("what the broker saw") == 1, "only the failed test has a report"


def test_no_broker_outlives_its_test_even_when_it_fails(pytester):
    pids = pytester.path / "pids"
    pytester.makepyfile(textwrap.dedent(f"""
        def test_fails(stompbox):
            open({str(pids)!r}, "a").write(f"{{stompbox.pid}}\\n")
            assert False

        def test_errors_in_setup(stompbox, missing_fixture):
            pass

        def test_shared(stompbox_shared):
            open({str(pids)!r}, "a").write(f"{{stompbox_shared.pid}}\\n")
            raise RuntimeError("boom")
    """))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=2, errors=1)
    written = [int(line) for line in pids.read_text().split()]
    assert len(written) == 2
    assert all(gone(pid) for pid in written)


def test_a_killed_test_run_takes_its_brokers_with_it(tmp_path):
    """--stop-on-stdin-close: even a SIGKILLed pytest leaves no broker behind."""
    if not hasattr(os, "pidfd_open"):
        pytest.skip("this test waits on a pidfd (Linux)")
    script = tmp_path / "hold.py"
    script.write_text(textwrap.dedent("""
        import sys, stompbox
        broker = stompbox.Broker().start()
        print(broker.pid, flush=True)
        sys.stdin.read()
    """))
    holder = subprocess.Popen([sys.executable, str(script)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    pid = int(holder.stdout.readline())
    # A pidfd becomes readable when the process ends: a wait on the event.
    exited = os.pidfd_open(pid)
    try:
        assert select.select([exited], [], [], 0)[0] == []
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        ready, _, _ = select.select([exited], [], [], 10)
        assert ready == [exited], "the broker outlived the killed process by 10 s"
    finally:
        os.close(exited)


def test_the_marker_and_the_factory_take_the_binarys_options(pytester):
    pytester.makepyfile(textwrap.dedent("""
        import pytest

        @pytest.mark.stompbox(profile="rocketmq", users={"AK": "secret"})
        def test_marked(stompbox):
            assert "--profile" in stompbox.arguments and "AK:secret" in stompbox.arguments

        def test_factory(stompbox_factory):
            a, b = stompbox_factory(), stompbox_factory(heart_beat=(100, 100))
            assert a.stomp_port != b.stomp_port
    """))
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_the_shared_broker_is_like_new_for_each_test(pytester):
    pytester.makepyfile(textwrap.dedent("""
        import socket

        held = []

        def test_first(stompbox_shared):
            s = socket.create_connection((stompbox_shared.host, stompbox_shared.stomp_port))
            s.sendall(b"CONNECT\\naccept-version:1.2\\nhost:h\\n\\n\\0")
            s.recv(4096)
            held.append(s)  # left open on purpose
            stompbox_shared.publish("/queue/left", "over")
            stompbox_shared.add_fault("drop", command="RECEIPT")

        def test_second(stompbox_shared):
            assert stompbox_shared.messages() == []
            assert stompbox_shared.queues() == []
            assert stompbox_shared.faults() == []
            assert stompbox_shared.connections() == []
            assert held[0].recv(4096) == b"", "the first test's connection was closed"
    """))
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_stompbox_bin_names_the_binary(pytester):
    pytester.makepyfile("def test_it(stompbox):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--stompbox-bin", "/nonexistent/stompbox")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*No such file or directory*/nonexistent/stompbox*"])
