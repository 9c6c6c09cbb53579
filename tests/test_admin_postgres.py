"""The back office on PostgreSQL: the admin calls, the notices' claims and the metrics on the
portable code path (a throwaway cluster, as in test_server_postgres.py)."""

from __future__ import annotations

import time

import pytest
import requests
from backoffice_support import AdminClient, backoffice_seed, kiosk_headers
from test_server_postgres import pg_cluster  # noqa: F401  (the module-scoped throwaway cluster)

from kiosk.server import notices
from kiosk.server.harness import ServerThread
from kiosk.server.notices import NoticeSender, SmtpConfig

pytest.importorskip("psycopg")


@pytest.fixture
def pg_server(pg_cluster):  # noqa: F811
    with ServerThread(db_url=pg_cluster(), seed=backoffice_seed()) as server:
        yield server


def test_admin_calls_on_postgres(pg_server):
    assert pg_server.store.engine.dialect.name == "postgresql"
    admin = AdminClient(pg_server)
    assert [o["number"] for o in admin.get("/orders", params={"status": "overdue"}).json()] == ["A1003"]
    assert {o["number"] for o in admin.get("/orders", params={"q": "EMILY.chen@example.org"}).json()} == {
        "A1004",
        "A1005",
        "A1006",
    }
    assert admin.patch("/settings", json={"overdue_days": 2, "store_name": "板橋店"}).json()["store_name"] == "板橋店"
    assert admin.patch("/settings", json={"lockout_attempts": 0}).status_code == 422
    r = requests.get(pg_server.api_url + "/settings", headers=kiosk_headers(), timeout=10)
    assert r.json()["overdue_days"] == 2
    assert admin.post("/orders/o_2/return", json={}).json()["status"] == "return_requested"
    assert admin.post("/orders/o_2/return/review", json={"approved": True}).json()["status"] == "return_reviewed"
    done = admin.post("/orders/o_2/return/complete", json={"destination": "store_stock"})
    assert done.json()["status"] == "restocked"
    assert admin.post("/orders/o_4/notify", json={}).status_code == 202
    assert admin.post("/orders/o_7/notify", json={}).json()["error"]["code"] == "no_contact"
    added = admin.post("/staff", json={"name": "周杰", "badge_code": "STAFF-0042", "pin": "4242"})
    assert added.status_code == 200
    assert admin.post("/staff", json={"name": "X", "badge_code": "STAFF-0042", "pin": "1"}).status_code == 409
    body = {"kind": "door_forced", "door": 3, "at": "2026-12-01T10:00:00Z"}
    requests.post(pg_server.api_url + "/kiosks/k_1/events", json=body, headers=kiosk_headers(key=True), timeout=10)
    assert admin.get("/kiosks").json()[0]["alarms"][0]["door"] == 3
    assert admin.post("/kiosks/k_1/alarms/ack", json={"kind": "door_forced", "door": 3}).status_code == 204
    assert admin.get("/kiosks").json()[0]["alarms"] == []
    rows = admin.get("/reports/commission", params={"from": "2020-01-01", "to": "2030-12-31"}).json()
    assert {r["staff_id"] for r in rows} >= {"s_1", "s_2", "s_9"}
    metrics = requests.get(pg_server.base_url + "/metrics", timeout=10).text
    assert 'pickup_events_total{kind="door_forced"} 1.0' in metrics
    assert "pickup_notices_unsent 1.0" in metrics


def test_two_senders_on_postgres_claim_each_notice_once(pg_server):
    admin = AdminClient(pg_server)
    for order_id in ("o_2", "o_3", "o_4"):
        assert admin.post(f"/orders/{order_id}/notify", json={}).status_code == 202
    sent: list[str] = []

    class Recorder(SmtpConfig):
        def send(self, mail) -> None:
            sent.append(mail.subject)
            time.sleep(0.05)

    senders = [NoticeSender(pg_server.store, Recorder("smtp://127.0.0.1:1"), poll=0.02) for _ in range(3)]
    for s in senders:
        s.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with pg_server.store.read() as conn:
                if notices.count_unsent(conn) == 0:
                    break
            time.sleep(0.05)
        time.sleep(0.3)
    finally:
        for s in senders:
            s.stop()
    assert len(sent) == 3
    assert len(set(sent)) == 3


def test_staff_added_at_once_on_postgres_get_an_answer_each(pg_server):
    """No write lock on PostgreSQL: two admins adding staff at the same moment meet in the unique
    indexes (the badge, the next free ``s_N`` id), not in our checks. Each call is still answered:
    one badge goes to one member (409 ``badge_taken`` for the rest), and members added without an
    id each get their own."""
    from concurrent.futures import ThreadPoolExecutor

    admin = AdminClient(pg_server)
    before = {s["id"] for s in admin.get("/staff").json()}

    def add(i: int, badge: str) -> requests.Response:
        return admin.post("/staff", json={"name": f"Hire {i}", "badge_code": badge, "pin": "4242"})

    with ThreadPoolExecutor(8) as pool:
        same = list(pool.map(lambda i: add(i, "STAFF-0777"), range(8)))
        own = list(pool.map(lambda i: add(i, f"STAFF-08{i:02d}"), range(8)))
    codes = sorted(r.status_code for r in same)
    assert codes == [200] + [409] * 7, [r.text for r in same]
    assert {r.json()["error"]["code"] for r in same if r.status_code == 409} == {"badge_taken"}
    assert [r.status_code for r in own] == [200] * 8, [r.text for r in own]
    ids = [r.json()["id"] for r in own]
    assert len(set(ids)) == 8
    assert not set(ids) & before
    staff = admin.get("/staff").json()
    assert [s["badge_code"] for s in staff].count("STAFF-0777") == 1
    assert len(staff) == len(before) + 9
    # eight members given one new badge at once: one keeps it
    with ThreadPoolExecutor(8) as pool:
        moved = list(pool.map(lambda i: admin.patch(f"/staff/{i}", json={"badge_code": "STAFF-0999"}), ids))
    assert sorted(r.status_code for r in moved) == [200] + [409] * 7, [r.text for r in moved]
    assert {r.json()["error"]["code"] for r in moved if r.status_code == 409} == {"badge_taken"}
    assert [s["badge_code"] for s in admin.get("/staff").json()].count("STAFF-0999") == 1
