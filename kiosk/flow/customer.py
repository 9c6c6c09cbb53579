"""The customer's screens: idle, orders, scan_package, door_open, done, error, offline. Each
screen's rules for scans, presses and the backend's answers sit together here (member_entry and
pickup_code with the look-up's answer: :mod:`kiosk.flow.contact`; help: :mod:`kiosk.flow.help_screen`).

r2 (docs/design.md): after one pickup the parcels left of the same look-up are listed again on
``orders``; a locker lists a parcel without a door as one to collect at the counter and never
tries to open it; the counter calls staff to bring the parcel chosen and credits the staff
member on duty with the hand-over; no door opens once the look-up's ``expires_in`` has passed."""

from __future__ import annotations

from dataclasses import replace

from kiosk.api.models import Order
from kiosk.api.requests import LookupMember, Pickup
from kiosk.codes import CodePatterns
from kiosk.events import ApiResult, DoorEvent
from kiosk.flow.common import call, customer_reset, error, msg, on, refusal_code, refuse, to_idle
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


@on.scan(
    Screen.IDLE,
    Screen.OFFLINE,
    Screen.DONE,
    Screen.ERROR,
    Screen.ORDERS,
    Screen.MEMBER_ENTRY,
    Screen.PICKUP_CODE,
    Screen.HELP,
)
def scan_greeting(state: State, code: str, fx: list[Effect]) -> State:
    """A scan on idle, offline, done, error, orders, member_entry, pickup_code or help: a badge or
    a member code."""
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
        state = customer_reset(state).with_customer(member_code=code)
        if screen is not Screen.OFFLINE:
            state = replace(state, screen=Screen.IDLE)
        return call(state, fx, LookupMember(member_code=code))
    if p.is_parcel(code):
        return refuse(state, fx, "msg.code_wrong_kind")
    return refuse(state, fx, "msg.code_unknown")


@on.scan(Screen.SCAN_PACKAGE)
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
    elif state.customer.lookup_expired:
        return expired(state, fx)
    elif state.on_duty is not None:  # the customer's own pickup: the member on duty handed it over
        request = replace(request, handed_over_by=state.on_duty.id)
    return call(replace(state, message=None), fx, request)


# presses ---------------------------------------------------------------------------------------


def entry_kind(b: str) -> str:
    return "phone" if b == "lookup_phone" else "email"


@on.press(Screen.IDLE)
def press_idle(state: State, b: str, fx: list[Effect]) -> State:
    if b in BACK:
        return replace(state.with_backend(pending=None), message=None)  # a look-up in flight is forgotten
    if b in ("lookup_phone", "lookup_email") and not state.backend.member_code_only:
        state = state.with_customer(entry_kind=entry_kind(b), entry_text="")
        return replace(state, screen=Screen.MEMBER_ENTRY, message=None)
    return state


@on.press(Screen.ORDERS)
def press_orders(state: State, b: str, fx: list[Effect]) -> State:
    if b in BACK:
        return to_idle(state, fx)
    if b in PAGE_BUTTONS:
        return turn_page(state, b, fx)
    orders = state.customer.orders
    if b == "pickup_all":
        chosen = tuple(o for o in orders if openable(state, o))
        if orders and not chosen:  # a locker with only parcels for the counter (no button shown)
            return refuse(state, fx, "orders.hint_counter_only")
    elif b.startswith("order:"):
        chosen = tuple(o for o in orders if o.number == b[6:])
        if chosen and not openable(state, chosen[0]):  # no button for it: collected at the counter
            fx.append(Log("door_unknown", (("order", chosen[0].number), ("door", chosen[0].locker_door))))
            return refuse(state, fx, "orders.at_counter")
    else:
        return state
    if not chosen:
        return state
    return take(state.with_customer(purpose=Purpose.PICKUP, take_all=b == "pickup_all"), chosen, fx)


def openable(state: State, order: Order) -> bool:
    """Counter: every parcel; locker: one behind an in-service door of this bank."""
    if not state.cfg.locker:
        return True
    door = order.locker_door
    if door is None:
        return False
    info = state.cfg.door_info(door)
    return not state.cfg.doors or (info is not None and info.in_service)


