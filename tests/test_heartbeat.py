"""The heartbeat, against the real reference server on loopback, on a simulated kiosk clock."""

from __future__ import annotations

import http.server
import json
import logging
import threading
import typing

import pytest

from kiosk import __version__
from kiosk.api.client import BackendClient
from kiosk.clock import SimClock
from kiosk.heartbeat import Heartbeat
from kiosk.server.harness import ServerThread

SEED = {
    "kiosks": [{"id": "k_1", "token": "hb-token-1"}, {"id": "k_2", "token": "hb-token-2"}],
    "staff": [],
    "members": [],
    "orders": [],
}


@pytest.fixture(scope="module")
def server():
    with ServerThread(seed=SEED) as srv:
        yield srv


@pytest.fixture
def client(server):
    with BackendClient(server.base_url, "hb-token-1", connect_timeout=1, read_timeout=2, retries=0) as c:
        yield c


class Snapshot:
    def __init__(self):
        self.values = {"state": "idle", "camera": "ok", "gpio": "ok", "outbox": 0}

    def __call__(self):
        return dict(self.values)


def events(caplog, name):
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith(f"event={name} ")]


def test_first_heartbeat_at_once_then_every_interval_of_kiosk_time(server, client):
    clock = SimClock()
    snap = Snapshot()
    with Heartbeat(client, "k_1", clock, snap, interval=30) as hb:
        assert hb.wait_sent(1)
        assert clock.next_due() == pytest.approx(30.0)
        seen = server.last_heartbeat("k_1")
        assert seen["state"] == "idle"
        assert seen["camera"] == "ok"
        assert seen["gpio"] == "ok"
        assert seen["outbox"] == 0
        assert seen["version"] == __version__

        snap.values.update(state="orders", outbox=3, camera="lost")
        clock.advance(29.0)
        assert hb.sent + hb.failed == 1  # nothing due yet
        clock.advance(1.0)
        assert hb.wait_sent(2)
        seen = server.last_heartbeat("k_1")
        assert (seen["state"], seen["outbox"], seen["camera"]) == ("orders", 3, "lost")
        assert clock.next_due() == pytest.approx(30.0)

        clock.advance(30.0)
        assert hb.wait_sent(3)
        assert hb.sent == 3
        assert hb.failed == 0


def test_uptime_is_on_the_kiosk_clock_and_recorded(server, client):
    clock = SimClock()
    hb = Heartbeat(client, "k_1", clock, Snapshot(), interval=30)
    clock.advance(95.0)
    assert hb.uptime() == pytest.approx(95.0)
    assert hb.payload()["uptime"] == 95
    with hb:
        assert hb.wait_sent(1)
        assert hb.send_uptime
        assert server.last_heartbeat("k_1")["uptime"] == 95


class _StrictHeartbeat(http.server.BaseHTTPRequestHandler):
    """A backend that keeps to docs/api.md v1's heartbeat fields and refuses any other (422)."""

    bodies: typing.ClassVar[list] = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).bodies.append(body)
        if "uptime" in body:
            self._answer(422, {"error": {"code": "validation_error", "message": "unknown field uptime"}})
        else:
            self.send_response(204)
            self.end_headers()

    def _answer(self, status, doc):
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_uptime_is_dropped_for_a_backend_that_refuses_it(caplog):
    caplog.set_level(logging.INFO)
    _StrictHeartbeat.bodies = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _StrictHeartbeat)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}"
        with BackendClient(url, "t", connect_timeout=1, read_timeout=2, retries=0) as strict:
            clock = SimClock()
            with Heartbeat(strict, "k_1", clock, Snapshot(), interval=30) as hb:
                assert hb.wait_sent(1)
                assert hb.sent == 1
                assert "uptime" not in hb.last_payload
                assert not hb.send_uptime
                clock.advance(30.0)
                assert hb.wait_sent(2)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert [("uptime" in b) for b in _StrictHeartbeat.bodies] == [True, False, False]
    assert len(events(caplog, "heartbeat_without_uptime")) == 1
    assert events(caplog, "heartbeat_failed") == []


def test_failures_are_logged_once_per_change_and_recovery_once(server, client, caplog):
    caplog.set_level(logging.INFO)
    clock = SimClock()
    with Heartbeat(client, "k_1", clock, Snapshot(), interval=30, send_uptime=False) as hb:
        assert hb.wait_sent(1)
        server.stop()
        try:
            for n in range(2, 6):
                clock.advance(30.0)
                assert hb.wait_sent(n)
            assert hb.failed == 4
            assert "unreachable" in hb.last_error or "refused" in hb.last_error
        finally:
            server.start()
        clock.advance(30.0)
        assert hb.wait_sent(6)
        clock.advance(30.0)
        assert hb.wait_sent(7)
    assert hb.sent == 3
    failed = events(caplog, "heartbeat_failed")
    assert len(failed) == 1
    assert "reason=unavailable" in failed[0]
    assert "hb-token-1" not in failed[0]
    assert len(events(caplog, "heartbeat_ok")) == 1


def test_another_kiosks_id_is_refused_and_logged(server, client, caplog):
    clock = SimClock()
    with Heartbeat(client, "k_2", clock, Snapshot(), interval=30, send_uptime=False) as hb:
        assert hb.wait_sent(1)
        clock.advance(30.0)
        assert hb.wait_sent(2)
    assert hb.sent == 0
    assert hb.last_error == "403 forbidden"
    failed = events(caplog, "heartbeat_failed")
    assert len(failed) == 1
    assert "reason=rejected:forbidden" in failed[0]
    assert server.last_heartbeat("k_2") is None


def test_a_broken_snapshot_does_not_end_the_thread(server, client, caplog):
    clock = SimClock()
    broken = {"on": True}

    def snapshot():
        if broken["on"]:
            raise RuntimeError("loop state not ready")
        return {"state": "idle", "camera": "ok", "gpio": "ok", "outbox": 1}

    with Heartbeat(client, "k_1", clock, snapshot, interval=10, send_uptime=False) as hb:
        assert hb.wait_sent(1)
        assert hb.failed == 1
        broken["on"] = False
        clock.advance(10.0)
        assert hb.wait_sent(2)
        assert hb.sent == 1
    assert server.last_heartbeat("k_1")["outbox"] == 1
    assert "reason=error:RuntimeError" in events(caplog, "heartbeat_failed")[0]


def test_start_never_waits_for_the_backend():
    """A backend call that hangs holds the heartbeat thread only, never the caller."""
    entered = threading.Event()
    release = threading.Event()

    class HangingClient:
        def heartbeat(self, kiosk_id, payload):
            entered.set()
            release.wait(5)

    clock = SimClock()
    hb = Heartbeat(HangingClient(), "k_1", clock, Snapshot(), interval=30)
    hb.start()
    try:
        assert entered.wait(5)
        assert hb.sent == 0  # start() returned while the call is still hanging
        hb.beat_now()  # also never blocks
    finally:
        release.set()
        hb.stop()
    assert hb.sent >= 1


def test_beat_now_restarts_the_cadence(server, client):
    clock = SimClock()
    with Heartbeat(client, "k_1", clock, Snapshot(), interval=30, send_uptime=False) as hb:
        assert hb.wait_sent(1)
        clock.advance(20.0)
        hb.beat_now()
        assert hb.wait_sent(2)
        assert clock.next_due() == pytest.approx(30.0)


def test_interval_must_be_positive(client):
    with pytest.raises(ValueError, match="interval"):
        Heartbeat(client, "k_1", SimClock(), Snapshot(), interval=0)
