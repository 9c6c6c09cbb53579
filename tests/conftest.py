"""Shared fixtures. Tests never open a real window, never reach past loopback."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import copy
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

DEMO_SEED_PATH = Path(__file__).resolve().parent.parent / "kiosk" / "demo_data" / "seed.json"

# A small seed: one kiosk, two active staff and an inactive one, two members, one order in each
# interesting status. Tests copy it (the fixture returns a fresh deep copy) and may change it.
SMALL_SEED = {
    "settings": {"overdue_days": 7, "lockout_attempts": 3, "lockout_seconds": 60},
    "kiosks": [{"id": "k_1", "token": "test-kiosk-token"}, {"id": "k_2", "token": "test-kiosk-token-2"}],
    "staff": [
        {"id": "s_1", "name": "陳小華", "badge_code": "STAFF-0001", "pin": "2468"},
        {"id": "s_2", "name": "林美玲", "badge_code": "STAFF-0002", "pin": "1357"},
        {"id": "s_9", "name": "黃淑芬", "badge_code": "STAFF-0009", "pin": "9999", "active": False},
    ],
    "members": [
        {"id": "m_1", "name": "王小明", "phone": "0912345678", "email": "ming@example.com",
         "member_code": "MEMBER-0000001"},
        {"id": "m_2", "name": "Emily Chen", "phone": "0945678901", "email": "Emily.Chen@example.org",
         "member_code": "MEMBER-0000002"},
    ],
    "orders": [
        {"id": "o_1", "number": "A1001", "member_id": "m_1", "package_code": "PKG1001",
         "items_summary": "T-shirt x2", "status": "shipped"},
        {"id": "o_2", "number": "A1002", "member_id": "m_1", "package_code": "PKG1002",
         "status": "arrived", "locker_door": 2, "received_by": "s_1"},
        {"id": "o_3", "number": "A1003", "member_id": "m_1", "package_code": "PKG1003",
         "status": "arrived", "arrived_at": "2020-01-01T00:00:00Z", "received_by": "s_2"},
        {"id": "o_4", "number": "A1004", "member_id": "m_2", "package_code": "PKG1004",
         "status": "arrived", "locker_door": 4},
        {"id": "o_5", "number": "A1005", "member_id": "m_2", "package_code": "PKG1005", "status": "shipped"},
        {"id": "o_6", "number": "A1006", "member_id": "m_2", "package_code": "PKG1006", "status": "received",
         "arrived_at": "2026-01-01T00:00:00Z"},
    ],
}  # fmt: skip


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "backend_seed(seed): the seed (dict, path, or 'small') the `backend` fixture starts from",
    )


@pytest.fixture
def seed_data() -> dict:
    """A small seed dict (a fresh copy): kiosk ``k_1`` token ``test-kiosk-token``, staff
    ``STAFF-0001``/``2468`` (s_1), ``STAFF-0002``/``1357`` (s_2), inactive s_9; members
    ``MEMBER-0000001`` (m_1: A1001 shipped, A1002 arrived door 2, A1003 overdue) and
    ``MEMBER-0000002`` (m_2: A1004 arrived door 4, A1005 shipped, A1006 received)."""
    return copy.deepcopy(SMALL_SEED)


@pytest.fixture
def demo_seed() -> dict:
    """The demo data (``kiosk/demo_data/seed.json``) as a dict: kiosk ``k_1`` / ``dev-kiosk-token``."""
    return json.loads(DEMO_SEED_PATH.read_text(encoding="utf-8"))


@pytest.fixture
def backend(request: pytest.FixtureRequest):
    """A started :class:`kiosk.server.harness.ServerThread` on a fresh temporary SQLite file.

    Seeded from the demo data unless the test says otherwise with
    ``@pytest.mark.backend_seed(seed)`` (a dict, a path, or ``"small"`` for :data:`SMALL_SEED`).
    ``backend.base_url`` is ``http://127.0.0.1:PORT`` (append ``/api/v1``), ``backend.api_url``
    includes it; ``backend.kiosk_token`` / ``backend.kiosk_id`` are the seed's first kiosk's.
    ``backend.stop()`` / ``.start()`` (same port and database), ``backend.delay = 5`` (slow),
    ``backend.order_by_number("A1002")``, ``backend.count_events("pickup")``. Stopped and removed
    after the test.
    """
    from kiosk.server.harness import ServerThread

    marker = request.node.get_closest_marker("backend_seed")
    seed = marker.args[0] if marker else DEMO_SEED_PATH
    if seed == "small":
        seed = copy.deepcopy(SMALL_SEED)
    yield from running(ServerThread(seed=seed))


class _Closing:
    """Closes servers on background threads: uvicorn takes 0.1-0.2 s to stop (mostly asleep), and
    with a fresh server per test that was some 50 s of the suite spent waiting in teardown."""

    def __init__(self) -> None:
        self.threads: list[threading.Thread] = []
        self.errors: list[str] = []

    def close_later(self, server: Any) -> None:
        self.threads = [t for t in self.threads if t.is_alive()]
        thread = threading.Thread(target=self._close, args=(server,), name="closing-server", daemon=True)
        thread.start()
        self.threads.append(thread)

    def _close(self, server: Any) -> None:
        try:
            server.close()
        except BaseException as exc:  # reported at the end of the session
            self.errors.append(f"{server.base_url}: {type(exc).__name__}: {exc}")

    def wait(self) -> None:
        for thread in self.threads:
            thread.join(30)
        assert not any(t.is_alive() for t in self.threads), "a server did not close within 30 s"
        assert not self.errors, self.errors


_CLOSING = _Closing()


@pytest.fixture(autouse=True)
def _root_logger_as_it_was():
    """A test that runs the CLI in-process (``cli.main(["run", ...])``) installs the kiosk's
    handler on the root logger, writing to that test's captured stderr. Left there, a server
    still closing on a background thread logs into the closed stream ("--- Logging error ---"
    in the suite's output). Put the root logger back as it was."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)


@pytest.fixture(scope="session", autouse=True)
def _servers_closed_by_the_end():
    yield
    _CLOSING.wait()


def running(server: Any) -> Iterator[Any]:
    """For a fixture: ``yield from running(ServerThread(...))`` starts the server, yields it, and
    afterwards closes it on a background thread while the next test starts."""
    try:
        server.start()
    except BaseException:
        server.close()
        raise
    try:
        yield server
    finally:
        _CLOSING.close_later(server)


@pytest.fixture
def backend_url(backend) -> str:
    """``http://127.0.0.1:PORT`` of the started ``backend`` (without ``/api/v1``)."""
    return backend.base_url


class BackendCaller:
    """Tiny HTTP caller for tests of the reference server (real ``requests`` over loopback).

    ``call(method, path, json=..., staff=True, key="k1")`` adds the kiosk bearer token, the
    staff token (logging in once as ``STAFF-0001``/``2468`` when ``staff=True``) and an
    ``Idempotency-Key`` when ``key`` is given (``key=True`` makes a fresh uuid4).
    """

    def __init__(self, server, badge: str = "STAFF-0001", pin: str = "2468"):
        import requests

        self.server = server
        self.session = requests.Session()
        self.token = server.kiosk_token
        self.badge, self.pin = badge, pin
        self._staff_token: str | None = None
        self._lookups: dict[str, str] = {}

    @property
    def staff_token(self) -> str:
        if self._staff_token is None:
            r = self.call("POST", "/staff/login", json={"badge_code": self.badge, "pin": self.pin})
            assert r.status_code == 200, r.text
            self._staff_token = r.json()["staff_token"]
        return self._staff_token

    def call(self, method, path, *, json=None, data=None, staff=False, key=None, token=None, headers=None):
        import uuid

        h = {"Authorization": f"Bearer {token or self.token}"}
        if staff:
            h["X-Staff-Token"] = staff if isinstance(staff, str) else self.staff_token
        if key is True:
            key = str(uuid.uuid4())
        if key:
            h["Idempotency-Key"] = key
        h.update(headers or {})
        return self.session.request(method, self.server.api_url + path, json=json, data=data, headers=h, timeout=10)

    def lookup_id(self, member_code: str = "MEMBER-0000001", **query) -> str:
        """The ``lookup_id`` of a fresh look-up (docs/api.md r2: pickups name one)."""
        r = self.call("POST", "/members/lookup", json=query or {"member_code": member_code})
        assert r.status_code == 200, r.text
        return r.json()["lookup_id"]

    def lookup_for(self, member_id: str) -> str:
        """One look-up id per member for this caller (seeds name ``m_N`` ``MEMBER-000000N``)."""
        if member_id not in self._lookups:
            self._lookups[member_id] = self.lookup_id(f"MEMBER-{int(member_id[2:]):07d}")
        return self._lookups[member_id]

    def fill(self, body):
        """``body`` with every ``"@m_N"`` value replaced by :meth:`lookup_for` ``("m_N")``."""
        return {k: self.lookup_for(v[1:]) if isinstance(v, str) and v.startswith("@m_") else v for k, v in body.items()}

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, **kw):
        return self.call("POST", path, **kw)


