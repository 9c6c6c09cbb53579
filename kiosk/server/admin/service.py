"""The back office's reads and writes (docs/api.md r2, "Back office"), shared by the JSON API and the
pages. Order transitions go through the store's own calls (one set of rules for staff and
admins); this module adds what only admins see: unmasked customers, pickup codes, notices,
settings, staff accounts, the commission report and the fleet.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from kiosk.journal import log_event
from kiosk.server import db, notices
from kiosk.server.common import DAY, ApiError, Caller, check_code, is_bad_text, phone_digits, utc_iso
from kiosk.server.kiosks import ALARM_KINDS
from kiosk.server.orders import wanted_statuses
from kiosk.server.security import hash_secret
from kiosk.server.settings import DEFAULT_SETTINGS, SettingsError, check_settings

logger = logging.getLogger(__name__)

ONLINE_SECONDS = 90.0
MODES = ("locker", "counter")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_STAFF_ID = re.compile(r"s_(\d+)")


def _next_staff_id(taken: set[str]) -> str:
    """``s_<n>`` after the highest such id taken (a seed may have used any ids)."""
    n = max((int(m[1]) for t in taken if (m := _STAFF_ID.fullmatch(t))), default=0) + 1
    while f"s_{n}" in taken:
        n += 1
    return f"s_{n}"


class AdminService:
    """The back office on one :class:`kiosk.server.store.Store`."""

    def __init__(self, store: Any, wake_sender: Any = None):
        self.store = store
        self.wake_sender = wake_sender or (lambda: None)

    # ------------------------------------------------------------ settings

    def settings(self) -> dict[str, Any]:
        """Every key of ``GET /settings`` plus ``store_name`` and ``timezone``, from the database."""
        merged = dict(DEFAULT_SETTINGS)
        with self.store.read() as conn:
            for key, value in conn.execute(select(db.settings.c.key, db.settings.c.value)):
                if key in merged:
                    merged[key] = json.loads(value)
        return merged

    def patch_settings(self, changes: Any) -> dict[str, Any]:
        try:
            valid = check_settings(changes)
        except SettingsError as exc:
            raise ApiError(422, "validation_error", str(exc)) from None
        if valid:
            with self.store.write() as conn:
                for key, value in valid.items():
                    text = json.dumps(value, ensure_ascii=False)
                    res = conn.execute(update(db.settings).where(db.settings.c.key == key).values(value=text))
                    if res.rowcount == 0:
                        conn.execute(insert(db.settings).values(key=key, value=text))
            self.store.reload()
            log_event(logger, "settings_changed", keys=",".join(sorted(valid)))
        return self.settings()

    # ------------------------------------------------------------ orders

    def _select(self):
        o, m = db.orders, db.members
        return select(
            *self.store._order_cols,
            m.c.email.label("member_email"),
            o.c.return_reason,
            o.c.received_at,
        ).select_from(o.outerjoin(m, m.c.id == o.c.member_id))

    def _view(self, row: Row, now: float, notes: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
        out = self.store.order_view(row, now)
        waiting = out["status"] in ("arrived", "overdue")
        out["customer"] = {"name": row.member_name, "phone": row.member_phone, "email": row.member_email}
        out["pickup_code"] = row.pickup_code if waiting else None
        out["return_reason"] = row.return_reason
        out["received_at"] = utc_iso(row.received_at)
        out["notices"] = [{k: n[k] for k in ("kind", "state", "sent_at")} for n in notes.get(row.id, [])]
        return out

    def orders(self, status: str | None = None, q: str | None = None, limit: int | None = None) -> list[dict]:
        """AdminOrders, ``status`` one or a comma-separated list, ``q`` an exact number, phone
        (by digits) or e-mail (any case); by ``arrived_at`` ascending (not arrived last)."""
        stmt = self._select()
        now = self.store.now()
        if status is not None and status.strip():
            if is_bad_text(status, 400):
                raise ApiError(400, "bad_input", "status is too long or holds a control character")
            stmt = stmt.where(self.store._status_filter(wanted_statuses(status), now))
        if q is not None and q.strip():
            q = q.strip()
            if is_bad_text(q, 200):
                raise ApiError(400, "bad_input", "q is too long or holds a control character")
            conds = [db.orders.c.number == q, db.members.c.email_lower == q.lower()]
            digits = phone_digits(q)
            if len(digits) >= 6 and re.fullmatch(r"[\d\s()+.-]+", q):
                conds.append(db.members.c.phone_digits == digits)
            stmt = stmt.where(or_(*conds))
        stmt = stmt.order_by(db.orders.c.arrived_at.is_(None), db.orders.c.arrived_at, db.orders.c.number)
        if limit is not None:
            stmt = stmt.limit(limit)
        with self.store.read() as conn:
            rows = conn.execute(stmt).all()
            notes = notices.notices_of(conn, [r.id for r in rows])
        return [self._view(r, now, notes) for r in rows]

    def order(self, order_id: str, with_history: bool = False) -> dict[str, Any]:
        check_code(order_id, "order id")
        now = self.store.now()
        with self.store.read() as conn:
            row = conn.execute(self._select().where(db.orders.c.id == order_id)).first()
            if row is None:
                raise ApiError(404, "order_not_found", "no such order")
            notes = notices.notices_of(conn, [order_id])
            out = self._view(row, now, notes)
            if with_history:
                out["history"] = self._history(conn, order_id)
                out["notice_rows"] = notes[order_id]
        return out

    def _history(self, conn: Connection, order_id: str) -> list[dict[str, Any]]:
        e = db.order_events
        rows = conn.execute(
            select(e.c.kind, e.c.at, e.c.kiosk_id, e.c.staff_id, db.staff.c.name.label("staff_name"))
            .select_from(e.outerjoin(db.staff, db.staff.c.id == e.c.staff_id))
            .where(e.c.order_id == order_id)
            .order_by(e.c.at, e.c.id)
        ).all()
        return [
            {
                "kind": r.kind,
                "at": utc_iso(r.at),
                "kiosk_id": r.kiosk_id,
                "staff_id": r.staff_id,
                "staff_name": r.staff_name,
            }
            for r in rows
        ]

    def _order_call(
        self, name: str, order_id: str, body: dict[str, Any], key: str | None, path: str
    ) -> tuple[int, Any]:
        """Run the store's staff call ``name`` on the admin API's idempotency scope."""
        check_code(order_id, "order id")
        caller = Caller.admin(key, path)
        status, answer = getattr(self.store, name)(caller, body, order_id=order_id)
        if status != 200 or "customer" in answer:  # a refusal, or the replay of a stored AdminOrder
            return status, answer
        view = self.order(order_id)
        if key is not None:  # a replay of this key answers this AdminOrder, not the kiosk's Order shape
            i = db.idempotency.c
            with self.store.write() as conn:
                conn.execute(
                    update(db.idempotency)
                    .where(i.scope == caller.scope, i.key == key, i.status_code == 200)
                    .values(response=json.dumps(view, ensure_ascii=False))
                )
        return 200, view

    def request_return(self, order_id: str, body: dict[str, Any], key: str | None, path: str) -> tuple[int, Any]:
        return self._order_call("request_return", order_id, body, key, path)

    def review_return(self, order_id: str, body: dict[str, Any], key: str | None, path: str) -> tuple[int, Any]:
        return self._order_call("review_return", order_id, body, key, path)

    def complete_return(self, order_id: str, body: dict[str, Any], key: str | None, path: str) -> tuple[int, Any]:
        return self._order_call("complete_return", order_id, body, key, path)

    def notify(self, order_id: str, key: str | None = None, path: str = "") -> tuple[int, Any]:
        """Queue the arrival notice again: 409 ``wrong_status`` unless waiting, 409 ``no_contact``
        without an e-mail address. With an Idempotency-Key (admin scope) a replay answers the
        first answer and queues nothing (200 ``{}`` here: the API answers it 202)."""
        check_code(order_id, "order id")

        def change(conn: Connection, now: float) -> dict[str, Any]:
            row = conn.execute(select(db.orders.c.status, db.orders.c.number).where(db.orders.c.id == order_id)).first()
            if row is None:
                raise ApiError(404, "order_not_found", "no such order")
            if row.status != "arrived":
                raise ApiError(409, "wrong_status", f"the order is {row.status}, not waiting for pickup")
            if not notices.queue_resend(conn, order_id, now):
                raise ApiError(409, "no_contact", "the member has no e-mail address")
            log_event(logger, "notice_requested", order=row.number)
            return {}

        status, answer = self.store.idempotent(Caller.admin(key, path), {}, change)
        if status == 200:
            self.wake_sender()
        return status, answer

    # ------------------------------------------------------------ commission

    @staticmethod
    def parse_period(date_from: Any, date_to: Any) -> tuple[date, date]:
        try:
            if not (isinstance(date_from, str) and isinstance(date_to, str)):
                raise ValueError
            if not (_DATE.fullmatch(date_from) and _DATE.fullmatch(date_to)):
                raise ValueError
            start, end = date.fromisoformat(date_from), date.fromisoformat(date_to)
        except ValueError:
            raise ApiError(422, "validation_error", "from and to are dates YYYY-MM-DD") from None
        if end < start:
            raise ApiError(422, "validation_error", "to is before from")
        return start, end

    def commission(self, date_from: Any, date_to: Any) -> list[dict[str, Any]]:
        """Per staff member (all, inactive too): arrivals received and hand-overs in [from, to]."""
        start, end = self.parse_period(date_from, date_to)
        lo = datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp()
        hi = datetime(end.year, end.month, end.day, tzinfo=UTC).timestamp() + DAY
        o, s = db.orders, db.staff
        with self.store.read() as conn:
            staff_rows = conn.execute(select(s.c.id, s.c.name).order_by(s.c.position, s.c.id)).all()

            def count(by: Any, at: Any) -> dict[Any, int]:
                """Orders per staff member in ``by`` whose time ``at`` is within the period."""
                query = select(by, func.count()).where(by.is_not(None), at >= lo, at < hi).group_by(by)
                return dict(conn.execute(query).all())

            received = count(o.c.received_by, o.c.arrived_at)
            handed = count(o.c.handed_over_by, o.c.received_at)
        return [
            {
                "staff_id": r.id,
                "name": r.name,
                "received": int(received.get(r.id, 0)),
                "handed_over": int(handed.get(r.id, 0)),
            }
            for r in staff_rows
        ]

    @staticmethod
    def commission_csv(rows: list[dict[str, Any]]) -> str:
        import csv
        import io

        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow(["staff_id", "name", "received", "handed_over"])
        for r in rows:
            writer.writerow([_csv_safe(r["staff_id"]), _csv_safe(r["name"]), r["received"], r["handed_over"]])
        return buf.getvalue()

    @staticmethod
    def default_period(now: float) -> tuple[str, str]:
        """This month so far (UTC)."""
        today = datetime.fromtimestamp(now, UTC).date()
        return today.replace(day=1).isoformat(), today.isoformat()

    # ------------------------------------------------------------ staff

    @staticmethod
    def _staff_view(row: Row) -> dict[str, Any]:
        return {"id": row.id, "name": row.name, "badge_code": row.badge_code, "active": bool(row.active)}

    def staff(self) -> list[dict[str, Any]]:
        s = db.staff
        with self.store.read() as conn:
            rows = conn.execute(
                select(s.c.id, s.c.name, s.c.badge_code, s.c.active).order_by(s.c.position, s.c.id)
            ).all()
        return [self._staff_view(r) for r in rows]

    @staticmethod
    def _check_staff_fields(body: dict[str, Any]) -> None:
        if "name" in body:
            name = body["name"]
            if not name.strip() or is_bad_text(name, 200):
                raise ApiError(400, "bad_input", "name is empty, too long or holds a control character")
        if "badge_code" in body:
            check_code(body["badge_code"], "badge_code")
        if "pin" in body:
            check_code(body["pin"], "pin")
        if "id" in body and body["id"] is not None:
            check_code(body["id"], "id", 64)

    def add_staff(self, body: dict[str, Any], key: str | None = None, path: str = "") -> tuple[int, Any]:
        """A new staff member (``id`` optional); 409 ``staff_exists`` / ``badge_taken``. With an
        Idempotency-Key (admin scope) a replay answers the first answer and adds nobody (the
        key's body hash leaves the PIN out: ``store.body_hash``)."""
        caller = Caller.admin(key, path)
        try:
            self._check_staff_fields(body)
        except ApiError as exc:  # stored against the key like every answer but 401, 429, 5xx
            return self.store.refuse(caller, body, exc)
        s = db.staff
        pin_hash = hash_secret(body["pin"])  # the KDF outside the write lock

        def change(conn: Connection, _now: float) -> dict[str, Any]:
            given = body.get("id")
            position = conn.execute(select(func.coalesce(func.max(s.c.position), -1))).scalar_one() + 1
            for _attempt in range(20):
                taken = {r.id for r in conn.execute(select(s.c.id))}
                if given is not None and given in taken:
                    raise ApiError(409, "staff_exists", "a staff member has this id")
                self._badge_free(conn, body["badge_code"])
                staff_id = given if given is not None else _next_staff_id(taken)
                try:
                    with conn.begin_nested():
                        conn.execute(
                            insert(s).values(
                                id=staff_id,
                                name=body["name"].strip(),
                                badge_code=body["badge_code"],
                                pin_hash=pin_hash,
                                active=bool(body.get("active", True)),
                                position=position,
                            )
                        )
                    break
                except IntegrityError:  # PostgreSQL: a parallel add took the id or the badge; look again
                    continue
            else:
                raise ApiError(409, "conflict", "other staff members were being added; retry")
            row = conn.execute(select(s.c.id, s.c.name, s.c.badge_code, s.c.active).where(s.c.id == staff_id)).one()
            log_event(logger, "staff_added", staff=staff_id)
            return self._staff_view(row)

        return self.store.idempotent(caller, body, change)

    @staticmethod
    def _badge_free(conn: Connection, badge_code: str, staff_id: str | None = None) -> None:
        """409 ``badge_taken`` if a staff member other than ``staff_id`` has this badge."""
        s = db.staff
        if conn.execute(select(s.c.id).where(s.c.badge_code == badge_code, s.c.id != staff_id)).first() is not None:
            raise ApiError(409, "badge_taken", "another staff member has this badge")

    def patch_staff(self, staff_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Change name, badge, PIN or active; a PIN change or a deactivation ends the member's
        staff tokens."""
        check_code(staff_id, "staff id", 64)
        self._check_staff_fields(body)
        s = db.staff
        values: dict[str, Any] = {}
        if "name" in body:
            values["name"] = body["name"].strip()
        if "badge_code" in body:
            values["badge_code"] = body["badge_code"]
        if "active" in body:
            values["active"] = bool(body["active"])
        if "pin" in body:
            values["pin_hash"] = hash_secret(body["pin"])
        end_tokens = "pin_hash" in values or values.get("active") is False
        with self.store.write() as conn:
            if conn.execute(select(s.c.id).where(s.c.id == staff_id)).first() is None:
                raise ApiError(404, "staff_not_found", "no staff member has this id")
            if "badge_code" in values:
                self._badge_free(conn, values["badge_code"], staff_id)
            if values:
                try:
                    with conn.begin_nested():
                        conn.execute(update(s).where(s.c.id == staff_id).values(**values))
                except IntegrityError:  # PostgreSQL: a parallel call gave the badge to another member
                    if "badge_code" in values:
                        self._badge_free(conn, values["badge_code"], staff_id)
                    raise
            if end_tokens:
                self.store.end_staff_tokens(staff_id, conn)
            row = conn.execute(select(s.c.id, s.c.name, s.c.badge_code, s.c.active).where(s.c.id == staff_id)).one()
        log_event(
            logger,
            "staff_changed",
            staff=staff_id,
            fields=",".join(sorted(k for k in body if k != "pin")) or "-",
            pin="pin" in body,
            tokens_ended=end_tokens,
        )
        return self._staff_view(row)

    # ------------------------------------------------------------ kiosks, alarms, events

    def kiosks(self) -> list[dict[str, Any]]:
        k, h = db.kiosks, db.heartbeats
        now = self.store.now()
        with self.store.read() as conn:
            rows = conn.execute(
                select(k.c.id, k.c.mode, h.c.at, h.c.state, h.c.camera, h.c.gpio, h.c.outbox, h.c.version)
                .select_from(k.outerjoin(h, h.c.kiosk_id == k.c.id))
                .order_by(k.c.position, k.c.id)
            ).all()
        by_kiosk = self.store.open_alarms()
        return [
            {
                "id": r.id,
                "mode": r.mode,
                "online": r.at is not None and now - r.at <= ONLINE_SECONDS,
                "last_seen": utc_iso(r.at),
                "state": r.state,
                "camera": r.camera,
                "gpio": r.gpio,
                "outbox": r.outbox,
                "version": r.version,
                "alarms": by_kiosk.get(r.id, []),
            }
            for r in rows
        ]

    def set_mode(self, kiosk_id: str, mode: Any) -> dict[str, Any]:
        check_code(kiosk_id, "kiosk id", 64)
        if mode not in MODES:
            raise ApiError(422, "validation_error", 'mode is "locker" or "counter"')
        with self.store.write() as conn:
            res = conn.execute(update(db.kiosks).where(db.kiosks.c.id == kiosk_id).values(mode=mode))
            if res.rowcount == 0:
                raise ApiError(404, "kiosk_not_found", "no kiosk has this id")
        self.store.reload()
        log_event(logger, "kiosk_mode_set", kiosk=kiosk_id, mode=mode)
        return next(k for k in self.kiosks() if k["id"] == kiosk_id)

    def ack_alarm(self, kiosk_id: str, kind: Any, door: Any, admin: str) -> None:
        """Close the open alarms of (kiosk, kind, door); nothing open is fine too."""
        check_code(kiosk_id, "kiosk id", 64)
        if kind not in ALARM_KINDS:
            raise ApiError(422, "validation_error", "kind is door_forced or door_left_open")
        if door is not None and (isinstance(door, bool) or not isinstance(door, int) or not 0 <= door <= 100_000):
            raise ApiError(422, "validation_error", "door is a door number")
        with self.store.read() as conn:
            if conn.execute(select(db.kiosks.c.id).where(db.kiosks.c.id == kiosk_id)).first() is None:
                raise ApiError(404, "kiosk_not_found", "no kiosk has this id")
        self.store.ack_alarm(kiosk_id, kind, door, admin)

    def events(self, kiosk: str | None = None, kind: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        if kiosk:
            check_code(kiosk, "kiosk", 64)
        if kind:
            check_code(kind, "kind", 64)
        return self.store.kiosk_events(kiosk=kiosk or None, kind=kind or None, limit=limit)

    def staff_names(self) -> dict[str, str]:
        with self.store.read() as conn:
            return {r.id: r.name for r in conn.execute(select(db.staff.c.id, db.staff.c.name))}


def _csv_safe(value: Any) -> str:
    """A cell a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def days_ago(now: float, days: int) -> str:
    return (datetime.fromtimestamp(now, UTC).date() - timedelta(days=days)).isoformat()
