"""The reference server's rules (docs/api.md), independent of HTTP.

:class:`Store` owns the engine and does every read and write of the contract; the FastAPI app
(``kiosk.server.app``) only parses requests, checks tokens and turns :class:`ApiError` into the
contract's error shape. The rules live in mixins: :mod:`kiosk.server.orders` (orders, pickups,
returns), :mod:`kiosk.server.lookup` (look-ups) and :mod:`kiosk.server.kiosks` (heartbeats,
events, alarms); seeds in :mod:`kiosk.server.seed`, secrets and the lockout in
:mod:`kiosk.server.security`. Tests and the harness also use a Store directly to read orders
and count rows.

Writes that take an ``Idempotency-Key`` (POSTs, each with a :class:`~kiosk.server.common.Caller`)
run through :meth:`Store.idempotent`: the key (scoped to the kiosk) is looked up, the change is
made, and the answer (status and body, also a 4xx refusal, never a 401, 429 or 5xx) is stored,
all in one transaction. Concurrent writes to one order are decided by a conditional UPDATE
(``... WHERE status = 'arrived'``).

Every state that two server processes must share (look-ups, the lockout, staff tokens, used
codes, idempotency keys) is in the database. Settings and kiosk tokens are cached for at most
:data:`CONFIG_SECONDS`; :meth:`Store.reload` refreshes them at once (the back office calls it
after a change).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, OperationalError

from kiosk.journal import log_event
from kiosk.privacy import code_ref
from kiosk.server import db
from kiosk.server.common import (  # noqa: F401  (re-exported: revision 1's import paths)
    DAY,
    MAX_CODE,
    MAX_COUNT,
    MAX_DOOR,
    ApiError,
    Caller,
    SeedError,
    check_code,
    health,
    is_bad_text,
    parse_time,
    phone_digits,
    utc_iso,
)
from kiosk.server.db import (
    idempotency,
    kiosks,
    lockout_attempts,
    lookups,
    members,
    order_events,
    orders,
    staff,
    staff_tokens,
    totp_used,
)
from kiosk.server.kiosks import KioskRules
from kiosk.server.lookup import CONTACT_SECONDS as CONTACT_WINDOW
from kiosk.server.lookup import LookupRules
from kiosk.server.orders import OrderRules
from kiosk.server.security import (  # noqa: F401
    DUMMY_HASH,
    Lockout,
    hash_pin,
    kdf,
    new_token,
    token_hash,
    verify_pin,
)
from kiosk.server.seed import API_STATUSES, seed_rows  # noqa: F401
from kiosk.server.settings import DEFAULT_SETTINGS, kiosk_view, lockout_limits

logger = logging.getLogger(__name__)

STAFF_TOKEN_SECONDS = 43200
CONFIG_SECONDS = 1.0  # settings and kiosk tokens are read again after this long
IDEMPOTENCY_DAYS = 7
MAINTAIN_SECONDS = 600.0
METHOD = "POST"  # of every idempotent call (docs/api.md); it is part of the stored body hash


def body_hash(method: str, path: str, body: Any) -> str:
    """What a key's row keeps of its request. A PIN (a new staff member's) is in it only through
    the PIN KDF, salted with the rest of the request: a plain hash of a few digits would give it
    away, and leaving it out would answer a retry with another PIN as a replay (docs/api.md: the
    same key with another body is 422 ``idempotency_mismatch``)."""

    def canon(value: Any) -> str:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return f"{method} {path}\n{text}"

    if isinstance(body, dict) and "pin" in body:
        rest = canon({**body, "pin": "(set)"}).encode("utf-8", "surrogatepass")
        pin = body["pin"] if isinstance(body["pin"], str) else json.dumps(body["pin"])
        salt = hashlib.sha256(rest).digest()
        body = {**body, "pin": "kdf:" + kdf(pin, salt).hex()}
    return hashlib.sha256(canon(body).encode("utf-8", "surrogatepass")).hexdigest()


class WouldBlock(Exception):
    """A ``nowait`` write found another writer: run it where waiting is fine (the threadpool)."""


class _Release:
    """Releases an already acquired lock on exit."""

    def __init__(self, lock: threading.Lock):
        self.lock = lock

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


def _not_stored(status: int) -> bool:
    """docs/api.md r2: answers 401, 429 and 5xx are never stored against a key."""
    return status in (401, 429) or status >= 500


# ---------------------------------------------------------------- the store


class Store(OrderRules, LookupRules, KioskRules):
    """Every read and write of the contract, on one engine (SQLite file or PostgreSQL).

    ``now`` (epoch seconds) is injectable for tests of overdue and token expiry.
    """

    def __init__(self, db_url: str, *, now: Callable[[], float] = time.time):
        self.db_url = db_url
        self.now = now
        db.secure_sqlite_file(db_url)
        self.engine = db.make_engine(db_url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        # SQLite has one writer at a time anyway; queueing writers here instead of in SQLite's
        # busy handler (which sleeps in steps of up to 100 ms) keeps write latency low.
        self._write_lock: threading.Lock | None = threading.Lock() if self.is_sqlite else None
        self.lockout = Lockout(lambda: self.write(durable=False), self.now, postgres=not self.is_sqlite)
        self.arrival_hooks = []
        db.create_schema(self.engine)
        # statements built once (the request path then only binds values; SQLAlchemy caches the SQL)
        self._q_member, self._q_by_pickup = self.lookup_queries()
        self._q_order = {
            col.name: self._order_select().where(col == bindparam("v"))
            for col in (orders.c.id, orders.c.number, orders.c.package_code)
        }
        self._settings: dict[str, Any] = dict(DEFAULT_SETTINGS)
        self._kiosk_tokens: dict[str, str] = {}
        self._kiosk_modes: dict[str, str] = {}
        self.kiosk_ids: list[str] = []
        self._loaded_at = 0.0
        self._maintained_at = 0.0
        self._unsynced: Connection | None = None
        self._busy_timeout = 30000
        self.reload()

    def close(self) -> None:
        if self._unsynced is not None:
            with self._write_lock or nullcontext():
                self._unsynced.close()
                self._unsynced = None
        self.engine.dispose()

    # ------------------------------------------------------------ transactions

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def write(self, *, durable: bool = True, nowait: bool = False) -> Iterator[Connection]:
        """A write transaction (SQLite: one writer at a time, ``BEGIN IMMEDIATE``).

        ``durable=False`` (look-ups and lockout failures): on SQLite the commit is not synced
        to disk (WAL with ``synchronous=NORMAL``): it survives a crash or restart of the server,
        only a power loss may forget it; state changes of orders stay ``durable``.

        ``nowait=True`` (SQLite; a look-up answered on the event loop): raise
        :class:`WouldBlock` at once instead of waiting for another writer.
        """
        lock = self._write_lock
        if nowait and lock is not None:
            if not lock.acquire(blocking=False):
                raise WouldBlock()
            held: Any = _Release(lock)
        else:
            held = lock or nullcontext()
        with held:
            if self.is_sqlite and not durable:
                # one connection kept for unsynced writes (used only under the write lock): no
                # pool checkout and no PRAGMA switches on the look-up path
                conn = self._unsynced_connection()
                self._set_busy_timeout(0 if nowait else 30000)
                try:
                    transaction = conn.begin()
                except OperationalError:  # another process writes: nowait gives up at once
                    raise WouldBlock() from None
                with transaction:
                    yield conn
                return
            with self.engine.connect() as conn:
                if self.is_sqlite:
                    conn.execution_options(sqlite_immediate=True)
                with conn.begin():
                    yield conn

    def _unsynced_connection(self) -> Connection:
        if self._unsynced is None:
            conn = self.engine.connect().execution_options(sqlite_immediate=True)
            conn.connection.dbapi_connection.execute("PRAGMA synchronous=NORMAL")
            self._unsynced = conn
            self._busy_timeout = 30000
        return self._unsynced

    def _set_busy_timeout(self, ms: int) -> None:
        if self._busy_timeout != ms:
            self._unsynced.connection.dbapi_connection.execute(f"PRAGMA busy_timeout={int(ms)}")
            self._busy_timeout = ms

    # ------------------------------------------------------------ cached configuration

    def reload(self) -> None:
        """Read settings, kiosk tokens and modes from the database now."""
        with self.read() as conn:
            merged = dict(DEFAULT_SETTINGS)
            for key, value in conn.execute(select(db.settings.c.key, db.settings.c.value)):
                if key in merged:
                    merged[key] = json.loads(value)
            rows = conn.execute(
                select(kiosks.c.id, kiosks.c.token_hash, kiosks.c.mode).order_by(kiosks.c.position)
            ).all()
        self._settings = merged
        self._kiosk_tokens = {r.token_hash: r.id for r in rows}
        self._kiosk_modes = {r.id: r.mode for r in rows}
        self.kiosk_ids = [r.id for r in rows]
        self._loaded_at = time.monotonic()

    def _fresh(self) -> None:
        if time.monotonic() - self._loaded_at > CONFIG_SECONDS:
            self.reload()

    @property
    def settings(self) -> dict[str, Any]:
        """Every setting (the kiosk's keys, ``store_name``, ``timezone``), at most 1 s old."""
        self._fresh()
        return self._settings

    def kiosk_mode(self, kiosk_id: str) -> str:
        """``"locker"`` or ``"counter"`` (docs/api.md r2)."""
        self._fresh()
        return self._kiosk_modes.get(kiosk_id, "locker")

    def is_empty(self) -> bool:
        with self.read() as conn:
            for table in db.metadata.sorted_tables:
                if conn.execute(select(func.count()).select_from(table)).scalar_one():
                    return False
        return True

    def maintain(self, conn: Connection, now: float, *, force: bool = False) -> None:
        """Forget what has expired (look-ups after 2 days, keys after 7 days, old lockout rows,
        used TOTP values, expired staff tokens); at most every 10 minutes per process."""
        if not force and now - self._maintained_at < MAINTAIN_SECONDS:
            return
        self._maintained_at = now
        window = max(CONTACT_WINDOW, float(self._settings["lockout_seconds"]))
        # a look-up is kept 2 days, or its TTL when that is longer (docs/api.md: a restart forgets none)
        old = (lookups.c.created_at < now - 2 * DAY) & (lookups.c.created_at + lookups.c.ttl < now)
        conn.execute(delete(lookups).where(old))
        conn.execute(delete(idempotency).where(idempotency.c.created_at < now - IDEMPOTENCY_DAYS * DAY))
        conn.execute(delete(totp_used).where(totp_used.c.used_at < now - 300))
        conn.execute(delete(lockout_attempts).where(lockout_attempts.c.at < now - window))
        conn.execute(delete(staff_tokens).where(staff_tokens.c.expires_at <= now))

    # ------------------------------------------------------------ seed

    def load_seed(self, seed: dict[str, Any] | str | Path) -> None:
        """Load a seed (dict, or a JSON file's path) into an empty database, in one transaction."""
        if not isinstance(seed, dict):
            try:
                seed = json.loads(Path(seed).read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise SeedError(f"cannot read seed {seed}: {exc}") from exc
        if not isinstance(seed, dict):
            raise SeedError("a seed is a JSON object")
        if not self.is_empty():
            raise SeedError("refusing to load a seed into a database that already holds data")
        rows = dict((t.name, items) for t, items in seed_rows(seed, self.now()))
        with self.write() as conn:
            for table in (db.settings, db.admins, kiosks, staff, members, orders):
                if rows[table.name]:
                    conn.execute(insert(table), rows[table.name])
        self.reload()
        log_event(
            logger,
            "seed_loaded",
            kiosks=len(rows["kiosks"]),
            staff=len(rows["staff"]),
            members=len(rows["members"]),
            orders=len(rows["orders"]),
        )

    # ------------------------------------------------------------ auth

    def kiosk_for_token(self, token: str) -> str | None:
        self._fresh()
        return self._kiosk_tokens.get(token_hash(token))

    def staff_for_token(self, token: str, kiosk_id: str) -> str | None:
        """The staff id of a valid token of an active staff member, given to this kiosk, else None."""
        with self.read() as conn:
            row = conn.execute(
                select(
                    staff_tokens.c.staff_id,
                    staff_tokens.c.kiosk_id,
                    staff_tokens.c.expires_at,
                    staff_tokens.c.revoked_at,
                    staff.c.active,
                )
                .join(staff, staff.c.id == staff_tokens.c.staff_id)
                .where(staff_tokens.c.token_hash == token_hash(token))
            ).first()
        if row is None or not row.active or row.revoked_at is not None or row.expires_at <= self.now():
            return None
        if row.kiosk_id != kiosk_id:
            log_event(logger, "staff_token_other_kiosk", logging.WARNING, kiosk=kiosk_id, staff=row.staff_id)
            return None
        return row.staff_id

    def end_staff_tokens(self, staff_id: str, conn: Connection | None = None) -> int:
        """Revoke every token of a staff member (the back office calls it on deactivation or a
        PIN change); in ``conn``'s transaction when given. Returns how many were live."""
        if conn is None:
            with self.write() as own:
                return self.end_staff_tokens(staff_id, own)
        res = conn.execute(
            update(staff_tokens)
            .where(staff_tokens.c.staff_id == staff_id, staff_tokens.c.revoked_at.is_(None))
            .values(revoked_at=self.now())
        )
        log_event(logger, "staff_tokens_ended", staff=staff_id, tokens=res.rowcount)
        return int(res.rowcount)

    # ------------------------------------------------------------ settings, staff

    def settings_view(self) -> dict[str, Any]:
        return kiosk_view(self.settings)

    def list_staff(self) -> list[dict[str, str]]:
        with self.read() as conn:
            rows = conn.execute(
                select(staff.c.id, staff.c.name).where(staff.c.active.is_(True)).order_by(staff.c.position)
            ).all()
        return [{"id": r.id, "name": r.name} for r in rows]

    def staff_login(self, kiosk_id: str, badge_code: str, pin: str) -> dict[str, Any]:
        check_code(badge_code, "badge_code")
        check_code(pin, "pin")
        limits = lockout_limits(self.settings)
        with self.write(durable=False) as conn:
            slot = self.lockout.take(conn, "login", kiosk_id, *limits)
        try:
            with self.read() as conn:
                row = conn.execute(
                    select(staff.c.id, staff.c.name, staff.c.pin_hash, staff.c.active).where(
                        staff.c.badge_code == badge_code
                    )
                ).first()
            ok = verify_pin(pin, row.pin_hash if row is not None else DUMMY_HASH)
            if row is None or not ok or not row.active:
                slot.fail()
                log_event(logger, "staff_login_failed", logging.WARNING, kiosk=kiosk_id, badge=code_ref(badge_code))
                raise ApiError(401, "bad_credentials", "unknown badge or wrong PIN")
            with self.write(durable=False) as conn:
                now = self.now()
                token = new_token(conn, staff_tokens, now + STAFF_TOKEN_SECONDS, staff_id=row.id, kiosk_id=kiosk_id)
                self.lockout.settle(conn, slot)
                slot.row_id = 0
                self.maintain(conn, now)
        finally:
            if slot.row_id:
                with self.write(durable=False) as conn:
                    self.lockout.settle(conn, slot)
        log_event(logger, "staff_login", kiosk=kiosk_id, staff=row.id)
        return {"staff_token": token, "staff": {"id": row.id, "name": row.name}, "expires_in": STAFF_TOKEN_SECONDS}

    def staff_logout(self, caller: Caller, body: dict[str, Any], *, token: str) -> tuple[int, Any]:
        """``POST /staff/logout`` (idempotent): the token is refused from then on."""

        def change(conn: Connection, now: float) -> None:
            conn.execute(
                update(staff_tokens)
                .where(staff_tokens.c.token_hash == token_hash(token), staff_tokens.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            log_event(logger, "staff_logout", kiosk=caller.kiosk_id)

        return self.idempotent(caller, body, change)

    # ------------------------------------------------------------ idempotent writes

    def replay(self, caller: Caller, body: Any) -> tuple[int, Any] | None:
        """The stored answer of the caller's (scope, key) if there is one (422 for another
        request), else None."""
        with self.read() as conn:
            return self._stored(conn, caller.scope, caller.key, body_hash(METHOD, caller.path, body), caller.path)

    def _stored(self, conn: Connection, scope: str, key: str, digest: str, path: str) -> tuple[int, Any] | None:
        stored = conn.execute(
            select(idempotency.c.body_hash, idempotency.c.status_code, idempotency.c.response).where(
                idempotency.c.scope == scope, idempotency.c.key == key
            )
        ).first()
        if stored is None:
            return None
        if stored.body_hash != digest:
            raise ApiError(422, "idempotency_mismatch", "this Idempotency-Key was used for another request")
        log_event(logger, "idempotent_replay", logging.DEBUG, path=_path_ref(path))
        return stored.status_code, json.loads(stored.response)

    def idempotent(self, caller: Caller, body: Any, change: Callable[[Connection, float], Any]) -> tuple[int, Any]:
        """Run ``change`` once per the caller's (scope, key); store and replay its answer (docs/api.md,
        Idempotency-Key). The request is the POST of ``body`` to the caller's path.

        ``change(conn, now)`` returns the 200 body (None: 204) or raises :class:`ApiError`;
        either answer is stored with the key in the same transaction as the change. A 4xx
        answer's changes are rolled back (savepoint) before the answer is stored; 401, 429 and
        5xx are raised without storing anything. ``key=None`` (admin calls may omit it) runs
        the change without storing.
        """
        scope, key, path = caller.scope, caller.key, caller.path
        if key is None:
            with self.write() as conn:
                answer = change(conn, self.now())
            return (204 if answer is None else 200), answer
        check_code(key, "Idempotency-Key")
        digest = body_hash(METHOD, path, body)
        for _attempt in range(3):
            try:
                with self.write() as conn:
                    stored = self._stored(conn, scope, key, digest, path)
                    if stored is not None:
                        return stored
                    now = self.now()
                    try:
                        with conn.begin_nested():
                            answer = change(conn, now)
                            status = 204 if answer is None else 200
                    except ApiError as exc:
                        if _not_stored(exc.status):
                            raise
                        status, answer = exc.status, exc.body()
                    conn.execute(
                        insert(idempotency).values(
                            scope=scope,
                            key=key,
                            method=METHOD,
                            path=path,
                            body_hash=digest,
                            status_code=status,
                            response=json.dumps(answer, ensure_ascii=False),
                            created_at=now,
                        )
                    )
                    self.maintain(conn, now)
                return status, answer
            except IntegrityError:
                # another request with the same key committed first (PostgreSQL): read its answer
                continue
        raise ApiError(409, "conflict", "the request collided with another one; retry")

    def refuse(self, caller: Caller, body: Any, error: ApiError) -> tuple[int, Any]:
        """A refusal decided before the change (the body's contents or shape, another kiosk's
        path): stored against the caller's key like any answer but 401, 429 and 5xx (docs/api.md:
        the same key with another body is then 422 ``idempotency_mismatch``); a key that already
        holds an answer gets that answer, or the mismatch. Without a key ``error`` is raised."""

        def change(_conn: Connection, _now: float) -> Any:
            raise error

        return self.idempotent(caller, body, change)

    # ------------------------------------------------------------ admin reads (tests, harness)

    def count_rows(self, table: str, **where: Any) -> int:
        """Rows of ``table`` (a name in :data:`kiosk.server.db.TABLES`) whose columns equal ``where``."""
        t = db.TABLES[table]
        stmt = select(func.count()).select_from(t)
        for col, value in where.items():
            stmt = stmt.where(t.c[col] == value)
        with self.read() as conn:
            return int(conn.execute(stmt).scalar_one())

    def count_events(self, kind: str | None = None, number: str | None = None) -> int:
        """State changes recorded (``arrive``, ``pickup``, ``return`` …), optionally of one order."""
        stmt = select(func.count()).select_from(order_events)
        if kind is not None:
            stmt = stmt.where(order_events.c.kind == kind)
        if number is not None:
            sub = select(orders.c.id).where(orders.c.number == number).scalar_subquery()
            stmt = stmt.where(order_events.c.order_id == sub)
        with self.read() as conn:
            return int(conn.execute(stmt).scalar_one())


def _path_ref(path: str) -> str:
    """A path for a log line with its codes replaced by references."""
    return re.sub(r"/(parcels|orders)/([^/]+)", lambda m: f"/{m[1]}/{code_ref(m[2])}", path)
