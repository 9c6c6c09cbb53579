"""Every decision of a kiosk session, as a pure state machine: ``step(state, event) -> (state, effects)``.

Nothing here imports pygame, requests, gpiozero or cv2 (DESIGN.md, "pure decisions"). The app
loop feeds events in (scans, button presses, typed characters, backend answers, door events,
timer firings, outbox and backend changes) and carries out the :class:`Effect` records that come
back (call the backend on the worker, enqueue to the outbox, unlock a door, show an indicator
pattern, start/cancel a named timer). :func:`view` turns a state into the screens' view model.

Rules kept here (DESIGN.md "Flow rules"):
- A scan is read by the screen it arrives on, with the backend's code patterns (local overrides
  win). A code refused on the spot makes no backend call and leaves the screen as it is, with a
  message and the error pattern.
- A door opens only on the backend's yes (the look-up at a locker, the return call for staff).
- Backend answers carry the token of their request; a stale answer (the customer left, a newer
  request replaced it) is dropped.
- Unreachable backend: customers see ``offline`` and nothing opens; staff arrivals go on into the
  outbox. A probe (``settings``) runs every ``probe_online`` seconds while online (an idle kiosk
  notices an outage) and every ``probe_offline`` seconds while offline (it comes back by itself).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Any

from kiosk.codes import CodePatterns, clean
from kiosk.errors import BackendUnavailable, Rejected
from kiosk.events import ApiResult, BackendState, CameraState, DoorEvent, OutboxChanged, Scan
from kiosk.privacy import mask_name
from kiosk.screens.view import (
    RETURN_REASONS,
    DoorRow,
    Erase,
    Message,
    OrderDetail,
    OrderRow,
    Press,
    StaffChoice,
    Typed,
    View,
)

# ---------------------------------------------------------------------------------------------
# states, events, effects


class Screen(enum.Enum):
    IDLE = "idle"
    MEMBER_ENTRY = "member_entry"
    ORDERS = "orders"
    SCAN_PACKAGE = "scan_package"
    DOOR_OPEN = "door_open"
    DONE = "done"
    ERROR = "error"
    OFFLINE = "offline"
    STAFF_LOGIN = "staff_login"
    STAFF_MENU = "staff_menu"
    ARRIVAL = "arrival"
    ARRIVAL_CONFIRM = "arrival_confirm"
    OVERDUE = "overdue"
    ORDER_DETAIL = "order_detail"


CUSTOMER = frozenset(
    {
        Screen.IDLE,
        Screen.MEMBER_ENTRY,
        Screen.ORDERS,
        Screen.SCAN_PACKAGE,
        Screen.DOOR_OPEN,
        Screen.DONE,
        Screen.ERROR,
        Screen.OFFLINE,
    }
)
STAFF = frozenset(
    {
        Screen.STAFF_LOGIN,
        Screen.STAFF_MENU,
        Screen.ARRIVAL,
        Screen.ARRIVAL_CONFIRM,
        Screen.OVERDUE,
        Screen.ORDER_DETAIL,
    }
)


class Purpose(enum.Enum):
    """Why doors were unlocked / a parcel is being handed over."""

    PICKUP = "pickup"  # the customer takes their parcel(s)
    HANDOVER = "handover"  # staff hands a parcel over on the customer's behalf
    RETURN = "return"  # staff takes a parcel out for a return


class DoorSlotState(enum.Enum):
    UNLOCKED = "unlocked"  # asked to unlock (pulse queued or running), waiting for it to open
    OPEN = "open"
    LOCKED = "locked"  # closed again after being opened
    NOT_OPENED = "not_opened"  # timed out, retry offered
    GIVEN_UP = "given_up"  # timed out after the retry: the parcel stays


@dataclass(frozen=True)
class Start:
    """The app is up: load the backend's settings."""


@dataclass(frozen=True)
class TimerFired:
    name: str


@dataclass(frozen=True)
class PageRows:
    """The renderer's word on how many rows of the list on ``screen`` fit one page (``orders``,
    ``overdue``; every row when the whole list fits). The page size is a matter of the surface,
    so the screens decide it; the app reports it after each draw and the flow keeps its page index
    within the pages there are."""

    screen: str
    rows: int


# effects -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """Run ``request`` on the api worker; the answer comes back as ``ApiResult(request, token=token)``."""

    request: str
    token: int
    args: dict = field(default_factory=dict, hash=False, compare=True)
    staff_token: str | None = None

    def __repr__(self) -> str:  # args hold codes and PINs: never in a log line
        return f"Call({self.request!r}, token={self.token})"


@dataclass(frozen=True)
class Enqueue:
    """A write that must not be lost: through the durable outbox (sent at once when possible)."""

    kind: str  # "arrive" | "pickup"
    order_ref: str  # arrive: the package code; pickup: the order id
    payload: dict = field(default_factory=dict, hash=False, compare=True)
    staff_token: str | None = None
    number: str = ""  # the order number, for log lines

    def __repr__(self) -> str:
        return f"Enqueue({self.kind!r}, number={self.number!r})"


@dataclass(frozen=True)
class Unlock:
    door: int


@dataclass(frozen=True)
class Indicate:
    pattern: str  # ready | busy | success | error | attention


@dataclass(frozen=True)
class StartTimer:
    name: str
    seconds: float


@dataclass(frozen=True)
class CancelTimer:
    name: str


@dataclass(frozen=True)
class Log:
    """An event line for the journal (fields must hold no personal data)."""

    event: str
    fields: tuple[tuple[str, Any], ...] = ()


Effect = Call | Enqueue | Unlock | Indicate | StartTimer | CancelTimer | Log


# configuration and state ---------------------------------------------------------------------


@dataclass(frozen=True)
class DoorInfo:
    number: int
    size: str = "M"
    sensorless: bool = False
    in_service: bool = True


@dataclass(frozen=True)
class FlowConfig:
    mode: str = "counter"
    language: str = "zh-TW"
    idle_timeout: float = 60.0
    done_timeout: float = 8.0
    staff_timeout: float = 120.0
    message_timeout: float = 4.0
    # settings re-read while all is well: also how an idle kiosk notices an outage before a
    # customer scans in vain (the heartbeat, every 30 s, notices it too)
    probe_online: float = 15.0
    probe_offline: float = 2.0  # and while it is unreachable: back on its own within seconds
    doors: tuple[DoorInfo, ...] = ()
    pattern_overrides: tuple[tuple[str, str], ...] = ()  # local [scanner] *_pattern values

    @property
    def locker(self) -> bool:
        return self.mode == "locker"

    def door_info(self, number: int) -> DoorInfo | None:
        for d in self.doors:
            if d.number == number:
                return d
        return None


