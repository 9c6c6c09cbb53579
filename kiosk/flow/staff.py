"""The staff's screens: staff_login, staff_menu, arrival, arrival_confirm, overdue, order_detail.
Each screen's rules for scans, presses and the backend's answers sit together here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from kiosk.api.models import Order
from kiosk.api.requests import (
    CompleteReturn,
    ConfirmArrival,
    GetParcel,
    ListOccupied,
    ListOverdue,
    ListReturns,
    ListStaff,
    RequestReturn,
    StaffLogin,
    StaffLogout,
)
from kiosk.events import ApiResult
from kiosk.flow.common import call, customer_reset, error, locked_out, msg, on, refusal_code, refuse, side_call, to_idle
from kiosk.flow.contact import ask_again
from kiosk.flow.customer import BACK, PAGE_BUTTONS, take, turn_page, wrong_code
from kiosk.flow.state import (
    Arrival,
    CancelTimer,
    DoorSlot,
    Effect,
    Enqueue,
    Indicate,
    Log,
    OnDuty,
    Purpose,
    Screen,
    StaffSession,
    StartTimer,
    State,
    Unlock,
    free_door,
)
from kiosk.screens.view import RETURN_REASONS

# scans -----------------------------------------------------------------------------------------


@on.scan(Screen.STAFF_LOGIN)
def scan_staff_login(state: State, code: str, fx: list[Effect]) -> State:
    if not state.backend.patterns.is_staff(code):
        return wrong_code(state, code, fx)
    if code == state.customer.badge:
        return state  # the badge still in view: keep the PIN typed so far
    return replace(state.with_customer(badge=code, pin=""), message=None)


@on.scan(Screen.ARRIVAL)
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
    state = replace(state.with_lockers(arrival=Arrival(package_code=code)), message=None)
    return call(state, fx, GetParcel(package_code=code, staff_token=state.staff.token, occupied=state.cfg.locker))


@on.scan(Screen.ARRIVAL_CONFIRM)
def scan_arrival_confirm(state: State, code: str, fx: list[Effect]) -> State:
    arrival = state.lockers.arrival
    if arrival is not None and code == arrival.package_code:
        return state  # the parcel being confirmed, still in view: nothing wrong
    return wrong_code(state, code, fx)


# presses ---------------------------------------------------------------------------------------


@on.press(Screen.STAFF_LOGIN)
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


def end_session(state: State, fx: list[Effect], why: str) -> State:
    """Leave the staff session (``logout``, inactivity, ``duty``): ``/staff/logout`` goes through
    the outbox after the session's queued writes (each carries the same token), then ``idle``."""
    staff = state.staff
    if staff is not None:
        fx.append(Log("staff_logout", (("staff", staff.id), ("why", why))))
        fx.append(Enqueue(StaffLogout(staff_token=staff.token)))
    return to_idle(state, fx)


def logout_sent(session: StaffSession, fx: list[Effect]) -> None:
    """A staff session ended: its ``/staff/logout`` is queued (once), whatever path ended it."""
    if any(isinstance(f, Enqueue) and isinstance(f.request, StaffLogout) for f in fx):
        return
    fx.append(Log("staff_logout", (("staff", session.id), ("why", "session_end"))))
    fx.append(Enqueue(StaffLogout(staff_token=session.token)))


def press_duty(state: State, fx: list[Effect]) -> State:
    """Counter: the logged-in member goes on duty (the one on duty before goes off), or ends their
    own duty; either way the session ends and the kiosk returns to ``idle``."""
    staff = state.staff
    if state.on_duty is not None and state.on_duty.id == staff.id:
        fx.append(Log("duty_end", (("staff", staff.id), ("why", "button"))))
        fx.append(CancelTimer("duty"))
        state = replace(state, on_duty=None)
        return replace(end_session(state, fx, "duty"), message=msg("msg.off_duty", "ok"))
    if state.on_duty is not None:
        fx.append(Log("duty_end", (("staff", state.on_duty.id), ("why", "replaced"))))
    fx.append(Log("duty_start", (("staff", staff.id),)))
    fx.append(StartTimer("duty", state.cfg.duty_hours * 3600.0))
    state = replace(state, on_duty=OnDuty(id=staff.id, name=staff.name))
    return replace(end_session(state, fx, "duty"), message=msg("msg.on_duty", "ok", name=staff.name))


