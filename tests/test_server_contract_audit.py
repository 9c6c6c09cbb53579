"""An audit of the reference server against docs/api.md revision 2, over loopback HTTP on a real
SQLite file: the defects it found, each pinned by the contract line it breaks."""

from __future__ import annotations

import copy

import pytest
from conftest import SMALL_SEED, running
from test_contract_r2_probe import ADMIN, admin_token, call, err, staff_token

from kiosk.server.common import SeedError
from kiosk.server.harness import ServerThread
from kiosk.server.store import Store


def audit_seed() -> dict:
    s = copy.deepcopy(SMALL_SEED)
    s["settings"]["lockout_attempts"] = 1000
    s["admins"] = [dict(ADMIN)]
    return s


@pytest.fixture
def server():
    yield from running(ServerThread(seed=audit_seed()))


# ---------------------------------------------------------------- settings patterns

# Python's `re` refuses these with OverflowError / RecursionError, not re.error
UNCOMPILABLE = ("a{99999999999}", "[0-9]{1,4294967296}", "(" * 5000 + ")" * 5000)


@pytest.mark.parametrize("pattern", UNCOMPILABLE, ids=("repeat", "range", "nesting"))
def test_a_pattern_python_cannot_compile_is_422_not_500(server, pattern):
    """docs/api.md Back office: "a bad value (... a pattern that does not compile ...) is 422";
    Conventions: "No input ever gets a 500"."""
    admin = admin_token(server)
    before = call(server, "GET", "/admin/settings", token=admin).json()
    r = call(server, "PATCH", "/admin/settings", token=admin, body={"staff_badge_pattern": pattern})
    assert err(r) == (422, "validation_error")
    assert call(server, "GET", "/admin/settings", token=admin).json() == before
    assert call(server, "GET", "/settings").json()["staff_badge_pattern"] == before["staff_badge_pattern"]


def test_a_seed_with_a_pattern_python_cannot_compile_is_refused(tmp_path):
    """docs/api.md Reference server data: the seed's settings take the keys of GET /settings; one
    that cannot be used is a refused seed (SeedError: the CLI's message and exit 2), not a crash."""
    s = audit_seed()
    s["settings"]["member_code_pattern"] = UNCOMPILABLE[0]
    store = Store(f"sqlite:///{tmp_path}/s.db")
    try:
        with pytest.raises(SeedError, match="member_code_pattern"):
            store.load_seed(s)
        assert store.is_empty()
    finally:
        store.close()


# ---------------------------------------------------------------- times


def test_times_before_the_year_1000_are_rfc3339_with_four_digit_years(server):
    """docs/api.md Conventions: "Times are RFC 3339 UTC strings" (RFC 3339: date-fullyear = 4DIGIT).
    An event's `at` from year 1 was stored and shown back as "1-01-01T00:00:00Z"."""
    admin = admin_token(server)
    body = {"kind": "door_forced", "door": 3, "at": "0001-01-01T00:00:00Z"}
    assert call(server, "POST", "/kiosks/k_1/events", key="ev-year-1", body=body).status_code == 204
    body = {"kind": "camera_lost", "at": "0999-12-31T23:59:59Z"}
    assert call(server, "POST", "/kiosks/k_1/events", key="ev-year-999", body=body).status_code == 204
    events = call(server, "GET", "/admin/events", token=admin, params={"kiosk": "k_1"}).json()
    assert [e["at"] for e in events] == ["0999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"]
    kiosk = next(k for k in call(server, "GET", "/admin/kiosks", token=admin).json() if k["id"] == "k_1")
    assert kiosk["alarms"] == [{"kind": "door_forced", "door": 3, "at": "0001-01-01T00:00:00Z"}]


# ---------------------------------------------------------------- arrive


def test_an_empty_received_by_is_refused_not_read_as_the_default(server):
    """docs/api.md: received_by is optional (absent: the logged-in staff member), and "Staff ids in
    received_by and handed_over_by must be active staff (422 otherwise)". An empty string is no
    staff id: it was taken as absent and the parcel arrived (as handed_over_by "" is refused)."""
    staff = staff_token(server)
    r = call(server, "POST", "/parcels/PKG1001/arrive", staff=staff, key="arr-empty", body={"received_by": ""})
    assert r.status_code in (400, 422), r.text
    assert r.json()["error"]["code"] in ("bad_input", "validation_error")
    assert server.order_by_number("A1001")["status"] == "shipped"
    assert server.count_events("arrive", number="A1001") == 0


# ---------------------------------------------------------------- refusals are stored against the key


def lookup_id(server, member_code="MEMBER-0000001") -> str:
    r = call(server, "POST", "/members/lookup", body={"member_code": member_code})
    assert r.status_code == 200, r.text
    return r.json()["lookup_id"]