@dataclass(frozen=True)
class DoorSlot:
    number: int
    order: Any  # the Order behind this door (None for a staff return's door: then `detail`)
    state: DoorSlotState = DoorSlotState.UNLOCKED
    retried: bool = False
    written: bool = False  # the pickup went into the outbox


@dataclass(frozen=True)
class Arrival:
    """A parcel being received: its code, the backend's order (None offline), the door given."""

    package_code: str
    order: Any = None
    door: int | None = None
    offline: bool = False


@dataclass(frozen=True)
class StaffSession:
    token: str
    id: str
    name: str

    def __repr__(self) -> str:
        return f"StaffSession(id={self.id!r})"


@dataclass(frozen=True)
class State:
    cfg: FlowConfig = field(default_factory=FlowConfig)
    screen: Screen = Screen.IDLE
    lang: str = "zh-TW"
    settings_loaded: bool = False
    patterns: CodePatterns = field(default_factory=CodePatterns)
    member_code_only: bool = False
    commission_enabled: bool = True
    online: bool = True
    seq: int = 0
    pending: tuple[str, int] | None = None  # (request, token) of the interactive call in flight
    probing: int = 0  # token of a probe in flight (0: none)
    message: Message | None = None
    error_back: Screen = Screen.IDLE  # where `back` on `error` goes
    camera_ok: bool = True
    outbox_depth: int = 0
    attention: int = 0
    # customer session
    member_id: str = ""
    lookup_id: str = ""  # API.md r2: the look-up's id, named by every pickup of this session
    lookup_expires_in: int = 0
    member_code: str = ""  # the code looked up (kept in memory only): shown again, it is no new look-up
    member_masked: str = ""
    orders: tuple = ()
    queue: tuple = ()  # counter: orders still to be scanned, the first is current
    picked: tuple[str, ...] = ()
    purpose: Purpose = Purpose.PICKUP
    doors: tuple[DoorSlot, ...] = ()
    entry_kind: str = ""
    entry_text: str = ""
    # staff
    badge: str = ""
    pin: str = ""
    staff: StaffSession | None = None
    staff_list: tuple = ()
    selected_staff: str | None = None
    arrival: Arrival | None = None
    arrival_count: int = 0
    occupied: frozenset[int] = frozenset()
    assigned: frozenset[int] = frozenset()  # doors given to arrivals in this staff session
    confirmed: tuple[tuple[str, str], ...] = ()  # (package code, order number) confirmed this session
    occupancy_known: bool = False  # `occupied` came from the backend (else no door is given offline)
    side_calls: frozenset[int] = frozenset()  # tokens of the staff_list/occupied reads in flight
    overdue: tuple = ()
    detail: Any = None
    return_reason: str | None = None
    # paging of the long lists (orders, overdue): the page shown, and the rows per page the
    # renderer reported for a screen (("", 0): not known yet, any page index is kept)
    page: int = 0
    page_rows: tuple[str, int] = ("", 0)

    def __repr__(self) -> str:  # never dump codes, PINs or tokens
        return f"State(screen={self.screen.value}, busy={self.pending is not None}, online={self.online})"

    @property
    def busy(self) -> bool:
        return self.pending is not None


def initial(cfg: FlowConfig | None = None) -> State:
    cfg = cfg or FlowConfig()
    return State(cfg=cfg, lang=cfg.language, patterns=CodePatterns.from_settings(None, dict(cfg.pattern_overrides)))


# ---------------------------------------------------------------------------------------------
# the step function


def step(state: State, event: object) -> tuple[State, list[Effect]]:
    """The next state and what to do, for one event. Pure."""
    fx: list[Effect] = []
    before = state
    user_input = isinstance(event, Press | Typed | Erase | Scan | DoorEvent)
    handler = _HANDLERS.get(type(event))
    if handler is None:
        return state, fx
    state = handler(state, event, fx)
    state = _housekeeping(before, state, user_input, fx)
    return _clamp_page(state), fx


def _housekeeping(before: State, state: State, user_input: bool, fx: list[Effect]) -> State:
    """Timers and indicators that follow from the screen the state is on."""
    cfg = state.cfg
    changed = state.screen is not before.screen
    if changed or user_input:
        if state.screen in (Screen.IDLE, Screen.OFFLINE):
            fx.append(CancelTimer("idle"))
        elif state.screen is Screen.DONE:
            fx.append(StartTimer("idle", cfg.done_timeout))
        elif state.screen in CUSTOMER or (state.screen is Screen.STAFF_LOGIN and state.staff is None):
            fx.append(StartTimer("idle", cfg.idle_timeout))
        else:
            fx.append(CancelTimer("idle"))
    if state.staff is not None and (changed or user_input):
        fx.append(StartTimer("staff", cfg.staff_timeout))
    elif state.staff is None and before.staff is not None:
        fx.append(CancelTimer("staff"))
    if state.message is not None and state.message is not before.message:
        fx.append(StartTimer("message", cfg.message_timeout))
    if state.online != before.online:
        fx.append(StartTimer("probe", cfg.probe_online if state.online else cfg.probe_offline))
        fx.append(Log("backend_up" if state.online else "backend_down"))
    if state.pending is not None and before.pending is None:
        fx.append(Indicate("busy"))
    elif state.pending is None and before.pending is not None and not any(isinstance(f, Indicate) for f in fx):
        fx.append(Indicate("ready"))
    if changed and state.screen is Screen.IDLE and not any(isinstance(f, Indicate) for f in fx):
        fx.append(Indicate("ready"))
    if changed:
        fx.append(Log("screen", (("screen", state.screen.value),)))
    return state


def _call(state: State, fx: list[Effect], request: str, staff_token: str | None = None, **args: Any) -> State:
    token = state.seq + 1
    fx.append(Call(request, token, args, staff_token))
    return replace(state, seq=token, pending=(request, token))


def _msg(key: str, level: str = "info", **params: Any) -> Message:
    return Message.of(key, level, **params)


def _refuse(state: State, fx: list[Effect], key: str, **params: Any) -> State:
    fx.append(Indicate("error"))
    return replace(state, message=_msg(key, "error", **params))


def _customer_reset(state: State) -> State:
    """Forget everything the customer session showed."""
    return replace(
        state,
        member_id="",
        lookup_id="",
        lookup_expires_in=0,
        member_code="",
        member_masked="",
        orders=(),
        queue=(),
        picked=(),
        purpose=Purpose.PICKUP,
        doors=(),
        entry_kind="",
        entry_text="",
        badge="",
        pin="",
        message=None,
        page=0,
    )


def _to_idle(state: State, fx: list[Effect]) -> State:
    """The session is over: forget it, and greet the next person in the kiosk's own language."""
    state = _customer_reset(state)
    screen = Screen.IDLE if state.online else Screen.OFFLINE
    if state.staff is not None:
        state = _staff_reset(state)
    return replace(state, screen=screen, pending=None, lang=state.cfg.language)


