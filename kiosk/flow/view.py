"""The view model of a flow state: what the current screen shows (kiosk.screens draws it)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from kiosk.api.models import Order
from kiosk.flow.alarm import banner
from kiosk.flow.state import CUSTOMER, DoorSlotState, Screen, State
from kiosk.screens.view import DoorRow, OrderDetail, OrderRow, StaffChoice, View


def _time(value: datetime | None) -> str:
    return value.isoformat().replace("+00:00", "Z") if value else ""


def _row(order: Order, staff: bool = False, selected: bool = False, status: bool = False) -> OrderRow:
    return OrderRow(
        status=order.status if status else "",
        number=order.number,
        items_summary=order.items_summary,
        overdue=order.overdue,
        arrived_at=_time(order.arrived_at),
        locker_door=order.locker_door,
        selected=selected,
        customer_masked=order.customer_masked if staff else "",
    )


def _detail(order: Order) -> OrderDetail:
    return OrderDetail(
        number=order.number,
        status=order.status,
        customer_masked=order.customer_masked,
        items=(order.items_summary,) if order.items_summary else (),
        arrived_at=_time(order.arrived_at),
        overdue_at=_time(order.overdue_at),
        locker_door=order.locker_door,
    )


def view(state: State) -> View:
    """The view model of the current screen. Customers' personal data only masked, never a PIN;
    staff names in full on staff screens (colleagues must tell each other apart)."""
    s = state.screen
    c = state.customer
    staff = state.staff
    arrival = state.lockers.arrival
    orders: tuple[OrderRow, ...] = ()
    detail = None
    doors: tuple[DoorRow, ...] = ()
    extra: list[tuple[str, Any]] = []
    current = ""
    current_door = None
    if s is Screen.ORDERS:
        orders = tuple(_row(o) for o in c.orders)
    elif s is Screen.SCAN_PACKAGE:
        current = c.queue[0].number if c.queue else ""
        current_door = c.queue[0].locker_door if c.queue else None  # where staff fetch it from
        orders = tuple(_row(o, selected=o.number == current) for o in c.queue)
    elif s is Screen.OVERDUE and staff is not None:
        orders = tuple(_row(o, staff=True) for o in staff.overdue)
    elif s is Screen.RETURNS and staff is not None:
        orders = tuple(_row(o, staff=True, status=True) for o in staff.returns)
    elif s is Screen.ORDER_DETAIL and staff is not None and staff.detail is not None:
        detail = _detail(staff.detail)
    elif s is Screen.ARRIVAL_CONFIRM and arrival is not None:
        if arrival.order is not None:
            detail = _detail(arrival.order)
            if arrival.door is not None:
                detail = replace(detail, locker_door=arrival.door)
        if arrival.door is not None:
            number = detail.number if detail is not None else ""
            doors = (DoorRow(number=arrival.door, state="unlocked", order_number=number),)
            extra.append(("arrival_door", arrival.door))
        if arrival.offline:
            extra.append(("arrival_offline", True))
    if s is Screen.DOOR_OPEN:
        rows = []
        for slot in c.doors:
            shown = "locked" if slot.state is DoorSlotState.GIVEN_UP else slot.state.value
            rows.append(DoorRow(number=slot.number, state=shown, order_number=slot.order.number))
        doors = tuple(rows)
        extra.append(("purpose", c.purpose.value))
    retry = s is Screen.DOOR_OPEN and any(d.state is DoorSlotState.NOT_OPENED and not d.retried for d in c.doors)
    commission = state.backend.commission_enabled
    choices = ()
    if staff is not None and s is Screen.ARRIVAL_CONFIRM and commission:
        choices = tuple(StaffChoice(id=m.id, name=m.name) for m in staff.staff_list)
    return View(
        screen=s.value,
        lang=state.lang,
        mode=state.cfg.kiosk.mode,
        page=state.paging.page if s in (Screen.ORDERS, Screen.OVERDUE, Screen.RETURNS) else 0,
        busy=state.busy,
        message=state.message if state.message is not None else banner(state),
        member_masked=c.member_masked if s in CUSTOMER else "",
        orders=orders,
        doors=doors,
        retry_allowed=retry,
        picked_up=c.picked if s in (Screen.DONE, Screen.SCAN_PACKAGE, Screen.DOOR_OPEN) else (),
        current_order=current,
        current_door=current_door,
        entry_kind=c.entry_kind if s in (Screen.MEMBER_ENTRY, Screen.PICKUP_CODE) else "",
        entry_text=c.entry_text if s in (Screen.MEMBER_ENTRY, Screen.PICKUP_CODE) else "",
        member_code_only=state.backend.member_code_only,
        pin_length=len(c.pin) if s is Screen.STAFF_LOGIN else 0,
        staff_name=staff.name if staff is not None else "",
        commission_enabled=commission,
        staff_choices=choices,
        selected_staff=staff.selected_staff if staff is not None and s is Screen.ARRIVAL_CONFIRM else None,
        detail=detail,
        arrival_count=staff.arrival_count if staff is not None else 0,
        return_reason=staff.return_reason if staff is not None and s is Screen.ORDER_DETAIL else None,
        offline=not state.online,
        outbox_depth=state.backend.outbox_depth,
        attention_count=state.backend.attention,
        camera_ok=state.camera_ok,
        locked_for=state.backend.locked_for if state.backend.locked_on is s else 0,
        alarm_door=state.alarms[0].door if state.alarms and s is Screen.DOOR_ALARM else None,
        alarm_kind=state.alarms[0].kind if state.alarms and s is Screen.DOOR_ALARM else "",
        on_duty=state.on_duty.name if state.on_duty is not None and not state.cfg.locker else "",
        extra=tuple(extra),
    )
