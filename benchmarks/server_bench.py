"""Reference server on loopback: requests/s and p50/p99 latency of look-ups, pickups and logins.

    .venv/bin/python benchmarks/server_bench.py [--requests 1200] [--clients 1,8] [--db URL]

The server runs as its own process (``python -m kiosk server``, SQLite file in a temp dir unless
``--db``) seeded with a store-sized data set (2,000 members, 8,000 orders). Clients are threads
in this process, each with its own keep-alive ``http.client`` connection, in a closed loop (send,
wait for the answer, send the next). Every pickup takes a different arrived order with its own
Idempotency-Key and names a look-up made beforehand (docs/api.md r2), so each one is a real write.

Revision 2 keeps the lockout in the database: every look-up and login holds a failure slot (a
write) while it is checked and settles it with its answer (a second write), so the rows are
database-bound. ``members/lookup 404`` are failures (the lockout is set high enough never to
answer 429), ``lookup phone+code`` also holds the per-contact slot, ``staff/login`` runs the
PIN hash (PBKDF2) on top and gets a tenth of the requests.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kiosk.server.harness import ServerProcess

TOKEN = "bench-kiosk-token"
MEMBERS = 2000
ORDERS_PER_MEMBER = 4


def make_seed() -> dict:
    members, orders = [], []
    n = 0
    for m in range(MEMBERS):
        members.append(
            {"id": f"m_{m}", "name": f"會員{m}號", "phone": f"09{m:08d}", "email": f"m{m}@example.com",
             "member_code": f"MEMBER-{m:07d}"}
        )  # fmt: skip
        for k in range(ORDERS_PER_MEMBER):
            n += 1
            status = ("arrived", "arrived", "shipped", "received")[k]
            orders.append(
                {"id": f"o_{n}", "number": f"A{n:06d}", "member_id": f"m_{m}", "package_code": f"PKG{n:07d}",
                 "items_summary": "T-shirt x2", "status": status,
                 **({"pickup_code": f"{n:06d}"} if status == "arrived" else {})}
            )  # fmt: skip
    return {
        "settings": {"lockout_attempts": 10**9},  # failures are measured, never answered 429
        "kiosks": [{"id": "k_1", "token": TOKEN}],
        "staff": [{"id": "s_1", "name": "陳小華", "badge_code": "STAFF-0001", "pin": "2468"}],
        "members": members,
        "orders": orders,
    }


class Client:
    def __init__(self, host: str, port: int):
        self.conn = http.client.HTTPConnection(host, port, timeout=30)

    def post(self, path: str, body: dict, key: str | None = None) -> int:
        return self.call(path, body, key)[0]

    def call(self, path: str, body: dict, key: str | None = None) -> tuple[int, bytes]:
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
        if key:
            headers["Idempotency-Key"] = key
        self.conn.request("POST", "/api/v1" + path, body=json.dumps(body), headers=headers)
        resp = self.conn.getresponse()
        return resp.status, resp.read()


def run(
    server: ServerProcess, clients: int, jobs: list[tuple[str, dict, bool]], expected: int = 200
) -> tuple[float, list[float], int]:
    """Spread ``jobs`` over ``clients`` threads; return (wall seconds, latencies, count of answers
    other than ``expected``)."""
    lat: list[float] = []
    bad = [0]
    lock = threading.Lock()
    chunks = [jobs[i::clients] for i in range(clients)]
    barrier = threading.Barrier(clients + 1)

    def worker(chunk: list[tuple[str, dict, bool]]) -> None:
        client = Client(server.host, server.port)
        client.post("/members/lookup", {"member_code": "MEMBER-0000000"})  # connect, warm
        mine = []
        barrier.wait()
        for path, body, idem in chunk:
            t0 = time.perf_counter()
            status = client.post(path, body, str(uuid.uuid4()) if idem else None)
            mine.append(time.perf_counter() - t0)
            if status != expected:
                with lock:
                    bad[0] += 1
        with lock:
            lat.extend(mine)

    threads = [threading.Thread(target=worker, args=(c,)) for c in chunks]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, lat, bad[0]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def measure(requests: int = 1200, counts: tuple[int, ...] = (1, 8), db: str | None = None) -> list[tuple]:
    """Rows ``(call, clients, wall seconds, latencies in seconds, non-200 count)`` for look-ups and
    pickups at each client count, against a server process seeded with a store-sized data set."""
    if requests * len(counts) > MEMBERS * 2:
        raise ValueError(f"at most {MEMBERS * 2 // len(counts)} requests per row (one arrived order per pickup)")
    with tempfile.TemporaryDirectory() as tmp:
        seed_path = Path(tmp) / "seed.json"
        seed_path.write_text(json.dumps(make_seed()), encoding="utf-8")
        db = db or f"sqlite:///{tmp}/bench.db"
        with ServerProcess(db_url=db, seed=seed_path) as server:
            arrived = [(m * ORDERS_PER_MEMBER + k + 1, m) for m in range(MEMBERS) for k in (0, 1)]
            rows = []
            for clients in counts:
                lookups = [
                    ("/members/lookup", {"member_code": f"MEMBER-{(i * 7919) % MEMBERS:07d}"}, False)
                    for i in range(requests)
                ]
                rows.append(("members/lookup", clients, *run(server, clients, lookups)))
                unknown = [("/members/lookup", {"member_code": f"MEMBER-X{i:07d}"}, False) for i in range(requests)]
                rows.append(("members/lookup 404", clients, *run(server, clients, unknown, expected=404)))
                by_code = []
                for i in range(requests):
                    n, m = arrived[(i * 7919) % len(arrived)]
                    by_code.append(("/members/lookup", {"phone": f"09{m:08d}", "pickup_code": f"{n:06d}"}, False))
                rows.append(("lookup phone+code", clients, *run(server, clients, by_code)))
                take, arrived = arrived[:requests], arrived[requests:]
                lookup_ids = {}
                setup = Client(server.host, server.port)  # a fresh connection: the last one idled out
                for _n, m in take:  # made before the clock runs: a pickup names its look-up
                    if m not in lookup_ids:
                        answer = setup.call("/members/lookup", {"member_code": f"MEMBER-{m:07d}"})[1]
                        lookup_ids[m] = json.loads(answer)["lookup_id"]
                pickups = [
                    (f"/orders/o_{n}/pickup", {"lookup_id": lookup_ids[m], "package_code": f"PKG{n:07d}"}, True)
                    for n, m in take
                ]
                rows.append(("orders/{id}/pickup", clients, *run(server, clients, pickups)))
                logins = [("/staff/login", {"badge_code": "STAFF-0001", "pin": "2468"}, False)] * max(
                    clients, requests // 10
                )
                rows.append(("staff/login", clients, *run(server, clients, logins)))
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=1200, help="requests per row (default 1200)")
    ap.add_argument("--clients", default="1,8", help="comma-separated client counts (default 1,8)")
    ap.add_argument("--db", help="SQLAlchemy URL (default: a fresh SQLite file)")
    args = ap.parse_args()
    counts = tuple(int(c) for c in args.clients.split(","))
    if args.requests * len(counts) > MEMBERS * 2:
        ap.error(f"at most {MEMBERS * 2 // len(counts)} requests per row (one arrived order per pickup)")
    rows = measure(args.requests, counts, args.db)

    print(f"reference server on loopback ({'SQLite' if not args.db else args.db.split(':')[0]}), "
          f"{MEMBERS} members, {MEMBERS * ORDERS_PER_MEMBER} orders, {args.requests} requests per row")  # fmt: skip
    print(f"{'call':<20} {'clients':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'non-200':>8}")
    for name, clients, wall, lat, bad in rows:
        print(
            f"{name:<20} {clients:>7} {len(lat) / wall:>8.0f} {statistics.median(lat) * 1000:>8.2f} "
            f"{pct(lat, 0.99) * 1000:>8.2f} {max(lat) * 1000:>8.2f} {bad:>8}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