def _staff_reset(state: State) -> State:
    return replace(
        state,
        staff=None,
        staff_list=(),
        selected_staff=None,
        arrival=None,
        arrival_count=0,
        confirmed=(),
        overdue=(),
        detail=None,
        return_reason=None,
        badge="",
        pin="",
        page=0,
        side_calls=frozenset(),
    )


def _home(state: State) -> Screen:
    """Where a finished task goes back to: the staff menu while staff is logged in."""
    return Screen.STAFF_MENU if state.staff is not None else Screen.IDLE


def _error(state: State, fx: list[Effect], code: str, back: Screen | None = None) -> State:
    fx.append(Indicate("error"))
    return replace(
        state,
        screen=Screen.ERROR,
        pending=None,
        message=_msg(f"err.{code}", "error"),
        error_back=back if back is not None else _home(state),
    )


# start, timers, backend state ------------------------------------------------------------------


def _on_start(state: State, event: Start, fx: list[Effect]) -> State:
    fx.append(Indicate("ready"))
    token = state.seq + 1
    fx.append(Call("settings", token))
    return replace(state, seq=token, probing=token)


def _on_timer(state: State, event: TimerFired, fx: list[Effect]) -> State:
    name = event.name
    if name == "message":
        return replace(state, message=None)
    if name == "idle":
        if state.staff is not None and state.screen in CUSTOMER and state.screen is not Screen.ERROR:
            # a hand-over on a customer's behalf went quiet: back to the staff menu, still logged in
            return replace(_customer_reset(state), screen=Screen.STAFF_MENU, pending=None, queue=(), detail=None)
        if state.screen is Screen.STAFF_LOGIN and state.staff is None:
            fx.append(Log("idle_return", (("from", state.screen.value),)))
            return _to_idle(state, fx)
        if state.screen in CUSTOMER and state.screen not in (Screen.IDLE, Screen.OFFLINE):
            if state.screen is Screen.ERROR and state.error_back in STAFF and state.staff is not None:
                return replace(state, screen=state.error_back, message=None)
            fx.append(Log("idle_return", (("from", state.screen.value),)))
            return _to_idle(state, fx)
        return state
    if name == "staff":
        if state.staff is not None:
            fx.append(Log("staff_logout", (("staff", state.staff.id), ("why", "inactivity"))))
            return _to_idle(state, fx)
        return state
    if name == "probe":
        if state.probing:
            fx.append(StartTimer("probe", state.cfg.probe_offline))
            return state
        token = state.seq + 1
        fx.append(Call("settings", token))
        return replace(state, seq=token, probing=token)
    return state


def _on_backend_state(state: State, event: BackendState, fx: list[Effect]) -> State:
    if event.state == "up":
        return _went_online(state, fx)
    if event.state == "down":
        return _went_offline(state, fx)
    return state


def _went_online(state: State, fx: list[Effect]) -> State:
    if state.online:
        return state
    state = replace(state, online=True)
    if state.screen is Screen.OFFLINE:
        state = replace(state, screen=Screen.IDLE, message=None)
    return state


def _went_offline(state: State, fx: list[Effect]) -> State:
    if not state.online:
        return state
    state = replace(state, online=False)
    if state.screen is Screen.IDLE:
        state = replace(state, screen=Screen.OFFLINE)
    return state


def _on_outbox(state: State, event: OutboxChanged, fx: list[Effect]) -> State:
    if event.attention > state.attention:
        fx.append(Indicate("attention"))
    state = replace(state, outbox_depth=event.depth, attention=event.attention)
    if event.delivered:
        state = _went_online(state, fx)
    return state


def _on_camera(state: State, event: CameraState, fx: list[Effect]) -> State:
    return replace(state, camera_ok=event.state == "ok")


# scans ---------------------------------------------------------------------------------------


def _on_scan(state: State, event: Scan, fx: list[Effect]) -> State:
    code = clean(event.text)
    if code is None:
        return _refuse(state, fx, "msg.code_unreadable")
    if state.busy:
        return state  # one question at a time; the scanner's hold-off lets it come again
    screen = state.screen
    p = state.patterns
    if screen in (Screen.IDLE, Screen.OFFLINE, Screen.DONE, Screen.ERROR, Screen.ORDERS, Screen.MEMBER_ENTRY):
        if screen is Screen.ERROR and state.error_back in STAFF:
            return _refuse(state, fx, "msg.code_wrong_kind")
        if p.is_staff(code):
            fx.append(Log("badge_scanned"))
            state = _customer_reset(state)
            return replace(state, screen=Screen.STAFF_LOGIN, badge=code, pin="")
        if p.is_member(code):
            if screen is Screen.ORDERS and code == state.member_code:
                return state  # the same code still in front of the camera: these are its orders
            state = replace(_customer_reset(state), member_code=code)
            if screen is not Screen.OFFLINE:
                state = replace(state, screen=Screen.IDLE)
            return _call(state, fx, "lookup", member_code=code)
        if p.is_parcel(code):
            return _refuse(state, fx, "msg.code_wrong_kind")
        return _refuse(state, fx, "msg.code_unknown")
    if screen is Screen.SCAN_PACKAGE:
        if p.is_staff(code) or not p.is_parcel(code):
            return _refuse(state, fx, "msg.code_wrong_kind" if _known(p, code) else "msg.code_unknown")
        order = state.queue[0] if state.queue else None
        if order is None:
            return state
        args: dict[str, Any] = {"order_id": order.id, "lookup_id": state.lookup_id, "package_code": code}
        staff_token = None
        if state.purpose is Purpose.HANDOVER and state.staff is not None:
            args["handed_over_by"] = state.staff.id
            staff_token = state.staff.token
        return _call(replace(state, message=None), fx, "pickup", staff_token, **args)
    if screen is Screen.ARRIVAL:
        if state.staff is None:
            return state
        if p.is_staff(code) or not p.is_parcel(code):
            return _refuse(state, fx, "msg.code_wrong_kind" if _known(p, code) else "msg.code_unknown")
        done = next((number for c, number in state.confirmed if c == code), None)
        if done is not None:
            # confirmed a moment ago (still in view, or scanned twice): no second arrival, no door
            fx.append(Log("parcel_refused", (("code", "confirmed_here"), ("order", done or "-"))))
            if not done:  # confirmed offline: the order number was never known
                return _refuse(state, fx, "msg.parcel_already_registered")
            return _refuse(state, fx, "msg.already_arrived", number=done)
        state = replace(state, arrival=Arrival(package_code=code), message=None)
        return _call(state, fx, "parcel", state.staff.token, package_code=code, occupied=state.cfg.locker)
    if screen is Screen.STAFF_LOGIN and p.is_staff(code):
        if code == state.badge:
            return state  # the badge still in view: keep the PIN typed so far
        return replace(state, badge=code, pin="", message=None)
    if screen is Screen.ARRIVAL_CONFIRM and state.arrival is not None and code == state.arrival.package_code:
        return state  # the parcel being confirmed, still in view: nothing wrong
    return _refuse(state, fx, "msg.code_wrong_kind" if _known(p, code) else "msg.code_unknown")


