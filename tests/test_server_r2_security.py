"""docs/api.md r2: a race-free lockout in the database, staff tokens bound to a kiosk, logout,
idempotency keys per kiosk, file modes and the log key."""

from __future__ import annotations

import copy
import os
import stat
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
from conftest import SMALL_SEED

from kiosk.server.common import Caller
from kiosk.server.harness import ServerProcess, ServerThread
from kiosk.server.store import Store

K1 = {"Authorization": "Bearer test-kiosk-token"}
K2 = {"Authorization": "Bearer test-kiosk-token-2"}
GOOD = {"badge_code": "STAFF-0001", "pin": "2468"}
BAD = {"badge_code": "STAFF-0001", "pin": "0000"}


def seed(**settings) -> dict:
    s = copy.deepcopy(SMALL_SEED)
    s["settings"].update(settings)
    return s


def err(r: requests.Response) -> str:
    return r.json()["error"]["code"]


def login(server, body=GOOD, headers=K1) -> requests.Response:
    return requests.post(server.api_url + "/staff/login", json=body, headers=headers, timeout=30)


def lookup(server, code="MEMBER-0404", headers=K1) -> requests.Response:
    return requests.post(server.api_url + "/members/lookup", json={"member_code": code}, headers=headers, timeout=30)


# ------------------------------------------------------------------ the lockout


