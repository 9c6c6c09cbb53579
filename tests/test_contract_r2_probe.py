"""A black-box probe of docs/api.md revision 2 over loopback HTTP: the sentences the other server
tests leave out (401 before 400 for refused bodies and paths, replays of non-object bodies, the
masked e-mail, the TTL in force when a look-up was made, TTLs over 24 h for locker pickups,
UTC commission days, rotating-code edge cases, admin refusals)."""

from __future__ import annotations

import copy
import time

import pytest
import requests
from conftest import SMALL_SEED, running

from kiosk.server.harness import ServerThread

LOCKER = "test-kiosk-token"  # k_1
OTHER = "test-kiosk-token-2"  # k_2
ADMIN = {"username": "admin", "password": "change-me-now"}


def probe_seed(**settings) -> dict:
    s = copy.deepcopy(SMALL_SEED)
    s["settings"].update({"lockout_attempts": 1000, **settings})
    s["admins"] = [dict(ADMIN)]
    s["members"] += [
        {"id": "m_3", "name": "Solo Lee", "email": "Solo@Example.net", "member_code": "MEMBER.0000003"},
        {"id": "m_4", "name": "林大", "phone": "0987-654-321"},
    ]
    s["orders"] += [
        {"id": "o_7", "number": "A1007", "member_id": "m_3", "package_code": "PKG1007", "status": "arrived",
         "pickup_code": "111222"},
        {"id": "o_8", "number": "A1008", "member_id": "m_4", "package_code": "PKG1008", "status": "arrived",
         "received_by": "s_1", "arrived_at": "2026-04-01T07:30:00+08:00"},  # 2026-03-31 in UTC
        {"id": "o_9", "number": "A1009", "member_id": "m_4", "package_code": "PKG1009", "status": "received",
         "arrived_at": "2026-04-01T00:00:00Z", "received_by": "s_2", "handed_over_by": "s_2"},
    ]  # fmt: skip
    for order in s["orders"]:
        if order["id"] == "o_2":
            order["pickup_code"] = "480213"
    return s


@pytest.fixture
def server():
    yield from running(ServerThread(seed=probe_seed()))