def _known(p: CodePatterns, code: str) -> bool:
    return p.is_staff(code) or p.is_member(code) or p.is_parcel(code)


# presses and typing --------------------------------------------------------------------------


def _on_press(state: State, event: Press, fx: list[Effect]) -> State:
    b = event.button
    if b == "lang":
        return replace(state, lang="en" if state.lang == "zh-TW" else "zh-TW")
    if b == "help":
        return replace(state, message=_msg("msg.help"))
    char = event.key_char
    if b.startswith("key:"):
        name = b[4:]
        if name == "backspace":
            return _erase(state, False)
        if name == "clear":
            return _erase(state, True)
        if char is not None:
            return _type(state, char)
        return state
    if b == "logout" and state.staff is not None:
        fx.append(Log("staff_logout", (("staff", state.staff.id), ("why", "button"))))
        return _to_idle(state, fx)
    if state.busy and b not in ("cancel", "back"):
        return state
    handler = _PRESS.get(state.screen)
    return handler(state, b, fx) if handler else state


def _press_idle(state: State, b: str, fx: list[Effect]) -> State:
    if b in ("cancel", "back"):
        return replace(state, pending=None, message=None)  # a look-up in flight is forgotten
    if b in ("lookup_phone", "lookup_email") and not state.member_code_only:
        kind = "phone" if b == "lookup_phone" else "email"
        return replace(state, screen=Screen.MEMBER_ENTRY, entry_kind=kind, entry_text="", message=None)
    return state


def _press_member_entry(state: State, b: str, fx: list[Effect]) -> State:
    if b in ("lookup_phone", "lookup_email") and not state.member_code_only:
        kind = "phone" if b == "lookup_phone" else "email"
        return replace(state, entry_kind=kind, entry_text="", message=None)
    if b in ("cancel", "back"):
        return _to_idle(state, fx)
    if b == "confirm":
        text = state.entry_text.strip()
        if state.entry_kind == "phone":
            digits = "".join(ch for ch in text if ch.isdigit())
            if len(digits) < 8 or clean(text) is None:
                return _refuse(state, fx, "msg.phone_invalid")
            return _call(replace(state, message=None), fx, "lookup", phone=text)
        if state.entry_kind == "email":
            local, at, domain = text.partition("@")
            if not (local and at and "." in domain) or clean(text) is None:
                return _refuse(state, fx, "msg.email_invalid")
            return _call(replace(state, message=None), fx, "lookup", email=text)
    return state


def _press_orders(state: State, b: str, fx: list[Effect]) -> State:
    if b in ("cancel", "back"):
        return _to_idle(state, fx)
    if b in PAGE_BUTTONS:
        return _turn_page(state, b, fx)
    if b == "pickup_all":
        chosen = tuple(state.orders)
    elif b.startswith("order:"):
        chosen = tuple(o for o in state.orders if o.number == b[6:])
    else:
        return state
    if not chosen:
        return state
    return _take(replace(state, purpose=Purpose.PICKUP), chosen, fx)


PAGE_BUTTONS = ("page_prev", "page_next")


def _list_rows(state: State) -> int | None:
    """Rows of the paged list on the current screen (None: no paged list here)."""
    if state.screen is Screen.ORDERS:
        return len(state.orders)
    if state.screen is Screen.OVERDUE:
        return len(state.overdue)
    return None


