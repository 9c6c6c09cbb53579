"""The customer's screens: idle, member_entry, orders, scan_package, door_open, done, error,
offline. Each screen's rules for scans, presses and the backend's answers sit together here."""

from __future__ import annotations

from dataclasses import replace

from kiosk.api.models import Order
from kiosk.api.requests import LookupMember, Pickup
from kiosk.codes import CodePatterns, clean
from kiosk.events import ApiResult, DoorEvent
from kiosk.flow.common import (
    PRESS,
    RESULT,
    SCAN,
    call,
    customer_reset,
    error,
    msg,
    refusal_code,
    refuse,
    rule,
    to_idle,
    with_backend,
    with_customer,
    with_page,
    with_staff,
)
from kiosk.flow.state import (
    STAFF,
    DoorSlot,
    DoorSlotState,
    Effect,
    Enqueue,
    Indicate,
    Log,
    PageRows,
    Purpose,
    Screen,
    State,
    Unlock,
)

BACK = ("cancel", "back")
PAGE_BUTTONS = ("page_prev", "page_next")


def known(p: CodePatterns, code: str) -> bool:
    return p.is_staff(code) or p.is_member(code) or p.is_parcel(code)


def wrong_code(state: State, code: str, fx: list[Effect]) -> State:
    return refuse(state, fx, "msg.code_wrong_kind" if known(state.backend.patterns, code) else "msg.code_unknown")


# scans -----------------------------------------------------------------------------------------


@rule(SCAN, Screen.IDLE, Screen.OFFLINE, Screen.DONE, Screen.ERROR, Screen.ORDERS, Screen.MEMBER_ENTRY)
def scan_greeting(state: State, code: str, fx: list[Effect]) -> State:
    """A scan on idle, offline, done, error, orders or member_entry: a badge or a member code."""
    screen = state.screen
    p = state.backend.patterns
    if screen is Screen.ERROR and state.error_back in STAFF:
        return refuse(state, fx, "msg.code_wrong_kind")
    if p.is_staff(code):
        fx.append(Log("badge_scanned"))
        state = customer_reset(state)
        return replace(state, screen=Screen.STAFF_LOGIN, customer=replace(state.customer, badge=code))
    if p.is_member(code):
        if screen is Screen.ORDERS and code == state.customer.member_code:
            return state  # the same code still in front of the camera: these are its orders
        state = with_customer(customer_reset(state), member_code=code)
        if screen is not Screen.OFFLINE:
            state = replace(state, screen=Screen.IDLE)
        return call(state, fx, LookupMember(member_code=code))
    if p.is_parcel(code):
        return refuse(state, fx, "msg.code_wrong_kind")
    return refuse(state, fx, "msg.code_unknown")


@rule(SCAN, Screen.SCAN_PACKAGE)
def scan_package(state: State, code: str, fx: list[Effect]) -> State:
    """Counter: the parcel's own code, scanned as it is handed over."""
    p = state.backend.patterns
    if p.is_staff(code) or not p.is_parcel(code):
        return wrong_code(state, code, fx)
    queue = state.customer.queue
    if not queue:
        return state
    order = queue[0]
    request = Pickup(order_id=order.id, lookup_id=state.customer.lookup_id, package_code=code)
    if state.customer.purpose is Purpose.HANDOVER and state.staff is not None:
        request = replace(request, handed_over_by=state.staff.id, staff_token=state.staff.token)
    return call(replace(state, message=None), fx, request)


# presses ---------------------------------------------------------------------------------------


def _entry_kind(b: str) -> str:
    return "phone" if b == "lookup_phone" else "email"


@rule(PRESS, Screen.IDLE)
def press_idle(state: State, b: str, fx: list[Effect]) -> State:
    if b in BACK:
        return replace(with_backend(state, pending=None), message=None)  # a look-up in flight is forgotten
    if b in ("lookup_phone", "lookup_email") and not state.backend.member_code_only:
        state = with_customer(state, entry_kind=_entry_kind(b), entry_text="")
        return replace(state, screen=Screen.MEMBER_ENTRY, message=None)
    return state