def duty_over(state: State, fx: list[Effect]) -> State:
    """The duty timer (12 hours of kiosk time) ran out."""
    if state.on_duty is not None:
        fx.append(Log("duty_end", (("staff", state.on_duty.id), ("why", "timeout"))))
    return replace(state, on_duty=None)


@on.press(Screen.STAFF_MENU)
def press_staff_menu(state: State, b: str, fx: list[Effect]) -> State:
    if state.staff is None:
        return state
    if b == "duty" and not state.cfg.locker:
        return press_duty(state, fx)
    if b == "arrival":
        state = replace(state.with_lockers(arrival=None), screen=Screen.ARRIVAL, message=None)
        if state.cfg.locker:
            # which doors hold parcels, known ahead: an arrival made offline still gets a free door
            state = side_call(state, fx, ListOccupied(staff_token=state.staff.token))
        return state
    if b == "overdue":
        return call(replace(state, message=None), fx, ListOverdue(staff_token=state.staff.token))
    if b == "returns":
        return call(replace(state, message=None), fx, ListReturns(staff_token=state.staff.token))
    return state


@on.press(Screen.ARRIVAL)
def press_arrival(state: State, b: str, fx: list[Effect]) -> State:
    if b in BACK:
        state = replace(state.with_lockers(arrival=None), screen=Screen.STAFF_MENU, message=None)
        return state.with_backend(pending=None)
    return state


@on.press(Screen.ARRIVAL_CONFIRM)
def press_arrival_confirm(state: State, b: str, fx: list[Effect]) -> State:
    arrival = state.lockers.arrival
    staff = state.staff
    if b in BACK:
        return replace(state.with_lockers(arrival=None), screen=Screen.ARRIVAL, message=None)
    if staff is None:
        return state
    if b.startswith("staff:") and state.backend.commission_enabled:
        sid = b[6:]
        if any(s.id == sid for s in staff.staff_list):
            return state.with_staff(selected_staff=sid)
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
        return state.with_staff(
            arrival_count=staff.arrival_count + 1,
            confirmed=(*staff.confirmed, (arrival.package_code, number))[-50:],
            selected_staff=staff.id,
        )
    return state


@on.press(Screen.OVERDUE, Screen.RETURNS)
def press_staff_list(state: State, b: str, fx: list[Effect]) -> State:
    """``overdue`` and ``returns``: rows ``order:<number>`` open ``order_detail``."""
    if b in BACK:
        state = state.with_staff(overdue=(), returns=())
        return replace(state, screen=Screen.STAFF_MENU, message=None).with_page(0)
    if b in PAGE_BUTTONS:
        return turn_page(state, b, fx)
    if b.startswith("order:") and state.staff is not None:
        rows = state.staff.overdue if state.screen is Screen.OVERDUE else state.staff.returns
        for order in rows:
            if order.number == b[6:]:
                state = state.with_staff(detail=order, return_reason=None, detail_from=state.screen)
                message = None
                if order.status == "return_requested":
                    message = msg("msg.return_waits_review", "info", number=order.number)
                return replace(state, screen=Screen.ORDER_DETAIL, message=message)
    return state


def back_to_list(state: State, message=None) -> State:
    """From ``order_detail`` to the list it was chosen from."""
    screen = state.staff.detail_from if state.staff is not None else Screen.OVERDUE
    state = state.with_staff(detail=None, return_reason=None)
    return replace(state, screen=screen, message=message)


@on.press(Screen.ORDER_DETAIL)
def press_order_detail(state: State, b: str, fx: list[Effect]) -> State:
    if b in BACK:
        return back_to_list(state)
    staff = state.staff
    order = staff.detail if staff is not None else None
    if order is None:
        return state
    if order.status == "return_requested":
        return state  # it waits for the review in the back office: nothing to do here
    if order.status == "return_reviewed":
        if b in ("to_warehouse", "to_store_stock"):
            destination = "warehouse" if b == "to_warehouse" else "store_stock"
            request = CompleteReturn(order_id=order.id, destination=destination, staff_token=staff.token)
            return call(replace(state, message=None), fx, request)
        return state
    if b == "pickup":
        # r2: only the owner may take a parcel: the customer proves who they are first (member
        # barcode, or phone/email and pickup code), a normal look-up the pickup then names
        fx.append(Log("handover_identify", (("order", order.number),)))
        state = customer_reset(state).with_staff(handover=order)
        return replace(state, screen=Screen.MEMBER_ENTRY, message=msg("msg.handover_identify", "info"))
    if b.startswith("reason:") and b[7:] in RETURN_REASONS:
        return replace(state.with_staff(return_reason=b[7:]), message=None)
    if b in ("return", "confirm"):
        # r2: the reason is chosen first (none is preselected); `return` shows only then
        if staff.return_reason not in RETURN_REASONS:
            return refuse(state, fx, "msg.choose_reason")
        request = RequestReturn(order_id=order.id, reason=staff.return_reason, staff_token=staff.token)
        return call(replace(state, message=None), fx, request)
    return state