def _pages(state: State) -> int | None:
    """Pages of the list on the current screen, once the renderer told its rows per page."""
    n = _list_rows(state)
    screen, rows = state.page_rows
    if n is None or screen != state.screen.value or rows < 1:
        return None
    return max(1, -(-n // rows))


def _clamp_page(state: State) -> State:
    """Keep the page index on a page that exists (the list shrank, the page size changed)."""
    pages = _pages(state)
    if pages is not None and state.page > pages - 1:
        return replace(state, page=pages - 1)
    return state


def _turn_page(state: State, b: str, fx: list[Effect]) -> State:
    """``page_next`` / ``page_prev``: the screens offer them only when there is such a page."""
    state = _clamp_page(state)
    pages = _pages(state)
    page = state.page + 1 if b == "page_next" else state.page - 1
    if page < 0 or (pages is not None and page >= pages):
        return state
    fx.append(Log("page", (("screen", state.screen.value), ("page", page + 1), ("pages", pages or "-"))))
    return replace(state, page=page)


def _on_page_rows(state: State, event: PageRows, fx: list[Effect]) -> State:
    if event.screen != state.screen.value or _list_rows(state) is None:
        return state  # drawn for a screen that is gone
    return replace(state, page_rows=(event.screen, max(0, int(event.rows))))


def _take(state: State, chosen: tuple, fx: list[Effect]) -> State:
    """Start handing over ``chosen`` orders: scan each (counter) or unlock their doors (locker)."""
    fx.append(Log("pickup_start", (("orders", ",".join(o.number for o in chosen)), ("purpose", state.purpose.value))))
    if not state.cfg.locker:
        return replace(state, screen=Screen.SCAN_PACKAGE, queue=chosen, picked=(), message=None)
    slots = []
    known = {d.number for d in state.cfg.doors if d.in_service}
    for order in chosen:
        door = getattr(order, "locker_door", None)
        if door is None or (state.cfg.doors and door not in known):
            fx.append(Log("door_unknown", (("order", order.number), ("door", door))))
            continue  # not behind one of this bank's doors: nothing to open here
        slots.append(DoorSlot(number=door, order=order))
    if not slots:
        return _error(state, fx, "unknown")
    for slot in slots:
        fx.append(Unlock(slot.number))
    return replace(state, screen=Screen.DOOR_OPEN, doors=tuple(slots), picked=(), message=None)


def _press_scan_package(state: State, b: str, fx: list[Effect]) -> State:
    if b in ("cancel", "back"):
        if state.purpose is Purpose.HANDOVER and state.staff is not None:
            return replace(state, screen=Screen.ORDER_DETAIL, queue=(), pending=None, message=None)
        return _to_idle(state, fx)
    return state


def _press_door_open(state: State, b: str, fx: list[Effect]) -> State:
    if b == "retry":
        slots = []
        for slot in state.doors:
            if slot.state is DoorSlotState.NOT_OPENED and not slot.retried:
                fx.append(Unlock(slot.number))
                slot = replace(slot, state=DoorSlotState.UNLOCKED, retried=True)
            slots.append(slot)
        return replace(state, doors=tuple(slots), message=None)
    if b in ("confirm", "cancel", "back") and _doors_settled(state):
        return _doors_finished(state, fx)
    return state


def _press_done(state: State, b: str, fx: list[Effect]) -> State:
    if b in ("confirm", "back", "cancel"):
        if state.staff is not None:
            return replace(_customer_reset(state), screen=Screen.STAFF_MENU)
        return _to_idle(state, fx)
    return state


def _press_error(state: State, b: str, fx: list[Effect]) -> State:
    if b in ("confirm", "back", "cancel"):
        if state.error_back in STAFF and state.staff is not None:
            return replace(state, screen=state.error_back, message=None, arrival=None)
        return _to_idle(state, fx)
    return state


def _press_offline(state: State, b: str, fx: list[Effect]) -> State:
    if b in ("cancel", "back", "confirm"):
        return replace(_customer_reset(state), pending=None)
    return state


def _press_staff_login(state: State, b: str, fx: list[Effect]) -> State:
    if b in ("cancel", "back", "logout"):
        return _to_idle(state, fx)
    if b == "confirm":
        if not state.badge:
            return _refuse(state, fx, "msg.scan_badge")
        if not state.pin:
            return _refuse(state, fx, "msg.enter_pin")
        pin = state.pin
        return _call(replace(state, message=None), fx, "login", badge_code=state.badge, pin=pin)
    return state


def _press_staff_menu(state: State, b: str, fx: list[Effect]) -> State:
    if b == "arrival":
        state = replace(state, screen=Screen.ARRIVAL, arrival=None, message=None)
        if state.cfg.locker:
            # which doors hold parcels, known ahead: an arrival made offline still gets a free door
            token = state.seq + 1
            fx.append(Call("occupied", token, {}, state.staff.token))
            state = replace(state, seq=token, side_calls=state.side_calls | {token})
        return state
    if b == "overdue":
        return _call(replace(state, message=None), fx, "overdue", state.staff.token)
    if b in ("back", "cancel"):
        return state
    return state


def _press_arrival(state: State, b: str, fx: list[Effect]) -> State:
    if b in ("back", "cancel"):
        return replace(state, screen=Screen.STAFF_MENU, arrival=None, message=None, pending=None)
    return state


def _press_arrival_confirm(state: State, b: str, fx: list[Effect]) -> State:
    arrival = state.arrival
    if b in ("cancel", "back"):
        return replace(state, screen=Screen.ARRIVAL, arrival=None, message=None)
    if b.startswith("staff:") and state.commission_enabled:
        sid = b[6:]
        if any(s.id == sid for s in state.staff_list):
            return replace(state, selected_staff=sid)
        return state
    if b == "confirm" and arrival is not None and state.staff is not None:
        payload: dict[str, Any] = {
            "package_code": arrival.package_code,
            "received_by": state.selected_staff or state.staff.id,
        }
        if arrival.door is not None:
            payload["locker_door"] = arrival.door
        number = getattr(arrival.order, "number", "") if arrival.order is not None else ""
        fx.append(Enqueue("arrive", arrival.package_code, payload, state.staff.token, number))
        fx.append(Indicate("success"))
        fx.append(
            Log("arrival_confirmed", (("order", number or "-"), ("door", arrival.door), ("offline", arrival.offline)))
        )
        saved = "msg.arrival_saved_offline" if (arrival.offline or not state.online) else "msg.arrival_saved"
        occupied = state.occupied | ({arrival.door} if arrival.door is not None else set())
        return replace(
            state,
            screen=Screen.ARRIVAL,
            arrival=None,
            arrival_count=state.arrival_count + 1,
            confirmed=(*state.confirmed, (arrival.package_code, number))[-50:],
            occupied=frozenset(occupied),
            assigned=state.assigned | frozenset(occupied - state.occupied),
            selected_staff=state.staff.id,
            message=_msg(saved, "ok", number=number),
        )
    return state


def _press_overdue(state: State, b: str, fx: list[Effect]) -> State:
    if b in ("back", "cancel"):
        return replace(state, screen=Screen.STAFF_MENU, overdue=(), message=None, page=0)
    if b in PAGE_BUTTONS:
        return _turn_page(state, b, fx)
    if b.startswith("order:"):
        for order in state.overdue:
            if order.number == b[6:]:
                return replace(state, screen=Screen.ORDER_DETAIL, detail=order, return_reason=None, message=None)
    return state


def _press_order_detail(state: State, b: str, fx: list[Effect]) -> State:
    order = state.detail
    if b in ("back", "cancel"):
        return replace(state, screen=Screen.OVERDUE, detail=None, return_reason=None, message=None)
    if order is None or state.staff is None:
        return state
    if b == "pickup":
        return _take(replace(state, purpose=Purpose.HANDOVER, member_id=order.member_id), (order,), fx)
    if b.startswith("reason:") and b[7:] in RETURN_REASONS:
        return replace(state, return_reason=b[7:])
    if b in ("return", "confirm"):
        # the reason picked (reason:<key> buttons), or the first one offered ("overdue")
        reason = state.return_reason or RETURN_REASONS[0]
        return _call(
            replace(state, message=None, return_reason=reason),
            fx,
            "return",
            state.staff.token,
            order_id=order.id,
            reason=reason,
        )
    return state


_PRESS = {
    Screen.IDLE: _press_idle,
    Screen.MEMBER_ENTRY: _press_member_entry,
    Screen.ORDERS: _press_orders,
    Screen.SCAN_PACKAGE: _press_scan_package,
    Screen.DOOR_OPEN: _press_door_open,
    Screen.DONE: _press_done,
    Screen.ERROR: _press_error,
    Screen.OFFLINE: _press_offline,
    Screen.STAFF_LOGIN: _press_staff_login,
    Screen.STAFF_MENU: _press_staff_menu,
    Screen.ARRIVAL: _press_arrival,
    Screen.ARRIVAL_CONFIRM: _press_arrival_confirm,
    Screen.OVERDUE: _press_overdue,
    Screen.ORDER_DETAIL: _press_order_detail,
}

_PHONE_CHARS = set("0123456789+-() ")


def _type(state: State, text: str) -> State:
    if state.screen is Screen.STAFF_LOGIN:
        digits = "".join(ch for ch in text if ch.isdigit())
        return replace(state, pin=(state.pin + digits)[:16]) if digits else state
    if state.screen is Screen.MEMBER_ENTRY and state.entry_kind:
        if state.entry_kind == "phone":
            text = "".join(ch for ch in text if ch in _PHONE_CHARS)
        else:
            text = "".join(ch for ch in text if ch.isprintable() and not ch.isspace())
        return replace(state, entry_text=(state.entry_text + text)[:64]) if text else state
    return state


def _erase(state: State, everything: bool) -> State:
    if state.screen is Screen.STAFF_LOGIN:
        return replace(state, pin="" if everything else state.pin[:-1])
    if state.screen is Screen.MEMBER_ENTRY:
        return replace(state, entry_text="" if everything else state.entry_text[:-1])
    return state


def _on_typed(state: State, event: Typed, fx: list[Effect]) -> State:
    """Characters; an Enter (CR or LF) among them confirms what was typed before it."""
    text = event.text.replace("\r\n", "\n").replace("\r", "\n")
    parts = text.split("\n")
    for i, part in enumerate(parts):
        if part:
            state = _type(state, part)
        if i < len(parts) - 1:
            state = _on_press(state, Press("confirm"), fx)
    return state


def _on_erase(state: State, event: Erase, fx: list[Effect]) -> State:
    return _erase(state, event.all)


# backend answers -----------------------------------------------------------------------------


def _on_result(state: State, event: ApiResult, fx: list[Effect]) -> State:
    if event.request == "settings" and event.token == state.probing:
        return _on_settings(replace(state, probing=0), event, fx)
    if state.pending is None or state.pending[1] != event.token:
        fx.append(Log("stale_answer", (("request", event.request),)))
        return state
    state = replace(state, pending=None)
    if not event.ok and isinstance(event.error, BackendUnavailable):
        return _unreachable(state, event, fx)
    handler = _RESULT.get(event.request)
    if handler is None:
        return state
    if event.ok:
        state = _went_online(state, fx)
    return handler(state, event, fx)


def _on_settings(state: State, event: ApiResult, fx: list[Effect]) -> State:
    if not event.ok:
        if isinstance(event.error, BackendUnavailable):
            state = _went_offline(state, fx)
        fx.append(StartTimer("probe", state.cfg.probe_offline if not state.online else state.cfg.probe_online))
        return state
    s = event.value
    state = replace(
        state,
        settings_loaded=True,
        patterns=CodePatterns.from_settings(s, dict(state.cfg.pattern_overrides)),
        member_code_only=bool(getattr(s, "member_code_only", False)),
        commission_enabled=bool(getattr(s, "commission_enabled", True)),
    )
    was_online = state.online
    state = _went_online(state, fx)
    if was_online:
        fx.append(StartTimer("probe", state.cfg.probe_online))
    return state


def _unreachable(state: State, event: ApiResult, fx: list[Effect]) -> State:
    fx.append(Log("backend_unreachable", (("request", event.request),)))
    state = replace(state, online=False) if state.online else state
    if event.request == "parcel" and state.staff is not None and state.arrival is not None:
        # the arrival goes on without details, into the outbox
        arrival = replace(state.arrival, offline=True)
        if state.cfg.locker and state.occupancy_known:
            door = free_door(state.cfg, state.occupied, None)
            arrival = replace(arrival, door=door)
            if door is not None:
                fx.append(Unlock(door))
        return replace(
            state,
            screen=Screen.ARRIVAL_CONFIRM,
            arrival=arrival,
            selected_staff=state.selected_staff or state.staff.id,
            message=_msg("msg.offline_saved_later", "warn"),
        )
    if state.screen in STAFF or state.staff is not None:
        fx.append(Indicate("error"))
        return replace(state, message=_msg("msg.offline", "warn"))
    fx.append(Indicate("error"))
    return replace(_customer_reset(state), screen=Screen.OFFLINE)


def _refusal_code(event: ApiResult) -> str:
    err = event.error
    if isinstance(err, Rejected):
        return err.code
    return "unknown"


def _res_lookup(state: State, event: ApiResult, fx: list[Effect]) -> State:
    if not event.ok:
        code = _refusal_code(event)
        fx.append(Log("lookup_refused", (("code", code),)))
        return _error(replace(_customer_reset(state), screen=Screen.IDLE), fx, code, Screen.IDLE)
    lookup = event.value
    member = lookup.member
    orders = tuple(lookup.orders)
    fx.append(Indicate("success"))
    fx.append(Log("lookup_ok", (("orders", len(orders)),)))
    msg = None if orders else _msg("msg.no_orders")
    return replace(
        state,
        screen=Screen.ORDERS,
        page=0,
        member_id=member.id,
        lookup_id=lookup.lookup_id,
        lookup_expires_in=lookup.expires_in,
        member_masked=member.display_name_masked,
        orders=orders,
        entry_text="",
        entry_kind="",
        message=msg,
    )


def _res_pickup(state: State, event: ApiResult, fx: list[Effect]) -> State:
    order = state.queue[0] if state.queue else None
    if not event.ok:
        code = _refusal_code(event)
        fx.append(Log("pickup_refused", (("code", code), ("order", getattr(order, "number", "-")))))
        if code == "package_mismatch":
            return _refuse(state, fx, "err.package_mismatch", number=getattr(order, "number", ""))
        back = Screen.ORDER_DETAIL if state.purpose is Purpose.HANDOVER and state.staff else Screen.IDLE
        return _error(state, fx, code, back)
    number = getattr(event.value, "number", None) or getattr(order, "number", "")
    fx.append(Indicate("success"))
    fx.append(Log("pickup", (("order", number), ("purpose", state.purpose.value))))
    picked = (*state.picked, number)
    rest = state.queue[1:]
    if rest:
        return replace(state, queue=rest, picked=picked, message=_msg("msg.picked_next", "ok", number=number))
    return _finish_pickup(replace(state, queue=(), picked=picked))


def _finish_pickup(state: State) -> State:
    if state.purpose is Purpose.HANDOVER and state.staff is not None:
        state = replace(state, overdue=tuple(o for o in state.overdue if o.number not in state.picked), detail=None)
    return replace(state, screen=Screen.DONE, message=None)


def _res_login(state: State, event: ApiResult, fx: list[Effect]) -> State:
    if not event.ok:
        code = _refusal_code(event)
        fx.append(Log("staff_login_refused", (("code", code),)))
        key = "err.locked_out" if code == "locked_out" else "err.bad_credentials"
        return _refuse(replace(state, pin=""), fx, key)
    session = event.value
    token_value = getattr(session, "token", None) or getattr(session, "staff_token", "")
    staff = StaffSession(token=token_value, id=session.staff.id, name=session.staff.name)
    fx.append(Indicate("success"))
    fx.append(Log("staff_login", (("staff", staff.id),)))
    state = replace(
        state,
        screen=Screen.STAFF_MENU,
        staff=staff,
        badge="",
        pin="",
        selected_staff=staff.id,
        arrival_count=0,
        message=None,
    )
    # the list of receiving staff for the commission picker (best effort, not interactive)
    token = state.seq + 1
    fx.append(Call("staff_list", token, {}, staff.token))
    return replace(state, seq=token, side_calls=state.side_calls | {token})


def _res_parcel(state: State, event: ApiResult, fx: list[Effect]) -> State:
    if state.staff is None or state.arrival is None:
        return state
    if not event.ok:
        # staff keep scanning: the refusal is a message on `arrival`, not a detour
        code = _refusal_code(event)
        fx.append(Log("parcel_refused", (("code", code),)))
        return _refuse(replace(state, arrival=None), fx, f"err.{code}")
    value = event.value
    order = getattr(value, "order", value)
    occupied = getattr(value, "occupied", None)
    if occupied is not None:
        # the backend's view, plus doors loaded here whose arrival may still wait in the outbox
        state = replace(state, occupied=frozenset(occupied) | state.assigned, occupancy_known=True)
    if getattr(order, "status", "shipped") != "shipped":
        fx.append(Log("parcel_refused", (("code", "wrong_status"), ("order", order.number))))
        return _refuse(replace(state, arrival=None), fx, "msg.already_arrived", number=order.number)
    arrival = replace(state.arrival, order=order)
    if state.cfg.locker:
        door = free_door(state.cfg, state.occupied, getattr(order, "size", None))
        if door is None:
            return _refuse(replace(state, arrival=None), fx, "msg.no_free_door")
        arrival = replace(arrival, door=door)
        fx.append(Unlock(door))
    fx.append(Indicate("success"))
    return replace(
        state,
        screen=Screen.ARRIVAL_CONFIRM,
        arrival=arrival,
        selected_staff=state.staff.id,
        message=None,
    )


def _res_overdue(state: State, event: ApiResult, fx: list[Effect]) -> State:
    if not event.ok:
        return _error(state, fx, _refusal_code(event), Screen.STAFF_MENU)
    return replace(state, screen=Screen.OVERDUE, overdue=tuple(event.value), detail=None, message=None, page=0)


def _res_return(state: State, event: ApiResult, fx: list[Effect]) -> State:
    order = state.detail
    if not event.ok:
        return _error(state, fx, _refusal_code(event), Screen.ORDER_DETAIL)
    fx.append(Indicate("success"))
    fx.append(Log("return_requested", (("order", order.number), ("reason", state.return_reason))))
    overdue = tuple(o for o in state.overdue if o.number != order.number)
    door = getattr(order, "locker_door", None)
    if state.cfg.locker and door is not None:
        fx.append(Unlock(door))
        return replace(
            state,
            screen=Screen.DOOR_OPEN,
            purpose=Purpose.RETURN,
            doors=(DoorSlot(number=door, order=order),),
            overdue=overdue,
            return_reason=None,
            message=None,
        )
    return replace(
        state,
        screen=Screen.OVERDUE,
        overdue=overdue,
        detail=None,
        return_reason=None,
        message=_msg("msg.return_requested", "ok", number=order.number),
    )


def _res_staff_list(state: State, event: ApiResult, fx: list[Effect]) -> State:
    if event.ok and state.staff is not None:
        return replace(state, staff_list=tuple(event.value))
    return state


_RESULT = {
    "lookup": _res_lookup,
    "pickup": _res_pickup,
    "login": _res_login,
    "parcel": _res_parcel,
    "overdue": _res_overdue,
    "return": _res_return,
}


def _on_result_any(state: State, event: ApiResult, fx: list[Effect]) -> State:
    if event.request in ("staff_list", "occupied"):
        # only the answer to a read this staff session made: a late answer from an earlier
        # session must not pick the receiving staff or, worse, which door a parcel goes into
        if event.token not in state.side_calls:
            fx.append(Log("stale_answer", (("request", event.request),)))
            return state
        state = replace(state, side_calls=state.side_calls - {event.token})
    if event.request == "staff_list":
        return _res_staff_list(state, event, fx)
    if event.request == "occupied":
        if event.ok and state.staff is not None:
            return replace(state, occupied=frozenset(event.value) | state.assigned, occupancy_known=True)
        return state
    return _on_result(state, event, fx)


# doors ---------------------------------------------------------------------------------------


def free_door(cfg: FlowConfig, occupied: frozenset[int] | set[int], size: str | None) -> int | None:
    """The lowest-numbered in-service door of ``size`` (any size when None) that holds nothing."""
    for d in sorted(cfg.doors, key=lambda d: d.number):
        if not d.in_service or d.number in occupied:
            continue
        if size and d.size != size:
            continue
        return d.number
    return None


def _on_door(state: State, event: DoorEvent, fx: list[Effect]) -> State:
    kind = event.kind
    if kind == "forced":
        fx.append(Indicate("attention"))
        fx.append(Log("door_forced", (("door", event.door),)))
        return state
    if kind == "left_open":
        fx.append(Indicate("attention"))
        fx.append(Log("door_left_open", (("door", event.door),)))
        return state
    if state.screen is not Screen.DOOR_OPEN:
        return state
    index = next((i for i, s in enumerate(state.doors) if s.number == event.door), None)
    if index is None:
        return state
    slot = state.doors[index]
    if kind == "opened" and slot.state in (DoorSlotState.UNLOCKED, DoorSlotState.NOT_OPENED):
        slot = replace(slot, state=DoorSlotState.OPEN)
        if state.purpose in (Purpose.PICKUP, Purpose.HANDOVER) and not slot.written:
            order = slot.order
            payload: dict[str, Any] = {"order_id": order.id, "lookup_id": state.lookup_id, "locker_door": slot.number}
            staff_token = None
            if state.purpose is Purpose.HANDOVER and state.staff is not None:
                payload["handed_over_by"] = state.staff.id
                staff_token = state.staff.token
            fx.append(Enqueue("pickup", order.id, payload, staff_token, order.number))
            fx.append(Log("pickup", (("order", order.number), ("door", slot.number))))
            fx.append(Indicate("success"))
            slot = replace(slot, written=True)
            state = replace(state, picked=(*state.picked, order.number))
        info = state.cfg.door_info(slot.number)
        if info is not None and info.sensorless:
            slot = replace(slot, state=DoorSlotState.LOCKED)
    elif kind == "closed" and slot.state is DoorSlotState.OPEN:
        slot = replace(slot, state=DoorSlotState.LOCKED)
    elif kind == "not_opened" and slot.state is DoorSlotState.UNLOCKED:
        if slot.retried:
            slot = replace(slot, state=DoorSlotState.GIVEN_UP)
            fx.append(Log("door_not_opened", (("door", slot.number), ("retry", 1))))
        else:
            slot = replace(slot, state=DoorSlotState.NOT_OPENED)
            fx.append(Log("door_not_opened", (("door", slot.number), ("retry", 0))))
            fx.append(Indicate("attention"))
    else:
        return state
    doors = (*state.doors[:index], slot, *state.doors[index + 1 :])
    state = replace(state, doors=doors)
    if _doors_settled(state):
        return _doors_finished(state, fx)
    return state


def _doors_settled(state: State) -> bool:
    return all(s.state in (DoorSlotState.LOCKED, DoorSlotState.GIVEN_UP) for s in state.doors)


def _doors_finished(state: State, fx: list[Effect]) -> State:
    taken = any(s.state is DoorSlotState.LOCKED for s in state.doors)
    if state.purpose is Purpose.RETURN:
        order = state.detail
        return replace(
            state,
            screen=Screen.OVERDUE if state.staff is not None else Screen.IDLE,
            doors=(),
            detail=None,
            message=_msg("msg.return_requested", "ok", number=getattr(order, "number", "")),
        )
    if taken:
        return _finish_pickup(state)
    fx.append(Log("pickup_abandoned", (("doors", ",".join(str(s.number) for s in state.doors)),)))
    if state.purpose is Purpose.HANDOVER and state.staff is not None:
        return replace(state, screen=Screen.ORDER_DETAIL, doors=(), message=_msg("msg.door_not_opened", "warn"))
    return _to_idle(state, fx)


_HANDLERS = {
    Start: _on_start,
    TimerFired: _on_timer,
    PageRows: _on_page_rows,
    BackendState: _on_backend_state,
    OutboxChanged: _on_outbox,
    CameraState: _on_camera,
    Scan: _on_scan,
    Press: _on_press,
    Typed: _on_typed,
    Erase: _on_erase,
    ApiResult: _on_result_any,
    DoorEvent: _on_door,
}


# ---------------------------------------------------------------------------------------------
# the view


def _time(value: Any) -> str:
    if not value:
        return ""
    if isinstance(value, str):
        return value
    try:
        return value.isoformat().replace("+00:00", "Z")
    except AttributeError:
        return str(value)


def _row(order: Any, staff: bool = False, selected: bool = False) -> OrderRow:
    return OrderRow(
        number=order.number,
        items_summary=getattr(order, "items_summary", "") or "",
        overdue=bool(getattr(order, "overdue", False)),
        arrived_at=_time(getattr(order, "arrived_at", None)),
        locker_door=getattr(order, "locker_door", None),
        selected=selected,
        customer_masked=(getattr(order, "customer_masked", "") or "") if staff else "",
    )


def _detail(order: Any) -> OrderDetail:
    items = getattr(order, "items_summary", "") or ""
    return OrderDetail(
        number=order.number,
        status=getattr(order, "status", "") or "",
        customer_masked=getattr(order, "customer_masked", "") or "",
        items=(items,) if items else (),
        arrived_at=_time(getattr(order, "arrived_at", None)),
        overdue_at=_time(getattr(order, "overdue_at", None)),
        locker_door=getattr(order, "locker_door", None),
    )


def view(state: State) -> View:
    """The view model of the current screen (only masked personal data; never a PIN)."""
    s = state.screen
    orders: tuple[OrderRow, ...] = ()
    detail = None
    doors: tuple[DoorRow, ...] = ()
    extra: list[tuple[str, Any]] = []
    current = ""
    if s is Screen.ORDERS:
        orders = tuple(_row(o) for o in state.orders)
    elif s is Screen.SCAN_PACKAGE:
        current = state.queue[0].number if state.queue else ""
        orders = tuple(_row(o, selected=o.number == current) for o in state.queue)
    elif s is Screen.OVERDUE:
        orders = tuple(_row(o, staff=True) for o in state.overdue)
    elif s is Screen.ORDER_DETAIL and state.detail is not None:
        detail = _detail(state.detail)
    elif s is Screen.ARRIVAL_CONFIRM and state.arrival is not None:
        if state.arrival.order is not None:
            detail = _detail(state.arrival.order)
            if state.arrival.door is not None:
                detail = replace(detail, locker_door=state.arrival.door)
        if state.arrival.door is not None:
            doors = (DoorRow(number=state.arrival.door, state="unlocked", order_number=getattr(detail, "number", "")),)
            extra.append(("arrival_door", state.arrival.door))
        if state.arrival.offline:
            extra.append(("arrival_offline", True))
    if s is Screen.DOOR_OPEN:
        rows = []
        for slot in state.doors:
            shown = "locked" if slot.state is DoorSlotState.GIVEN_UP else slot.state.value
            rows.append(DoorRow(number=slot.number, state=shown, order_number=getattr(slot.order, "number", "")))
        doors = tuple(rows)
        extra.append(("purpose", state.purpose.value))
    retry = s is Screen.DOOR_OPEN and any(d.state is DoorSlotState.NOT_OPENED and not d.retried for d in state.doors)
    # names only masked on screen, staff names too (王*明; the picker still tells people apart)
    choices = tuple(
        StaffChoice(id=getattr(m, "id", ""), name=mask_name(getattr(m, "name", "") or "")) for m in state.staff_list
    )
    return View(
        screen=s.value,
        lang=state.lang,
        mode=state.cfg.mode,
        page=state.page if s in (Screen.ORDERS, Screen.OVERDUE) else 0,
        busy=state.pending is not None,
        message=state.message,
        member_masked=state.member_masked if s in CUSTOMER else "",
        orders=orders,
        doors=doors,
        retry_allowed=retry,
        picked_up=state.picked if s in (Screen.DONE, Screen.SCAN_PACKAGE, Screen.DOOR_OPEN) else (),
        current_order=current,
        entry_kind=state.entry_kind if s is Screen.MEMBER_ENTRY else "",
        entry_text=state.entry_text if s is Screen.MEMBER_ENTRY else "",
        member_code_only=state.member_code_only,
        pin_length=len(state.pin) if s is Screen.STAFF_LOGIN else 0,
        staff_name=mask_name(state.staff.name) if state.staff is not None else "",
        commission_enabled=state.commission_enabled,
        staff_choices=choices if s is Screen.ARRIVAL_CONFIRM and state.commission_enabled else (),
        selected_staff=state.selected_staff if s is Screen.ARRIVAL_CONFIRM else None,
        detail=detail,
        arrival_count=state.arrival_count,
        return_reason=state.return_reason if s is Screen.ORDER_DETAIL else None,
        offline=not state.online,
        outbox_depth=state.outbox_depth,
        attention_count=state.attention,
        camera_ok=state.camera_ok,
        extra=tuple(extra),
    )