def expired(state: State, fx: list[Effect]) -> State:
    """The look-up's time is up (kiosk clock): nothing more is handed over; scan again."""
    fx.append(Log("pickup_refused", (("code", "lookup_expired"),)))
    return error(state, fx, "lookup_expired", Screen.IDLE)


@on.press(Screen.SCAN_PACKAGE)
def press_scan_package(state: State, b: str, fx: list[Effect]) -> State:
    if b in BACK:
        if state.customer.purpose is Purpose.HANDOVER and state.staff is not None:
            state = state.with_customer(queue=())
            return replace(
                state, screen=Screen.ORDER_DETAIL, backend=replace(state.backend, pending=None), message=None
            )
        return to_idle(state, fx)
    return state


@on.press(Screen.DOOR_OPEN)
def press_door_open(state: State, b: str, fx: list[Effect]) -> State:
    if b == "retry":
        if state.customer.lookup_expired and state.customer.purpose is Purpose.PICKUP:
            return expired(state, fx)  # never a door after the look-up's expires_in
        slots = []
        for slot in state.customer.doors:
            if slot.state is DoorSlotState.NOT_OPENED and not slot.retried:
                fx.append(Unlock(slot.number))
                slot = replace(slot, state=DoorSlotState.UNLOCKED, retried=True)
            slots.append(slot)
        return replace(state.with_customer(doors=tuple(slots)), message=None)
    if b in ("confirm", *BACK) and doors_settled(state):
        return doors_finished(state, fx)
    return state


@on.press(Screen.DONE)
def press_done(state: State, b: str, fx: list[Effect]) -> State:
    if b in ("confirm", *BACK):
        if state.staff is not None:
            return replace(customer_reset(state), screen=Screen.STAFF_MENU)
        return to_idle(state, fx)
    return state


@on.press(Screen.ERROR)
def press_error(state: State, b: str, fx: list[Effect]) -> State:
    if b in ("confirm", *BACK):
        if state.error_back in STAFF and state.staff is not None:
            state = replace(state, lockers=replace(state.lockers, arrival=None))
            return replace(state, screen=state.error_back, message=None)
        return to_idle(state, fx)
    return state


@on.press(Screen.OFFLINE)
def press_offline(state: State, b: str, fx: list[Effect]) -> State:
    if b in ("confirm", *BACK):
        return customer_reset(state).with_backend(pending=None)
    return state


# paging of the long lists (orders here, overdue for staff) ---------------------------------------


def list_rows(state: State) -> int | None:
    """Rows of the paged list on the current screen (None: no paged list here)."""
    if state.screen is Screen.ORDERS:
        return len(state.customer.orders)
    if state.screen is Screen.OVERDUE and state.staff is not None:
        return len(state.staff.overdue)
    if state.screen is Screen.RETURNS and state.staff is not None:
        return len(state.staff.returns)
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
        return state.with_page(count - 1)
    return state


def turn_page(state: State, b: str, fx: list[Effect]) -> State:
    """``page_next`` / ``page_prev``: the screens offer them only when there is such a page."""
    state = clamp_page(state)
    count = pages(state)
    page = state.paging.page + 1 if b == "page_next" else state.paging.page - 1
    if page < 0 or (count is not None and page >= count):
        return state
    fx.append(Log("page", (("screen", state.screen.value), ("page", page + 1), ("pages", count or "-"))))
    return state.with_page(page)


def on_page_rows(state: State, event: PageRows, fx: list[Effect]) -> State:
    if event.screen != state.screen.value or list_rows(state) is None:
        return state  # drawn for a screen that is gone
    return replace(state, paging=replace(state.paging, rows=(event.screen, max(0, int(event.rows)))))


# handing parcels over ----------------------------------------------------------------------------


