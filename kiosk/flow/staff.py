"""The staff's screens: staff_login, staff_menu, arrival, arrival_confirm, overdue, order_detail.
Each screen's rules for scans, presses and the backend's answers sit together here."""

from __future__ import annotations

from dataclasses import replace

from kiosk.api.models import Order
from kiosk.api.requests import (
    ConfirmArrival,
    GetParcel,
    ListOccupied,
    ListOverdue,
    ListStaff,
    RequestReturn,
    StaffLogin,
)
from kiosk.events import ApiResult
from kiosk.flow.common import (
    PRESS,
    RESULT,
    SCAN,
    call,
    error,
    msg,
    refusal_code,
    refuse,
    rule,
    side_call,
    to_idle,
    with_backend,
    with_customer,
    with_lockers,
    with_page,
    with_staff,
)
from kiosk.flow.customer import BACK, PAGE_BUTTONS, take, turn_page, wrong_code
from kiosk.flow.state import (
    Arrival,
    DoorSlot,
    Effect,
    Enqueue,
    Indicate,
    Log,
    Purpose,
    Screen,
    StaffSession,
    State,
    Unlock,
    free_door,
)
from kiosk.screens.view import RETURN_REASONS

# scans -----------------------------------------------------------------------------------------


@rule(SCAN, Screen.STAFF_LOGIN)
def scan_staff_login(state: State, code: str, fx: list[Effect]) -> State:
    if not state.backend.patterns.is_staff(code):
        return wrong_code(state, code, fx)
    if code == state.customer.badge:
        return state  # the badge still in view: keep the PIN typed so far
    return replace(with_customer(state, badge=code, pin=""), message=None)


@rule(SCAN, Screen.ARRIVAL)
def scan_arrival(state: State, code: str, fx: list[Effect]) -> State:
    """A parcel come in: ask the backend for its order (and, at a locker, the doors taken)."""
    if state.staff is None:
        return state
    p = state.backend.patterns
    if p.is_staff(code) or not p.is_parcel(code):
        return wrong_code(state, code, fx)
    done = next((number for c, number in state.staff.confirmed if c == code), None)
    if done is not None:
        # confirmed a moment ago (still in view, or scanned twice): no second arrival, no door
        fx.append(Log("parcel_refused", (("code", "confirmed_here"), ("order", done or "-"))))
        if not done:  # confirmed offline: the order number was never known
            return refuse(state, fx, "msg.parcel_already_registered")
        return refuse(state, fx, "msg.already_arrived", number=done)
    state = replace(with_lockers(state, arrival=Arrival(package_code=code)), message=None)
    return call(state, fx, GetParcel(package_code=code, staff_token=state.staff.token, occupied=state.cfg.locker))


@rule(SCAN, Screen.ARRIVAL_CONFIRM)
def scan_arrival_confirm(state: State, code: str, fx: list[Effect]) -> State:
    arrival = state.lockers.arrival
    if arrival is not None and code == arrival.package_code:
        return state  # the parcel being confirmed, still in view: nothing wrong
    return wrong_code(state, code, fx)


# presses ---------------------------------------------------------------------------------------


@rule(PRESS, Screen.STAFF_LOGIN)
def press_staff_login(state: State, b: str, fx: list[Effect]) -> State:
    if b in (*BACK, "logout"):
        return to_idle(state, fx)
    if b == "confirm":
        if not state.customer.badge:
            return refuse(state, fx, "msg.scan_badge")
        if not state.customer.pin:
            return refuse(state, fx, "msg.enter_pin")
        request = StaffLogin(badge_code=state.customer.badge, pin=state.customer.pin)
        return call(replace(state, message=None), fx, request)
    return state


@rule(PRESS, Screen.STAFF_MENU)
def press_staff_menu(state: State, b: str, fx: list[Effect]) -> State:
    if state.staff is None:
        return state
    if b == "arrival":
        state = replace(with_lockers(state, arrival=None), screen=Screen.ARRIVAL, message=None)
        if state.cfg.locker:
            # which doors hold parcels, known ahead: an arrival made offline still gets a free door
            state = side_call(state, fx, ListOccupied(staff_token=state.staff.token))
        return state
    if b == "overdue":
        return call(replace(state, message=None), fx, ListOverdue(staff_token=state.staff.token))
    return state


@rule(PRESS, Screen.ARRIVAL)
def press_arrival(state: State, b: str, fx: list[Effect]) -> State:
    if b in BACK:
        state = replace(with_lockers(state, arrival=None), screen=Screen.STAFF_MENU, message=None)
        return with_backend(state, pending=None)
    return state


