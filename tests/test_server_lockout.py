"""Lockout (docs/api.md): failed look-ups / logins per kiosk within lockout_seconds → 429 for everything."""

from __future__ import annotations

import time

import pytest

WINDOW = 1.0
SEED = {
    "settings": {"lockout_attempts": 3, "lockout_seconds": WINDOW},
    "kiosks": [{"id": "k_1", "token": "t1"}, {"id": "k_2", "token": "t2"}],
    "staff": [{"id": "s_1", "name": "陳小華", "badge_code": "STAFF-0001", "pin": "2468"}],
    "members": [{"id": "m_1", "name": "王小明", "phone": "0912345678", "member_code": "MEMBER-0000001"}],
}
pytestmark = pytest.mark.backend_seed(SEED)

GOOD = {"member_code": "MEMBER-0000001"}
BAD = {"member_code": "MEMBER-0000404"}
GOOD_LOGIN = {"badge_code": "STAFF-0001", "pin": "2468"}
BAD_LOGIN = {"badge_code": "STAFF-0001", "pin": "0000"}


def status(r):
    return r.status_code, (r.json().get("error", {}).get("code") if r.content else None)


def test_lookups_lock_out_one_kiosk_then_reopen(api):
    for _ in range(3):
        assert status(api.post("/members/lookup", json=BAD)) == (404, "member_not_found")
    assert status(api.post("/members/lookup", json=GOOD)) == (429, "locked_out")
    assert status(api.post("/members/lookup", json={"phone": "0912345678", "pickup_code": "123456"})) == (
        429,
        "locked_out",
    )
    # r2: the 403s come before the 429
    assert status(api.post("/members/lookup", json={"phone": "0912345678"})) == (403, "pickup_code_required")
    # the other kiosk and the other counter (logins) are not affected
    assert api.post("/members/lookup", json=GOOD, token="t2").status_code == 200
    assert api.post("/staff/login", json=GOOD_LOGIN).status_code == 200
    time.sleep(WINDOW + 0.2)
    assert api.post("/members/lookup", json=GOOD).status_code == 200


def test_refused_attempts_while_locked_do_not_extend_it_and_good_ones_do_not_reset(api):
    for _ in range(2):
        api.post("/members/lookup", json=BAD)
    assert api.post("/members/lookup", json=GOOD).status_code == 200  # a success does not reset
    api.post("/members/lookup", json=BAD)
    for _ in range(3):
        assert status(api.post("/members/lookup", json=BAD)) == (429, "locked_out")
    time.sleep(WINDOW + 0.2)
    assert api.post("/members/lookup", json=GOOD).status_code == 200


def test_bad_input_and_validation_errors_do_not_count(api):
    for _ in range(5):
        assert api.post("/members/lookup", json={"member_code": "bad\x00code"}).status_code == 400
        assert api.post("/members/lookup", json={}).status_code == 422
    assert api.post("/members/lookup", json=GOOD).status_code == 200


def test_logins_lock_out_separately(api):
    for _ in range(3):
        assert status(api.post("/staff/login", json=BAD_LOGIN)) == (401, "bad_credentials")
    assert status(api.post("/staff/login", json=GOOD_LOGIN)) == (429, "locked_out")
    assert api.post("/members/lookup", json=GOOD).status_code == 200
    assert api.post("/staff/login", json=GOOD_LOGIN, token="t2").status_code == 200
    time.sleep(WINDOW + 0.2)
    assert api.post("/staff/login", json=GOOD_LOGIN).status_code == 200
