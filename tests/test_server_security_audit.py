"""Security audit of the reference server and its back office (docs/api.md r2), over loopback."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
import requests
from backoffice_support import AdminClient, backoffice_seed, kiosk_headers
from conftest import running
from test_admin_pages import signed_in

from kiosk.privacy import LOG_KEY_FILE
from kiosk.server.harness import ServerProcess, ServerThread


@pytest.fixture
def server():
    yield from running(ServerThread(seed=backoffice_seed()))


def test_an_admin_key_replayed_with_another_pin_is_a_mismatch(server):
    """docs/api.md: "the same key with another method, path or body is 422 idempotency_mismatch".
    A retried add with a corrected PIN must not answer 200 while the first PIN stays set."""
    admin = AdminClient(server)
    body = {"name": "周小安", "badge_code": "STAFF-0700", "pin": "1111"}
    first = admin.post("/staff", key="add-staff-1", json=body)
    assert first.status_code == 200, first.text
    assert admin.post("/staff", key="add-staff-1", json=body).json() == first.json()
    other = admin.post("/staff", key="add-staff-1", json={**body, "pin": "2222"})
    assert other.status_code == 422, other.text
    assert other.json()["error"]["code"] == "idempotency_mismatch"
    # what the key's row keeps does not give the PIN away to one who tries every PIN
    stored = server.admin.count_rows("idempotency", key="add-staff-1")
    assert stored == 1
    with server.admin.read() as conn:
        digest = conn.exec_driver_sql("SELECT body_hash FROM idempotency WHERE key = 'add-staff-1'").scalar_one()
    path = "/api/v1/admin/staff"
    for pin in ("1111", "(set)"):
        canon = json.dumps({**body, "pin": pin}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert hashlib.sha256(f"POST {path}\n{canon}".encode()).hexdigest() != digest


def test_every_worker_keys_log_references_with_the_deployments_key(tmp_path):
    """kiosk/privacy.py: "the same code gives the same reference in every line of a deployment
    (keyed with its secret)". With --workers N each worker is a new interpreter: it must load the
    deployment's key, not key references with a random one of its own."""
    seed = backoffice_seed()
    seed["settings"]["lockout_attempts"] = 50
    server = ServerProcess(db_url=f"sqlite:///{tmp_path}/w.db", seed=seed, workers=2)
    try:
        server.start()
        for _ in range(8):  # a new connection each time: the kernel spreads them over the workers
            r = requests.post(
                server.api_url + "/staff/login",
                json={"badge_code": "STAFF-0001", "pin": "0000"},
                headers=kiosk_headers(),
                timeout=30,
            )
            assert r.status_code == 401
    finally:
        server.close()
    key = (tmp_path / LOG_KEY_FILE).read_bytes()[:64]
    expected = "h:" + hashlib.blake2b(b"STAFF-0001", key=key, digest_size=5).hexdigest()
    refs = re.findall(r"staff_login_failed .*?badge=(\S+)", Path(server.log_path).read_text(encoding="utf-8"))
    assert len(refs) == 8
    assert set(refs) == {expected}


def test_a_staff_member_whose_id_holds_a_slash_can_still_be_deactivated(server):
    """docs/api.md: "a POST may name the id"; "PATCH /admin/staff/{id}"; deactivating ends their
    tokens. An id the server accepted must stay reachable, or the member can never be signed out."""
    admin = AdminClient(server)
    body = {"id": "team/7", "name": "周小安", "badge_code": "STAFF-0777", "pin": "1234"}
    assert admin.post("/staff", json=body).status_code == 200
    login = requests.post(
        server.api_url + "/staff/login",
        json={"badge_code": "STAFF-0777", "pin": "1234"},
        headers=kiosk_headers(),
        timeout=10,
    )
    staff_token = login.json()["staff_token"]
    r = admin.patch("/staff/team%2F7", json={"active": False})
    assert r.status_code == 200, r.text
    assert r.json()["active"] is False
    r = requests.get(
        server.api_url + "/orders",
        params={"status": "arrived"},
        headers={**kiosk_headers(), "X-Staff-Token": staff_token},
        timeout=10,
    )
    assert r.status_code == 401
    # and from the staff page: its form posts to the member's own address
    s, csrf = signed_in(server)
    page = s.get(server.base_url + "/admin/staff", timeout=10).text
    assert 'action="/admin/staff/team%2F7"' in page
    r = s.post(
        server.base_url + "/admin/staff/team%2F7",
        data={"csrf_token": csrf, "active": "true"},
        allow_redirects=False,
        timeout=10,
    )
    assert r.status_code == 303, r.text
    assert admin.get("/staff").json()[-1]["active"] is True
