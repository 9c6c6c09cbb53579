"""Seed loading (docs/api.md "Reference server data"), PIN storage, and the demo data."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from kiosk.server.harness import DEMO_SEED, ServerThread
from kiosk.server.store import SeedError, Store, verify_pin


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path}/seed.db")
    yield s
    s.close()


def test_seed_is_refused_on_a_database_that_holds_data(store, seed_data):
    store.load_seed(seed_data)
    with pytest.raises(SeedError, match="already holds data"):
        store.load_seed(seed_data)
    assert store.count_rows("orders") == len(seed_data["orders"])


def test_cli_refuses_seed_on_non_empty_database(tmp_path, seed_data):
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(seed_data), encoding="utf-8")
    db = f"sqlite:///{tmp_path}/cli.db"
    Store(db).load_seed(seed_data)
    proc = subprocess.run(
        [sys.executable, "-m", "kiosk", "server", "--db", db, "--seed", str(seed), "--port", "1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "already holds data" in proc.stderr


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s["settings"].update(colour="red"), "unknown key 'colour'"),
        (lambda s: s.update(extra=[]), "unknown key 'extra'"),
        (lambda s: s["settings"].update(overdue_days="7"), "wrong type"),
        (lambda s: s["settings"].update(member_code_only=1), "wrong type"),
        (lambda s: s["settings"].update(staff_badge_pattern="(["), "not a regular expression"),
        (lambda s: s["staff"][0].update(role="boss"), "unknown key 'role'"),
        (lambda s: s["staff"][0].pop("pin"), "pin is required"),
        (lambda s: s["members"][0].update(address="x"), "unknown key 'address'"),
        (lambda s: s["orders"][0].update(status="lost"), "unknown status"),
        (lambda s: s["orders"][0].update(member_id="m_404"), "unknown member_id"),
        (lambda s: s["orders"][0].update(arrived_at="yesterday", status="arrived"), "RFC 3339"),
        (lambda s: s["orders"][0].update(arrived_at="2026-01-01T00:00:00", status="arrived"), "RFC 3339"),
        (lambda s: s["orders"][0].update(status="arrived", locker_door=2), "door 2 already holds"),
        (lambda s: s["orders"][0].update(package_code="PKG1002"), "share a package_code"),
        (lambda s: s["orders"][1].update(received_by="s_404"), "not a staff id"),
        (lambda s: s["kiosks"].append({"id": "k_1", "token": "other"}), "duplicate id"),
    ],
)
def test_bad_seeds_are_refused_and_load_nothing(store, seed_data, change, message):
    change(seed_data)
    with pytest.raises(SeedError, match=message):
        store.load_seed(seed_data)
    assert store.is_empty()


def test_seed_settings_inactive_staff_and_arrival_time(seed_data):
    seed_data["settings"] = {"overdue_days": 3, "commission_enabled": False}
    before = time.time()
    with ServerThread(seed=seed_data) as server:
        h = {"Authorization": "Bearer test-kiosk-token"}
        settings = requests.get(server.api_url + "/settings", headers=h, timeout=5).json()
        assert settings["overdue_days"] == 3
        assert settings["commission_enabled"] is False
        assert settings["lockout_attempts"] == 5  # absent keys take their defaults
        staff = requests.get(server.api_url + "/staff", headers=h, timeout=5).json()
        assert "s_9" not in [s["id"] for s in staff]
        order = server.order_by_number("A1002")  # arrived without arrived_at: when the seed was loaded
        arrived = time.mktime(time.strptime(order["arrived_at"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
        assert before - 2 <= arrived <= time.time() + 1
        assert order["overdue_at"] is not None


def test_pins_are_stored_hashed_with_a_salted_kdf(store, seed_data):
    store.load_seed(seed_data)
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT badge_code, pin_hash FROM staff").all()
    hashes = dict(rows)
    assert all("2468" not in h and "1357" not in h for h in hashes.values())
    assert hashes["STAFF-0001"].startswith("pbkdf2_sha256$")
    assert verify_pin("2468", hashes["STAFF-0001"])
    assert not verify_pin("2469", hashes["STAFF-0001"])
    seed_data["staff"][1]["pin"] = "2468"  # same PIN, different salt, different hash
    other = Store(f"sqlite:///{Path(store.engine.url.database).parent}/other.db")
    other.load_seed(seed_data)
    with other.engine.connect() as conn:
        h1, h2 = [r[0] for r in conn.exec_driver_sql("SELECT pin_hash FROM staff ORDER BY id LIMIT 2")]
    other.close()
    assert h1 != h2


def test_demo_seed_has_what_demos_and_scenarios_rely_on():
    seed = json.loads(Path(DEMO_SEED).read_text(encoding="utf-8"))
    assert seed["kiosks"][0] == {"id": "k_1", "token": "dev-kiosk-token"}
    staff = seed["staff"]
    assert len(staff) >= 3
    assert [s for s in staff if s.get("active") is False]
    assert all(s["badge_code"].startswith("STAFF-000") for s in staff)
    assert len(seed["members"]) >= 4
    assert seed["members"][0]["member_code"] == "MEMBER-0000001"
    statuses = {o["status"] for o in seed["orders"]}
    assert {"shipped", "arrived", "received", "return_requested"} <= statuses
    orders = {o["number"]: o for o in seed["orders"]}
    assert orders["A1001"]["status"] == "shipped"
    assert orders["A1001"]["member_id"] == "m_1"
    assert (orders["A1002"]["status"], orders["A1002"]["locker_door"]) == ("arrived", 2)


def test_demo_seed_loads_with_overdue_and_doors(backend):
    h = {"Authorization": "Bearer dev-kiosk-token"}
    r = requests.post(backend.api_url + "/members/lookup", json={"member_code": "MEMBER-0000001"}, headers=h, timeout=5)
    assert "A1002" in [o["number"] for o in r.json()["orders"]]
    overdue = [n for n in ("A1006", "A1012") if backend.order_by_number(n)["status"] == "overdue"]
    assert overdue == ["A1006", "A1012"]
    assert backend.order_by_number("A1010")["status"] == "return_requested"
    doors = [backend.order_by_number(n)["locker_door"] for n in ("A1002", "A1004", "A1008", "A1012")]
    assert doors == [2, 5, 7, 9]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s["staff"][0].update(active="false"), "active is true or false"),
        (lambda s: s["members"][0].update(phone=912345678), "phone is a string"),
        (lambda s: s["orders"][1].update(locker_door=10**12), "door number"),
        (lambda s: s["kiosks"][0].update(token=5), "token is a string"),
    ],
)
def test_seed_types_are_checked(store, seed_data, change, message):
    change(seed_data)
    with pytest.raises(SeedError, match=message):
        store.load_seed(seed_data)
    assert store.is_empty()


# ------------------------------------------------------------------ revision 2


def test_r2_seed_keys_are_loaded(store, seed_data):
    seed_data["store"] = {"name": "信義門市", "timezone": "Asia/Taipei"}
    seed_data["admins"] = [{"username": "admin", "password": "change-me-now"}]
    seed_data["kiosks"][1]["mode"] = "counter"
    seed_data["members"][0].update(lang="en", totp_secret="JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    seed_data["orders"][1]["pickup_code"] = "480213"
    seed_data["settings"].update(contact_lookup="open", member_code_totp=True, lookup_ttl_seconds=120, reminder_days=1)
    store.load_seed(seed_data)
    assert store.settings["store_name"] == "信義門市"
    assert store.settings["timezone"] == "Asia/Taipei"
    assert "store_name" not in store.settings_view()  # the kiosk's /settings holds the kiosk's keys only
    assert store.settings_view()["lookup_ttl_seconds"] == 120
    assert (store.kiosk_mode("k_1"), store.kiosk_mode("k_2")) == ("locker", "counter")
    with store.engine.connect() as conn:
        (pw_hash,) = conn.exec_driver_sql("SELECT password_hash FROM admins WHERE username = 'admin'").one()
        members = dict(conn.exec_driver_sql("SELECT id, lang || ':' || totp_secret FROM members").all())
        codes = dict(conn.exec_driver_sql("SELECT id, pickup_code FROM orders").all())
    assert verify_pin("change-me-now", pw_hash)
    assert "change-me-now" not in pw_hash
    assert members["m_1"] == "en:JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    lang, secret = members["m_2"].split(":")
    assert lang == "zh-TW"
    assert len(secret) >= 32  # random, 160 bits
    assert codes["o_2"] == "480213"
    assert codes["o_3"].isdigit()  # arrived without a code: given one
    assert len(codes["o_3"]) == 6
    assert codes["o_1"] is None  # shipped


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s["kiosks"][0].update(mode="kiosk"), "mode"),
        (lambda s: s["members"][0].update(lang="fr"), "lang"),
        (lambda s: s["members"][0].update(totp_secret="JBSWY3DP"), "at least 160 bits"),
        (lambda s: s["members"][0].update(totp_secret="not base32!"), "at least 160 bits"),
        (lambda s: s["orders"][1].update(pickup_code="12345"), "six digits"),
        (
            lambda s: s["orders"][1].update(pickup_code="111111") or s["orders"][3].update(pickup_code="111111"),
            "share a pickup_code",
        ),
        (lambda s: s["settings"].update(contact_lookup="phone"), "contact_lookup"),
        (lambda s: s["settings"].update(store_name="x"), "unknown key 'store_name'"),
        (lambda s: s.update(store={"timezone": "Mars/Olympus"}), "time zone"),
        (lambda s: s.update(store={"name": "x", "city": "y"}), "unknown key 'city'"),
        (lambda s: s.update(admins=[{"username": "a"}]), "password is required"),
    ],
)
def test_bad_r2_seeds_are_refused(store, seed_data, change, message):
    change(seed_data)
    with pytest.raises(SeedError, match=message):
        store.load_seed(seed_data)
    assert store.is_empty()


def test_a_revision_1_database_is_brought_up_to_revision_2(tmp_path, seed_data):
    import sqlite3

    path = tmp_path / "r1.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE kiosks (id VARCHAR(64) PRIMARY KEY, token_hash VARCHAR(64) NOT NULL UNIQUE,"
        " position INTEGER NOT NULL);"
        "INSERT INTO kiosks VALUES ('k_1', 'h', 0);"
        "CREATE TABLE idempotency (key VARCHAR(128) PRIMARY KEY, method VARCHAR(8), path VARCHAR(400),"
        " body_hash VARCHAR(64), status_code INTEGER, response TEXT, created_at FLOAT);"
    )
    conn.commit()
    conn.close()
    store = Store(f"sqlite:///{path}")
    try:
        assert store.kiosk_mode("k_1") == "locker"
        assert store.count_rows("idempotency") == 0
        with store.engine.connect() as c:
            cols = [r[1] for r in c.exec_driver_sql("PRAGMA table_info(idempotency)")]
        assert "scope" in cols
    finally:
        store.close()
