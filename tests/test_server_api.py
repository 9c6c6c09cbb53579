"""Every call of docs/api.md against the running reference server, over HTTP on loopback."""

from __future__ import annotations

import copy
import logging
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from conftest import SMALL_SEED

pytestmark = pytest.mark.backend_seed("small")

# r2: phone and email look-ups without a pickup code only at a counter kiosk while
# contact_lookup is "open" (revision 1's behaviour)
OPEN_COUNTER_SEED = copy.deepcopy(SMALL_SEED)
OPEN_COUNTER_SEED["settings"]["contact_lookup"] = "open"
OPEN_COUNTER_SEED["kiosks"][0]["mode"] = "counter"


def err(r: requests.Response) -> str:
    body = r.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["message"]
    return body["error"]["code"]


def parse(ts: str) -> datetime:
    assert ts.endswith("Z")
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


# ------------------------------------------------------------------ health, auth, settings, staff


def test_health_needs_no_token(backend):
    r = requests.get(backend.api_url + "/health", timeout=5)
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["version"]
    assert abs(parse(body["time"]) - datetime.now(UTC)) < timedelta(minutes=1)


KIOSK_CALLS = [
    ("GET", "/settings"),
    ("GET", "/staff"),
    ("POST", "/staff/login"),
    ("POST", "/members/lookup"),
    ("POST", "/orders/o_2/pickup"),
    ("POST", "/kiosks/k_1/heartbeat"),
    ("GET", "/parcels/PKG1001"),
    ("GET", "/orders?status=arrived"),
]
BAD_AUTH = [
    {},
    {"Authorization": "Bearer wrong-token"},
    {"Authorization": "Bearer "},
    {"Authorization": "Basic dGVzdC1raW9zay10b2tlbg=="},
    {"Authorization": "test-kiosk-token"},
]
STAFF_CALLS = [
    ("GET", "/parcels/PKG1001", None),
    ("POST", "/parcels/PKG1001/arrive", {}),
    ("GET", "/orders?status=arrived", None),
    ("POST", "/orders/o_2/return", {"reason": "x"}),
    ("POST", "/orders/o_2/return/review", {"approved": True}),
    ("POST", "/orders/o_2/return/complete", {"destination": "warehouse"}),
]


def test_missing_or_wrong_kiosk_token_is_401(backend):
    for method, path in KIOSK_CALLS:
        for headers in BAD_AUTH:
            r = requests.request(method, backend.api_url + path, json={}, headers=headers, timeout=5)
            assert r.status_code == 401, (method, path, headers)
            assert err(r) == "unauthorized"


def test_staff_calls_need_a_staff_token(backend, api):
    expired = api.staff_token
    with backend.admin.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE staff_tokens SET expires_at = 0")
    for method, path, body in STAFF_CALLS:
        for staff in (False, "not-a-staff-token", expired, "x" * 300):
            r = api.call(method, path, json=body, staff=staff, key=True)
            assert r.status_code == 401, (method, path, staff)
            assert err(r) == "unauthorized"
    assert backend.count_rows("idempotency") == 0


def test_settings_defaults_and_seeded_values(api):
    r = api.get("/settings")
    assert r.status_code == 200
    assert r.json() == {
        "overdue_days": 7,
        "member_code_only": False,
        "contact_lookup": "pickup_code",
        "member_code_totp": False,
        "lookup_ttl_seconds": 300,
        "reminder_days": 2,
        "commission_enabled": True,
        "lockout_attempts": 3,  # from the seed
        "lockout_seconds": 60,
        "member_code_pattern": "[0-9A-Za-z:_.-]{6,72}",  # r2: room for a rotating code
        "parcel_code_pattern": "[0-9A-Za-z-]{6,40}",
        "staff_badge_pattern": "STAFF-[0-9A-Z]{4,16}",
    }


def test_staff_lists_active_staff_in_seed_order(api):
    r = api.get("/staff")
    assert r.status_code == 200
    assert r.json() == [{"id": "s_1", "name": "陳小華"}, {"id": "s_2", "name": "林美玲"}]


def test_staff_login(api):
    r = api.post("/staff/login", json={"badge_code": "STAFF-0002", "pin": "1357"})
    assert r.status_code == 200
    body = r.json()
    assert body["staff"] == {"id": "s_2", "name": "林美玲"}
    assert body["expires_in"] == 43200
    assert len(body["staff_token"]) >= 32
    assert "1357" not in r.text
    r = api.get("/parcels/PKG1001", staff=body["staff_token"])
    assert r.status_code == 200


