"""Concurrent writes against a real server: exactly one pickup of an order wins."""

from __future__ import annotations

import threading
import uuid

import pytest
import requests

pytestmark = pytest.mark.backend_seed("small")
THREADS = 8


def race(fn, n=THREADS):
    """Run ``fn(i)`` in ``n`` threads released together; return their results in order."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i):
        barrier.wait()
        results[i] = fn(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def _post(backend, path, body, key, staff_token=None):
    headers = {"Authorization": f"Bearer {backend.kiosk_token}", "Idempotency-Key": key}
    if staff_token:
        headers["X-Staff-Token"] = staff_token
    with requests.Session() as s:
        r = s.post(backend.api_url + path, json=body, headers=headers, timeout=30)
    return r.status_code, r.json()


def test_concurrent_pickups_with_different_keys_exactly_one_wins(backend, api):
    body = {"lookup_id": api.lookup_for("m_1"), "locker_door": 2}
    results = race(lambda i: _post(backend, "/orders/o_2/pickup", body, str(uuid.uuid4())))
    statuses = sorted(s for s, _ in results)
    assert statuses == [200] + [409] * (THREADS - 1)
    assert {b["error"]["code"] for s, b in results if s == 409} == {"wrong_status"}
    assert backend.count_events("pickup", number="A1002") == 1
    assert backend.order_by_number("A1002")["status"] == "received"


def test_concurrent_mixed_counter_and_locker_pickups(backend, api):
    lk = api.lookup_for("m_1")

    def attempt(i):
        body = {"lookup_id": lk, "package_code": "PKG1003"} if i % 2 else {"lookup_id": lk, "locker_door": 2}
        return _post(backend, "/orders/o_3/pickup" if i % 2 else "/orders/o_2/pickup", body, str(uuid.uuid4()))

    results = race(attempt)
    assert sorted(s for s, _ in results).count(200) == 2
    assert backend.count_events("pickup") == 2


def test_concurrent_replays_of_one_key_change_once_and_agree(backend, api):
    body = {"lookup_id": api.lookup_for("m_1"), "locker_door": 2}
    results = race(lambda i: _post(backend, "/orders/o_2/pickup", body, "one-key"))
    assert {s for s, _ in results} == {200}
    assert len({str(b) for _, b in results}) == 1
    assert backend.count_events("pickup") == 1
    assert backend.count_rows("idempotency") == 1


def test_concurrent_arrivals_into_one_door_exactly_one_wins(backend, api):
    token = api.staff_token
    seed_orders = [("PKG1001", "A1001"), ("PKG1005", "A1005")]

    def arrive(i):
        code = seed_orders[i % 2][0]
        return _post(backend, f"/parcels/{code}/arrive", {"locker_door": 9}, str(uuid.uuid4()), token)

    results = race(arrive)
    assert [s for s, _ in results].count(200) == 1
    codes = {b["error"]["code"] for s, b in results if s != 200}
    assert codes <= {"door_occupied", "wrong_status"}
    doors = [backend.order_by_number(n)["locker_door"] for _, n in seed_orders]
    assert sorted(d for d in doors if d is not None) == [9]
    assert backend.count_events("arrive") == 1
