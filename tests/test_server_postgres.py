"""The same server on PostgreSQL: the portable code path (row locks, conditional UPDATEs, savepoints).

Uses ``$KIOSK_TEST_POSTGRES_URL`` when set (its tables are dropped first!), else starts a
throwaway cluster with ``initdb``/``pg_ctl`` in a temp dir when PostgreSQL is installed
(as the ``postgres`` user when running as root), else skips.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import uuid

import pytest
import requests

psycopg = pytest.importorskip("psycopg")

from kiosk.server.db import metadata  # noqa: E402
from kiosk.server.harness import ServerThread, free_port  # noqa: E402
from kiosk.server.store import Store  # noqa: E402


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for root in sorted(__import__("glob").glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(root, name)):
            return os.path.join(root, name)
    return None


@pytest.fixture(scope="module")
def pg_cluster():
    """Yields a function ``new_db() -> URL`` making a fresh, empty database."""
    env_url = os.environ.get("KIOSK_TEST_POSTGRES_URL")
    if env_url:

        def reuse() -> str:
            store = Store(env_url)
            metadata.drop_all(store.engine)
            store.close()
            return env_url

        yield reuse
        return
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("no PostgreSQL server available (set KIOSK_TEST_POSTGRES_URL or install postgresql)")
    prefix: list[str] = []
    tmp = tempfile.mkdtemp(prefix="kiosk-pg-")
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        try:
            shutil.chown(tmp, user="postgres")
        except (LookupError, OSError):
            runuser = None
        if not runuser:
            shutil.rmtree(tmp, ignore_errors=True)
            pytest.skip("running as root without a postgres user to run initdb")
        prefix = [runuser, "-u", "postgres", "--"]
    data, port = os.path.join(tmp, "data"), free_port()
    try:
        subprocess.run([*prefix, initdb, "-D", data, "-A", "trust", "-U", "kiosk", "--no-sync"],
                       check=True, capture_output=True, timeout=120)  # fmt: skip
        opts = f"-p {port} -k {tmp} -c listen_addresses='' -c fsync=off"
        subprocess.run([*prefix, pg_ctl, "-D", data, "-o", opts, "-l", os.path.join(tmp, "log"), "-w", "start"],
                       check=True, capture_output=True, timeout=120)  # fmt: skip
    except (subprocess.SubprocessError, OSError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        pytest.skip(f"could not start a throwaway PostgreSQL: {exc}")

    def new_db() -> str:
        name = "kiosk_" + uuid.uuid4().hex[:12]
        with psycopg.connect(host=tmp, port=port, user="kiosk", dbname="postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return f"postgresql://kiosk@/{name}?host={tmp}&port={port}"

    try:
        yield new_db
    finally:
        subprocess.run([*prefix, pg_ctl, "-D", data, "-m", "immediate", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def pg_backend(pg_cluster, seed_data):
    with ServerThread(db_url=pg_cluster(), seed=seed_data) as server:
        yield server


def _post(server, path, body, key, staff=None):
    headers = {"Authorization": "Bearer test-kiosk-token", "Idempotency-Key": key}
    if staff:
        headers["X-Staff-Token"] = staff
    with requests.Session() as s:
        r = s.post(server.api_url + path, json=body, headers=headers, timeout=30)
    return r.status_code, r.json()


def _race(fn, n=8):
    barrier, out = threading.Barrier(n), [None] * n

    def run(i):
        barrier.wait()
        out[i] = fn(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


def test_postgres_lookup_overdue_and_masking(pg_backend):
    assert pg_backend.admin.engine.dialect.name == "postgresql"
    status, body = _post(pg_backend, "/members/lookup", {"member_code": "MEMBER-0000001"}, "unused")
    assert status == 200
    assert [(o["number"], o["status"]) for o in body["orders"]] == [("A1003", "overdue"), ("A1002", "arrived")]
    assert body["orders"][0]["customer_masked"] == "王*明 / 0912***678"


def _lookup_id(server, code="MEMBER-0000001") -> str:
    return _post(server, "/members/lookup", {"member_code": code}, "unused")[1]["lookup_id"]


def test_postgres_concurrent_pickups_exactly_one_wins(pg_backend):
    body = {"lookup_id": _lookup_id(pg_backend), "locker_door": 2}
    results = _race(lambda i: _post(pg_backend, "/orders/o_2/pickup", body, str(uuid.uuid4())))
    assert sorted(s for s, _ in results) == [200] + [409] * 7
    assert pg_backend.count_events("pickup") == 1


def test_postgres_concurrent_replays_of_one_key(pg_backend):
    body = {"lookup_id": _lookup_id(pg_backend), "package_code": "PKG1003"}
    results = _race(lambda i: _post(pg_backend, "/orders/o_3/pickup", body, "one-key"))
    assert {s for s, _ in results} == {200}
    assert len({str(b) for _, b in results}) == 1
    assert pg_backend.count_events("pickup") == 1
    assert pg_backend.count_rows("idempotency") == 1


def test_postgres_door_race_and_refusals_roll_back(pg_backend):
    r = requests.post(
        pg_backend.api_url + "/staff/login",
        json={"badge_code": "STAFF-0001", "pin": "2468"},
        headers={"Authorization": "Bearer test-kiosk-token"},
        timeout=10,
    )
    token = r.json()["staff_token"]
    codes = ["PKG1001", "PKG1005"]
    results = _race(
        lambda i: _post(pg_backend, f"/parcels/{codes[i % 2]}/arrive", {"locker_door": 9}, str(uuid.uuid4()), token)
    )
    assert [s for s, _ in results].count(200) == 1
    assert pg_backend.count_events("arrive") == 1
    mismatch = {"lookup_id": _lookup_id(pg_backend), "package_code": "PKG1003"}
    status, body = _post(pg_backend, "/orders/o_2/pickup", mismatch, "k409")
    assert (status, body["error"]["code"]) == (409, "package_mismatch")
    assert _post(pg_backend, "/orders/o_2/pickup", mismatch, "k409")[0] == 409
    assert pg_backend.order_by_number("A1002")["status"] == "arrived"


def test_postgres_lockout_is_race_free_and_shared(pg_backend):
    def login(i):
        pin = "2468" if i == 7 else "0000"
        r = requests.post(
            pg_backend.api_url + "/staff/login",
            json={"badge_code": "STAFF-0001", "pin": pin},
            headers={"Authorization": "Bearer test-kiosk-token"},
            timeout=60,
        )
        return r.status_code

    statuses = _race(login, n=16)
    assert statuses.count(401) <= 3  # the small seed's lockout_attempts
    assert set(statuses) <= {200, 401, 429}
    other = Store(pg_backend.db_url)  # a second process's view: the same failures
    try:
        assert other.lockout.failures("login", "k_1", 60) >= min(3, statuses.count(401))
    finally:
        other.close()


def test_postgres_lookup_ids_totp_and_pickup_codes(pg_backend):
    status, body = _post(pg_backend, "/members/lookup", {"phone": "0912345678", "pickup_code": "000000"}, "u")
    assert (status, body["error"]["code"]) == (404, "member_not_found")
    status, body = _post(pg_backend, "/members/lookup", {"phone": "0912345678"}, "u")
    assert (status, body["error"]["code"]) == (403, "pickup_code_required")
    with pg_backend.admin.engine.connect() as conn:
        code = conn.exec_driver_sql("SELECT pickup_code FROM orders WHERE id = 'o_2'").scalar()
    status, body = _post(pg_backend, "/members/lookup", {"phone": "0912345678", "pickup_code": code}, "u")
    assert status == 200
    assert [o["number"] for o in body["orders"]] == ["A1002"]
    status, _ = _post(pg_backend, "/orders/o_2/pickup", {"lookup_id": body["lookup_id"], "locker_door": 2}, "p1")
    assert status == 200