@pytest.mark.parametrize(
    ("badge", "pin"),
    [("STAFF-0001", "0000"), ("STAFF-0404", "2468"), ("STAFF-0009", "9999"), ("STAFF-0001", "24680")],
)
def test_staff_login_wrong_is_401_bad_credentials(api, badge, pin):
    r = api.post("/staff/login", json={"badge_code": badge, "pin": pin})
    assert r.status_code == 401
    assert err(r) == "bad_credentials"
    assert pin not in r.text


# ------------------------------------------------------------------ look-up, masking, overdue


def test_lookup_by_member_code_lists_arrived_and_overdue_by_arrival(api):
    r = api.post("/members/lookup", json={"member_code": "MEMBER-0000001"})
    assert r.status_code == 200
    body = r.json()
    assert body["member"] == {"id": "m_1", "display_name_masked": "王*明"}
    numbers = [o["number"] for o in body["orders"]]
    assert numbers == ["A1003", "A1002"]  # A1003 arrived in 2020 (overdue), A1002 at seed time
    overdue, arrived = body["orders"]
    assert overdue["status"] == "overdue"
    assert overdue["overdue"] is True
    assert arrived["status"] == "arrived"
    assert arrived["overdue"] is False
    assert arrived["locker_door"] == 2
    assert arrived["received_by"] == "s_1"
    assert arrived["handed_over_by"] is None
    assert overdue["customer_masked"] == "王*明 / 0912***678"
    assert parse(overdue["overdue_at"]) - parse(overdue["arrived_at"]) == timedelta(days=7)
    assert abs(parse(arrived["arrived_at"]) - datetime.now(UTC)) < timedelta(minutes=5)
    assert set(arrived) == {
        "id", "number", "status", "member_id", "customer_masked", "items_summary", "arrived_at",
        "overdue", "overdue_at", "locker_door", "received_by", "handed_over_by",
    }  # fmt: skip
    for secret in ("PKG", "王小明", "0912345678", "ming@"):
        assert secret not in r.text


@pytest.mark.parametrize(
    "query",
    [
        {"phone": "0945678901"},
        {"phone": "0945-678-901"},
        {"phone": " 0945 678 901 "},
        {"email": "emily.chen@example.org"},
        {"email": "EMILY.CHEN@EXAMPLE.ORG"},
        {"member_code": "MEMBER-0000002"},
    ],
)
@pytest.mark.backend_seed(OPEN_COUNTER_SEED)
def test_lookup_by_phone_digits_or_email_any_case(api, query):
    r = api.post("/members/lookup", json=query)
    assert r.status_code == 200
    body = r.json()
    assert body["member"] == {"id": "m_2", "display_name_masked": "E********n"}
    assert [o["number"] for o in body["orders"]] == ["A1004"]
    assert body["orders"][0]["customer_masked"] == "E********n / 0945***901"


@pytest.mark.parametrize(
    "query",
    [{"member_code": "MEMBER-0000404"}, {"phone": "0900000000"}, {"email": "nobody@example.com"}],
)
@pytest.mark.backend_seed(OPEN_COUNTER_SEED)
def test_lookup_unknown_is_404(api, query):
    r = api.post("/members/lookup", json=query)
    assert r.status_code == 404
    assert err(r) == "member_not_found"


@pytest.mark.parametrize(
    "query",
    [{}, {"member_code": "MEMBER-0000001", "phone": "0912345678"}, {"phone": "1", "email": "a@b"}],
)
def test_lookup_needs_exactly_one_key(api, query):
    r = api.post("/members/lookup", json=query)
    assert r.status_code == 422
    assert err(r) == "validation_error"


def test_lookup_member_without_waiting_orders_gets_empty_list(backend, api):
    api.post("/orders/o_4/pickup", json={"lookup_id": api.lookup_id("MEMBER-0000002"), "locker_door": 4}, key=True)
    r = api.post("/members/lookup", json={"member_code": "MEMBER-0000002"})
    assert r.status_code == 200
    assert r.json()["orders"] == []