# the hand-over of an overdue parcel (r2) -------------------------------------------------------

IDENTIFY = frozenset({Screen.IDLE, Screen.MEMBER_ENTRY, Screen.PICKUP_CODE})


def handing_over(state: State) -> bool:
    """Staff wait for the customer's look-up before handing a parcel over."""
    return state.staff is not None and state.staff.handover is not None


def handover_back(state: State) -> State:
    """``back``/``cancel`` while the customer identifies: back to the order, still logged in."""
    state = customer_reset(state).with_staff(handover=None).with_backend(pending=None)
    return replace(state, screen=Screen.ORDER_DETAIL, message=None)


def result_handover_lookup(state: State, event: ApiResult, fx: list[Effect]) -> State:
    """The customer's look-up during a hand-over: the parcel goes on only when that look-up
    allows this order; the pickup names the look-up, with ``handed_over_by`` the staff member."""
    order = state.staff.handover
    if not event.ok:
        code = refusal_code(event)
        fx.append(Log("handover_lookup_refused", (("code", code), ("order", order.number))))
        again = ask_again(state, code, fx)  # a mistyped pickup code: try again, still handing over
        if again is not None:
            return again
        return error(customer_reset(state.with_staff(handover=None)), fx, code, Screen.ORDER_DETAIL)
    state = state.with_staff(handover=None)
    lookup = event.value
    allowed = next((o for o in lookup.orders if o.id == order.id), None)
    if allowed is None:
        fx.append(Log("handover_refused", (("code", "not_your_order"), ("order", order.number))))
        state = replace(customer_reset(state), screen=Screen.ORDER_DETAIL)
        return refuse(state, fx, "msg.handover_not_theirs", number=order.number)
    fx.append(Log("handover_identified", (("order", order.number),)))
    state = customer_reset(state).with_customer(
        purpose=Purpose.HANDOVER,
        member_id=lookup.member.id,
        lookup_id=lookup.lookup_id,
        lookup_expires_in=lookup.expires_in,
    )
    return take(state, (allowed,), fx)


# the backend's answers ---------------------------------------------------------------------------


@on.result(StaffLogin.name)
def result_login(state: State, event: ApiResult, fx: list[Effect]) -> State:
    if not event.ok:
        code = refusal_code(event)
        fx.append(Log("staff_login_refused", (("code", code),)))
        locked = locked_out(state, event, fx)
        if locked is not None:  # r2: the seconds left, counting down on staff_login
            return locked.with_customer(pin="")
        key = "err.locked_out" if code == "locked_out" else "err.bad_credentials"
        return refuse(state.with_customer(pin=""), fx, key)
    session = event.value
    staff = StaffSession(token=session.token, id=session.staff.id, name=session.staff.name)
    staff = replace(staff, selected_staff=staff.id)
    fx.append(Indicate("success"))
    fx.append(Log("staff_login", (("staff", staff.id),)))
    state = replace(state.with_customer(badge="", pin=""), screen=Screen.STAFF_MENU, staff=staff, message=None)
    # the list of receiving staff for the commission picker (best effort, not interactive)
    return side_call(state, fx, ListStaff(staff_token=staff.token))