@rule(PRESS, Screen.MEMBER_ENTRY)
def press_member_entry(state: State, b: str, fx: list[Effect]) -> State:
    if b in ("lookup_phone", "lookup_email") and not state.backend.member_code_only:
        return replace(with_customer(state, entry_kind=_entry_kind(b), entry_text=""), message=None)
    if b in BACK:
        return to_idle(state, fx)
    if b == "confirm":
        text = state.customer.entry_text.strip()
        if state.customer.entry_kind == "phone":
            digits = "".join(ch for ch in text if ch.isdigit())
            if len(digits) < 8 or clean(text) is None:
                return refuse(state, fx, "msg.phone_invalid")
            return call(replace(state, message=None), fx, LookupMember(phone=text))
        if state.customer.entry_kind == "email":
            local, at, domain = text.partition("@")
            if not (local and at and "." in domain) or clean(text) is None:
                return refuse(state, fx, "msg.email_invalid")
            return call(replace(state, message=None), fx, LookupMember(email=text))
    return state


@rule(PRESS, Screen.ORDERS)
def press_orders(state: State, b: str, fx: list[Effect]) -> State:
    if b in BACK:
        return to_idle(state, fx)
    if b in PAGE_BUTTONS:
        return turn_page(state, b, fx)
    orders = state.customer.orders
    if b == "pickup_all":
        chosen = orders
    elif b.startswith("order:"):
        chosen = tuple(o for o in orders if o.number == b[6:])
    else:
        return state
    if not chosen:
        return state
    return take(with_customer(state, purpose=Purpose.PICKUP), chosen, fx)


@rule(PRESS, Screen.SCAN_PACKAGE)
def press_scan_package(state: State, b: str, fx: list[Effect]) -> State:
    if b in BACK:
        if state.customer.purpose is Purpose.HANDOVER and state.staff is not None:
            state = with_customer(state, queue=())
            return replace(
                state, screen=Screen.ORDER_DETAIL, backend=replace(state.backend, pending=None), message=None
            )
        return to_idle(state, fx)
    return state


@rule(PRESS, Screen.DOOR_OPEN)
def press_door_open(state: State, b: str, fx: list[Effect]) -> State:
    if b == "retry":
        slots = []
        for slot in state.customer.doors:
            if slot.state is DoorSlotState.NOT_OPENED and not slot.retried:
                fx.append(Unlock(slot.number))
                slot = replace(slot, state=DoorSlotState.UNLOCKED, retried=True)
            slots.append(slot)
        return replace(with_customer(state, doors=tuple(slots)), message=None)
    if b in ("confirm", *BACK) and doors_settled(state):
        return doors_finished(state, fx)
    return state


@rule(PRESS, Screen.DONE)
def press_done(state: State, b: str, fx: list[Effect]) -> State:
    if b in ("confirm", *BACK):
        if state.staff is not None:
            return replace(customer_reset(state), screen=Screen.STAFF_MENU)
        return to_idle(state, fx)
    return state


@rule(PRESS, Screen.ERROR)
def press_error(state: State, b: str, fx: list[Effect]) -> State:
    if b in ("confirm", *BACK):
        if state.error_back in STAFF and state.staff is not None:
            state = replace(state, lockers=replace(state.lockers, arrival=None))
            return replace(state, screen=state.error_back, message=None)
        return to_idle(state, fx)
    return state


@rule(PRESS, Screen.OFFLINE)
def press_offline(state: State, b: str, fx: list[Effect]) -> State:
    if b in ("confirm", *BACK):
        return with_backend(customer_reset(state), pending=None)
    return state


# paging of the long lists (orders here, overdue for staff) ---------------------------------------


def list_rows(state: State) -> int | None:
    """Rows of the paged list on the current screen (None: no paged list here)."""
    if state.screen is Screen.ORDERS:
        return len(state.customer.orders)
    if state.screen is Screen.OVERDUE and state.staff is not None:
        return len(state.staff.overdue)
    return None