def test_forty_parallel_logins_get_at_most_five_401s():
    with ServerThread(seed=seed(lockout_attempts=5, lockout_seconds=60)) as server:
        results: list[tuple[int, str]] = [(0, "")] * 40
        barrier = threading.Barrier(40)

        def attempt(i):
            barrier.wait()
            r = login(server, GOOD if i == 15 else BAD)
            results[i] = (r.status_code, err(r) if r.status_code != 200 else "")

        threads = [threading.Thread(target=attempt, args=(i,)) for i in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        statuses = [s for s, _ in results]
        assert statuses.count(401) <= 5, statuses
        assert set(statuses) <= {200, 401, 429}
        assert {c for s, c in results if s == 429} <= {"locked_out"}
        assert server.count_rows("lockout_attempts", state="pending") == 0  # every slot settled


def test_a_429_carries_retry_after_in_the_body_and_the_header():
    with ServerThread(seed=seed(lockout_attempts=2, lockout_seconds=30)) as server:
        for _ in range(2):
            assert lookup(server).status_code == 404
        r = lookup(server, "MEMBER-0000001")
        assert (r.status_code, err(r)) == (429, "locked_out")
        after = r.json()["error"]["retry_after"]
        assert isinstance(after, int)
        assert 1 <= after <= 30
        assert r.headers["Retry-After"] == str(after)
        assert set(r.json()["error"]) == {"code", "message", "retry_after"}


def test_the_lockout_survives_a_restart():
    with ServerThread(seed=seed(lockout_attempts=3, lockout_seconds=60)) as server:
        for _ in range(3):
            assert login(server, BAD).status_code == 401
        server.stop()
        server.start()
        r = login(server)
        assert (r.status_code, err(r)) == (429, "locked_out")
        assert login(server, headers=K2).status_code == 200  # another kiosk's count


def test_two_server_processes_share_one_lockout(tmp_path):
    db_url = f"sqlite:///{tmp_path}/shared.db"
    a = ServerProcess(db_url=db_url, seed=seed(lockout_attempts=4, lockout_seconds=60))
    b = ServerProcess(db_url=db_url)
    try:
        a.start()
        b.start()
        for server in (a, b, a):
            assert lookup(server).status_code == 404
        assert lookup(b).status_code == 404  # the 4th failure, in the second process
        for server in (a, b):
            r = lookup(server, "MEMBER-0000001")
            assert (r.status_code, err(r)) == (429, "locked_out")
    finally:
        a.close()
        b.close()


def test_workers_share_one_lockout_and_one_lookup(tmp_path):
    server = ServerProcess(db_url=f"sqlite:///{tmp_path}/w.db", seed=seed(lockout_attempts=4), workers=2)
    try:
        server.start()
        results = []
        for _ in range(12):  # a new connection each time: the kernel spreads them over the workers
            results.append(lookup(server).status_code)
        assert results[:4] == [404] * 4
        assert set(results[4:]) == {429}
        lookup_id = lookup(server, "MEMBER-0000001", headers=K2).json()["lookup_id"]
        for i in range(4):  # whichever worker answers knows the look-up
            r = requests.post(
                server.api_url + "/orders/o_404/pickup",
                json={"lookup_id": lookup_id, "locker_door": 2},
                headers={**K2, "Idempotency-Key": f"w{i}"},
                timeout=30,
            )
            assert (r.status_code, err(r)) == (404, "order_not_found")
    finally:
        server.close()


def test_store_lockout_is_generic_over_kind_and_key(tmp_path):
    """The primitive the back office uses for admin logins per username."""
    from kiosk.server.common import ApiError

    store = Store(f"sqlite:///{tmp_path}/s.db")
    try:
        for _ in range(2):
            with store.lockout.attempt("admin_login", "alice", 2, 60) as slot:
                slot.fail()
        with pytest.raises(ApiError) as exc, store.lockout.attempt("admin_login", "alice", 2, 60):
            pass
        assert (exc.value.status, exc.value.code) == (429, "locked_out")
        assert exc.value.retry_after >= 1
        with store.lockout.attempt("admin_login", "bob", 2, 60):
            pass  # another key; a success gives its slot back
        assert store.lockout.failures("admin_login", "bob", 60) == 0
    finally:
        store.close()


# ------------------------------------------------------------------ staff tokens


@pytest.fixture
def server():
    with ServerThread(seed=seed(lockout_attempts=100)) as srv:
        yield srv


def staff_get(server, token, headers=K1):
    return requests.get(server.api_url + "/parcels/PKG1001", headers={**headers, "X-Staff-Token": token}, timeout=10)


def test_a_staff_token_works_only_at_the_kiosk_that_logged_in(server):
    token = login(server).json()["staff_token"]
    assert staff_get(server, token).status_code == 200
    r = staff_get(server, token, headers=K2)
    assert (r.status_code, err(r)) == (401, "unauthorized")
    assert staff_get(server, token).status_code == 200  # still fine at its own kiosk


def test_logout_ends_the_token_and_a_replay_still_gets_204(server):
    token = login(server).json()["staff_token"]
    h = {**K1, "X-Staff-Token": token, "Idempotency-Key": "logout-1"}
    r = requests.post(server.api_url + "/staff/logout", json={}, headers=h, timeout=10)
    assert r.status_code == 204
    assert r.content == b""
    assert staff_get(server, token).status_code == 401
    r = requests.post(server.api_url + "/staff/logout", json={}, headers=h, timeout=10)
    assert r.status_code == 204  # answered before the (now refused) staff token is looked at
    h["Idempotency-Key"] = "logout-2"
    r = requests.post(server.api_url + "/staff/logout", json={}, headers=h, timeout=10)
    assert (r.status_code, err(r)) == (401, "unauthorized")
    r = requests.post(server.api_url + "/staff/logout", json={}, headers={**K1, "X-Staff-Token": token}, timeout=10)
    assert r.status_code == 401  # no key and no valid token: the token is looked at first


def test_a_pin_change_or_deactivation_ends_the_tokens(server):
    first = login(server).json()["staff_token"]
    second = login(server).json()["staff_token"]
    other = login(server, {"badge_code": "STAFF-0002", "pin": "1357"}).json()["staff_token"]
    assert server.admin.end_staff_tokens("s_1") == 2  # the back office calls this on a PIN change
    for token in (first, second):
        assert staff_get(server, token).status_code == 401
    assert staff_get(server, other).status_code == 200
    with server.admin.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE staff SET active = 0 WHERE id = 's_2'")
    assert staff_get(server, other).status_code == 401


def test_tokens_survive_a_restart(server):
    token = login(server).json()["staff_token"]
    server.stop()
    server.start()
    assert staff_get(server, token).status_code == 200


# ------------------------------------------------------------------ idempotency keys


def test_keys_are_scoped_to_the_kiosk(server):
    lk1 = lookup(server, "MEMBER-0000001").json()["lookup_id"]
    lk2 = lookup(server, "MEMBER-0000002", headers=K2).json()["lookup_id"]
    key = str(uuid.uuid4())
    r1 = requests.post(
        server.api_url + "/orders/o_2/pickup",
        json={"lookup_id": lk1, "locker_door": 2},
        headers={**K1, "Idempotency-Key": key},
        timeout=10,
    )
    r2 = requests.post(
        server.api_url + "/orders/o_4/pickup",
        json={"lookup_id": lk2, "locker_door": 4},
        headers={**K2, "Idempotency-Key": key},
        timeout=10,
    )
    assert (r1.status_code, r2.status_code) == (200, 200)  # the same key at two kiosks: two calls
    assert (r1.json()["number"], r2.json()["number"]) == ("A1002", "A1004")
    assert server.count_rows("idempotency") == 2


def test_a_401_is_not_stored_against_the_key(server):
    h = {**K1, "X-Staff-Token": "not-a-token", "Idempotency-Key": "arrive-1"}
    r = requests.post(server.api_url + "/parcels/PKG1001/arrive", json={}, headers=h, timeout=10)
    assert r.status_code == 401
    h["X-Staff-Token"] = login(server).json()["staff_token"]
    r = requests.post(server.api_url + "/parcels/PKG1001/arrive", json={}, headers=h, timeout=10)
    assert r.status_code == 200
    assert server.count_rows("idempotency") == 1


def test_keys_older_than_seven_days_are_forgotten(tmp_path):
    now = [time.time()]
    store = Store(f"sqlite:///{tmp_path}/k.db", now=lambda: now[0])
    try:
        store.load_seed(seed())
        token = store.staff_login("k_1", "STAFF-0001", "2468")
        assert token["staff_token"]
        status, _ = store.arrive(Caller.kiosk("old-key", "/p", "k_1", "s_1"), {}, package_code="PKG1001")
        assert status == 200
        assert store.count_rows("idempotency") == 1
        now[0] += 7 * 86400 + 60
        with store.write() as conn:
            store.maintain(conn, now[0], force=True)
        assert store.count_rows("idempotency") == 0
    finally:
        store.close()


# ------------------------------------------------------------------ files


def test_database_and_log_key_files_are_private(tmp_path):
    folder = tmp_path / "state" / "db"
    server = ServerProcess(db_url=f"sqlite:///{folder}/server.db", seed=seed())
    try:
        server.start()
        assert lookup(server, "MEMBER-0000001").status_code == 200
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        for name in ("server.db", "server.db-wal", "log-ref.key"):
            path = folder / name
            if path.exists() or name != "server.db-wal":
                assert stat.S_IMODE(path.stat().st_mode) == 0o600, name
        key = (folder / "log-ref.key").read_bytes()
        assert len(key) >= 16
    finally:
        server.close()
    assert key not in Path(__file__).read_bytes()


def test_log_references_are_keyed_per_deployment(tmp_path):
    import kiosk.privacy as privacy

    before = privacy.code_ref("0912345678")
    try:
        privacy.load_log_key(tmp_path)
        mine = privacy.code_ref("0912345678")
        assert mine != before
        assert oct(os.stat(tmp_path / privacy.LOG_KEY_FILE).st_mode & 0o777) == "0o600"
        privacy.load_log_key(tmp_path)  # the same file: the same references
        assert privacy.code_ref("0912345678") == mine
        privacy.set_log_key(b"x" * 32)
        assert privacy.code_ref("0912345678") != mine
    finally:
        privacy.set_log_key(os.urandom(32))
