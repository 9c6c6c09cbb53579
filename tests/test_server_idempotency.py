"""Idempotency-Key rules of docs/api.md: required, global, replayed, mismatches refused, stored durably."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.backend_seed("small")

WRITES = [
    ("/parcels/PKG1001/arrive", {"locker_door": 3}, True),
    ("/orders/o_2/pickup", {"lookup_id": "@m_1", "locker_door": 2}, False),
    ("/orders/o_3/return", {"reason": "damaged"}, True),
]


def code(r):
    return r.json()["error"]["code"]


@pytest.mark.parametrize(
    ("path", "body", "staff"),
    [
        *WRITES,
        ("/orders/o_3/return/review", {"approved": True}, True),
        ("/orders/o_3/return/complete", {"destination": "warehouse"}, True),
    ],
)
def test_missing_key_is_400_and_changes_nothing(backend, api, path, body, staff):
    r = api.post(path, json=api.fill(body), staff=staff)
    assert r.status_code == 400
    assert code(r) == "idempotency_key_required"
    r = api.post(path, json=api.fill(body), staff=staff, headers={"Idempotency-Key": ""})
    assert r.status_code == 400
    assert backend.count_rows("order_events") == 0
    assert backend.count_rows("idempotency") == 0


@pytest.mark.parametrize(("path", "body", "staff"), WRITES)
def test_replay_returns_first_answer_and_changes_nothing(backend, api, path, body, staff):
    first = api.post(path, json=api.fill(body), staff=staff, key="key-1")
    assert first.status_code == 200
    for _ in range(3):
        again = api.post(path, json=api.fill(body), staff=staff, key="key-1")
        assert again.status_code == 200
        assert again.json() == first.json()
    assert backend.count_rows("order_events") == 1
    assert backend.count_rows("idempotency") == 1


def test_replay_of_a_refusal_returns_the_same_refusal(backend, api):
    body = {"lookup_id": "@m_1", "package_code": "PKG1003"}  # another order's parcel
    first = api.post("/orders/o_2/pickup", json=api.fill(body), key="key-409")
    assert (first.status_code, code(first)) == (409, "package_mismatch")
    again = api.post("/orders/o_2/pickup", json=api.fill(body), key="key-409")
    assert again.status_code == 409
    assert again.json() == first.json()
    assert backend.order_by_number("A1002")["status"] == "arrived"


def test_replay_answers_as_first_time_even_after_the_order_moved_on(api):
    body = {"lookup_id": "@m_1", "locker_door": 2}
    first = api.post("/orders/o_2/pickup", json=api.fill(body), key="k-a")
    api.post("/orders/o_2/pickup", json=api.fill(body), key="k-b")  # 409 wrong_status: already received
    again = api.post("/orders/o_2/pickup", json=api.fill(body), key="k-a")
    assert again.status_code == 200
    assert again.json() == first.json()


def test_same_key_other_body_path_or_call_is_422_mismatch(backend, api):
    assert (
        api.post("/orders/o_2/pickup", json=api.fill({"lookup_id": "@m_1", "locker_door": 2}), key="k").status_code
        == 200
    )
    cases = [
        ("/orders/o_2/pickup", {"lookup_id": "@m_1", "package_code": "PKG1002"}, False),
        ("/orders/o_4/pickup", {"lookup_id": "@m_2", "locker_door": 4}, False),
        ("/parcels/PKG1001/arrive", {}, True),  # keys are per kiosk: another call entirely
        ("/orders/o_3/return", {}, True),
    ]
    for path, body, staff in cases:
        r = api.post(path, json=api.fill(body), staff=staff, key="k")
        assert r.status_code == 422, path
        assert code(r) == "idempotency_mismatch"
    assert backend.order_by_number("A1004")["status"] == "arrived"
    assert backend.order_by_number("A1001")["status"] == "shipped"
    assert backend.count_rows("order_events") == 1


def test_key_order_of_fields_does_not_matter(api):
    lk = api.lookup_for("m_1")
    r1 = api.post("/orders/o_2/pickup", data=json.dumps({"lookup_id": lk, "locker_door": 2}), key="k-order")
    r2 = api.post(
        "/orders/o_2/pickup", data=json.dumps({"locker_door": 2, "lookup_id": lk}, separators=(",", ":")), key="k-order"
    )
    assert r1.status_code == r2.status_code == 200
    assert r1.json() == r2.json()


def test_replay_survives_a_restart(backend, api):
    first = api.post("/parcels/PKG1001/arrive", json={"locker_door": 3}, staff=True, key="k-restart")
    assert first.status_code == 200
    backend.stop()
    backend.start()
    again = api.post("/parcels/PKG1001/arrive", json={"locker_door": 3}, staff=True, key="k-restart")
    assert again.status_code == 200
    assert again.json() == first.json()
    assert backend.count_events("arrive", number="A1001") == 1


def test_bad_key_is_bad_input(api):
    # other control characters are not valid in an HTTP header: the HTTP parser refuses them
    for key in ("x" * 129, "tab\tkey"):
        r = api.post(
            "/orders/o_2/pickup",
            json=api.fill({"lookup_id": "@m_1", "locker_door": 2}),
            headers={"Idempotency-Key": key},
        )
        assert r.status_code == 400, repr(key)
        assert code(r) == "bad_input"
