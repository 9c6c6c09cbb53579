"""Kiosks' own reports: heartbeats and events (docs/api.md r2), a mixin of the Store.

A ``door_forced`` or ``door_left_open`` event opens an alarm; it stays open until a later
received ``door_closed`` for that door (it closes both kinds) or an admin acknowledges it. The
back office reads them with :meth:`KioskRules.kiosk_events`, :meth:`KioskRules.open_alarms`
and closes them with :meth:`KioskRules.ack_alarm`.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from kiosk.journal import log_event
from kiosk.server.common import MAX_COUNT, MAX_DOOR, ApiError, Caller, is_bad_text, parse_time, utc_iso
from kiosk.server.db import alarms, heartbeats, kiosk_events

logger = logging.getLogger(__name__)

EVENT_KINDS = (
    "door_forced",
    "door_left_open",
    "door_closed",
    "door_not_opened",
    "camera_lost",
    "camera_back",
    "outbox_attention",
    "locked_out",
)
ALARM_KINDS = ("door_forced", "door_left_open")
MAX_DETAIL = 1000


class KioskRules:
    """Heartbeats, events and door alarms; mixed into the Store."""

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

    # ------------------------------------------------------------ events and alarms

    def kiosk_event(self, caller: Caller, body: dict[str, Any]) -> tuple[int, Any]:
        """``POST /kiosks/{id}/events`` (idempotent): store the event, open or close alarms."""
        kiosk_id = caller.kiosk_id
        kind = body["kind"]
        door = body.get("door")
        detail = body.get("detail")

        def change(conn: Connection, now: float) -> None:
            # refusals of the body too are answers stored against the key (docs/api.md)
            if door is not None and not 1 <= door <= MAX_DOOR:
                raise ApiError(400, "bad_input", f"door is a door number from 1 to {MAX_DOOR}")
            if detail is not None and is_bad_text(detail.replace("\n", " ").replace("\t", " "), MAX_DETAIL):
                raise ApiError(
                    400, "bad_input", f"detail is longer than {MAX_DETAIL} characters or holds a control character"
                )
            at = _event_time(body["at"])
            if kind not in EVENT_KINDS:
                raise ApiError(422, "validation_error", "kind is one of " + ", ".join(EVENT_KINDS))
            event_id = conn.execute(
                insert(kiosk_events).values(
                    kiosk_id=kiosk_id, kind=kind, door=door, at=at, detail=detail, received_at=now
                )
            ).inserted_primary_key[0]
            a = alarms.c
            if kind in ALARM_KINDS:
                open_already = conn.execute(
                    select(a.id).where(a.kiosk_id == kiosk_id, a.kind == kind, _door_is(door), a.closed_at.is_(None))
                ).first()
                if open_already is None:
                    conn.execute(
                        insert(alarms).values(kiosk_id=kiosk_id, kind=kind, door=door, at=at, event_id=event_id)
                    )
            elif kind == "door_closed":
                conn.execute(
                    update(alarms)
                    .where(a.kiosk_id == kiosk_id, _door_is(door), a.closed_at.is_(None))
                    .values(closed_at=now, closed_by="door_closed")
                )
            log_event(logger, "kiosk_event", logging.WARNING if kind in ALARM_KINDS else logging.INFO,
                      kiosk=kiosk_id, kind=kind, door=door)  # fmt: skip
            return None

        return self.idempotent(caller, body, change)

    def kiosk_events(
        self, *, kiosk: str | None = None, kind: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Events, newest (received) first: ``[{"kiosk_id","kind","door","at","detail"}]``."""
        e = kiosk_events.c
        stmt = select(e.kiosk_id, e.kind, e.door, e.at, e.detail).order_by(e.received_at.desc(), e.id.desc())
        if kiosk is not None:
            stmt = stmt.where(e.kiosk_id == kiosk)
        if kind is not None:
            stmt = stmt.where(e.kind == kind)
        with self.read() as conn:
            rows = conn.execute(stmt.limit(max(0, int(limit)))).all()
        return [
            {"kiosk_id": r.kiosk_id, "kind": r.kind, "door": r.door, "at": utc_iso(r.at), "detail": r.detail}
            for r in rows
        ]

    def open_alarms(self, kiosk_id: str | None = None) -> dict[str, list[dict[str, Any]]]:
        """Open alarms per kiosk id: ``{"k_1": [{"kind","door","at"}]}`` (oldest first)."""
        a = alarms.c
        stmt = select(a.kiosk_id, a.kind, a.door, a.at).where(a.closed_at.is_(None)).order_by(a.at, a.id)
        if kiosk_id is not None:
            stmt = stmt.where(a.kiosk_id == kiosk_id)
        out: dict[str, list[dict[str, Any]]] = {}
        with self.read() as conn:
            for r in conn.execute(stmt):
                out.setdefault(r.kiosk_id, []).append({"kind": r.kind, "door": r.door, "at": utc_iso(r.at)})
        return out

    def ack_alarm(self, kiosk_id: str, kind: str, door: int | None, admin: str = "admin") -> int:
        """Close the open alarms of (kiosk, kind, door); how many were open (0 is fine: docs/api.md 204)."""
        a = alarms.c
        with self.write() as conn:
            res = conn.execute(
                update(alarms)
                .where(a.kiosk_id == kiosk_id, a.kind == kind, _door_is(door), a.closed_at.is_(None))
                .values(closed_at=self.now(), closed_by=f"ack:{admin}"[:64])
            )
        log_event(logger, "alarm_ack", kiosk=kiosk_id, kind=kind, door=door, closed=res.rowcount)
        return int(res.rowcount)


def _event_time(text: str) -> float:
    """An event's ``at`` as epoch seconds, or 400 ``bad_input``."""
    try:
        at = parse_time(text)
        utc_iso(at)  # shown again as UTC (events, alarms): years 1 to 9999 there too
    except (ValueError, OverflowError, OSError):
        raise ApiError(400, "bad_input", "at is an RFC 3339 time with an offset") from None
    return at


def _door_is(door: int | None) -> Any:
    return alarms.c.door.is_(None) if door is None else alarms.c.door == door
