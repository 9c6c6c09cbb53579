"""docs/api.md r2, proof of ownership: look-up ids, pickup codes, the per-contact limit, rotating codes."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
import threading
import time

import pyotp
import pytest
import requests
from conftest import SMALL_SEED, running

from kiosk.server.harness import ServerThread

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def seed(**settings) -> dict:
    """The small seed with pickup codes, a counter kiosk k_2 and these settings."""
    s = copy.deepcopy(SMALL_SEED)
    s["settings"].update({"lockout_attempts": 1000, **settings})
    s["kiosks"][1]["mode"] = "counter"
    s["members"][0]["totp_secret"] = SECRET
    for order in s["orders"]:
        if order["id"] == "o_2":
            order["pickup_code"] = "480213"
        if order["id"] == "o_4":
            order["pickup_code"] = "135790"
    return s


def err(r: requests.Response) -> str:
    return r.json()["error"]["code"]


LOCKER = "test-kiosk-token"  # k_1, a locker kiosk


def post(server, path, body, *, token=LOCKER, key=None):
    headers = {"Authorization": f"Bearer {token}"}
    if key:
        headers["Idempotency-Key"] = key
    return requests.post(server.api_url + path, json=body, headers=headers, timeout=10)


COUNTER = "test-kiosk-token-2"  # k_2, a counter kiosk in these seeds


@pytest.fixture
def server():
    yield from running(ServerThread(seed=seed()))


@pytest.fixture
def open_server():
    yield from running(ServerThread(seed=seed(contact_lookup="open")))


# ------------------------------------------------------------------ look-up ids


def test_a_lookup_has_an_id_and_a_ttl_kept_in_the_database(server):
    r = post(server, "/members/lookup", {"member_code": "MEMBER-0000001"})
    assert r.status_code == 200
    body = r.json()
    assert body["expires_in"] == 300
    assert re.fullmatch(r"[A-Za-z0-9_-]{16,}", body["lookup_id"])
    assert server.count_rows("lookups", id=body["lookup_id"], kiosk_id="k_1", member_id="m_1") == 1
    assert "pickup_code" not in r.text  # never sent to a kiosk
    assert "480213" not in r.text


def test_a_lookup_survives_a_restart(server):
    lookup_id = post(server, "/members/lookup", {"member_code": "MEMBER-0000001"}).json()["lookup_id"]
    server.stop()
    server.start()
    r = post(server, "/orders/o_2/pickup", {"lookup_id": lookup_id, "package_code": "PKG1002"}, key="k1")
    assert r.status_code == 200, r.text


def test_another_kiosks_lookup_is_expired(server):
    lookup_id = post(server, "/members/lookup", {"member_code": "MEMBER-0000001"}, token=COUNTER).json()["lookup_id"]
    r = post(server, "/orders/o_2/pickup", {"lookup_id": lookup_id, "locker_door": 2}, key="k1")
    assert (r.status_code, err(r)) == (403, "lookup_expired")


def test_counter_pickup_within_the_ttl_locker_pickup_up_to_24_hours():
    with ServerThread(seed=seed(lookup_ttl_seconds=1)) as server:
        r = post(server, "/members/lookup", {"member_code": "MEMBER-0000001"})
        assert r.json()["expires_in"] == 1
        lookup_id = r.json()["lookup_id"]
        time.sleep(1.2)
        r = post(server, "/orders/o_3/pickup", {"lookup_id": lookup_id, "package_code": "PKG1003"}, key="k1")
        assert (r.status_code, err(r)) == (403, "lookup_expired")
        r = post(server, "/orders/o_2/pickup", {"lookup_id": lookup_id, "locker_door": 2}, key="k2")
        assert r.status_code == 200, r.text  # the door opened: the outbox may deliver it late
        # the TTL in force when the look-up was made counts, and a locker pickup ends after 24 h
        other = post(server, "/members/lookup", {"member_code": "MEMBER-0000002"}).json()["lookup_id"]
        with server.admin.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE lookups SET created_at = created_at - 86401 WHERE id = ?", (other,))
        r = post(server, "/orders/o_4/pickup", {"lookup_id": other, "locker_door": 4}, key="k3")
        assert (r.status_code, err(r)) == (403, "lookup_expired")


def test_pickups_are_never_locked_out_and_never_count():
    with ServerThread(seed=seed(lockout_attempts=2)) as server:
        lookup_id = post(server, "/members/lookup", {"member_code": "MEMBER-0000001"}).json()["lookup_id"]
        for _ in range(2):
            assert post(server, "/members/lookup", {"member_code": "MEMBER-0404"}).status_code == 404
        assert post(server, "/members/lookup", {"member_code": "MEMBER-0000001"}).status_code == 429
        for i in range(3):  # refused pickups do not count either
            r = post(server, "/orders/o_4/pickup", {"lookup_id": lookup_id, "locker_door": 4}, key=f"x{i}")
            assert (r.status_code, err(r)) == (403, "not_your_order")
        r = post(server, "/orders/o_2/pickup", {"lookup_id": lookup_id, "locker_door": 2}, key="k1")
        assert r.status_code == 200


def test_a_revision_1_pickup_is_refused(server):
    r = post(server, "/orders/o_2/pickup", {"member_id": "m_1", "locker_door": 2}, key="k1")
    assert (r.status_code, err(r)) == (422, "validation_error")


# ------------------------------------------------------------------ phone, email, pickup code


def test_contact_alone_needs_an_open_counter(server, open_server):
    for srv, token, expected in (
        (server, "test-kiosk-token", 403),  # locker, pickup_code
        (server, COUNTER, 403),  # counter, pickup_code
        (open_server, "test-kiosk-token", 403),  # locker, open: a locker always needs the code
        (open_server, COUNTER, 200),
    ):
        for query in ({"phone": "0912-345-678"}, {"email": "MING@example.com"}):
            r = post(srv, "/members/lookup", query, token=token)
            assert r.status_code == expected, (token, query)
            if expected == 403:
                assert err(r) == "pickup_code_required"
            else:
                assert [o["number"] for o in r.json()["orders"]] == ["A1003", "A1002"]


def test_contact_and_pickup_code_find_that_order_only(server):
    for query in (
        {"phone": "0912 345 678", "pickup_code": "480213"},
        {"email": "Ming@Example.com", "pickup_code": "480213"},
    ):
        r = post(server, "/members/lookup", query)
        assert r.status_code == 200, r.text
        assert r.json()["member"]["id"] == "m_1"
        assert [o["number"] for o in r.json()["orders"]] == ["A1002"]
    lookup_id = r.json()["lookup_id"]
    r = post(server, "/orders/o_3/pickup", {"lookup_id": lookup_id, "package_code": "PKG1003"}, key="k1")
    assert (r.status_code, err(r)) == (403, "not_your_order")  # the code proved A1002 only


@pytest.mark.parametrize(
    "query",
    [
        {"phone": "0912345678", "pickup_code": "000000"},  # wrong code
        {"phone": "0912345678", "pickup_code": "135790"},  # another member's order's code
        {"phone": "0900000000", "pickup_code": "480213"},  # unknown phone
        {"email": "nobody@example.com", "pickup_code": "480213"},
    ],
)
def test_a_wrong_part_is_404_without_a_hint(server, query):
    r = post(server, "/members/lookup", query)
    assert (r.status_code, err(r)) == (404, "member_not_found")


def test_member_code_only_refuses_contact_lookups_of_either_kind():
    with ServerThread(seed=seed(member_code_only=True, contact_lookup="open")) as server:
        for query in ({"phone": "0912345678"}, {"email": "ming@example.com", "pickup_code": "480213"}):
            r = post(server, "/members/lookup", query, token=COUNTER)
            assert (r.status_code, err(r)) == (403, "member_code_only")


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ({"phone": "0912345678", "pickup_code": "48021"}, 400, "bad_input"),
        ({"phone": "0912345678", "pickup_code": "48021a"}, 400, "bad_input"),
        ({"phone": "0912345678", "pickup_code": "４８０２１３"}, 400, "bad_input"),  # not ASCII digits
        ({"phone": "0912345678", "pickup_code": "4802130"}, 400, "bad_input"),
        ({"member_code": "MEMBER-0000001", "pickup_code": "480213"}, 422, "validation_error"),
        ({"pickup_code": "480213"}, 422, "validation_error"),
        ({"phone": "0912345678", "email": "ming@example.com", "pickup_code": "480213"}, 422, "validation_error"),
        ({"phone": "0912345678", "pickup_code": 480213}, 422, "validation_error"),
        # 400 before 422: a bad field decides even when another makes the body a 422
        ({"member_code": 5, "phone": "09\x0012"}, 400, "bad_input"),
        ({"member_code": "MEMBER-0000001", "pickup_code": "12"}, 400, "bad_input"),
    ],
)
def test_pickup_code_shape_rules(server, query, status, code):
    for _ in range(12):  # none of them counts as a failure (kiosk or contact)
        r = post(server, "/members/lookup", query)
        assert (r.status_code, err(r)) == (status, code)
    assert post(server, "/members/lookup", {"phone": "0912345678", "pickup_code": "480213"}).status_code == 200


def test_403s_come_before_the_429():
    with ServerThread(seed=seed(lockout_attempts=1, member_code_only=False)) as server:
        assert post(server, "/members/lookup", {"member_code": "MEMBER-0404"}).status_code == 404
        r = post(server, "/members/lookup", {"phone": "0912345678"})
        assert (r.status_code, err(r)) == (403, "pickup_code_required")
        r = post(server, "/members/lookup", {"phone": "0912345678", "pickup_code": "480213"})
        assert (r.status_code, err(r)) == (429, "locked_out")


def test_ten_wrong_codes_per_contact_in_an_hour_lock_that_contact_across_kiosks(server):
    for i in range(10):
        token = COUNTER if i % 2 else "test-kiosk-token"
        r = post(server, "/members/lookup", {"phone": "0912345678", "pickup_code": f"{i:06d}"}, token=token)
        assert (r.status_code, err(r)) == (404, "member_not_found")
    for query in (
        {"phone": "(0912) 345-678", "pickup_code": "480213"},  # the right code: still locked
        {"phone": "0912345678", "pickup_code": "000011"},
    ):
        r = post(server, "/members/lookup", query, token=COUNTER)
        assert (r.status_code, err(r)) == (429, "locked_out")
        assert 3590 <= r.json()["error"]["retry_after"] <= 3600
        assert r.headers["Retry-After"] == str(r.json()["error"]["retry_after"])
    # another contact, the member's email and the app's member code still work
    assert post(server, "/members/lookup", {"phone": "0945678901", "pickup_code": "135790"}).status_code == 200
    assert post(server, "/members/lookup", {"email": "ming@example.com", "pickup_code": "480213"}).status_code == 200
    assert post(server, "/members/lookup", {"member_code": "MEMBER-0000001"}).status_code == 200


def test_unknown_contacts_count_alike(server):
    for i in range(10):
        r = post(server, "/members/lookup", {"email": "Nobody@Example.com", "pickup_code": f"{i:06d}"})
        assert r.status_code == 404
    r = post(server, "/members/lookup", {"email": "nobody@example.com", "pickup_code": "480213"})
    assert (r.status_code, err(r)) == (429, "locked_out")


def test_parallel_wrong_codes_never_get_more_than_ten_404s(server):
    results: list[int] = []
    barrier = threading.Barrier(16)

    def guess(i):
        barrier.wait()
        r = post(server, "/members/lookup", {"phone": "0912345678", "pickup_code": f"{i + 100:06d}"})
        results.append(r.status_code)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results.count(404) <= 10
    assert set(results) <= {404, 429}


# ------------------------------------------------------------------ pickup codes


def staff_headers(server, token=LOCKER):
    r = requests.post(
        server.api_url + "/staff/login",
        json={"badge_code": "STAFF-0001", "pin": "2468"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    return {"Authorization": f"Bearer {token}", "X-Staff-Token": r.json()["staff_token"]}


def pickup_code_of(server, number: str) -> str | None:
    with server.admin.engine.connect() as conn:
        return conn.exec_driver_sql("SELECT pickup_code FROM orders WHERE number = ?", (number,)).scalar()


def test_arrival_gives_a_random_six_digit_code_never_sent_to_a_kiosk(server):
    h = staff_headers(server)
    r = requests.post(
        server.api_url + "/parcels/PKG1001/arrive", json={}, headers={**h, "Idempotency-Key": "a1"}, timeout=10
    )
    assert r.status_code == 200
    code = pickup_code_of(server, "A1001")
    assert re.fullmatch(r"[0-9]{6}", code)
    assert code not in r.text
    assert "pickup_code" not in r.text
    r = post(server, "/members/lookup", {"phone": "0912345678", "pickup_code": code})
    assert "A1001" in [o["number"] for o in r.json()["orders"]]
    assert re.fullmatch(r"[0-9]{6}", pickup_code_of(server, "A1003"))  # seeded without one: given one


def test_codes_are_unique_among_waiting_orders():
    s = seed()
    s["orders"] += [
        {"id": f"o_x{n}", "number": f"X{n}", "member_id": "m_1", "package_code": f"PKGX{n}", "status": "shipped"}
        for n in range(60)
    ]
    with ServerThread(seed=s) as server:
        h = staff_headers(server)
        for n in range(60):
            r = requests.post(
                server.api_url + f"/parcels/PKGX{n}/arrive",
                json={},
                headers={**h, "Idempotency-Key": f"k{n}"},
                timeout=10,
            )
            assert r.status_code == 200
        with server.admin.engine.connect() as conn:
            codes = [c for (c,) in conn.exec_driver_sql("SELECT pickup_code FROM orders WHERE status = 'arrived'")]
        assert len(codes) == len(set(codes)) == 63
        assert len(set(codes)) > 1


def test_a_rejected_review_keeps_the_code_or_gives_one():
    s = seed()
    s["orders"].append(
        {"id": "o_7", "number": "A1007", "member_id": "m_1", "package_code": "PKG1007", "status": "return_requested"}
    )
    with ServerThread(seed=s) as server:
        h = staff_headers(server)
        assert pickup_code_of(server, "A1007") is None
        for oid in ("o_2", "o_7"):
            if oid == "o_2":
                requests.post(
                    server.api_url + "/orders/o_2/return", json={}, headers={**h, "Idempotency-Key": "r"}, timeout=10
                )
            r = requests.post(
                server.api_url + f"/orders/{oid}/return/review",
                json={"approved": False},
                headers={**h, "Idempotency-Key": f"v{oid}"},
                timeout=10,
            )
            assert r.status_code == 200
        assert pickup_code_of(server, "A1002") == "480213"
        assert re.fullmatch(r"[0-9]{6}", pickup_code_of(server, "A1007"))


# ------------------------------------------------------------------ rotating member codes


@pytest.fixture
def totp_server():
    with ServerThread(seed=seed(member_code_totp=True, lockout_attempts=3)) as srv:
        yield srv


def test_a_rotating_code_is_accepted_once(totp_server):
    code = "MEMBER-0000001." + pyotp.TOTP(SECRET).now()
    r = post(totp_server, "/members/lookup", {"member_code": code})
    assert r.status_code == 200, r.text
    assert r.json()["member"]["id"] == "m_1"
    r = post(totp_server, "/members/lookup", {"member_code": code})
    assert (r.status_code, err(r)) == (409, "code_used")
    assert totp_server.count_rows("totp_used", member_id="m_1") == 1


def test_the_previous_step_is_accepted_older_ones_and_bare_codes_are_404(totp_server):
    totp = pyotp.TOTP(SECRET)
    now = time.time()
    r = post(totp_server, "/members/lookup", {"member_code": "MEMBER-0000001." + totp.at(now - 30)})
    assert r.status_code == 200
    for stale in (totp.at(now - 95), "12345", "1234567"):
        r = post(totp_server, "/members/lookup", {"member_code": "MEMBER-0000001." + stale})
        assert (r.status_code, err(r)) == (404, "member_not_found")


def test_bare_member_code_is_404_while_rotating_codes_are_on(totp_server):
    r = post(totp_server, "/members/lookup", {"member_code": "MEMBER-0000001"})
    assert (r.status_code, err(r)) == (404, "member_not_found")


def test_code_used_counts_as_a_failure(totp_server):
    code = "MEMBER-0000001." + pyotp.TOTP(SECRET).now()
    assert post(totp_server, "/members/lookup", {"member_code": code}).status_code == 200
    for _ in range(3):
        assert post(totp_server, "/members/lookup", {"member_code": code}).status_code == 409
    r = post(totp_server, "/members/lookup", {"member_code": "MEMBER-0000001." + pyotp.TOTP(SECRET).now()})
    assert (r.status_code, err(r)) == (429, "locked_out")


def test_parallel_replays_of_one_value_get_one_200(totp_server):
    code = "MEMBER-0000001." + pyotp.TOTP(SECRET).now()
    results: list[int] = []
    barrier = threading.Barrier(6)

    def go():
        barrier.wait()
        results.append(post(totp_server, "/members/lookup", {"member_code": code}).status_code)

    threads = [threading.Thread(target=go) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results.count(200) == 1
    assert set(results) <= {200, 409, 429}  # 3 failures lock this kiosk (lockout_attempts 3)
    assert results.count(409) <= 3


def test_with_rotating_codes_off_the_whole_string_is_the_member_code(server):
    r = post(server, "/members/lookup", {"member_code": "MEMBER-0000001." + pyotp.TOTP(SECRET).now()})
    assert (r.status_code, err(r)) == (404, "member_not_found")


def test_member_code_command_prints_a_code_that_works(totp_server):
    proc = subprocess.run(
        [sys.executable, "-m", "kiosk", "member-code", "--db", totp_server.db_url, "--member", "m_1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    printed = proc.stdout.strip()
    assert re.fullmatch(r"MEMBER-0000001\.[0-9]{6}", printed)
    assert post(totp_server, "/members/lookup", {"member_code": printed}).status_code == 200
    proc = subprocess.run(
        [sys.executable, "-m", "kiosk", "member-code", "--db", totp_server.db_url, "--member", "m_404"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