def pages(state: State) -> int | None:
    """Pages of the list on the current screen, once the renderer told its rows per page."""
    n = list_rows(state)
    screen, rows = state.paging.rows
    if n is None or screen != state.screen.value or rows < 1:
        return None
    return max(1, -(-n // rows))


def clamp_page(state: State) -> State:
    """Keep the page index on a page that exists (the list shrank, the page size changed)."""
    count = pages(state)
    if count is not None and state.paging.page > count - 1:
        return with_page(state, count - 1)
    return state


def turn_page(state: State, b: str, fx: list[Effect]) -> State:
    """``page_next`` / ``page_prev``: the screens offer them only when there is such a page."""
    state = clamp_page(state)
    count = pages(state)
    page = state.paging.page + 1 if b == "page_next" else state.paging.page - 1
    if page < 0 or (count is not None and page >= count):
        return state
    fx.append(Log("page", (("screen", state.screen.value), ("page", page + 1), ("pages", count or "-"))))
    return with_page(state, page)


def on_page_rows(state: State, event: PageRows, fx: list[Effect]) -> State:
    if event.screen != state.screen.value or list_rows(state) is None:
        return state  # drawn for a screen that is gone
    return replace(state, paging=replace(state.paging, rows=(event.screen, max(0, int(event.rows)))))


# handing parcels over ----------------------------------------------------------------------------


def take(state: State, chosen: tuple[Order, ...], fx: list[Effect]) -> State:
    """Start handing over ``chosen`` orders: scan each (counter) or unlock their doors (locker)."""
    purpose = state.customer.purpose
    fx.append(Log("pickup_start", (("orders", ",".join(o.number for o in chosen)), ("purpose", purpose.value))))
    if not state.cfg.locker:
        return replace(with_customer(state, queue=chosen, picked=()), screen=Screen.SCAN_PACKAGE, message=None)
    slots = []
    in_service = {d.number for d in state.cfg.doors if d.in_service}
    for order in chosen:
        door = order.locker_door
        if door is None or (state.cfg.doors and door not in in_service):
            fx.append(Log("door_unknown", (("order", order.number), ("door", door))))
            continue  # not behind one of this bank's doors: nothing to open here
        slots.append(DoorSlot(number=door, order=order))
    if not slots:
        return error(state, fx, "unknown")
    for slot in slots:
        fx.append(Unlock(slot.number))
    return replace(with_customer(state, doors=tuple(slots), picked=()), screen=Screen.DOOR_OPEN, message=None)


def finish_pickup(state: State) -> State:
    if state.customer.purpose is Purpose.HANDOVER and state.staff is not None:
        picked = state.customer.picked
        state = with_staff(state, overdue=tuple(o for o in state.staff.overdue if o.number not in picked), detail=None)
    return replace(state, screen=Screen.DONE, message=None)


# the backend's answers ---------------------------------------------------------------------------


@rule(RESULT, LookupMember.name)
def result_lookup(state: State, event: ApiResult, fx: list[Effect]) -> State:
    if not event.ok:
        code = refusal_code(event)
        fx.append(Log("lookup_refused", (("code", code),)))
        return error(replace(customer_reset(state), screen=Screen.IDLE), fx, code, Screen.IDLE)
    lookup = event.value
    orders = tuple(lookup.orders)
    fx.append(Indicate("success"))
    fx.append(Log("lookup_ok", (("orders", len(orders)),)))
    state = with_customer(
        state,
        member_id=lookup.member.id,
        lookup_id=lookup.lookup_id,
        lookup_expires_in=lookup.expires_in,
        member_masked=lookup.member.display_name_masked,
        orders=orders,
        entry_text="",
        entry_kind="",
    )
    return replace(with_page(state, 0), screen=Screen.ORDERS, message=None if orders else msg("msg.no_orders"))


@rule(RESULT, Pickup.name)
def result_pickup(state: State, event: ApiResult, fx: list[Effect]) -> State:
    queue = state.customer.queue
    order = queue[0] if queue else None
    number = order.number if order is not None else ""
    if not event.ok:
        code = refusal_code(event)
        fx.append(Log("pickup_refused", (("code", code), ("order", number or "-"))))
        if code == "package_mismatch":
            return refuse(state, fx, "err.package_mismatch", number=number)
        handover = state.customer.purpose is Purpose.HANDOVER and state.staff is not None
        return error(state, fx, code, Screen.ORDER_DETAIL if handover else Screen.IDLE)
    if isinstance(event.value, Order):
        number = event.value.number
    fx.append(Indicate("success"))
    fx.append(Log("pickup", (("order", number), ("purpose", state.customer.purpose.value))))
    picked = (*state.customer.picked, number)
    rest = queue[1:]
    if rest:
        state = with_customer(state, queue=rest, picked=picked)
        return replace(state, message=msg("msg.picked_next", "ok", number=number))
    return finish_pickup(with_customer(state, queue=(), picked=picked))


# doors -------------------------------------------------------------------------------------------


def on_door(state: State, event: DoorEvent, fx: list[Effect]) -> State:
    kind = event.kind
    if kind in ("forced", "left_open"):
        fx.append(Indicate("attention"))
        fx.append(Log(f"door_{kind}", (("door", event.door),)))
        return state
    if state.screen is not Screen.DOOR_OPEN:
        return state
    doors = state.customer.doors
    index = next((i for i, s in enumerate(doors) if s.number == event.door), None)
    if index is None:
        return state
    slot = doors[index]
    if kind == "opened" and slot.state in (DoorSlotState.UNLOCKED, DoorSlotState.NOT_OPENED):
        slot = replace(slot, state=DoorSlotState.OPEN)
        if state.customer.purpose in (Purpose.PICKUP, Purpose.HANDOVER) and not slot.written:
            state, slot = _write_pickup(state, slot, fx)
        info = state.cfg.door_info(slot.number)
        if info is not None and info.sensorless:
            slot = replace(slot, state=DoorSlotState.LOCKED)
    elif kind == "closed" and slot.state is DoorSlotState.OPEN:
        slot = replace(slot, state=DoorSlotState.LOCKED)
    elif kind == "not_opened" and slot.state is DoorSlotState.UNLOCKED:
        fx.append(Log("door_not_opened", (("door", slot.number), ("retry", int(slot.retried)))))
        if slot.retried:
            slot = replace(slot, state=DoorSlotState.GIVEN_UP)
        else:
            slot = replace(slot, state=DoorSlotState.NOT_OPENED)
            fx.append(Indicate("attention"))
    else:
        return state
    state = with_customer(state, doors=(*doors[:index], slot, *doors[index + 1 :]))
    if doors_settled(state):
        return doors_finished(state, fx)
    return state


def _write_pickup(state: State, slot: DoorSlot, fx: list[Effect]) -> tuple[State, DoorSlot]:
    """The door of a pickup opened: the pickup goes into the outbox (once)."""
    order = slot.order
    write = Pickup(order_id=order.id, lookup_id=state.customer.lookup_id, locker_door=slot.number)
    if state.customer.purpose is Purpose.HANDOVER and state.staff is not None:
        write = replace(write, handed_over_by=state.staff.id, staff_token=state.staff.token)
    fx.append(Enqueue(write, order.number))
    fx.append(Log("pickup", (("order", order.number), ("door", slot.number))))
    fx.append(Indicate("success"))
    state = with_customer(state, picked=(*state.customer.picked, order.number))
    return state, replace(slot, written=True)


def doors_settled(state: State) -> bool:
    return all(s.state in (DoorSlotState.LOCKED, DoorSlotState.GIVEN_UP) for s in state.customer.doors)


def doors_finished(state: State, fx: list[Effect]) -> State:
    doors = state.customer.doors
    if state.customer.purpose is Purpose.RETURN:
        number = doors[0].order.number if doors else ""
        state = with_staff(with_customer(state, doors=()), detail=None)
        screen = Screen.OVERDUE if state.staff is not None else Screen.IDLE
        return replace(state, screen=screen, message=msg("msg.return_requested", "ok", number=number))
    if any(s.state is DoorSlotState.LOCKED for s in doors):
        return finish_pickup(state)
    fx.append(Log("pickup_abandoned", (("doors", ",".join(str(s.number) for s in doors)),)))
    if state.customer.purpose is Purpose.HANDOVER and state.staff is not None:
        state = with_customer(state, doors=())
        return replace(state, screen=Screen.ORDER_DETAIL, message=msg("msg.door_not_opened", "warn"))
    return to_idle(state, fx)
