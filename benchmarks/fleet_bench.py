"""A fleet of 100 simulated kiosks against the reference server (issue 13, "Scale").

    .venv/bin/python benchmarks/fleet_bench.py [--kiosks 100] [--seconds 20] [--only postgres|sqlite]

Two runs, loopback only, each bounded by ``--seconds``:

- PostgreSQL (a throwaway cluster in a temp dir, reached over its Unix socket) with
  ``pickup-kiosk server --workers 2``;
- SQLite (one file) with one server process.

Each kiosk is a thread with its own keep-alive connection and its own token. It sends a
heartbeat every ``--heartbeat`` seconds (30 s compressed tenfold), looks one of its members up by
member code every ``--lookup-every`` seconds on average, picks the first waiting order up at its
locker door (naming the look-up) every other time, and sends a kiosk event (camera lost/back,
door closed) every 10 s through the events call with an Idempotency-Key. Every answer other than 2xx, and every
transport error, is an error; the run must end with 0. Afterwards an admin signs in and the
fleet page (``/admin/fleet``, 100 kiosks with their events) and ``GET /api/v1/admin/kiosks`` are
timed.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kiosk.server.store import Store

MEMBERS_PER_KIOSK = 12
ORDERS_PER_MEMBER = 2
ADMIN = ("admin", "bench-admin-password")
EVENT_KINDS = ("camera_lost", "camera_back", "door_closed")


def make_seed(kiosks: int) -> dict:
    members, orders = [], []
    n = 0
    for k in range(kiosks):
        for j in range(MEMBERS_PER_KIOSK):
            m = f"m_{k}_{j}"
            members.append({"id": m, "name": f"會員{k}-{j}", "phone": f"09{k:04d}{j:04d}",
                            "email": f"{m}@example.com", "member_code": f"MEMBER-{k:03d}-{j:04d}"})  # fmt: skip
            for _ in range(ORDERS_PER_MEMBER):
                n += 1
                orders.append({"id": f"o_{n}", "number": f"A{n:06d}", "member_id": m, "package_code": f"PKG{n:07d}",
                               "items_summary": "T-shirt x2", "status": "arrived", "locker_door": n,
                               "received_by": "s_1"})  # fmt: skip
    return {
        "settings": {"lockout_attempts": 1000},
        "store": {"name": "壓力測試門市"},
        "admins": [{"username": ADMIN[0], "password": ADMIN[1]}],
        "kiosks": [{"id": f"k_{k:03d}", "token": f"bench-token-{k:03d}"} for k in range(kiosks)],
        "staff": [{"id": "s_1", "name": "陳小華", "badge_code": "STAFF-0001", "pin": "2468"}],
        "members": members,
        "orders": orders,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- PostgreSQL, throwaway


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for root in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (root / name).exists():
            return str(root / name)
    return None


@contextlib.contextmanager
def postgres_cluster():
    """A PostgreSQL server in a temp dir on a Unix socket only; yields a database URL."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        raise RuntimeError("PostgreSQL is not installed (initdb/pg_ctl)")
    tmp = tempfile.mkdtemp(prefix="fleet-pg-")
    prefix: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(tmp, user="postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    data, port = os.path.join(tmp, "data"), free_port()
    try:
        subprocess.run([*prefix, initdb, "-D", data, "-A", "trust", "-U", "kiosk", "--no-sync"],
                       check=True, capture_output=True, timeout=120)  # fmt: skip
        opts = f"-p {port} -k {tmp} -c listen_addresses='' -c fsync=off -c max_connections=200"
        subprocess.run([*prefix, pg_ctl, "-D", data, "-o", opts, "-l", os.path.join(tmp, "log"), "-w", "start"],
                       check=True, capture_output=True, timeout=120)  # fmt: skip
        import psycopg

        with psycopg.connect(host=tmp, port=port, user="kiosk", dbname="postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE fleet")
        yield f"postgresql://kiosk@/fleet?host={tmp}&port={port}"
    finally:
        subprocess.run([*prefix, pg_ctl, "-D", data, "-m", "immediate", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------- the server


@contextlib.contextmanager
def server(db_url: str, workers: int, seed: dict):
    store = Store(db_url)
    try:
        store.load_seed(seed)
    finally:
        store.close()
    port = free_port()
    cmd = [sys.executable, "-m", "kiosk", "server", "--db", db_url, "--host", "127.0.0.1", "--port", str(port),
           "--workers", str(workers), "--log-level", "warning"]  # fmt: skip
    log = tempfile.NamedTemporaryFile(prefix="fleet-server-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", "/api/v1/health")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start; see {log.name}")
            time.sleep(0.1)
        time.sleep(0.5 * workers)  # every worker up
        yield port
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
        os.unlink(log.name)


# ---------------------------------------------------------------- a kiosk


class Kiosk(threading.Thread):
    def __init__(
        self,
        k: int,
        port: int,
        until: float,
        heartbeat: float,
        lookup_every: float,
        results: dict,
        lock: threading.Lock,
    ):
        super().__init__(daemon=True, name=f"kiosk-{k}")
        self.k = k
        self.id = f"k_{k:03d}"
        self.token = f"bench-token-{k:03d}"
        self.port = port
        self.until = until
        self.heartbeat_every = heartbeat
        self.lookup_every = lookup_every
        self.results = results
        self.lock = lock
        self.rng = random.Random(k)
        self.conn: http.client.HTTPConnection | None = None

    def call(self, kind: str, method: str, path: str, body: dict | None = None, key: bool = False) -> dict | None:
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        if key:
            headers["Idempotency-Key"] = str(uuid.uuid4())
        t0 = time.perf_counter()
        status, data = 0, b""
        for attempt in (1, 2):
            reused = self.conn is not None
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                self.conn.request(method, "/api/v1" + path, body=json.dumps(body) if body is not None else None,
                                  headers=headers)  # fmt: skip
                resp = self.conn.getresponse()
                status, data = resp.status, resp.read()
                break
            except (OSError, http.client.HTTPException) as exc:
                self.conn.close() if self.conn is not None else None
                self.conn = None
                status, data = 0, repr(exc).encode()
                # the server closed an idle keep-alive connection before this request reached it:
                # send it again on a new one, as the kiosk's client (urllib3) does
                stale = isinstance(exc, (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected))
                if not (reused and stale and attempt == 1):
                    break
        took = time.perf_counter() - t0
        with self.lock:
            self.results.setdefault(kind, []).append(took)
            if not 200 <= status < 300:
                self.results.setdefault("errors", []).append(f"{kind} {status} {data[:120]!r}")
        if 200 <= status < 300 and data:
            return json.loads(data)
        return None

    def run(self) -> None:
        next_hb = time.monotonic() + self.rng.random() * self.heartbeat_every
        next_event = time.monotonic() + self.rng.random() * 10
        time.sleep(self.rng.random() * self.lookup_every)  # the kiosks do not start in step
        started = time.monotonic()
        while time.monotonic() < self.until:
            now = time.monotonic()
            if now >= next_hb:
                body = {"state": "idle", "camera": "ok", "gpio": "ok", "outbox": 0, "version": "bench",
                        "uptime": now - started}  # fmt: skip
                self.call("heartbeat", "POST", f"/kiosks/{self.id}/heartbeat", body)
                next_hb += self.heartbeat_every
            if now >= next_event:
                kind = self.rng.choice(EVENT_KINDS)
                body = {"kind": kind, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
                if kind == "door_closed":
                    body["door"] = self.rng.randint(1, 50)
                self.call("event", "POST", f"/kiosks/{self.id}/events", body, key=True)
                next_event += 10.0
            member = f"MEMBER-{self.k:03d}-{self.rng.randrange(MEMBERS_PER_KIOSK):04d}"
            found = self.call("lookup", "POST", "/members/lookup", {"member_code": member})
            if found and found["orders"] and self.rng.random() < 0.5:
                order = found["orders"][0]
                body = {"lookup_id": found["lookup_id"], "locker_door": order["locker_door"]}
                self.call("pickup", "POST", f"/orders/{order['id']}/pickup", body, key=True)
            pause = self.lookup_every * (0.5 + self.rng.random())
            time.sleep(max(0.0, min(pause - (time.monotonic() - now), self.until - time.monotonic())))
        if self.conn is not None:
            self.conn.close()


# ---------------------------------------------------------------- one run


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def fleet_page_ms(port: int, repeats: int = 10) -> tuple[float, float, int]:
    """Median ms of the fleet page and of GET /admin/kiosks, and the kiosks on the page."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/admin/login")
    resp = conn.getresponse()
    page = resp.read().decode()
    login_cookie = re.search(r"pk_admin_login=([^;]+)", resp.getheader("set-cookie") or "").group(1)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = f"username={ADMIN[0]}&password={ADMIN[1]}&csrf_token={csrf}"
    conn.request("POST", "/admin/login", body=form, headers={"Content-Type": "application/x-www-form-urlencoded",
                                                              "Cookie": f"pk_admin_login={login_cookie}"})  # fmt: skip
    resp = conn.getresponse()
    resp.read()
    session = re.search(r"pk_admin=([^;]+)", resp.getheader("set-cookie") or "").group(1)
    page_times, kiosks = [], 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        conn.request("GET", "/admin/fleet", headers={"Cookie": f"pk_admin={session}"})
        resp = conn.getresponse()
        html = resp.read().decode()
        page_times.append((time.perf_counter() - t0) * 1000)
        assert resp.status == 200, resp.status
        kiosks = html.count('data-kiosk="')
    conn.request("POST", "/api/v1/admin/login", body=json.dumps({"username": ADMIN[0], "password": ADMIN[1]}),
                 headers={"Content-Type": "application/json"})  # fmt: skip
    token = json.loads(conn.getresponse().read())["admin_token"]
    api_times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        conn.request("GET", "/api/v1/admin/kiosks", headers={"Authorization": f"Bearer {token}"})
        resp = conn.getresponse()
        resp.read()
        api_times.append((time.perf_counter() - t0) * 1000)
    conn.close()
    return statistics.median(page_times), statistics.median(api_times), kiosks


def run_fleet(
    label: str, db_url: str, workers: int, kiosks: int, seconds: float, heartbeat: float, lookup_every: float
) -> dict:
    with server(db_url, workers, make_seed(kiosks)) as port:
        results: dict[str, list] = {}
        lock = threading.Lock()
        until = time.monotonic() + seconds
        threads = [Kiosk(k, port, until, heartbeat, lookup_every, results, lock) for k in range(kiosks)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(seconds + 60)
        wall = time.monotonic() - t0
        page_ms, api_ms, shown = fleet_page_ms(port)
    requests = sum(len(v) for k, v in results.items() if k != "errors")
    return {
        "label": label,
        "workers": workers,
        "requests": requests,
        "rps": requests / wall,
        "lookup_p50": pct(results.get("lookup", []), 0.5) * 1000,
        "lookup_p99": pct(results.get("lookup", []), 0.99) * 1000,
        "heartbeat_p99": pct(results.get("heartbeat", []), 0.99) * 1000,
        "pickup_p99": pct(results.get("pickup", []), 0.99) * 1000,
        "event_p99": pct(results.get("event", []), 0.99) * 1000,
        "errors": len(results.get("errors", [])),
        "first_errors": results.get("errors", [])[:3],
        "fleet_page_ms": page_ms,
        "admin_kiosks_ms": api_ms,
        "kiosks_on_page": shown,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kiosks", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--heartbeat", type=float, default=3.0, help="seconds between heartbeats (30 s, 10x compressed)")
    ap.add_argument("--lookup-every", type=float, default=4.0, help="mean seconds between a kiosk's look-ups")
    ap.add_argument("--only", choices=("postgres", "sqlite"))
    args = ap.parse_args()
    rows = []
    if args.only in (None, "postgres"):
        with postgres_cluster() as url:
            rows.append(run_fleet("PostgreSQL", url, 2, args.kiosks, args.seconds, args.heartbeat, args.lookup_every))
    if args.only in (None, "sqlite"):
        tmp = tempfile.mkdtemp(prefix="fleet-sqlite-")
        try:
            url = f"sqlite:///{tmp}/fleet.db"
            rows.append(run_fleet("SQLite", url, 1, args.kiosks, args.seconds, args.heartbeat, args.lookup_every))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"\n{args.kiosks} kiosks, {args.seconds:.0f} s, heartbeat every {args.heartbeat:g} s, a look-up every "
        f"~{args.lookup_every:g} s per kiosk (half of them followed by a pickup), an event every 10 s; loopback\n"
    )
    head = ("backend", "procs", "req", "req/s", "look-up p50", "look-up p99", "heartbeat p99", "pickup p99",
            "event p99", "errors", "fleet page", "admin/kiosks")  # fmt: skip
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        print(f"| {r['label']} | {r['workers']} | {r['requests']} | {r['rps']:.0f} | {r['lookup_p50']:.1f} ms "
              f"| {r['lookup_p99']:.1f} ms | {r['heartbeat_p99']:.1f} ms | {r['pickup_p99']:.1f} ms "
              f"| {r['event_p99']:.1f} ms | {r['errors']} | {r['fleet_page_ms']:.1f} ms ({r['kiosks_on_page']} kiosks) "
              f"| {r['admin_kiosks_ms']:.1f} ms |")  # fmt: skip
        for line in r["first_errors"]:
            print("  error:", line)
    return 0 if all(r["errors"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
