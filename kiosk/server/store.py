"""The reference server's rules (API.md), independent of HTTP.

:class:`Store` owns the engine and does every read and write of the contract; the FastAPI app
(``kiosk.server.app``) only parses requests, checks tokens and turns :class:`ApiError` into the
contract's error shape. Tests and the harness also use a Store directly to read orders and count
rows without going through the staff-only HTTP calls.

Writes that take an ``Idempotency-Key`` run through :meth:`Store.idempotent`: the key is looked
up, the change is made, and the answer (status and body, also a 4xx refusal) is stored, all in
one transaction. Concurrent writes to one order are decided by a conditional UPDATE
(``... WHERE status = 'arrived'``): exactly one of them changes a row.
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import json
import logging
import re
import secrets
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from kiosk import __version__
from kiosk.errors import KioskError
from kiosk.journal import log_event
from kiosk.privacy import code_ref, mask_name, mask_phone
from kiosk.server import db
from kiosk.server.db import (
    DOOR_HOLDING,
    heartbeats,
    idempotency,
    kiosks,
    members,
    order_events,
    orders,
    staff,
    staff_tokens,
)

logger = logging.getLogger(__name__)

MAX_CODE = 128
MAX_DOOR = 100_000
MAX_COUNT = 1_000_000_000
STAFF_TOKEN_SECONDS = 43200
DAY = 86400.0

DEFAULT_SETTINGS: dict[str, Any] = {
    "overdue_days": 7,
    "member_code_only": False,
    "commission_enabled": True,
    "lockout_attempts": 5,
    "lockout_seconds": 60,
    "member_code_pattern": r"[0-9A-Za-z:_-]{6,64}",
    "parcel_code_pattern": r"[0-9A-Za-z-]{6,40}",
    "staff_badge_pattern": r"STAFF-[0-9A-Z]{4,16}",
}

# statuses a client may name in GET /orders?status=
API_STATUSES = (
    "shipped",
    "arrived",
    "overdue",
    "received",
    "return_requested",
    "return_reviewed",
    "returned_to_warehouse",
    "restocked",
)


class ApiError(Exception):
    """An answer that refuses: HTTP status, the contract's snake_case code, a human message."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}


class SeedError(KioskError, ValueError):
    """A seed file that cannot be loaded (bad shape, unknown key, non-empty database)."""


# ---------------------------------------------------------------- helpers


def utc_iso(ts: float | None) -> str | None:
    """RFC 3339 UTC, seconds precision: ``2026-11-20T03:00:00Z``."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> float:
    """RFC 3339 with an offset (``Z`` or ``+08:00``) → epoch seconds."""
    dt = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if dt.tzinfo is None:
        raise ValueError(f"time without an offset: {text!r}")
    return dt.timestamp()


def is_bad_text(value: str, limit: int = MAX_CODE) -> bool:
    """API.md: longer than ``limit`` or holding a control character (category Cc) is bad input."""
    return len(value) > limit or any(unicodedata.category(ch) == "Cc" for ch in value)


def check_code(value: str, what: str, limit: int = MAX_CODE) -> str:
    """``value`` unchanged, or 400 ``bad_input`` (empty, too long, control characters)."""
    if not value or is_bad_text(value, limit):
        raise ApiError(400, "bad_input", f"{what} is empty, too long or holds a control character")
    return value


def phone_digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


# PINs: PBKDF2-HMAC-SHA256 with a random salt; the parameters travel with the hash
PIN_ITERATIONS = 120_000


def hash_pin(pin: str, iterations: int = PIN_ITERATIONS) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode("utf-8"), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def verify_pin(pin: str, stored: str) -> bool:
    try:
        scheme, iterations, salt_hex, digest_hex = stored.split("$")
        if scheme != "pbkdf2_sha256":
            return False
        digest = hashlib.pbkdf2_hmac("sha256", pin.encode("utf-8"), bytes.fromhex(salt_hex), int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(digest.hex(), digest_hex)


_DUMMY_PIN_HASH = hash_pin("not-a-pin")

# Seeds are loaded again and again by tests and demos in one process; the KDF (tens of ms per
# PIN) would dominate. One staff member's badge + PIN gets one salted hash per process; two
# staff members with the same PIN still get different salts.
_seed_pin_hashes: dict[str, str] = {}


def _seed_pin_hash(badge_code: str, pin: str) -> str:
    key = hashlib.sha256(f"{badge_code}\0{pin}".encode("utf-8", "surrogatepass")).hexdigest()
    if key not in _seed_pin_hashes:
        _seed_pin_hashes[key] = hash_pin(pin)
    return _seed_pin_hashes[key]


def body_hash(method: str, path: str, body: Any) -> str:
    canon = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{method} {path}\n{canon}".encode("utf-8", "surrogatepass")).hexdigest()


class Lockout:
    """Failed look-ups (or logins) per kiosk within a sliding window; in memory, thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._fails: dict[tuple[str, str], collections.deque[float]] = {}
        self._lock = threading.Lock()

    def _prune(self, key: tuple[str, str], window: float) -> collections.deque[float]:
        q = self._fails.setdefault(key, collections.deque())
        cutoff = self._clock() - window
        while q and q[0] <= cutoff:
            q.popleft()
        return q

    def locked(self, kind: str, kiosk_id: str, attempts: int, window: float) -> bool:
        with self._lock:
            return len(self._prune((kind, kiosk_id), window)) >= attempts

    def fail(self, kind: str, kiosk_id: str, window: float) -> None:
        with self._lock:
            self._prune((kind, kiosk_id), window).append(self._clock())