@pytest.mark.backend_seed(
    {
        "settings": {"member_code_only": True, "overdue_days": 2},
        "kiosks": [{"id": "k_7", "token": "t7"}],
        "members": [{"id": "m_1", "name": "王明", "phone": "0912345678", "member_code": "MEMBER-1"}],
        "orders": [
            {
                "id": "o_1",
                "number": "B1",
                "member_id": "m_1",
                "package_code": "P-1",
                "status": "arrived",
                "arrived_at": "2001-01-01T00:00:00+08:00",
            },
        ],
    }
)
def test_member_code_only_and_overdue_days_from_settings(api):
    for query in ({"phone": "0912345678"}, {"email": "x@example.com"}):
        r = api.post("/members/lookup", json=query)
        assert r.status_code == 403
        assert err(r) == "member_code_only"
    r = api.post("/members/lookup", json={"member_code": "MEMBER-1"})
    assert r.status_code == 200
    body = r.json()
    assert body["member"]["display_name_masked"] == "王*"
    (order,) = body["orders"]
    assert order["arrived_at"] == "2000-12-31T16:00:00Z"
    assert order["overdue_at"] == "2001-01-02T16:00:00Z"
    assert order["status"] == "overdue"
    assert order["items_summary"] is None


# ------------------------------------------------------------------ parcels and arrival


def test_parcel_returns_order_in_any_status(api):
    for code, status in [
        ("PKG1001", "shipped"),
        ("PKG1002", "arrived"),
        ("PKG1003", "overdue"),
        ("PKG1006", "received"),
    ]:
        r = api.get(f"/parcels/{code}", staff=True)
        assert r.status_code == 200
        assert r.json()["status"] == status
        assert code not in r.text
    shipped = api.get("/parcels/PKG1001", staff=True).json()
    assert shipped["arrived_at"] is None
    assert shipped["overdue_at"] is None
    assert shipped["overdue"] is False


def test_parcel_unknown_is_404(api):
    r = api.get("/parcels/PKG404404", staff=True)
    assert r.status_code == 404
    assert err(r) == "parcel_not_found"


def test_arrive_defaults_to_logged_in_staff_and_no_door(backend, api):
    r = api.post("/parcels/PKG1001/arrive", json={}, staff=True, key=True)
    assert r.status_code == 200
    order = r.json()
    assert order["number"] == "A1001"
    assert order["status"] == "arrived"
    assert order["received_by"] == "s_1"
    assert order["locker_door"] is None
    assert abs(parse(order["arrived_at"]) - datetime.now(UTC)) < timedelta(minutes=1)
    assert parse(order["overdue_at"]) - parse(order["arrived_at"]) == timedelta(days=7)
    assert backend.order_by_number("A1001")["status"] == "arrived"
    assert backend.count_events("arrive", number="A1001") == 1


def test_arrive_without_body_is_allowed(api):
    r = api.post("/parcels/PKG1001/arrive", staff=True, key=True)
    assert r.status_code == 200
    assert r.json()["received_by"] == "s_1"


def test_arrive_with_receiver_and_door_then_member_sees_it(api):
    r = api.post("/parcels/PKG1005/arrive", json={"received_by": "s_2", "locker_door": 7}, staff=True, key=True)
    assert r.status_code == 200
    assert r.json()["received_by"] == "s_2"
    assert r.json()["locker_door"] == 7
    r = api.post("/members/lookup", json={"member_code": "MEMBER-0000002"})
    assert [o["number"] for o in r.json()["orders"]] == ["A1004", "A1005"]


def test_arrive_refusals(api):
    r = api.post("/parcels/PKG1002/arrive", json={}, staff=True, key=True)
    assert (r.status_code, err(r)) == (409, "wrong_status")
    r = api.post("/parcels/PKG404/arrive", json={}, staff=True, key=True)
    assert (r.status_code, err(r)) == (404, "parcel_not_found")
    r = api.post("/parcels/PKG1001/arrive", json={"locker_door": 2}, staff=True, key=True)
    assert (r.status_code, err(r)) == (409, "door_occupied")
    for staff_id in ("s_9", "s_404"):  # inactive, unknown
        r = api.post("/parcels/PKG1001/arrive", json={"received_by": staff_id}, staff=True, key=True)
        assert (r.status_code, err(r)) == (422, "validation_error")
    r = api.post("/parcels/PKG1001/arrive", json={"locker_door": 0}, staff=True, key=True)
    assert (r.status_code, err(r)) == (400, "bad_input")
    r = api.get("/parcels/PKG1001", staff=True)
    assert r.json()["status"] == "shipped"