def take(state: State, chosen: tuple[Order, ...], fx: list[Effect]) -> State:
    """Start handing over ``chosen`` orders: scan each (counter) or unlock their doors (locker)."""
    purpose = state.customer.purpose
    if purpose is Purpose.PICKUP and state.customer.lookup_expired:
        return expired(state, fx)
    fx.append(Log("pickup_start", (("orders", ",".join(o.number for o in chosen)), ("purpose", purpose.value))))
    if not state.cfg.locker:
        state = replace(state.with_customer(queue=chosen), screen=Screen.SCAN_PACKAGE, message=None)
        if purpose is Purpose.PICKUP:  # staff bring the parcel: call them (pattern and buzzer)
            fx.append(Indicate("attention"))
            fx.append(Log("staff_needed", (("orders", len(chosen)),)))
        return state
    slots = []
    for order in chosen:
        if not openable(state, order):
            fx.append(Log("door_unknown", (("order", order.number), ("door", order.locker_door))))
            continue  # not behind one of this bank's doors: nothing to open here
        slots.append(DoorSlot(number=order.locker_door, order=order))
    if not slots:
        return error(state, fx, "unknown")
    for slot in slots:
        fx.append(Unlock(slot.number))
    return replace(state.with_customer(doors=tuple(slots)), screen=Screen.DOOR_OPEN, message=None)


def finish_pickup(state: State) -> State:
    """The parcels chosen are handed over: ``done``, or back to ``orders`` when the customer's
    look-up still has parcels waiting (none taken with ``pickup_all``)."""
    c = state.customer
    if c.purpose is Purpose.HANDOVER and state.staff is not None:
        picked = c.picked
        state = state.with_staff(overdue=tuple(o for o in state.staff.overdue if o.number not in picked), detail=None)
    left = tuple(o for o in c.orders if o.number not in c.picked)
    if c.purpose is Purpose.PICKUP and left and not c.take_all and not c.lookup_expired:
        state = state.with_customer(orders=left, queue=(), doors=())
        last = c.picked[-1] if c.picked else ""
        return replace(state.with_page(0), screen=Screen.ORDERS, message=msg("msg.picked_up", "ok", number=last))
    return replace(state, screen=Screen.DONE, message=None)


# the backend's answers ---------------------------------------------------------------------------


@on.result(Pickup.name)
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
        state = state.with_customer(queue=rest, picked=picked)
        return replace(state, message=msg("msg.picked_next", "ok", number=number))
    return finish_pickup(state.with_customer(queue=(), picked=picked))


# doors -------------------------------------------------------------------------------------------


def on_door(state: State, event: DoorEvent, fx: list[Effect]) -> State:
    kind = event.kind
    if kind in ("forced", "left_open"):
        fx.append(Indicate("attention"))
        fx.append(Log(f"door_{kind}", (("door", event.door),)))
        return state
    over_help = state.screen is Screen.HELP and state.customer.help_back is Screen.DOOR_OPEN
    if state.screen is not Screen.DOOR_OPEN and not over_help:
        return state  # (help opened over door_open still follows the doors)
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
    state = state.with_customer(doors=(*doors[:index], slot, *doors[index + 1 :]))
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
    state = state.with_customer(picked=(*state.customer.picked, order.number))
    return state, replace(slot, written=True)


def doors_settled(state: State) -> bool:
    return all(s.state in (DoorSlotState.LOCKED, DoorSlotState.GIVEN_UP) for s in state.customer.doors)


def doors_finished(state: State, fx: list[Effect]) -> State:
    doors = state.customer.doors
    if state.customer.purpose is Purpose.RETURN:
        number = doors[0].order.number if doors else ""
        state = state.with_customer(doors=()).with_staff(detail=None)
        screen = Screen.OVERDUE if state.staff is not None else Screen.IDLE
        return replace(state, screen=screen, message=msg("msg.return_requested", "ok", number=number))
    if any(s.state is DoorSlotState.LOCKED for s in doors):
        return finish_pickup(state)
    fx.append(Log("pickup_abandoned", (("doors", ",".join(str(s.number) for s in doors)),)))
    if state.customer.purpose is Purpose.HANDOVER and state.staff is not None:
        state = state.with_customer(doors=())
        return replace(state, screen=Screen.ORDER_DETAIL, message=msg("msg.door_not_opened", "warn"))
    return to_idle(state, fx)
