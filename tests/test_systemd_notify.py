"""The sd_notify helper, against a real AF_UNIX datagram socket (path and abstract)."""

from __future__ import annotations

import itertools
import os
import signal
import socket
import threading
import uuid

import pytest

from kiosk.systemd import Systemd, on_sigterm, status_line


@pytest.fixture
def notify_socket(tmp_path):
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(2.0)
    yield str(path), sock
    sock.close()


def received(sock) -> list[str]:
    """Every datagram waiting on ``sock`` (without blocking once the queue is empty)."""
    out = []
    sock.setblocking(False)
    try:
        while True:
            out.append(sock.recv(4096).decode())
    except BlockingIOError:
        pass
    finally:
        sock.settimeout(2.0)
    return out


class FakeTime:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_no_notify_socket_is_a_no_op():
    sd = Systemd(environ={})
    assert not sd.enabled
    assert sd.ready() is False
    assert sd.status("state=idle") is False
    assert sd.watchdog() is False
    assert sd.stopping() is False
    assert sd.watchdog_interval() is None
    sd.close()


def test_ready_status_stopping_reach_a_path_socket(notify_socket):
    path, sock = notify_socket
    with Systemd(environ={"NOTIFY_SOCKET": path}) as sd:
        assert sd.enabled
        assert sd.ready()
        assert sd.status(status_line("idle", "ok", "up", 0))
        assert sd.stopping()
    assert received(sock) == ["READY=1", "STATUS=state=idle camera=ok backend=up outbox=0", "STOPPING=1"]


def test_abstract_socket_address():
    name = f"pickup-kiosk-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(b"\0" + name.encode())
    sock.settimeout(2.0)
    try:
        with Systemd(environ={"NOTIFY_SOCKET": "@" + name}) as sd:
            assert sd.ready(status="starting done")
        assert sock.recv(4096) == b"READY=1\nSTATUS=starting done"
    finally:
        sock.close()


def test_address_argument_wins_over_environment(notify_socket):
    path, sock = notify_socket
    with Systemd(path, environ={"NOTIFY_SOCKET": "/nonexistent/socket"}) as sd:
        assert sd.ready()
    assert received(sock) == ["READY=1"]


def test_status_is_sent_only_when_it_changes(notify_socket):
    path, sock = notify_socket
    with Systemd(environ={"NOTIFY_SOCKET": path}) as sd:
        assert sd.status("state=idle camera=ok backend=up outbox=0")
        assert not sd.status("state=idle camera=ok backend=up outbox=0")
        assert sd.status("state=offline camera=ok backend=down outbox=2")
        assert not sd.status("state=offline camera=ok backend=down outbox=2")
        assert sd.status("state=idle camera=ok backend=up outbox=0")
    assert received(sock) == [
        "STATUS=state=idle camera=ok backend=up outbox=0",
        "STATUS=state=offline camera=ok backend=down outbox=2",
        "STATUS=state=idle camera=ok backend=up outbox=0",
    ]


def test_watchdog_is_rate_limited_to_a_quarter_of_watchdog_usec(notify_socket):
    """Issue 10: a ping is due a quarter of the timeout after the last (it used to wait a half,
    so with the loop's quarter-period wake-ups the gap reached three quarters)."""
    path, sock = notify_socket
    clock = FakeTime()
    env = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "20000000", "WATCHDOG_PID": str(os.getpid())}
    with Systemd(environ=env, monotonic=clock) as sd:
        assert sd.watchdog_interval() == pytest.approx(10.0)  # the advised gap: half the timeout
        assert sd.watchdog_wake() == pytest.approx(5.0)  # how often the loop must ask
        sent = []
        for _ in range(50):  # a main loop turning every 0.5 s for 25 s
            sent.append(sd.watchdog())
            clock.now += 0.5
    # pings at t=0, 5, 10, 15, 20: the first at once, then one per quarter timeout
    assert [i for i, s in enumerate(sent) if s] == [0, 10, 20, 30, 40]
    assert received(sock) == ["WATCHDOG=1"] * 5