def test_door_frees_when_its_order_is_picked_up(api):
    api.post("/orders/o_2/pickup", json={"lookup_id": api.lookup_id(), "locker_door": 2}, key=True)
    r = api.post("/parcels/PKG1001/arrive", json={"locker_door": 2}, staff=True, key=True)
    assert r.status_code == 200
    assert r.json()["locker_door"] == 2


# ------------------------------------------------------------------ pickup


def test_pickup_at_counter_with_package_code(backend, api):
    r = api.post(
        "/orders/o_3/pickup",
        json={"lookup_id": api.lookup_id(), "package_code": "PKG1003", "handed_over_by": "s_2"},
        key=True,
    )
    assert r.status_code == 200
    order = r.json()
    assert order["status"] == "received"  # an overdue order is still pickable
    assert order["overdue"] is False
    assert order["handed_over_by"] == "s_2"
    assert order["received_by"] == "s_2"
    assert backend.order_by_number("A1003")["status"] == "received"


def test_pickup_at_locker_with_door(api):
    r = api.post("/orders/o_2/pickup", json={"lookup_id": api.lookup_id(), "locker_door": 2}, key=True)
    assert r.status_code == 200
    assert r.json()["status"] == "received"
    assert r.json()["handed_over_by"] is None


@pytest.mark.parametrize(
    ("order_id", "body", "status", "code"),
    [
        ("o_404", {"member_id": "m_1", "locker_door": 2}, 404, "order_not_found"),
        ("o_2", {"member_id": "m_2", "locker_door": 2}, 403, "not_your_order"),
        ("o_404", {"member_id": "m_2", "package_code": "PKG1002"}, 404, "order_not_found"),
        # r2: a look-up allows only the orders waiting when it was made: 403 before 409
        ("o_1", {"member_id": "m_1", "package_code": "PKG1001"}, 403, "not_your_order"),
        ("o_6", {"member_id": "m_2", "package_code": "PKG1006"}, 403, "not_your_order"),
        ("o_1", {"member_id": "m_2", "package_code": "PKG9"}, 403, "not_your_order"),
        ("o_2", {"member_id": "m_1", "package_code": "PKG1003"}, 409, "package_mismatch"),
        ("o_2", {"member_id": "m_1", "package_code": "PKG404"}, 409, "package_mismatch"),
        ("o_2", {"member_id": "m_1", "locker_door": 4}, 409, "package_mismatch"),
        ("o_3", {"member_id": "m_1", "locker_door": 3}, 409, "package_mismatch"),  # order without a door
        ("o_2", {"member_id": "m_1", "package_code": "PKG1002", "locker_door": 2}, 422, "validation_error"),
        ("o_2", {"member_id": "m_1"}, 422, "validation_error"),
        ("o_2", {"package_code": "PKG1002"}, 422, "validation_error"),
        ("o_2", {"member_id": "m_1", "locker_door": 2, "handed_over_by": "s_9"}, 422, "validation_error"),
        ("o_2", {"member_id": "m_1", "locker_door": 2, "handed_over_by": "s_404"}, 422, "validation_error"),
        ("o_2", {"member_id": "m_x", "locker_door": 2}, 403, "lookup_expired"),  # unknown look-up
        ("o_404", {"member_id": "m_x", "locker_door": 2}, 403, "lookup_expired"),  # 403 before 404
    ],
)
def test_pickup_refusals_in_contract_order(backend, api, order_id, body, status, code):
    # the table names the member whose look-up the pickup names (r2: lookup_id, not member_id)
    lookups = {"m_1": api.lookup_id("MEMBER-0000001"), "m_2": api.lookup_id("MEMBER-0000002"), "m_x": "lk_unknown"}
    body = {("lookup_id" if k == "member_id" else k): (lookups[v] if k == "member_id" else v) for k, v in body.items()}
    r = api.post(f"/orders/{order_id}/pickup", json=body, key=True)
    assert r.status_code == status
    assert err(r) == code
    assert backend.order_by_number("A1002")["status"] == "arrived"
    assert backend.count_events("pickup") == 0