# ---------------------------------------------------------------- the store


class Store:
    """Every read and write of the contract, on one engine (SQLite file or PostgreSQL).

    ``now`` (epoch seconds) is injectable for tests of overdue and token expiry.
    """

    def __init__(self, db_url: str, *, now: Callable[[], float] = time.time):
        self.db_url = db_url
        self.now = now
        self.engine = db.make_engine(db_url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        # SQLite has one writer at a time anyway; queueing writers here instead of in SQLite's
        # busy handler (which sleeps in steps of up to 100 ms) keeps write latency low.
        self._write_lock: threading.Lock | None = threading.Lock() if self.is_sqlite else None
        self.lockout = Lockout()
        db.metadata.create_all(self.engine)
        # statements built once (the request path then only binds values; SQLAlchemy caches the SQL)
        # a member and their waiting orders in one statement (rows of one member only: see lookup)
        self._q_member = {
            col.name: select(
                members.c.id.label("m_id"),
                members.c.name.label("m_name"),
                *self._order_cols[:-2],  # the order's own columns (the last two are the member's)
                members.c.name.label("member_name"),
                members.c.phone.label("member_phone"),
            )
            .select_from(
                members.outerjoin(orders, (orders.c.member_id == members.c.id) & (orders.c.status == "arrived"))
            )
            .where(col == bindparam("v"))
            .order_by(members.c.id, orders.c.arrived_at, orders.c.number)
            for col in (members.c.member_code, members.c.phone_digits, members.c.email_lower)
        }
        self._q_order = {
            col.name: self._order_select().where(col == bindparam("v"))
            for col in (orders.c.id, orders.c.number, orders.c.package_code)
        }
        self.settings: dict[str, Any] = dict(DEFAULT_SETTINGS)
        self._kiosk_tokens: dict[str, str] = {}
        self.kiosk_ids: list[str] = []
        self.reload()

    def close(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------ transactions

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with self._write_lock or nullcontext(), self.engine.connect() as conn:
            if self.is_sqlite:
                conn.execution_options(sqlite_immediate=True)
            with conn.begin():
                yield conn

    # ------------------------------------------------------------ cached configuration

    def reload(self) -> None:
        """Read settings and kiosk tokens (they change only by loading a seed)."""
        with self.read() as conn:
            merged = dict(DEFAULT_SETTINGS)
            for key, value in conn.execute(select(db.settings.c.key, db.settings.c.value)):
                if key in merged:
                    merged[key] = json.loads(value)
            rows = conn.execute(select(kiosks.c.id, kiosks.c.token_hash).order_by(kiosks.c.position)).all()
        self.settings = merged
        self._kiosk_tokens = {r.token_hash: r.id for r in rows}
        self.kiosk_ids = [r.id for r in rows]

    def is_empty(self) -> bool:
        with self.read() as conn:
            for table in db.metadata.sorted_tables:
                if conn.execute(select(func.count()).select_from(table)).scalar_one():
                    return False
        return True

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
        rows = _validate_seed(seed, self.now())
        with self.write() as conn:
            for table, items in rows:
                if items:
                    conn.execute(insert(table), items)
        self.reload()
        log_event(
            logger,
            "seed_loaded",
            kiosks=len(rows[1][1]),
            staff=len(rows[2][1]),
            members=len(rows[3][1]),
            orders=len(rows[4][1]),
        )

    # ------------------------------------------------------------ auth

    def kiosk_for_token(self, token: str) -> str | None:
        return self._kiosk_tokens.get(token_hash(token))

    def staff_for_token(self, token: str) -> str | None:
        """The staff id of a valid, unexpired token of an active staff member, else None."""
        with self.read() as conn:
            row = conn.execute(
                select(staff_tokens.c.staff_id, staff_tokens.c.expires_at, staff.c.active)
                .join(staff, staff.c.id == staff_tokens.c.staff_id)
                .where(staff_tokens.c.token_hash == token_hash(token))
            ).first()
        if row is None or not row.active or row.expires_at <= self.now():
            return None
        return row.staff_id

    # ------------------------------------------------------------ settings, staff

    def settings_view(self) -> dict[str, Any]:
        return dict(self.settings)

    def list_staff(self) -> list[dict[str, str]]:
        with self.read() as conn:
            rows = conn.execute(
                select(staff.c.id, staff.c.name).where(staff.c.active.is_(True)).order_by(staff.c.position)
            ).all()
        return [{"id": r.id, "name": r.name} for r in rows]

    def _check_lockout(self, kind: str, kiosk_id: str) -> None:
        s = self.settings
        if self.lockout.locked(kind, kiosk_id, int(s["lockout_attempts"]), float(s["lockout_seconds"])):
            log_event(logger, "locked_out", logging.WARNING, kind=kind, kiosk=kiosk_id)
            raise ApiError(429, "locked_out", "too many failed attempts; try again later")

    def _fail(self, kind: str, kiosk_id: str) -> None:
        self.lockout.fail(kind, kiosk_id, float(self.settings["lockout_seconds"]))

    def staff_login(self, kiosk_id: str, badge_code: str, pin: str) -> dict[str, Any]:
        check_code(badge_code, "badge_code")
        check_code(pin, "pin")
        self._check_lockout("login", kiosk_id)
        with self.read() as conn:
            row = conn.execute(
                select(staff.c.id, staff.c.name, staff.c.pin_hash, staff.c.active).where(
                    staff.c.badge_code == badge_code
                )
            ).first()
        ok = verify_pin(pin, row.pin_hash if row is not None else _DUMMY_PIN_HASH)
        if row is None or not ok or not row.active:
            self._fail("login", kiosk_id)
            log_event(logger, "staff_login_failed", logging.WARNING, kiosk=kiosk_id, badge=code_ref(badge_code))
            raise ApiError(401, "bad_credentials", "unknown badge or wrong PIN")
        token = secrets.token_urlsafe(32)
        with self.write() as conn:
            now = self.now()
            conn.execute(delete(staff_tokens).where(staff_tokens.c.expires_at <= now))
            conn.execute(
                insert(staff_tokens).values(
                    token_hash=token_hash(token),
                    staff_id=row.id,
                    kiosk_id=kiosk_id,
                    expires_at=now + STAFF_TOKEN_SECONDS,
                )
            )
        log_event(logger, "staff_login", kiosk=kiosk_id, staff=row.id)
        return {"staff_token": token, "staff": {"id": row.id, "name": row.name}, "expires_in": STAFF_TOKEN_SECONDS}

    # ------------------------------------------------------------ orders: reading

    _order_cols = (
        orders.c.id,
        orders.c.number,
        orders.c.status,
        orders.c.member_id,
        orders.c.items_summary,
        orders.c.arrived_at,
        orders.c.locker_door,
        orders.c.received_by,
        orders.c.handed_over_by,
        orders.c.package_code,
        members.c.name.label("member_name"),
        members.c.phone.label("member_phone"),
    )

    def _order_select(self):
        return select(*self._order_cols).select_from(orders.outerjoin(members, members.c.id == orders.c.member_id))

    def order_view(self, row: Row, now: float | None = None) -> dict[str, Any]:
        """A row of :meth:`_order_select` as API.md's Order (status ``overdue`` computed)."""
        now = self.now() if now is None else now
        overdue_at = None
        status = row.status
        if (row.arrived_at is not None and status == "arrived") or row.arrived_at is not None:
            overdue_at = row.arrived_at + float(self.settings["overdue_days"]) * DAY
        overdue = status == "arrived" and overdue_at is not None and now >= overdue_at
        if overdue:
            status = "overdue"
        masked = mask_name(row.member_name or "")
        if row.member_phone:
            masked += " / " + mask_phone(row.member_phone)
        return {
            "id": row.id,
            "number": row.number,
            "status": status,
            "member_id": row.member_id,
            "customer_masked": masked,
            "items_summary": row.items_summary,
            "arrived_at": utc_iso(row.arrived_at),
            "overdue": overdue,
            "overdue_at": utc_iso(overdue_at),
            "locker_door": row.locker_door,
            "received_by": row.received_by,
            "handed_over_by": row.handed_over_by,
        }

    def _order_by(self, conn: Connection, column: Any, value: str) -> Row | None:
        return conn.execute(self._q_order[column.name], {"v": value}).first()

    def order_by_id(self, order_id: str) -> dict[str, Any] | None:
        with self.read() as conn:
            row = self._order_by(conn, orders.c.id, order_id)
        return None if row is None else self.order_view(row)

    def order_by_number(self, number: str) -> dict[str, Any] | None:
        with self.read() as conn:
            row = self._order_by(conn, orders.c.number, number)
        return None if row is None else self.order_view(row)

    def parcel(self, package_code: str) -> dict[str, Any]:
        check_code(package_code, "package_code")
        with self.read() as conn:
            row = self._order_by(conn, orders.c.package_code, package_code)
        if row is None:
            raise ApiError(404, "parcel_not_found", "no order has this package code")
        return self.order_view(row)

    def _status_filter(self, wanted: list[str], now: float) -> Any:
        cutoff = now - float(self.settings["overdue_days"]) * DAY
        conds = []
        for status in wanted:
            if status == "overdue":
                conds.append((orders.c.status == "arrived") & (orders.c.arrived_at <= cutoff))
            elif status == "arrived":
                conds.append((orders.c.status == "arrived") & (orders.c.arrived_at > cutoff))
            else:
                conds.append(orders.c.status == status)
        return or_(*conds)

    def list_orders(self, status: str) -> list[dict[str, Any]]:
        wanted = [s.strip() for s in status.split(",") if s.strip()]
        if not wanted or any(s not in API_STATUSES for s in wanted):
            raise ApiError(400, "bad_input", "status takes one or more of: " + ", ".join(API_STATUSES))
        now = self.now()
        with self.read() as conn:
            rows = conn.execute(
                self._order_select()
                .where(self._status_filter(wanted, now))
                .order_by(orders.c.arrived_at.is_(None), orders.c.arrived_at, orders.c.number)
            ).all()
        return [self.order_view(r, now) for r in rows]

    def lookup(
        self, kiosk_id: str, *, member_code: str | None = None, phone: str | None = None, email: str | None = None
    ) -> dict[str, Any]:
        given = [(k, v) for k, v in (("member_code", member_code), ("phone", phone), ("email", email)) if v is not None]
        if len(given) != 1:
            raise ApiError(422, "validation_error", "give exactly one of member_code, phone, email")
        field, value = given[0]
        check_code(value, field)
        if field != "member_code" and self.settings["member_code_only"]:
            raise ApiError(403, "member_code_only", "this store looks members up by member code only")
        self._check_lockout("lookup", kiosk_id)
        if field == "member_code":
            query, key = self._q_member["member_code"], value
        elif field == "phone":
            key = phone_digits(value)
            if not key:
                raise ApiError(400, "bad_input", "phone holds no digits")
            query = self._q_member["phone_digits"]
        else:
            query, key = self._q_member["email_lower"], value.strip().lower()
        now = self.now()
        with self.read() as conn:
            found = conn.execute(query, {"v": key}).all()
        member = found[0] if found else None
        rows = [r for r in found if r.m_id == member.m_id and r.id is not None] if member else []
        if member is None:
            self._fail("lookup", kiosk_id)
            log_event(logger, "lookup_unknown", kiosk=kiosk_id, by=field, ref=code_ref(value))
            raise ApiError(404, "member_not_found", "no member has this code")
        log_event(logger, "lookup", logging.DEBUG, kiosk=kiosk_id, member=member.m_id, orders=len(rows))
        return {
            "member": {"id": member.m_id, "display_name_masked": mask_name(member.m_name)},
            "orders": [self.order_view(r, now) for r in rows],
        }

    # ------------------------------------------------------------ idempotent writes

    def idempotent(
        self,
        key: str,
        method: str,
        path: str,
        body: Any,
        change: Callable[[Connection, float], dict[str, Any]],
    ) -> tuple[int, dict[str, Any]]:
        """Run ``change`` once per key; store and replay its answer (API.md, Idempotency-Key).

        ``change(conn, now)`` returns the 200 body or raises :class:`ApiError`; either answer is
        stored with the key in the same transaction as the change. A 4xx answer's changes are
        rolled back (savepoint) before the answer is stored.
        """
        check_code(key, "Idempotency-Key")
        digest = body_hash(method, path, body)
        for _attempt in range(3):
            try:
                with self.write() as conn:
                    stored = conn.execute(
                        select(idempotency.c.body_hash, idempotency.c.status_code, idempotency.c.response).where(
                            idempotency.c.key == key
                        )
                    ).first()
                    if stored is not None:
                        if stored.body_hash != digest:
                            raise ApiError(
                                422, "idempotency_mismatch", "this Idempotency-Key was used for another request"
                            )
                        log_event(logger, "idempotent_replay", logging.DEBUG, path=_path_ref(path))
                        return stored.status_code, json.loads(stored.response)
                    now = self.now()
                    try:
                        with conn.begin_nested():
                            status, answer = 200, change(conn, now)
                    except ApiError as exc:
                        status, answer = exc.status, exc.body()
                    conn.execute(
                        insert(idempotency).values(
                            key=key,
                            method=method,
                            path=path,
                            body_hash=digest,
                            status_code=status,
                            response=json.dumps(answer, ensure_ascii=False),
                            created_at=now,
                        )
                    )
                return status, answer
            except IntegrityError:
                # another request with the same key committed first (PostgreSQL): read its answer
                continue
        raise ApiError(409, "conflict", "the request collided with another one; retry")

    def _event(self, conn: Connection, order_id: str, kind: str, now: float, **fields: Any) -> None:
        conn.execute(insert(order_events).values(order_id=order_id, kind=kind, at=now, **fields))

    def _active_staff(self, conn: Connection, staff_id: str, field: str) -> None:
        check_code(staff_id, field)
        ok = conn.execute(select(staff.c.id).where(staff.c.id == staff_id, staff.c.active.is_(True))).first()
        if ok is None:
            raise ApiError(422, "validation_error", f"{field} is not an active staff member")

    def _locked_order(self, conn: Connection, column: Any, value: str) -> Row | None:
        return conn.execute(
            select(*self._order_cols)
            .select_from(orders.outerjoin(members, members.c.id == orders.c.member_id))
            .where(column == value)
            .with_for_update(of=orders)
        ).first()

    def _locked_order_by_id(self, conn: Connection, order_id: str) -> Row:
        row = self._locked_order(conn, orders.c.id, order_id)
        if row is None:
            raise ApiError(404, "order_not_found", "no such order")
        return row

    def _after(self, conn: Connection, order_id: str, now: float) -> dict[str, Any]:
        return self.order_view(self._order_by(conn, orders.c.id, order_id), now)

    def _transition(self, conn: Connection, order_id: str, from_status: str, now: float, **values: Any) -> None:
        res = conn.execute(
            update(orders)
            .where(orders.c.id == order_id, orders.c.status == from_status)
            .values(updated_at=now, **values)
        )
        if res.rowcount != 1:
            raise ApiError(409, "wrong_status", "the order changed meanwhile")

    def arrive(
        self,
        key: str,
        path: str,
        body: dict[str, Any],
        *,
        kiosk_id: str,
        staff_id: str,
        package_code: str,
    ) -> tuple[int, dict[str, Any]]:
        check_code(package_code, "package_code")
        received_by = body.get("received_by") or staff_id
        door = body.get("locker_door")
        if door is not None and not 1 <= door <= MAX_DOOR:
            raise ApiError(400, "bad_input", f"locker_door is a door number from 1 to {MAX_DOOR}")

        def change(conn: Connection, now: float) -> dict[str, Any]:
            self._active_staff(conn, received_by, "received_by")
            row = self._locked_order(conn, orders.c.package_code, package_code)
            if row is None:
                raise ApiError(404, "parcel_not_found", "no order has this package code")
            if row.status != "shipped":
                raise ApiError(409, "wrong_status", f"the order is {row.status}, not shipped")
            if door is not None and self._door_taken(conn, door, row.id):
                raise ApiError(409, "door_occupied", f"door {door} holds another order")
            try:
                with conn.begin_nested():
                    self._transition(
                        conn, row.id, "shipped", now, status="arrived", arrived_at=now, locker_door=door,
                        received_by=received_by,
                    )  # fmt: skip
            except IntegrityError as exc:  # the door was taken concurrently
                raise ApiError(409, "door_occupied", f"door {door} holds another order") from exc
            self._event(conn, row.id, "arrive", now, kiosk_id=kiosk_id, staff_id=received_by, idempotency_key=key)
            log_event(logger, "arrived", order=row.number, door=door, staff=received_by, kiosk=kiosk_id)
            return self._after(conn, row.id, now)

        return self.idempotent(key, "POST", path, body, change)

    def _door_taken(self, conn: Connection, door: int, order_id: str) -> bool:
        return (
            conn.execute(
                select(orders.c.id).where(
                    orders.c.locker_door == door, orders.c.status.in_(DOOR_HOLDING), orders.c.id != order_id
                )
            ).first()
            is not None
        )

    def pickup(
        self, key: str, path: str, body: dict[str, Any], *, kiosk_id: str, order_id: str
    ) -> tuple[int, dict[str, Any]]:
        check_code(order_id, "order id")
        member_id = body["member_id"]
        check_code(member_id, "member_id")
        package_code = body.get("package_code")
        door = body.get("locker_door")
        if (package_code is None) == (door is None):
            raise ApiError(422, "validation_error", "give exactly one of package_code and locker_door")
        if door is not None and not 1 <= door <= MAX_DOOR:
            raise ApiError(400, "bad_input", f"locker_door is a door number from 1 to {MAX_DOOR}")
        if package_code is not None:
            check_code(package_code, "package_code")
        handed_over_by = body.get("handed_over_by")

        def change(conn: Connection, now: float) -> dict[str, Any]:
            if handed_over_by is not None:
                self._active_staff(conn, handed_over_by, "handed_over_by")
            row = self._locked_order_by_id(conn, order_id)
            if row.member_id != member_id:
                raise ApiError(403, "not_your_order", "this order belongs to another member")
            if row.status != "arrived":
                raise ApiError(409, "wrong_status", f"the order is {row.status}, not waiting for pickup")
            if package_code is not None and not hmac.compare_digest(
                package_code.encode("utf-8", "surrogatepass"), row.package_code.encode("utf-8", "surrogatepass")
            ):
                raise ApiError(409, "package_mismatch", "this parcel belongs to another order")
            if door is not None and door != row.locker_door:
                raise ApiError(409, "package_mismatch", "this order is not behind that door")
            self._transition(conn, order_id, "arrived", now, status="received", handed_over_by=handed_over_by)
            self._event(conn, order_id, "pickup", now, kiosk_id=kiosk_id, staff_id=handed_over_by, idempotency_key=key)
            log_event(logger, "picked_up", order=row.number, door=row.locker_door, kiosk=kiosk_id)
            return self._after(conn, order_id, now)

        return self.idempotent(key, "POST", path, body, change)

    def request_return(
        self, key: str, path: str, body: dict[str, Any], *, kiosk_id: str, staff_id: str, order_id: str
    ) -> tuple[int, dict[str, Any]]:
        check_code(order_id, "order id")
        reason = body.get("reason")
        if reason is not None and len(reason) > 1000:
            raise ApiError(400, "bad_input", "reason is longer than 1000 characters")

        def change(conn: Connection, now: float) -> dict[str, Any]:
            row = self._locked_order_by_id(conn, order_id)
            if row.status != "arrived":
                raise ApiError(409, "wrong_status", f"the order is {row.status}; only arrived or overdue can return")
            self._transition(conn, order_id, "arrived", now, status="return_requested", return_reason=reason)
            self._event(conn, order_id, "return", now, kiosk_id=kiosk_id, staff_id=staff_id, idempotency_key=key)
            log_event(logger, "return_requested", order=row.number, staff=staff_id, kiosk=kiosk_id)
            return self._after(conn, order_id, now)

        return self.idempotent(key, "POST", path, body, change)

    def review_return(
        self, key: str, path: str, body: dict[str, Any], *, kiosk_id: str, staff_id: str, order_id: str
    ) -> tuple[int, dict[str, Any]]:
        check_code(order_id, "order id")
        approved = body["approved"]

        def change(conn: Connection, now: float) -> dict[str, Any]:
            row = self._locked_order_by_id(conn, order_id)
            if row.status != "return_requested":
                raise ApiError(409, "wrong_status", f"the order is {row.status}, not return_requested")
            if approved:
                self._transition(conn, order_id, "return_requested", now, status="return_reviewed")
            else:
                # back on the shelf; if its door went to another order meanwhile, it is at the counter
                values: dict[str, Any] = {"status": "arrived"}
                if row.locker_door is not None and self._door_taken(conn, row.locker_door, order_id):
                    values["locker_door"] = None
                self._transition(conn, order_id, "return_requested", now, **values)
            kind = "return_approved" if approved else "return_rejected"
            self._event(conn, order_id, kind, now, kiosk_id=kiosk_id, staff_id=staff_id, idempotency_key=key)
            log_event(logger, kind, order=row.number, staff=staff_id, kiosk=kiosk_id)
            return self._after(conn, order_id, now)

        return self.idempotent(key, "POST", path, body, change)

    def complete_return(
        self, key: str, path: str, body: dict[str, Any], *, kiosk_id: str, staff_id: str, order_id: str
    ) -> tuple[int, dict[str, Any]]:
        check_code(order_id, "order id")
        destination = body["destination"]
        target = {"warehouse": "returned_to_warehouse", "store_stock": "restocked"}.get(destination)
        if target is None:
            raise ApiError(400, "bad_input", 'destination is "warehouse" or "store_stock"')

        def change(conn: Connection, now: float) -> dict[str, Any]:
            row = self._locked_order_by_id(conn, order_id)
            if row.status != "return_reviewed":
                raise ApiError(409, "wrong_status", f"the order is {row.status}, not return_reviewed")
            self._transition(conn, order_id, "return_reviewed", now, status=target)
            self._event(conn, order_id, target, now, kiosk_id=kiosk_id, staff_id=staff_id, idempotency_key=key)
            log_event(logger, "return_completed", order=row.number, to=destination, staff=staff_id, kiosk=kiosk_id)
            return self._after(conn, order_id, now)

        return self.idempotent(key, "POST", path, body, change)

    # ------------------------------------------------------------ heartbeat

    def heartbeat(self, kiosk_id: str, body: dict[str, Any]) -> None:
        for name in ("state", "camera", "gpio", "version"):
            value = body.get(name)
            if value is not None and is_bad_text(value):
                raise ApiError(400, "bad_input", f"{name} is too long or holds a control character")
        outbox = body.get("outbox")
        if outbox is not None and not 0 <= outbox <= MAX_COUNT:
            raise ApiError(400, "bad_input", "outbox is a count of queued events")
        uptime = body.get("uptime")
        if uptime is not None and not 0 <= uptime <= 1e10:
            raise ApiError(400, "bad_input", "uptime is seconds since the kiosk started")
        values = {name: body.get(name) for name in ("state", "camera", "gpio", "outbox", "version", "uptime")}
        with self.write() as conn:
            now = self.now()
            res = conn.execute(update(heartbeats).where(heartbeats.c.kiosk_id == kiosk_id).values(at=now, **values))
            if res.rowcount == 0:
                conn.execute(insert(heartbeats).values(kiosk_id=kiosk_id, at=now, **values))
        log_event(logger, "heartbeat", logging.DEBUG, kiosk=kiosk_id, state=values["state"], outbox=values["outbox"])

    def last_heartbeat(self, kiosk_id: str) -> dict[str, Any] | None:
        with self.read() as conn:
            row = conn.execute(select(heartbeats).where(heartbeats.c.kiosk_id == kiosk_id)).first()
        if row is None:
            return None
        out = dict(row._mapping)
        out["at"] = utc_iso(out["at"])
        return out

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


def health() -> dict[str, str]:
    return {"status": "ok", "version": __version__, "time": utc_iso(time.time()) or ""}


def _path_ref(path: str) -> str:
    """A path for a log line with its codes replaced by references."""
    return re.sub(r"/(parcels|orders)/([^/]+)", lambda m: f"/{m[1]}/{code_ref(m[2])}", path)


# ---------------------------------------------------------------- seed validation

_SEED_KEYS = {"settings", "kiosks", "staff", "members", "orders"}
_KIOSK_KEYS = {"id": True, "token": True}
_STAFF_KEYS = {"id": True, "name": True, "badge_code": True, "pin": True, "active": False}
_MEMBER_KEYS = {"id": True, "name": True, "phone": False, "email": False, "member_code": False}
_ORDER_KEYS = {
    "id": True,
    "number": True,
    "member_id": True,
    "package_code": True,
    "items_summary": False,
    "status": True,
    "arrived_at": False,
    "locker_door": False,
    "received_by": False,
    "handed_over_by": False,
    "return_reason": False,
}
_SETTING_TYPES: dict[str, tuple[type, ...]] = {
    "overdue_days": (int, float),
    "member_code_only": (bool,),
    "commission_enabled": (bool,),
    "lockout_attempts": (int,),
    "lockout_seconds": (int, float),
    "member_code_pattern": (str,),
    "parcel_code_pattern": (str,),
    "staff_badge_pattern": (str,),
}


def _entries(seed: dict[str, Any], name: str, keys: dict[str, bool]) -> list[dict[str, Any]]:
    items = seed.get(name, [])
    if not isinstance(items, list):
        raise SeedError(f"seed: {name} is a list")
    seen: set[str] = set()
    for i, item in enumerate(items):
        where = f"seed: {name}[{i}]"
        if not isinstance(item, dict):
            raise SeedError(f"{where} is an object")
        unknown = set(item) - set(keys)
        if unknown:
            raise SeedError(f"{where}: unknown key {sorted(unknown)[0]!r}")
        for key, required in keys.items():
            if required and item.get(key) in (None, ""):
                raise SeedError(f"{where}: {key} is required")
        for key, value in item.items():
            if key == "active":
                if not isinstance(value, bool):
                    raise SeedError(f"{where}: active is true or false")
            elif key == "locker_door":
                continue  # checked with the order
            elif value is not None and not isinstance(value, str):
                raise SeedError(f"{where}: {key} is a string")
            elif isinstance(value, str) and is_bad_text(value, 500):
                raise SeedError(f"{where}: {key} is too long or holds a control character")
        if item["id"] in seen:
            raise SeedError(f"{where}: duplicate id {item['id']!r}")
        seen.add(item["id"])
    return items


def _validate_seed(seed: dict[str, Any], now: float) -> list[tuple[Any, list[dict[str, Any]]]]:
    unknown = set(seed) - _SEED_KEYS
    if unknown:
        raise SeedError(f"seed: unknown key {sorted(unknown)[0]!r}")
    cfg = seed.get("settings", {}) or {}
    if not isinstance(cfg, dict):
        raise SeedError("seed: settings is an object")
    setting_rows = []
    for key, value in cfg.items():
        if key not in _SETTING_TYPES:
            raise SeedError(f"seed: settings: unknown key {key!r}")
        types = _SETTING_TYPES[key]
        if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
            raise SeedError(f"seed: settings: {key} has the wrong type")
        if key.endswith("_pattern"):
            try:
                re.compile(value)
            except re.error as exc:
                raise SeedError(f"seed: settings: {key} is not a regular expression: {exc}") from exc
        elif not isinstance(value, bool) and value < (1 if key == "lockout_attempts" else 0):
            raise SeedError(f"seed: settings: {key} is out of range")
        setting_rows.append({"key": key, "value": json.dumps(value)})

    kiosk_rows = []
    for i, k in enumerate(_entries(seed, "kiosks", _KIOSK_KEYS)):
        kiosk_rows.append({"id": k["id"], "token_hash": token_hash(str(k["token"])), "position": i})
    if len({r["token_hash"] for r in kiosk_rows}) != len(kiosk_rows):
        raise SeedError("seed: two kiosks share a token")

    staff_rows = []
    for i, s in enumerate(_entries(seed, "staff", _STAFF_KEYS)):
        if not isinstance(s["pin"], str) or not isinstance(s["badge_code"], str):
            raise SeedError(f"seed: staff[{i}]: badge_code and pin are strings")
        staff_rows.append(
            {
                "id": s["id"],
                "name": str(s["name"]),
                "badge_code": s["badge_code"],
                "pin_hash": _seed_pin_hash(s["badge_code"], s["pin"]),
                "active": bool(s.get("active", True)),
                "position": i,
            }
        )
    if len({r["badge_code"] for r in staff_rows}) != len(staff_rows):
        raise SeedError("seed: two staff members share a badge code")
    staff_ids = {r["id"] for r in staff_rows}

    member_rows = []
    for m in _entries(seed, "members", _MEMBER_KEYS):
        phone, email = m.get("phone"), m.get("email")
        member_rows.append(
            {
                "id": m["id"],
                "name": str(m["name"]),
                "phone": phone,
                "phone_digits": phone_digits(phone) if phone else None,
                "email": email,
                "email_lower": email.strip().lower() if email else None,
                "member_code": m.get("member_code"),
            }
        )
    codes = [r["member_code"] for r in member_rows if r["member_code"]]
    if len(set(codes)) != len(codes):
        raise SeedError("seed: two members share a member code")
    member_ids = {r["id"] for r in member_rows}

    overdue_days = float(cfg.get("overdue_days", DEFAULT_SETTINGS["overdue_days"]))
    order_rows = []
    doors_in_use: set[int] = set()
    for i, o in enumerate(_entries(seed, "orders", _ORDER_KEYS)):
        where = f"seed: orders[{i}]"
        status = o["status"]
        if status not in API_STATUSES:
            raise SeedError(f"{where}: unknown status {status!r}")
        if o["member_id"] not in member_ids:
            raise SeedError(f"{where}: unknown member_id {o['member_id']!r}")
        for key in ("received_by", "handed_over_by"):
            if o.get(key) is not None and o[key] not in staff_ids:
                raise SeedError(f"{where}: {key} is not a staff id")
        arrived_at = None
        if o.get("arrived_at") is not None:
            try:
                arrived_at = parse_time(str(o["arrived_at"]))
            except ValueError as exc:
                raise SeedError(f"{where}: arrived_at is not an RFC 3339 time with offset") from exc
        elif status == "overdue":
            arrived_at = now - (overdue_days + 1) * DAY
        elif status != "shipped":
            arrived_at = now  # "an arrived order without arrived_at arrived when the seed was loaded"
        if status == "shipped":
            arrived_at = None
        door = o.get("locker_door")
        if door is not None and (not isinstance(door, int) or isinstance(door, bool) or not 1 <= door <= MAX_DOOR):
            raise SeedError(f"{where}: locker_door is a door number from 1 to {MAX_DOOR}")
        stored = "arrived" if status == "overdue" else status
        if door is not None and stored in DOOR_HOLDING:
            if door in doors_in_use:
                raise SeedError(f"{where}: door {door} already holds another order")
            doors_in_use.add(door)
        order_rows.append(
            {
                "id": o["id"],
                "number": str(o["number"]),
                "member_id": o["member_id"],
                "package_code": str(o["package_code"]),
                "items_summary": o.get("items_summary"),
                "status": stored,
                "arrived_at": arrived_at,
                "locker_door": door,
                "received_by": o.get("received_by"),
                "handed_over_by": o.get("handed_over_by"),
                "return_reason": o.get("return_reason"),
                "updated_at": now,
            }
        )
    for key in ("number", "package_code"):
        values = [r[key] for r in order_rows]
        if len(set(values)) != len(values):
            raise SeedError(f"seed: two orders share a {key}")
    return [
        (db.settings, setting_rows),
        (kiosks, kiosk_rows),
        (staff, staff_rows),
        (members, member_rows),
        (orders, order_rows),
    ]