@rule(PRESS, Screen.ARRIVAL_CONFIRM)
def press_arrival_confirm(state: State, b: str, fx: list[Effect]) -> State:
    arrival = state.lockers.arrival
    staff = state.staff
    if b in BACK:
        return replace(with_lockers(state, arrival=None), screen=Screen.ARRIVAL, message=None)
    if staff is None:
        return state
    if b.startswith("staff:") and state.backend.commission_enabled:
        sid = b[6:]
        if any(s.id == sid for s in staff.staff_list):
            return with_staff(state, selected_staff=sid)
        return state
    if b == "confirm" and arrival is not None:
        write = ConfirmArrival(
            package_code=arrival.package_code,
            staff_token=staff.token,
            received_by=staff.selected_staff or staff.id,
            locker_door=arrival.door,
        )
        number = arrival.order.number if arrival.order is not None else ""
        fx.append(Enqueue(write, number))
        fx.append(Indicate("success"))
        fx.append(
            Log("arrival_confirmed", (("order", number or "-"), ("door", arrival.door), ("offline", arrival.offline)))
        )
        saved = "msg.arrival_saved_offline" if (arrival.offline or not state.online) else "msg.arrival_saved"
        lockers = state.lockers
        occupied = lockers.occupied | ({arrival.door} if arrival.door is not None else set())
        state = replace(
            state,
            screen=Screen.ARRIVAL,
            lockers=replace(
                lockers,
                arrival=None,
                occupied=frozenset(occupied),
                assigned=lockers.assigned | frozenset(occupied - lockers.occupied),
            ),
            message=msg(saved, "ok", number=number),
        )
        return with_staff(
            state,
            arrival_count=staff.arrival_count + 1,
            confirmed=(*staff.confirmed, (arrival.package_code, number))[-50:],
            selected_staff=staff.id,
        )
    return state


@rule(PRESS, Screen.OVERDUE)
def press_overdue(state: State, b: str, fx: list[Effect]) -> State:
    if b in BACK:
        return with_page(replace(with_staff(state, overdue=()), screen=Screen.STAFF_MENU, message=None), 0)
    if b in PAGE_BUTTONS:
        return turn_page(state, b, fx)
    if b.startswith("order:") and state.staff is not None:
        for order in state.staff.overdue:
            if order.number == b[6:]:
                state = with_staff(state, detail=order, return_reason=None)
                return replace(state, screen=Screen.ORDER_DETAIL, message=None)
    return state


@rule(PRESS, Screen.ORDER_DETAIL)
def press_order_detail(state: State, b: str, fx: list[Effect]) -> State:
    if b in BACK:
        return replace(with_staff(state, detail=None, return_reason=None), screen=Screen.OVERDUE, message=None)
    staff = state.staff
    order = staff.detail if staff is not None else None
    if order is None:
        return state
    if b == "pickup":
        state = with_customer(state, purpose=Purpose.HANDOVER, member_id=order.member_id)
        return take(state, (order,), fx)
    if b.startswith("reason:") and b[7:] in RETURN_REASONS:
        return with_staff(state, return_reason=b[7:])
    if b in ("return", "confirm"):
        # the reason picked (reason:<key> buttons), or the first one offered ("overdue")
        reason = staff.return_reason or RETURN_REASONS[0]
        request = RequestReturn(order_id=order.id, reason=reason, staff_token=staff.token)
        return call(replace(with_staff(state, return_reason=reason), message=None), fx, request)
    return state


# the backend's answers ---------------------------------------------------------------------------


@rule(RESULT, StaffLogin.name)
def result_login(state: State, event: ApiResult, fx: list[Effect]) -> State:
    if not event.ok:
        code = refusal_code(event)
        fx.append(Log("staff_login_refused", (("code", code),)))
        key = "err.locked_out" if code == "locked_out" else "err.bad_credentials"
        return refuse(with_customer(state, pin=""), fx, key)
    session = event.value
    staff = StaffSession(token=session.token, id=session.staff.id, name=session.staff.name)
    staff = replace(staff, selected_staff=staff.id)
    fx.append(Indicate("success"))
    fx.append(Log("staff_login", (("staff", staff.id),)))
    state = replace(with_customer(state, badge="", pin=""), screen=Screen.STAFF_MENU, staff=staff, message=None)
    # the list of receiving staff for the commission picker (best effort, not interactive)
    return side_call(state, fx, ListStaff(staff_token=staff.token))