@pytest.fixture
def api(backend) -> BackendCaller:
    """A :class:`BackendCaller` bound to ``backend`` (kiosk token of its first kiosk)."""
    caller = BackendCaller(backend)
    yield caller
    caller.session.close()


# The scenario runner's fault lengths shortened alike (kiosk.scenario: the kiosk reads for 3 s, a
# `backend = "slow"` answer comes after 5 s): a slow answer is still well beyond the kiosk's
# patience, and a drill does not wait out each slow call at full length.
QUICK_READ_TIMEOUT = 1.0
QUICK_SLOW_ANSWER = 2.0


@pytest.fixture
def quick_faults(monkeypatch: pytest.MonkeyPatch) -> float:
    """Shortened slow-backend lengths for the scenario runner; returns the slow answer's delay."""
    from kiosk import scenario

    monkeypatch.setattr(scenario, "READ_TIMEOUT", QUICK_READ_TIMEOUT)
    monkeypatch.setattr(scenario, "SLOW_ANSWER", QUICK_SLOW_ANSWER)
    return QUICK_SLOW_ANSWER


@pytest.fixture
def quick_expectations(monkeypatch: pytest.MonkeyPatch) -> None:
    """For a scenario whose expectation is meant to fail: the runner gives up on it after 1.5 s
    of real time instead of 5 (kiosk.scenario.WAIT_LIMIT); the failure and its words are the same."""
    from kiosk import scenario

    monkeypatch.setattr(scenario, "WAIT_LIMIT", 1.5)
