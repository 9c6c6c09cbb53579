"""Issue 11's kiosk side of the outbox: its files are 0600 in a 0700 folder, a delivered staff
token does not linger in them (a test reads the raw bytes), and a staff logout waits for that
session's queued writes. Real server on loopback, real SQLite files."""

from __future__ import annotations

import stat
import time

import pytest

from kiosk.api import BackendClient, Outbox
from kiosk.api.requests import ConfirmArrival, StaffLogout
from kiosk.clock import SimClock
from kiosk.errors import Rejected
from kiosk.server.harness import ServerThread

SEED = {
    "kiosks": [{"id": "k_1", "token": "outbox-secrets-kiosk"}],
    "staff": [{"id": "s_1", "name": "陳小華", "badge_code": "STAFF-0001", "pin": "2468"}],
    "members": [{"id": "m_1", "name": "王小明", "phone": "0912345678", "member_code": "MEMBER-0000001"}],
    "orders": [
        {"id": f"o_{n}", "number": f"C{n}", "member_id": "m_1", "package_code": f"PKG300{n}", "status": "shipped"}
        for n in range(1, 6)
    ],
}


@pytest.fixture(scope="module")
def server():
    with ServerThread(seed=SEED) as srv:
        yield srv


@pytest.fixture
def client(server):
    server.start()
    with BackendClient(server.base_url, server.kiosk_token, retries=0) as c:
        yield c


def wait_until(cond, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.01)
    return cond()


def raw(folder) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file())


def test_files_are_0600_in_a_0700_folder(tmp_path, client):
    folder = tmp_path / "state"
    box = Outbox(folder / "outbox.db", client, SimClock())
    try:
        token = client.staff_login("STAFF-0001", "2468").token
        box.enqueue(ConfirmArrival(package_code="PKG3001", staff_token=token))
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        files = [p for p in folder.iterdir() if p.name.startswith("outbox.db")]
        assert {p.name for p in files} >= {"outbox.db", "outbox.db-wal"}
        for p in files:
            assert stat.S_IMODE(p.stat().st_mode) == 0o600, p.name
    finally:
        box.close()


def test_a_delivered_staff_token_does_not_linger_in_the_files(tmp_path, client, server):
    folder = tmp_path / "state"
    box = Outbox(folder / "outbox.db", client, SimClock())
    try:
        token = client.staff_login("STAFF-0001", "2468").token
        server.stop()
        box.enqueue(ConfirmArrival(package_code="PKG3002", staff_token=token))
        box.enqueue(StaffLogout(staff_token=token))
        box.deliver_now()
        assert token.encode() in raw(folder)  # queued: it is needed, so it is there
        server.start()
        box.deliver_now()
        assert box.depth() == 0
        assert server.order_by_number("C2")["status"] == "arrived"
        assert token.encode() not in raw(folder)
        assert b"PKG3002" not in raw(folder)
    finally:
        box.close()
    with pytest.raises(Rejected):  # the logout reached the server: the token is refused
        client.orders("arrived", token)


def test_a_logout_waits_for_the_sessions_earlier_writes(tmp_path, client, server):
    box = Outbox(tmp_path / "outbox.db", client, SimClock())
    try:
        token = client.staff_login("STAFF-0001", "2468").token
        server.stop()
        box.enqueue(ConfirmArrival(package_code="PKG3003", staff_token=token))
        box.enqueue(StaffLogout(staff_token=token))
        heads = box._heads()
        assert [e.kind for e in heads] == ["arrive"]  # the logout is not due yet
        server.start()
        box.deliver_now()
        assert box.depth() == 0
        assert box.attention() == []
        assert server.order_by_number("C3")["status"] == "arrived"
    finally:
        box.close()


def test_a_dismissed_parked_write_leaves_no_token_behind(tmp_path, client, server):
    folder = tmp_path / "state"
    box = Outbox(folder / "outbox.db", client, SimClock())
    try:
        token = client.staff_login("STAFF-0001", "2468").token
        box.enqueue(ConfirmArrival(package_code="PKG-UNKNOWN-9", staff_token=token))
        box.deliver_now()
        (parked,) = box.attention()
        assert token.encode() in raw(folder)
        assert box.dismiss(parked.key)
        assert token.encode() not in raw(folder)
    finally:
        box.close()
