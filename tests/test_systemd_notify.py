"""The sd_notify helper, against a real AF_UNIX datagram socket (path and abstract)."""

from __future__ import annotations

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


def test_watchdog_is_rate_limited_to_half_of_watchdog_usec(notify_socket):
    path, sock = notify_socket
    clock = FakeTime()
    env = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "20000000", "WATCHDOG_PID": str(os.getpid())}
    with Systemd(environ=env, monotonic=clock) as sd:
        assert sd.watchdog_interval() == pytest.approx(10.0)
        sent = []
        for _ in range(50):  # a main loop turning every 0.5 s for 25 s
            sent.append(sd.watchdog())
            clock.now += 0.5
    # pings at t=0, 10, 20: the first at once, then one per half timeout
    assert [i for i, s in enumerate(sent) if s] == [0, 20, 40]
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
