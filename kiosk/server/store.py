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

import hashlib
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from kiosk.journal import log_event
from kiosk.privacy import code_ref, mask_name, mask_phone
from kiosk.server import db
from kiosk.server.common import (  # noqa: F401  (re-exported: revision 1's import paths)
    DAY,
    MAX_CODE,
    MAX_COUNT,
    MAX_DOOR,
    ApiError,
    SeedError,
    check_code,
    health,
    is_bad_text,
    parse_time,
    phone_digits,
    utc_iso,
)
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
from kiosk.server.security import (  # noqa: F401
    DUMMY_HASH,
    Lockout,
    equal_codes,
    hash_pin,
    token_hash,
    verify_pin,
)
from kiosk.server.seed import API_STATUSES, seed_rows
from kiosk.server.settings import DEFAULT_SETTINGS, kiosk_view

logger = logging.getLogger(__name__)

STAFF_TOKEN_SECONDS = 43200


def body_hash(method: str, path: str, body: Any) -> str:
    canon = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{method} {path}\n{canon}".encode("utf-8", "surrogatepass")).hexdigest()


# ---------------------------------------------------------------- the store


class Store:
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
        self.lockout = Lockout(self.write, self.now, postgres=not self.is_sqlite)
        db.create_schema(self.engine)
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
        rows = seed_rows(seed, self.now())
        with self.write() as conn:
            for table, items in rows:
                if items:
                    conn.execute(insert(table), items)
        self.reload()
        log_event(
            logger,
            "seed_loaded",
            kiosks=len(rows[2][1]),
            staff=len(rows[3][1]),
            members=len(rows[4][1]),
            orders=len(rows[5][1]),
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
        return kiosk_view(self.settings)

    def list_staff(self) -> list[dict[str, str]]:
        with self.read() as conn:
            rows = conn.execute(
                select(staff.c.id, staff.c.name).where(staff.c.active.is_(True)).order_by(staff.c.position)
            ).all()
        return [{"id": r.id, "name": r.name} for r in rows]

    def attempt(self, kind: str, key: str):
        """A lockout slot for one look-up or login of a kiosk (settings' attempts and window)."""
        cfg = self.settings
        return self.lockout.attempt(kind, key, int(cfg["lockout_attempts"]), float(cfg["lockout_seconds"]))

    def staff_login(self, kiosk_id: str, badge_code: str, pin: str) -> dict[str, Any]:
        check_code(badge_code, "badge_code")
        check_code(pin, "pin")
        with self.attempt("login", kiosk_id) as slot:
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
        with self.attempt("lookup", kiosk_id) as slot:
            with self.read() as conn:
                found = conn.execute(query, {"v": key}).all()
            member = found[0] if found else None
            rows = [r for r in found if r.m_id == member.m_id and r.id is not None] if member else []
            if member is None:
                slot.fail()
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
        scope: str,
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
                            idempotency.c.scope == scope, idempotency.c.key == key
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
                            scope=scope,
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

        return self.idempotent(f"kiosk:{kiosk_id}", key, "POST", path, body, change)

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
            if package_code is not None and not equal_codes(package_code, row.package_code):
                raise ApiError(409, "package_mismatch", "this parcel belongs to another order")
            if door is not None and door != row.locker_door:
                raise ApiError(409, "package_mismatch", "this order is not behind that door")
            self._transition(conn, order_id, "arrived", now, status="received", handed_over_by=handed_over_by)
            self._event(conn, order_id, "pickup", now, kiosk_id=kiosk_id, staff_id=handed_over_by, idempotency_key=key)
            log_event(logger, "picked_up", order=row.number, door=row.locker_door, kiosk=kiosk_id)
            return self._after(conn, order_id, now)

        return self.idempotent(f"kiosk:{kiosk_id}", key, "POST", path, body, change)

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

        return self.idempotent(f"kiosk:{kiosk_id}", key, "POST", path, body, change)

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

        return self.idempotent(f"kiosk:{kiosk_id}", key, "POST", path, body, change)

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

        return self.idempotent(f"kiosk:{kiosk_id}", key, "POST", path, body, change)

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


def _path_ref(path: str) -> str:
    """A path for a log line with its codes replaced by references."""
    return re.sub(r"/(parcels|orders)/([^/]+)", lambda m: f"/{m[1]}/{code_ref(m[2])}", path)