def test_pickup_twice_with_two_keys_second_is_wrong_status(api):
    body = {"lookup_id": api.lookup_id(), "locker_door": 2}  # one look-up: it allowed o_2
    assert api.post("/orders/o_2/pickup", json=body, key=True).status_code == 200
    r = api.post("/orders/o_2/pickup", json=body, key=True)
    assert (r.status_code, err(r)) == (409, "wrong_status")


# ------------------------------------------------------------------ orders list


def test_orders_by_status(api):
    def numbers(status):
        r = api.get(f"/orders?status={status}", staff=True)
        assert r.status_code == 200, r.text
        return [o["number"] for o in r.json()]

    assert numbers("overdue") == ["A1003"]
    assert numbers("arrived") == ["A1002", "A1004"]
    assert numbers("arrived,overdue") == ["A1003", "A1002", "A1004"]
    assert numbers("shipped") == ["A1001", "A1005"]
    assert numbers("received") == ["A1006"]
    assert numbers("arrived,overdue,return_requested") == ["A1003", "A1002", "A1004"]
    api.post("/orders/o_2/return", json={"reason": "damaged"}, staff=True, key=True)
    assert numbers("arrived,overdue,return_requested") == ["A1003", "A1002", "A1004"]
    assert numbers("return_requested") == ["A1002"]
    assert numbers("restocked") == []


def test_orders_status_is_required_and_checked(api):
    r = api.get("/orders", staff=True)
    assert (r.status_code, err(r)) == (422, "validation_error")
    for bad in ("lost", "arrived,lost", ",", "arrived%0A"):
        r = api.get(f"/orders?status={bad}", staff=True)
        assert (r.status_code, err(r)) == (400, "bad_input"), bad


# ------------------------------------------------------------------ returns


@pytest.mark.parametrize(
    ("destination", "final"), [("warehouse", "returned_to_warehouse"), ("store_stock", "restocked")]
)
def test_return_path(backend, api, destination, final):
    r = api.post("/orders/o_3/return", json={"reason": "顧客未取貨"}, staff=True, key=True)
    assert (r.status_code, r.json()["status"]) == (200, "return_requested")
    r = api.post("/orders/o_3/return/review", json={"approved": True}, staff=True, key=True)
    assert (r.status_code, r.json()["status"]) == (200, "return_reviewed")
    r = api.post("/orders/o_3/return/complete", json={"destination": destination}, staff=True, key=True)
    assert (r.status_code, r.json()["status"]) == (200, final)
    assert r.json()["overdue"] is False
    assert backend.order_by_number("A1003")["status"] == final
    kinds = ["return", "return_approved", final]
    assert [backend.count_events(k, number="A1003") for k in kinds] == [1, 1, 1]


def test_rejected_review_puts_order_back(api):
    api.post("/orders/o_3/return", json={}, staff=True, key=True)
    r = api.post("/orders/o_3/return/review", json={"approved": False}, staff=True, key=True)
    assert (r.status_code, r.json()["status"]) == (200, "overdue")  # back to arrived, which is overdue
    api.post("/orders/o_2/return", json={"reason": "x"}, staff=True, key=True)
    r = api.post("/orders/o_2/return/review", json={"approved": False}, staff=True, key=True)
    assert (r.status_code, r.json()["status"], r.json()["locker_door"]) == (200, "arrived", 2)
    r = api.post("/orders/o_2/pickup", json={"lookup_id": api.lookup_id(), "locker_door": 2}, key=True)
    assert r.status_code == 200


def test_return_wrong_status(api):
    lookup_id = api.lookup_id()  # made while o_2 waited
    cases = [
        ("/orders/o_1/return", {"reason": "x"}),  # shipped
        ("/orders/o_6/return", {"reason": "x"}),  # received
        ("/orders/o_2/return/review", {"approved": True}),  # not requested
        ("/orders/o_2/return/complete", {"destination": "warehouse"}),  # not reviewed
    ]
    for path, body in cases:
        r = api.post(path, json=body, staff=True, key=True)
        assert (r.status_code, err(r)) == (409, "wrong_status"), path
    api.post("/orders/o_2/return", json={}, staff=True, key=True)
    r = api.post("/orders/o_2/return/complete", json={"destination": "warehouse"}, staff=True, key=True)
    assert (r.status_code, err(r)) == (409, "wrong_status")
    r = api.post("/orders/o_2/pickup", json={"lookup_id": lookup_id, "locker_door": 2}, key=True)
    assert (r.status_code, err(r)) == (409, "wrong_status")


