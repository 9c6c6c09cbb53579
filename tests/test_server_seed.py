"""Seed loading (API.md "Reference server data"), PIN storage, and the demo data."""

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