@on.result(GetParcel.name)
def result_parcel(state: State, event: ApiResult, fx: list[Effect]) -> State:
    if state.staff is None or state.lockers.arrival is None:
        return state
    if not event.ok:
        # staff keep scanning: the refusal is a message on `arrival`, not a detour
        code = refusal_code(event)
        fx.append(Log("parcel_refused", (("code", code),)))
        return refuse(state.with_lockers(arrival=None), fx, f"err.{code}")
    info = event.value
    order: Order = info.order
    if info.occupied is not None:
        # the backend's view, plus doors loaded here whose arrival may still wait in the outbox
        state = state.with_lockers(occupied=frozenset(info.occupied) | state.lockers.assigned, occupancy_known=True)
    if order.status != "shipped":
        fx.append(Log("parcel_refused", (("code", "wrong_status"), ("order", order.number))))
        return refuse(state.with_lockers(arrival=None), fx, "msg.already_arrived", number=order.number)
    arrival = replace(state.lockers.arrival, order=order)
    if state.cfg.locker:
        door = free_door(state.cfg, state.lockers.occupied)
        if door is None:
            return refuse(state.with_lockers(arrival=None), fx, "msg.no_free_door")
        arrival = replace(arrival, door=door)
        fx.append(Unlock(door))
    fx.append(Indicate("success"))
    state = state.with_lockers(arrival=arrival).with_staff(selected_staff=state.staff.id)
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
    state = state.with_lockers(arrival=arrival).with_staff(selected_staff=state.staff.selected_staff or state.staff.id)
    return replace(state, screen=Screen.ARRIVAL_CONFIRM, message=msg("msg.offline_saved_later", "warn"))


def _show_list(state: State, event: ApiResult, fx: list[Effect], field: str, screen: Screen) -> State:
    """A staff list came back (overdue, returns): shown from its first page."""
    if not event.ok:
        return error(state, fx, refusal_code(event), Screen.STAFF_MENU)
    state = state.with_staff(**{field: tuple(event.value)}, detail=None)
    return replace(state, screen=screen, message=None).with_page(0)


@on.result(ListOverdue.name)
def result_overdue(state: State, event: ApiResult, fx: list[Effect]) -> State:
    return _show_list(state, event, fx, "overdue", Screen.OVERDUE)


@on.result(ListReturns.name)
def result_returns(state: State, event: ApiResult, fx: list[Effect]) -> State:
    return _show_list(state, event, fx, "returns", Screen.RETURNS)


def detail_answer(
    done: Callable[[State, StaffSession, Order, list[Effect]], State],
) -> Callable[[State, ApiResult, list[Effect]], State]:
    """The backend's answer to a step taken on ``order_detail`` (a return completed or
    requested): a refusal shows its error and goes back to the order; an answer that comes once
    no order is shown changes nothing; a yes is signalled, then ``done`` goes on with the staff
    session and the order."""

    def answer(state: State, event: ApiResult, fx: list[Effect]) -> State:
        staff = state.staff
        if not event.ok:
            return error(state, fx, refusal_code(event), Screen.ORDER_DETAIL)
        if staff is None or staff.detail is None:
            return state
        fx.append(Indicate("success"))
        return done(state, staff, staff.detail, fx)

    return answer


@on.result(CompleteReturn.name)
@detail_answer
def result_complete(state: State, staff: StaffSession, order: Order, fx: list[Effect]) -> State:
    number = order.number
    fx.append(Log("return_completed", (("order", number),)))
    state = state.with_staff(returns=tuple(o for o in staff.returns if o.number != number))
    return back_to_list(state, msg("msg.return_completed", "ok", number=number))


@on.result(RequestReturn.name)
@detail_answer
def result_return(state: State, staff: StaffSession, order: Order, fx: list[Effect]) -> State:
    fx.append(Log("return_requested", (("order", order.number), ("reason", staff.return_reason))))
    overdue = tuple(o for o in staff.overdue if o.number != order.number)
    door = order.locker_door
    if state.cfg.locker and door is not None:
        fx.append(Unlock(door))
        state = state.with_customer(purpose=Purpose.RETURN, doors=(DoorSlot(number=door, order=order),))
        state = state.with_staff(overdue=overdue, return_reason=None)
        return replace(state, screen=Screen.DOOR_OPEN, message=None)
    state = state.with_staff(overdue=overdue, detail=None, return_reason=None)
    return replace(state, screen=Screen.OVERDUE, message=msg("msg.return_requested", "ok", number=order.number))


def result_side(state: State, event: ApiResult, fx: list[Effect]) -> State:
    """The staff list or the occupied doors: only the answer to a read this staff session made.
    A late answer from an earlier session must not pick the receiving staff or, worse, which
    door a parcel goes into."""
    if state.staff is None or event.token not in state.staff.side_calls:
        fx.append(Log("stale_answer", (("request", event.request),)))
        return state
    state = state.with_staff(side_calls=state.staff.side_calls - {event.token})
    if not event.ok:
        return state
    if event.request == ListStaff.name:
        return state.with_staff(staff_list=tuple(event.value))
    occupied = frozenset(event.value) | state.lockers.assigned
    return state.with_lockers(occupied=occupied, occupancy_known=True)


SIDE = (ListStaff.name, ListOccupied.name)