def test_return_refusals(api):
    r = api.post("/orders/o_404/return", json={}, staff=True, key=True)
    assert (r.status_code, err(r)) == (404, "order_not_found")
    api.post("/orders/o_2/return", json={}, staff=True, key=True)
    api.post("/orders/o_2/return/review", json={"approved": True}, staff=True, key=True)
    r = api.post("/orders/o_2/return/complete", json={"destination": "bin"}, staff=True, key=True)
    assert (r.status_code, err(r)) == (400, "bad_input")
    r = api.post("/orders/o_2/return/complete", json={}, staff=True, key=True)
    assert (r.status_code, err(r)) == (422, "validation_error")
    r = api.post("/orders/o_2/return/review", json={"approved": "yes"}, staff=True, key=True)
    assert (r.status_code, err(r)) == (422, "validation_error")


def test_door_held_by_return_requested_is_occupied_until_reviewed(api):
    api.post("/orders/o_2/return", json={}, staff=True, key=True)
    r = api.post("/parcels/PKG1001/arrive", json={"locker_door": 2}, staff=True, key=True)
    assert (r.status_code, err(r)) == (409, "door_occupied")
    api.post("/orders/o_2/return/review", json={"approved": True}, staff=True, key=True)
    r = api.post("/parcels/PKG1001/arrive", json={"locker_door": 2}, staff=True, key=True)
    assert r.status_code == 200


# ------------------------------------------------------------------ heartbeat, unknown routes


def test_heartbeat_is_stored(backend, api):
    body = {"state": "idle", "camera": "ok", "gpio": "ok", "outbox": 3, "version": "0.1.0"}
    r = api.post("/kiosks/k_1/heartbeat", json=body)
    assert r.status_code == 204
    assert r.content == b""
    beat = backend.last_heartbeat("k_1")
    assert {k: beat[k] for k in body} == body
    assert api.post("/kiosks/k_1/heartbeat", json={"state": "offline", "outbox": 5}).status_code == 204
    assert backend.last_heartbeat("k_1")["state"] == "offline"
    assert backend.count_rows("heartbeats") == 1


def test_heartbeat_for_another_kiosk_is_forbidden(backend, api):
    r = api.post("/kiosks/k_2/heartbeat", json={"state": "idle"})
    assert (r.status_code, err(r)) == (403, "forbidden")
    assert backend.last_heartbeat("k_2") is None
    r = api.post("/kiosks/k_2/heartbeat", json={"state": "idle"}, token="test-kiosk-token-2")
    assert r.status_code == 204


def test_unknown_route_and_method_use_error_shape(api):
    r = api.get("/nothing/here")
    assert (r.status_code, err(r)) == (404, "not_found")
    r = api.call("DELETE", "/settings")
    assert (r.status_code, err(r)) == (405, "method_not_allowed")


def test_an_unexpected_failure_is_a_500_in_the_error_shape(backend, api, monkeypatch):
    def broken():
        raise RuntimeError("simulated fault")

    monkeypatch.setattr(backend.store, "settings_view", broken)
    r = api.get("/settings")
    assert (r.status_code, err(r)) == (500, "internal_error")
    assert "simulated" not in r.text


def test_a_failed_statement_leaves_no_personal_data_in_the_logs(backend, api, monkeypatch, caplog):
    """An unexpected database error is a 500 and the server (uvicorn too) logs its traceback; the
    statement's values, such as a member's name and phone, are not in it."""
    from sqlalchemy import insert

    from kiosk.server import db

    name, phone = "林" + "秘密", "0911" + "222333"  # not as one literal: the traceback quotes this file

    def broken():
        with backend.store.write() as conn:  # m_1 exists: a unique violation carrying the values
            conn.execute(insert(db.members).values(id="m_1", name=name, phone=phone, member_code="X"))

    monkeypatch.setattr(backend.store, "settings_view", broken)
    with caplog.at_level(logging.DEBUG):
        r = api.get("/settings")
        assert (r.status_code, err(r)) == (500, "internal_error")
        deadline = time.monotonic() + 5  # uvicorn logs the traceback after the answer has gone
        while "Exception in ASGI application" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.02)
    assert "sqlalchemy.exc.IntegrityError" in caplog.text  # the traceback was logged ...
    assert name not in caplog.text  # ... without the values
    assert phone not in caplog.text
