"""Orders (docs/api.md "Order", arrive, pickup, the return steps): a mixin of :class:`~kiosk.server.store.Store`.

The methods use the store's ``read()``/``write()`` transactions, its cached ``settings`` and
``idempotent()``; each write takes a :class:`~kiosk.server.common.Caller` (idempotency key,
path, scope, kiosk, staff member) and the body. Pickup codes are given here, when an order
becomes ``arrived`` (and when a rejected return review puts an order without one back on the
shelf); functions in ``arrival_hooks`` (the notices' queue) run in the same transaction for
every order that gets one: ``hook(conn, order_id, now)``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from kiosk.journal import log_event
from kiosk.privacy import mask_email, mask_name, mask_phone
from kiosk.server.common import DAY, MAX_DOOR, ApiError, Caller, check_code, utc_iso
from kiosk.server.db import DOOR_HOLDING, lookups, members, order_events, orders, staff
from kiosk.server.security import equal_codes, random_pickup_code
from kiosk.server.seed import API_STATUSES

logger = logging.getLogger(__name__)

# a locker pickup is accepted this long after its look-up (its door has already opened)
LOCKER_PICKUP_SECONDS = 86400.0


def wanted_statuses(status: str) -> list[str]:
    """The statuses of a ``status`` filter (one, or a comma-separated list), else 400 ``bad_input``."""
    wanted = [s.strip() for s in status.split(",") if s.strip()]
    if not wanted or any(s not in API_STATUSES for s in wanted):
        raise ApiError(400, "bad_input", "status takes one or more of: " + ", ".join(API_STATUSES))
    return wanted


class OrderRules:
    """Reading orders and changing their status; mixed into the Store."""

    arrival_hooks: list[Callable[[Connection, str, float], None]]

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
        orders.c.pickup_code,
        members.c.name.label("member_name"),
        members.c.phone.label("member_phone"),
    )

    # the member's e-mail: customer_masked shows it when the member has no phone
    _member_email = members.c.email.label("member_email")

    def _order_select(self):
        return select(*self._order_cols, self._member_email).select_from(
            orders.outerjoin(members, members.c.id == orders.c.member_id)
        )

    def order_view(self, row: Row, now: float | None = None) -> dict[str, Any]:
        """A row of :meth:`_order_select` as docs/api.md's Order (status ``overdue`` computed)."""
        now = self.now() if now is None else now
        overdue_at = None
        status = row.status
        if row.arrived_at is not None:
            overdue_at = row.arrived_at + float(self.settings["overdue_days"]) * DAY
        overdue = status == "arrived" and overdue_at is not None and now >= overdue_at
        if overdue:
            status = "overdue"
        masked = mask_name(row.member_name or "")
        email = getattr(row, "member_email", None)
        if row.member_phone:
            masked += " / " + mask_phone(row.member_phone)
        elif email:  # docs/api.md masking: an e-mail keeps its first character and domain
            masked += " / " + mask_email(email)
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
        wanted = wanted_statuses(status)
        now = self.now()
        with self.read() as conn:
            rows = conn.execute(
                self._order_select()
                .where(self._status_filter(wanted, now))
                .order_by(orders.c.arrived_at.is_(None), orders.c.arrived_at, orders.c.number)
            ).all()
        return [self.order_view(r, now) for r in rows]

    def _event(
        self, conn: Connection, order_id: str, kind: str, now: float, caller: Caller, staff_id: str | None
    ) -> None:
        """The order's event row: the caller's kiosk and key, and the staff member it names."""
        conn.execute(
            insert(order_events).values(
                order_id=order_id,
                kind=kind,
                at=now,
                kiosk_id=caller.kiosk_id,
                staff_id=staff_id,
                idempotency_key=caller.key,
            )
        )

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

    def _locked_order_in(self, conn: Connection, order_id: str, status: str, refusal: str | None = None) -> Row:
        """The order, locked, when it is in ``status``; else 409 ``wrong_status``: "the order is
        <its status>" and ``refusal`` (by default ", not <status>")."""
        row = self._locked_order_by_id(conn, order_id)
        if row.status != status:
            why = refusal or f", not {status}"
            raise ApiError(409, "wrong_status", f"the order is {row.status}{why}")
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

    def arrive(self, caller: Caller, body: dict[str, Any], *, package_code: str) -> tuple[int, dict[str, Any]]:
        # absent or null: the logged-in staff member; any other value must be an active staff id
        received_by = body.get("received_by")
        if received_by is None:
            received_by = caller.staff_id
        door = body.get("locker_door")

        def change(conn: Connection, now: float) -> dict[str, Any]:
            # refusals of the body too are answers stored against the key (docs/api.md)
            check_code(package_code, "package_code")
            if door is not None and not 1 <= door <= MAX_DOOR:
                raise ApiError(400, "bad_input", f"locker_door is a door number from 1 to {MAX_DOOR}")
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
            self._give_pickup_code(conn, row.id, now)
            self._event(conn, row.id, "arrive", now, caller, received_by)
            log_event(logger, "arrived", order=row.number, door=door, staff=received_by, kiosk=caller.kiosk_id)
            return self._after(conn, row.id, now)

        return self.idempotent(caller, body, change)

    def _door_taken(self, conn: Connection, door: int, order_id: str) -> bool:
        return (
            conn.execute(
                select(orders.c.id).where(
                    orders.c.locker_door == door, orders.c.status.in_(DOOR_HOLDING), orders.c.id != order_id
                )
            ).first()
            is not None
        )

    def pickup(self, caller: Caller, body: dict[str, Any], *, order_id: str) -> tuple[int, dict[str, Any]]:
        """docs/api.md r2: a pickup names its look-up; the checks run in the contract's order."""
        lookup_id = body["lookup_id"]
        package_code = body.get("package_code")
        door = body.get("locker_door")
        handed_over_by = body.get("handed_over_by")

        def change(conn: Connection, now: float) -> dict[str, Any]:
            check_code(order_id, "order id")
            check_code(lookup_id, "lookup_id")
            if package_code is not None:
                check_code(package_code, "package_code")
            if door is not None and not 1 <= door <= MAX_DOOR:
                raise ApiError(400, "bad_input", f"locker_door is a door number from 1 to {MAX_DOOR}")
            if (package_code is None) == (door is None):
                raise ApiError(422, "validation_error", "give exactly one of package_code and locker_door")
            if handed_over_by is not None:
                check_code(handed_over_by, "handed_over_by")
                self._active_staff(conn, handed_over_by, "handed_over_by")
            allowed = self._lookup_allows(conn, lookup_id, caller.kiosk_id, now, locker=door is not None)
            row = self._locked_order_by_id(conn, order_id)
            if order_id not in allowed:
                raise ApiError(403, "not_your_order", "this look-up did not allow this order")
            if row.status != "arrived":
                raise ApiError(409, "wrong_status", f"the order is {row.status}, not waiting for pickup")
            if package_code is not None and not equal_codes(package_code, row.package_code):
                raise ApiError(409, "package_mismatch", "this parcel belongs to another order")
            if door is not None and door != row.locker_door:
                raise ApiError(409, "package_mismatch", "this order is not behind that door")
            self._transition(
                conn, order_id, "arrived", now, status="received", handed_over_by=handed_over_by, received_at=now
            )
            self._event(conn, order_id, "pickup", now, caller, handed_over_by)
            log_event(logger, "picked_up", order=row.number, door=row.locker_door, kiosk=caller.kiosk_id)
            return self._after(conn, order_id, now)

        return self.idempotent(caller, body, change)

    def _lookup_allows(self, conn: Connection, lookup_id: str, kiosk_id: str, now: float, *, locker: bool) -> set[str]:
        """The order ids a valid look-up of this kiosk allows, or 403 ``lookup_expired``.

        A counter pickup is accepted within the look-up's TTL; a locker pickup (its door has
        already opened, the outbox may deliver it late) up to 24 h after the look-up.
        """
        row = conn.execute(
            select(lookups.c.kiosk_id, lookups.c.order_ids, lookups.c.created_at, lookups.c.ttl).where(
                lookups.c.id == lookup_id
            )
        ).first()
        ttl = row.ttl if row is not None else 0.0
        valid_for = max(LOCKER_PICKUP_SECONDS, ttl) if locker else ttl
        if row is None or row.kiosk_id != kiosk_id or now >= row.created_at + valid_for:
            raise ApiError(403, "lookup_expired", "the look-up is unknown, expired or another kiosk's; look up again")
        return set(json.loads(row.order_ids))

    def _give_pickup_code(self, conn: Connection, order_id: str, now: float) -> None:
        """A random pickup code for the order, unique among waiting orders; then the arrival hooks.

        The partial unique index ``ux_orders_pickup_code_waiting`` decides a race between two
        processes; a collision just draws again.
        """
        for _attempt in range(50):
            code = random_pickup_code()
            taken = conn.execute(
                select(orders.c.id).where(orders.c.pickup_code == code, orders.c.status.in_(DOOR_HOLDING))
            ).first()
            if taken is not None:
                continue
            try:
                with conn.begin_nested():
                    conn.execute(update(orders).where(orders.c.id == order_id).values(pickup_code=code))
            except IntegrityError:
                continue
            for hook in self.arrival_hooks:
                hook(conn, order_id, now)
            return
        raise ApiError(409, "conflict", "no free pickup code was found; retry")

    def request_return(self, caller: Caller, body: dict[str, Any], *, order_id: str) -> tuple[int, dict[str, Any]]:
        reason = body.get("reason")

        def change(conn: Connection, now: float) -> dict[str, Any]:
            check_code(order_id, "order id")
            if reason is not None and len(reason) > 1000:
                raise ApiError(400, "bad_input", "reason is longer than 1000 characters")
            row = self._locked_order_in(conn, order_id, "arrived", "; only arrived or overdue can return")
            self._transition(conn, order_id, "arrived", now, status="return_requested", return_reason=reason)
            self._event(conn, order_id, "return", now, caller, caller.staff_id)
            log_event(logger, "return_requested", order=row.number, staff=caller.staff_id, kiosk=caller.kiosk_id)
            return self._after(conn, order_id, now)

        return self.idempotent(caller, body, change)

    def review_return(self, caller: Caller, body: dict[str, Any], *, order_id: str) -> tuple[int, dict[str, Any]]:
        approved = body["approved"]

        def change(conn: Connection, now: float) -> dict[str, Any]:
            check_code(order_id, "order id")
            row = self._locked_order_in(conn, order_id, "return_requested")
            if approved:
                self._transition(conn, order_id, "return_requested", now, status="return_reviewed")
            else:
                # back on the shelf; if its door went to another order meanwhile, it is at the counter
                values: dict[str, Any] = {"status": "arrived"}
                if row.locker_door is not None and self._door_taken(conn, row.locker_door, order_id):
                    values["locker_door"] = None
                self._transition(conn, order_id, "return_requested", now, **values)
                if row.pickup_code is None:  # it keeps its code; one without gets one (and a notice)
                    self._give_pickup_code(conn, order_id, now)
            kind = "return_approved" if approved else "return_rejected"
            self._event(conn, order_id, kind, now, caller, caller.staff_id)
            log_event(logger, kind, order=row.number, staff=caller.staff_id, kiosk=caller.kiosk_id)
            return self._after(conn, order_id, now)

        return self.idempotent(caller, body, change)

    def complete_return(self, caller: Caller, body: dict[str, Any], *, order_id: str) -> tuple[int, dict[str, Any]]:
        destination = body["destination"]
        target = {"warehouse": "returned_to_warehouse", "store_stock": "restocked"}.get(destination)

        def change(conn: Connection, now: float) -> dict[str, Any]:
            check_code(order_id, "order id")
            if target is None:
                raise ApiError(400, "bad_input", 'destination is "warehouse" or "store_stock"')
            row = self._locked_order_in(conn, order_id, "return_reviewed")
            self._transition(conn, order_id, "return_reviewed", now, status=target)
            self._event(conn, order_id, target, now, caller, caller.staff_id)
            log_event(
                logger,
                "return_completed",
                order=row.number,
                to=destination,
                staff=caller.staff_id,
                kiosk=caller.kiosk_id,
            )
            return self._after(conn, order_id, now)

        return self.idempotent(caller, body, change)