@rule(RESULT, GetParcel.name)
def result_parcel(state: State, event: ApiResult, fx: list[Effect]) -> State:
    if state.staff is None or state.lockers.arrival is None:
        return state
    if not event.ok:
        # staff keep scanning: the refusal is a message on `arrival`, not a detour
        code = refusal_code(event)
        fx.append(Log("parcel_refused", (("code", code),)))
        return refuse(with_lockers(state, arrival=None), fx, f"err.{code}")
    info = event.value
    order: Order = info.order
    if info.occupied is not None:
        # the backend's view, plus doors loaded here whose arrival may still wait in the outbox
        state = with_lockers(state, occupied=frozenset(info.occupied) | state.lockers.assigned, occupancy_known=True)
    if order.status != "shipped":
        fx.append(Log("parcel_refused", (("code", "wrong_status"), ("order", order.number))))
        return refuse(with_lockers(state, arrival=None), fx, "msg.already_arrived", number=order.number)
    arrival = replace(state.lockers.arrival, order=order)
    if state.cfg.locker:
        door = free_door(state.cfg, state.lockers.occupied)
        if door is None:
            return refuse(with_lockers(state, arrival=None), fx, "msg.no_free_door")
        arrival = replace(arrival, door=door)
        fx.append(Unlock(door))
    fx.append(Indicate("success"))
    state = with_staff(with_lockers(state, arrival=arrival), selected_staff=state.staff.id)
    return replace(state, screen=Screen.ARRIVAL_CONFIRM, message=None)


def arrival_offline(state: State, fx: list[Effect]) -> State:
    """The backend did not answer the parcel's look-up: the arrival goes on without details,
    into the outbox (with a free door when the kiosk knows which are free)."""
    arrival = replace(state.lockers.arrival, offline=True)
    if state.cfg.locker and state.lockers.occupancy_known:
        door = free_door(state.cfg, state.lockers.occupied)
        arrival = replace(arrival, door=door)
        if door is not None:
            fx.append(Unlock(door))
    state = with_staff(
        with_lockers(state, arrival=arrival), selected_staff=state.staff.selected_staff or state.staff.id
    )
    return replace(state, screen=Screen.ARRIVAL_CONFIRM, message=msg("msg.offline_saved_later", "warn"))


@rule(RESULT, ListOverdue.name)
def result_overdue(state: State, event: ApiResult, fx: list[Effect]) -> State:
    if not event.ok:
        return error(state, fx, refusal_code(event), Screen.STAFF_MENU)
    state = with_staff(state, overdue=tuple(event.value), detail=None)
    return with_page(replace(state, screen=Screen.OVERDUE, message=None), 0)


@rule(RESULT, RequestReturn.name)
def result_return(state: State, event: ApiResult, fx: list[Effect]) -> State:
    staff = state.staff
    if not event.ok:
        return error(state, fx, refusal_code(event), Screen.ORDER_DETAIL)
    if staff is None or staff.detail is None:
        return state
    order = staff.detail
    fx.append(Indicate("success"))
    fx.append(Log("return_requested", (("order", order.number), ("reason", staff.return_reason))))
    overdue = tuple(o for o in staff.overdue if o.number != order.number)
    door = order.locker_door
    if state.cfg.locker and door is not None:
        fx.append(Unlock(door))
        state = with_customer(state, purpose=Purpose.RETURN, doors=(DoorSlot(number=door, order=order),))
        state = with_staff(state, overdue=overdue, return_reason=None)
        return replace(state, screen=Screen.DOOR_OPEN, message=None)
    state = with_staff(state, overdue=overdue, detail=None, return_reason=None)
    return replace(state, screen=Screen.OVERDUE, message=msg("msg.return_requested", "ok", number=order.number))


def result_side(state: State, event: ApiResult, fx: list[Effect]) -> State:
    """The staff list or the occupied doors: only the answer to a read this staff session made.
    A late answer from an earlier session must not pick the receiving staff or, worse, which
    door a parcel goes into."""
    if state.staff is None or event.token not in state.staff.side_calls:
        fx.append(Log("stale_answer", (("request", event.request),)))
        return state
    state = with_staff(state, side_calls=state.staff.side_calls - {event.token})
    if not event.ok:
        return state
    if event.request == ListStaff.name:
        return with_staff(state, staff_list=tuple(event.value))
    occupied = frozenset(event.value) | state.lockers.assigned
    return with_lockers(state, occupied=occupied, occupancy_known=True)


SIDE = (ListStaff.name, ListOccupied.name)