@pytest.mark.parametrize("seed", range(5))
def test_pings_are_never_more_than_half_the_timeout_apart(notify_socket, seed):
    """A loop that wakes at random moments, but at least every ``watchdog_wake()`` seconds (a busy
    turn uses up its whole quarter), pings at most half the timeout apart, as sd_watchdog_enabled(3)
    advises: the datagrams are read back from a real AF_UNIX socket, stamped with the clock."""
    import random

    path, sock = notify_socket
    clock = FakeTime()
    rng = random.Random(seed)
    env = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "8000000"}
    stamps = []
    with Systemd(environ=env, monotonic=clock) as sd:
        wake = sd.watchdog_wake()
        assert wake == pytest.approx(2.0)
        for _ in range(400):
            if sd.watchdog():
                assert sock.recv(4096) == b"WATCHDOG=1"  # on the wire, as it was sent
                stamps.append(clock.now)
            # the next turn: anything from at once to a whole quarter later (often just short of a
            # due ping, the case that made the old half-period rule late)
            clock.now += rng.choice([wake, wake * 0.99, wake * rng.random(), 0.01])
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert len(stamps) > 50
    assert max(gaps) <= sd.watchdog_interval() + 1e-9
    assert min(gaps) >= wake - 1e-9  # and not more often than every quarter
    assert received(sock) == []


def test_the_old_half_period_rule_would_ping_late(notify_socket):
    """The case the issue names, on the real socket: the turn due at half the timeout falls just
    short of it; the next ping must still come no later than half the timeout."""
    path, sock = notify_socket
    clock = FakeTime()
    with Systemd(environ={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "4000000"}, monotonic=clock) as sd:
        assert sd.watchdog()  # t = 0
        pings = []
        for step in (0.99, 0.99, 0.99, 0.99):  # turns just short of a quarter (1 s) apart
            clock.now += step
            if sd.watchdog():
                pings.append(clock.now - 100.0)
    assert pings == [pytest.approx(1.98), pytest.approx(3.96)]  # the old rule: none until 2.97
    assert received(sock) == ["WATCHDOG=1"] * 3


def test_watchdog_for_another_pid_or_absent_is_off(notify_socket):
    path, sock = notify_socket
    other = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "20000000", "WATCHDOG_PID": str(os.getpid() + 1)}
    with Systemd(environ=other) as sd:
        assert sd.watchdog_interval() is None
        assert not sd.watchdog()
    with Systemd(environ={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "junk"}) as sd:
        assert sd.watchdog_interval() is None
        assert not sd.watchdog()
    with Systemd(environ={"NOTIFY_SOCKET": path}) as sd:
        assert not sd.watchdog()
    assert received(sock) == []


def test_a_vanished_socket_is_logged_once_and_never_raises(tmp_path, caplog):
    missing = str(tmp_path / "gone")
    with Systemd(environ={"NOTIFY_SOCKET": missing}) as sd:
        assert not sd.ready()
        assert not sd.stopping()
        assert not sd.status("x")
    lines = [r.getMessage() for r in caplog.records if "notify_failed" in r.getMessage()]
    assert len(lines) == 1
    assert lines[0].startswith("event=notify_failed ")


def test_extend_timeout(notify_socket):
    path, sock = notify_socket
    with Systemd(environ={"NOTIFY_SOCKET": path}) as sd:
        assert sd.extend_timeout(2.5)
    assert received(sock) == ["EXTEND_TIMEOUT_USEC=2500000"]


def test_status_line_is_one_line_of_key_values():
    assert status_line("idle", "ok", "up", 3) == "state=idle camera=ok backend=up outbox=3"
    line = status_line("door open", "", "down\nnow", 0)
    assert "\n" not in line
    assert line == "state=door_open camera=- backend=down_now outbox=0"


def test_sigterm_sends_stopping_and_asks_the_loop_to_stop(notify_socket):
    path, sock = notify_socket
    stopped = threading.Event()
    with Systemd(environ={"NOTIFY_SOCKET": path}) as sd:
        previous = on_sigterm(sd, stopped.set)
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            assert stopped.wait(5)
        finally:
            signal.signal(signal.SIGTERM, previous)
    assert received(sock) == ["STOPPING=1"]


def test_sigterm_in_the_middle_of_a_ping_does_not_deadlock(notify_socket):
    """The handler runs on the main thread wherever it was interrupted, even inside notify()."""
    path, sock = notify_socket
    stopped = threading.Event()
    with Systemd(environ={"NOTIFY_SOCKET": path}) as sd:
        previous = on_sigterm(sd, stopped.set)
        try:
            with sd._lock:  # as if interrupted while sending WATCHDOG=1
                os.kill(os.getpid(), signal.SIGTERM)
                for _ in range(1000):  # bytecodes run: Python calls the handler here
                    if stopped.is_set():
                        break
            assert stopped.wait(5)
        finally:
            signal.signal(signal.SIGTERM, previous)
    assert received(sock) == ["STOPPING=1"]