def test_a_pickup_refused_for_its_body_keeps_its_key(server):
    """docs/api.md Conventions: "Replaying a key with the same method, path and JSON body returns the
    first answer ...; the same key with another method, path or body is 422 idempotency_mismatch.
    Answers 401, 429 and 5xx are never stored against a key". A 400 or 422 about the body is none of
    those: the key was left free and a second body under it picked the order up."""
    lk = lookup_id(server)
    cases = [
        ({"lookup_id": lk, "locker_door": 0}, (400, "bad_input")),  # a door number out of range
        ({"lookup_id": lk, "locker_door": 2, "package_code": "PKG1002"}, (422, "validation_error")),  # both
        ({"member_id": "m_1", "locker_door": 2}, (422, "validation_error")),  # revision 1's body
        ({"lookup_id": lk, "locker_door": "2"}, (422, "validation_error")),  # mistyped
        ({"lookup_id": "\x00", "locker_door": 2}, (400, "bad_input")),  # a control character
    ]
    for i, (body, refusal) in enumerate(cases):
        key = f"pickup-refused-{i}"
        first = call(server, "POST", "/orders/o_2/pickup", key=key, body=body)
        assert err(first) == refusal, (i, first.text)
        again = call(server, "POST", "/orders/o_2/pickup", key=key, body=body)
        assert (again.status_code, again.json()) == (first.status_code, first.json())
        good = call(server, "POST", "/orders/o_2/pickup", key=key, body={"lookup_id": lk, "locker_door": 2})
        assert err(good) == (422, "idempotency_mismatch"), (i, good.text)
    assert server.order_by_number("A1002")["status"] == "arrived"
    assert server.count_events("pickup") == 0


def test_a_staff_write_or_event_refused_for_its_body_keeps_its_key(server):
    staff = staff_token(server)
    cases = [
        ("/parcels/PKG1001/arrive", {"locker_door": "3"}, {"locker_door": 3}),
        ("/parcels/PKG1001/arrive", {"locker_door": 0}, {"locker_door": 3}),
        ("/orders/o_4/return/review", {}, {"approved": True}),
        ("/orders/o_4/return/complete", {"destination": "moon"}, {"destination": "warehouse"}),
        ("/kiosks/k_1/events", {"kind": "door_exploded", "at": "2026-01-01T00:00:00Z"},
         {"kind": "camera_lost", "at": "2026-01-01T00:00:00Z"}),
        ("/kiosks/k_1/events", {"kind": "camera_lost", "at": "yesterday"},
         {"kind": "camera_lost", "at": "2026-01-01T00:00:00Z"}),
        ("/kiosks/k_2/events", {"kind": "camera_lost", "at": "2026-01-01T00:00:00Z"},
         {"kind": "camera_lost", "at": "2026-01-01T00:00:00Z", "detail": "x"}),
    ]  # fmt: skip
    for i, (path, bad, good) in enumerate(cases):
        key = f"write-refused-{i}"
        first = call(server, "POST", path, staff=staff, key=key, body=bad)
        assert first.status_code in (400, 403, 422), (i, first.text)
        again = call(server, "POST", path, staff=staff, key=key, body=bad)
        assert (again.status_code, again.json()) == (first.status_code, first.json())
        r = call(server, "POST", path, staff=staff, key=key, body=good)
        assert err(r) == (422, "idempotency_mismatch"), (i, r.text)
    assert server.order_by_number("A1001")["status"] == "shipped"
    assert server.order_by_number("A1004")["status"] == "arrived"
    admin = admin_token(server)
    assert call(server, "GET", "/admin/events", token=admin).json() == []


def test_an_admin_call_refused_for_its_body_keeps_its_key(server):
    """Admin calls may leave the key out; one that carries it is held to it like a kiosk's."""
    admin = admin_token(server)
    first = call(server, "POST", "/admin/orders/o_4/return/review", token=admin, key="adm-1", body={"approved": 1})
    assert err(first) == (422, "validation_error")
    r = call(server, "POST", "/admin/orders/o_4/return/review", token=admin, key="adm-1", body={"approved": True})
    assert err(r) == (422, "idempotency_mismatch")
    # without a key nothing is stored: the corrected call goes through
    assert call(server, "POST", "/admin/orders/o_4/return", token=admin, body={"reason": 5}).status_code == 422
    assert call(server, "POST", "/admin/orders/o_4/return", token=admin, body={"reason": "x"}).status_code == 200


def test_a_refused_staff_member_is_held_to_its_key_pin_included(server):
    """A new staff member refused by the route (pydantic) or by the store is stored against its key
    like any answer: the same request again gets the same refusal, and the same key with another
    PIN or another name is another request (422 ``idempotency_mismatch``); the PIN enters the key's
    row only through the PIN KDF (test_server_security_audit.py)."""
    admin = admin_token(server)
    refused = [
        ({"name": 5, "badge_code": "STAFF-0200", "pin": "8642"}, (422, "validation_error")),  # the route's
        ({"name": "New Hire", "badge_code": "STAFF-0001", "pin": "8642"}, (409, "badge_taken")),  # the store's
    ]
    for i, (body, refusal) in enumerate(refused):
        key = f"staff-refused-{i}"
        first = call(server, "POST", "/admin/staff", token=admin, key=key, body=body)
        assert err(first) == refusal, (i, first.text)
        again = call(server, "POST", "/admin/staff", token=admin, key=key, body=body)
        assert (again.status_code, again.json()) == (first.status_code, first.json())
        for change in ({"pin": "1357"}, {"name": "Someone"}):
            r = call(server, "POST", "/admin/staff", token=admin, key=key, body={**body, **change})
            assert err(r) == (422, "idempotency_mismatch"), (i, change, r.text)
    names = [s["name"] for s in call(server, "GET", "/admin/staff", token=admin).json()]
    assert "New Hire" not in names
    assert "Someone" not in names