def call(server, method, path, *, token=LOCKER, staff=None, key=None, admin=None, body=None, raw=None, params=None):
    headers = {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if admin:
        headers["Authorization"] = f"Bearer {admin}"
    if staff:
        headers["X-Staff-Token"] = staff
    if key:
        headers["Idempotency-Key"] = key
    if raw is not None:
        headers["Content-Type"] = "application/json"
    return requests.request(
        method, server.api_url + path, json=body, data=raw, params=params, headers=headers, timeout=10
    )


def err(r: requests.Response) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["code"]


def staff_token(server, token=LOCKER) -> str:
    r = call(server, "POST", "/staff/login", token=token, body={"badge_code": "STAFF-0001", "pin": "2468"})
    assert r.status_code == 200, r.text
    return r.json()["staff_token"]


def admin_token(server) -> str:
    r = call(server, "POST", "/admin/login", token=None, body=ADMIN)
    assert r.status_code == 200, r.text
    return r.json()["admin_token"]


# ------------------------------------------------------------------ 401 comes before 400

BAD_BODIES = {
    "unparseable": b'{"member_code": ',
    "nested 33 deep": b"[" * 33 + b"]" * 33,
    "raw lone surrogate": b'{"member_code": "\xed\xa0\x80"}',
    "escaped lone surrogate": b'{"member_code": "\\ud800"}',
}


@pytest.mark.parametrize("bad", list(BAD_BODIES))
@pytest.mark.parametrize(
    ("method", "path", "who"),
    [
        ("POST", "/members/lookup", "kiosk"),
        ("POST", "/orders/o_2/pickup", "kiosk"),
        ("POST", "/kiosks/k_1/events", "kiosk"),
        ("POST", "/parcels/PKG1001/arrive", "staff"),
        ("POST", "/orders/o_2/return", "staff"),
        ("POST", "/staff/logout", "staff"),
        ("PATCH", "/admin/settings", "admin"),
        ("POST", "/admin/orders/o_2/return", "admin"),
    ],
)
def test_a_refused_body_is_401_without_the_tokens_and_400_with_them(server, bad, method, path, who):
    """docs/api.md: answers are decided 401 first, then 400; the body is never parsed before a 401."""
    raw = BAD_BODIES[bad]
    assert err(call(server, method, path, token=None, key="k1", raw=raw)) == (401, "unauthorized")
    if who == "staff":  # the kiosk token alone is not enough for a staff call
        assert err(call(server, method, path, key="k1", raw=raw)) == (401, "unauthorized")
        assert err(call(server, method, path, staff="wrong", key="k1", raw=raw)) == (401, "unauthorized")
        good = {"staff": staff_token(server)}
    elif who == "admin":
        assert err(call(server, method, path, token=None, admin="wrong", raw=raw)) == (401, "unauthorized")
        good = {"token": None, "admin": admin_token(server)}
    else:
        good = {}
    assert err(call(server, method, path, key="k1", raw=raw, **good)) == (400, "bad_input")
    # the admin sign-in needs no token: its bad body is 400 at once
    assert err(call(server, "POST", "/admin/login", token=None, raw=raw)) == (400, "bad_input")


def test_a_path_or_query_that_is_not_utf8_is_401_without_the_tokens(server):
    assert err(call(server, "GET", "/orders?status=%ED%A0%80", token=None)) == (401, "unauthorized")
    assert err(call(server, "GET", "/orders?status=%ED%A0%80")) == (401, "unauthorized")  # no staff token
    assert err(call(server, "GET", "/orders?status=%ED%A0%80", staff=staff_token(server))) == (400, "bad_input")


# ------------------------------------------------------------------ idempotency


def test_a_replay_needs_the_same_json_body_even_before_the_staff_token(server):
    token = staff_token(server)
    assert call(server, "POST", "/staff/logout", staff=token, key="out-1", body={}).status_code == 204
    # a retried logout gets its 204 though the token is gone (no body and null read as {})
    for raw in (b"{}", b"", b"null"):
        assert call(server, "POST", "/staff/logout", key="out-1", raw=raw).status_code == 204
    # another JSON value is not the first request: never its stored answer
    for raw in (b"[]", b'"x"', b"7"):
        r = call(server, "POST", "/staff/logout", key="out-1", raw=raw)
        assert r.status_code in (401, 422), (raw, r.text)
    assert err(call(server, "POST", "/staff/logout", key="out-1", body={"x": 1})) == (422, "idempotency_mismatch")
    # the same key from another kiosk is another key: no replay, so its staff token is checked
    assert err(call(server, "POST", "/staff/logout", token=OTHER, key="out-1", body={})) == (401, "unauthorized")


# ------------------------------------------------------------------ orders and look-ups


def test_lookup_answers_follow_the_contracts_order_on_a_locked_out_kiosk():
    """401, 400, 422, 403 member_code_only, 403 pickup_code_required, 429, then 200/404/409."""
    with ServerThread(seed=probe_seed(lockout_attempts=1, member_code_only=True)) as server:
        assert err(call(server, "POST", "/members/lookup", body={"member_code": "MEMBER-0404"})) == (
            404,
            "member_not_found",
        )
        admin = admin_token(server)
        table = [
            ({"token": None}, {"member_code": 5, "phone": "09\n12"}, (401, "unauthorized")),
            ({}, {"member_code": "M", "phone": "09\n12"}, (400, "bad_input")),
            ({}, {"email": "a@b.c", "pickup_code": "12345"}, (400, "bad_input")),
            ({}, {"member_code": "M", "phone": "0912345678"}, (422, "validation_error")),
            ({}, {"member_code": "M", "pickup_code": "480213"}, (422, "validation_error")),
            ({}, {"phone": "0912345678", "pickup_code": "480213"}, (403, "member_code_only")),
            ({}, {"email": "ming@example.com"}, (403, "member_code_only")),
            ({}, {"member_code": "MEMBER-0000001"}, (429, "locked_out")),
        ]
        for kw, body, expected in table:
            assert err(call(server, "POST", "/members/lookup", body=body, **kw)) == expected, body
        call(server, "PATCH", "/admin/settings", token=None, admin=admin, body={"member_code_only": False})
        for body, expected in (
            ({"phone": "0912345678"}, (403, "pickup_code_required")),
            ({"phone": "0912345678", "pickup_code": "480213"}, (429, "locked_out")),
        ):
            assert err(call(server, "POST", "/members/lookup", body=body)) == expected, body
        # another kiosk is not locked out: the same look-up is answered
        assert call(server, "POST", "/members/lookup", token=OTHER, body={"member_code": "MEMBER-0000001"}).ok


def test_customer_masked_shows_the_email_when_the_member_has_no_phone(server):
    r = call(server, "POST", "/members/lookup", body={"email": "solo@example.NET", "pickup_code": "111222"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["member"]["display_name_masked"] == "S******e"
    [order] = body["orders"]
    assert order["customer_masked"] == "S******e / S***@Example.net"
    assert "111222" not in r.text
    assert "PKG1007" not in r.text
    # with a phone, the phone (first 4 and last 3 digits)
    r = call(server, "GET", "/parcels/PKG1008", staff=staff_token(server))
    assert r.json()["customer_masked"] == "林* / 0987***321"


def test_with_rotating_codes_off_a_member_code_holding_a_dot_is_the_whole_string(server):
    r = call(server, "POST", "/members/lookup", body={"member_code": "MEMBER.0000003"})
    assert r.status_code == 200
    assert r.json()["member"]["id"] == "m_3"


def test_the_ttl_in_force_when_the_lookup_was_made_counts(server):
    admin = admin_token(server)
    long_lived = call(server, "POST", "/members/lookup", body={"member_code": "MEMBER-0000001"}).json()
    r = call(server, "PATCH", "/admin/settings", token=None, admin=admin, body={"lookup_ttl_seconds": 1})
    assert r.status_code == 200
    assert r.json()["lookup_ttl_seconds"] == 1
    time.sleep(1.1)  # the store reads settings again after at most 1 s
    short = call(server, "POST", "/members/lookup", body={"member_code": "MEMBER-0000002"}).json()
    assert short["expires_in"] == 1
    time.sleep(1.2)
    r = call(server, "POST", "/orders/o_3/pickup", key="p1",
             body={"lookup_id": long_lived["lookup_id"], "package_code": "PKG1003"})  # fmt: skip
    assert r.status_code == 200, r.text  # made with 300 s: still valid
    r = call(server, "POST", "/orders/o_4/pickup", key="p2",
             body={"lookup_id": short["lookup_id"], "package_code": "PKG1004"})  # fmt: skip
    assert err(r) == (403, "lookup_expired")


def test_a_locker_pickup_is_accepted_for_the_ttl_when_that_is_over_24_hours():
    with ServerThread(seed=probe_seed(lookup_ttl_seconds=200_000)) as server:
        lookup_id = call(server, "POST", "/members/lookup", body={"member_code": "MEMBER-0000001"}).json()["lookup_id"]
        with server.admin.engine.begin() as conn:  # made 25 hours ago
            conn.exec_driver_sql("UPDATE lookups SET created_at = created_at - 90000 WHERE id = ?", (lookup_id,))
        r = call(server, "POST", "/orders/o_2/pickup", key="p1", body={"lookup_id": lookup_id, "locker_door": 2})
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "received"


# ------------------------------------------------------------------ back office


def test_commission_days_are_utc_and_both_ends_inclusive(server):
    admin = admin_token(server)

    def counts(frm, to):
        r = call(server, "GET", "/admin/reports/commission", token=None, admin=admin, params={"from": frm, "to": to})
        assert r.status_code == 200, r.text
        return {row["staff_id"]: (row["received"], row["handed_over"]) for row in r.json()}

    assert counts("2026-03-31", "2026-03-31")["s_1"] == (1, 0)  # 07:30 +08:00 is still 03-31 in UTC
    assert counts("2026-04-01", "2026-04-01")["s_1"] == (0, 0)
    assert counts("2026-04-01", "2026-04-01")["s_2"] == (1, 1)  # 00:00:00Z is on its day
    assert counts("2026-03-01", "2026-03-31")["s_2"] == (0, 0)
    for params in ({"from": "2026-04-02", "to": "2026-04-01"}, {"from": "2026-02-30", "to": "2026-03-01"}):
        r = call(server, "GET", "/admin/reports/commission", token=None, admin=admin, params=params)
        assert err(r) == (422, "validation_error")


def test_notify_refusals(server):
    admin = admin_token(server)

    def notify(order_id):
        return call(server, "POST", f"/admin/orders/{order_id}/notify", token=None, admin=admin, body={})

    assert notify("o_7").status_code == 202  # e-mail only
    assert notify("o_3").status_code == 202  # overdue still waits
    assert err(notify("o_8")) == (409, "no_contact")  # phone only
    assert err(notify("o_1")) == (409, "wrong_status")  # shipped
    assert err(notify("o_404")) == (404, "order_not_found")
    assert call(server, "POST", "/admin/orders/o_7/notify", token=LOCKER, body={}).status_code == 401


# ------------------------------------------------------------------ no input ever gets a 500


def test_times_and_days_that_cannot_be_shown_in_utc_are_refused(server):
    admin = admin_token(server)
    for i, at in enumerate(("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00")):
        body = {"kind": "door_forced", "door": i + 1, "at": at}
        assert err(call(server, "POST", "/kiosks/k_1/events", key=f"e{i}", body=body)) == (400, "bad_input")
    body = {"kind": "door_forced", "door": 3, "at": "9999-12-31T09:59:59-14:00"}  # the last second shown
    assert call(server, "POST", "/kiosks/k_1/events", key="e3", body=body).status_code == 204
    for path in ("/admin/events", "/admin/kiosks"):
        assert call(server, "GET", path, token=None, admin=admin).status_code == 200
    for days in ({"overdue_days": 10**7}, {"reminder_days": 10**7}):
        r = call(server, "PATCH", "/admin/settings", token=None, admin=admin, body=days)
        assert err(r) == (422, "validation_error")
    r = call(server, "PATCH", "/admin/settings", token=None, admin=admin, body={"overdue_days": 36500})
    assert r.status_code == 200
    assert call(server, "POST", "/members/lookup", body={"member_code": "MEMBER-0000001"}).status_code == 200


@pytest.mark.parametrize("arrived_at", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:00:00Z"])
def test_a_seed_arrival_that_cannot_be_shown_in_utc_is_refused(tmp_path, arrived_at):
    from kiosk.server.common import SeedError
    from kiosk.server.store import Store

    s = probe_seed()
    s["orders"][1]["arrived_at"] = arrived_at  # o_2; overdue_at is 7 days later
    store = Store(f"sqlite:///{tmp_path}/s.db")
    try:
        with pytest.raises(SeedError, match="arrived_at"):
            store.load_seed(s)
        assert store.is_empty()
    finally:
        store.close()


def test_an_admin_notify_replayed_with_its_key_queues_nothing_more(server):
    admin = admin_token(server)

    def notify(order_id, key):
        return call(server, "POST", f"/admin/orders/{order_id}/notify", token=None, admin=admin, key=key, body={})

    def notices(number):
        r = call(server, "GET", "/admin/orders", token=None, admin=admin, params={"q": number})
        return [n["kind"] for n in r.json()[0]["notices"]]

    before = notices("A1007")
    for _ in range(2):
        r = notify("o_7", "n-1")
        assert (r.status_code, r.json()) == (202, {})
    assert notices("A1007") == [*before, "arrival"]
    assert err(notify("o_2", "n-1")) == (422, "idempotency_mismatch")
    assert err(notify("o_8", "n-2")) == (409, "no_contact")
    assert err(notify("o_8", "n-2")) == (409, "no_contact")  # the first answer again
    assert notify("o_7", None).status_code == 202  # the key is optional
    assert notices("A1007") == [*before, "arrival", "arrival"]


def test_an_admin_staff_post_replayed_with_its_key_adds_nobody_more(server):
    admin = admin_token(server)
    body = {"name": "New Hire", "badge_code": "STAFF-0100", "pin": "8642"}

    def add(key, **change):
        return call(server, "POST", "/admin/staff", token=None, admin=admin, key=key, body={**body, **change})

    first = add("s-1")
    assert first.status_code == 200, first.text
    assert set(first.json()) == {"id", "name", "badge_code", "active"}  # the PIN is never returned
    again = add("s-1")
    assert (again.status_code, again.json()) == (200, first.json())
    assert err(add("s-1", name="Other")) == (422, "idempotency_mismatch")
    assert err(add("s-2")) == (409, "badge_taken")  # a new key: the badge is in use
    staff = call(server, "GET", "/admin/staff", token=None, admin=admin).json()
    assert [s["badge_code"] for s in staff].count("STAFF-0100") == 1
    with server.admin.engine.connect() as conn:  # the PIN is not in the stored answer or key hash
        rows = conn.exec_driver_sql("SELECT response, body_hash FROM idempotency").all()
    assert rows
    assert all("8642" not in r.response for r in rows)
    r = call(server, "POST", "/staff/login", body={"badge_code": "STAFF-0100", "pin": "8642"})
    assert r.status_code == 200
