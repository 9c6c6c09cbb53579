"""The flow's vocabulary: its own events, the effects it asks for, its configuration and state.

The state is a few frozen records, so that forgetting a part is one ``replace`` (and changing
one is ``state.with_customer(...)``, ``state.with_staff(...)``, ...):

- :class:`Backend`: what the kiosk knows of the backend (reachable, settings, the call in flight);
- :class:`Customer`: the person at the kiosk (member, orders, doors being opened, typed text);
- :class:`StaffSession`: a logged-in staff member and everything their session showed (None:
  nobody is logged in, so logging out is ``staff=None``);
- :class:`Lockers`: which doors hold parcels (kept across staff sessions) and the arrival being
  received;
- :class:`Paging`: the page of the long list shown, and the renderer's rows per page.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Any

from kiosk.api.models import Order, Staff
from kiosk.api.requests import Request, Write
from kiosk.codes import CodePatterns
from kiosk.config import KioskSection
from kiosk.screens.view import CUSTOMER, STAFF, Message, Screen

__all__ = ["CUSTOMER", "STAFF", "Screen"]


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


# the flow's own events ------------------------------------------------------------------------


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
    """Run ``request`` on the api worker; the answer comes back as
    ``ApiResult(request.name, token=token)``."""

    request: Request
    token: int

    def __repr__(self) -> str:  # the record's fields hold codes and PINs: it shows none
        return f"Call({self.request!r}, token={self.token})"


@dataclass(frozen=True)
class Enqueue:
    """A write that must not be lost: through the durable outbox (sent at once when possible)."""

    request: Write
    number: str = ""  # the order number, for log lines

    def __repr__(self) -> str:
        return f"Enqueue({self.request!r}, number={self.number!r})"


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


# configuration ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DoorInfo:
    number: int
    size: str = "M"
    sensorless: bool = False
    in_service: bool = True


UNNAMED = KioskSection(id="")
"""The ``[kiosk]`` section of a flow built in code without one: the config's defaults, but no
kiosk id, so no kiosk events are sent."""


@dataclass(frozen=True)
class FlowConfig:
    """The flow's settings: the config's ``[kiosk]`` section as it is (mode, language, timeouts,
    and ``id``, which the kiosk's events name: ``POST /kiosks/{id}/events``), the doors, and what
    the flow adds."""

    kiosk: KioskSection = UNNAMED
    # settings re-read while all is well: also how an idle kiosk notices an outage before a
    # customer scans in vain (the heartbeat, every 30 s, notices it too)
    probe_online: float = 15.0
    probe_offline: float = 2.0  # and while it is unreachable: back on its own within seconds
    doors: tuple[DoorInfo, ...] = ()
    pattern_overrides: tuple[tuple[str, str], ...] = ()  # local [scanner] *_pattern values
    duty_hours: float = 12.0  # r2: duty ends by itself after this long (kiosk clock)

    @property
    def locker(self) -> bool:
        return self.kiosk.mode == "locker"

    def door_info(self, number: int) -> DoorInfo | None:
        for d in self.doors:
            if d.number == number:
                return d
        return None


def free_door(cfg: FlowConfig, occupied: frozenset[int] | set[int], size: str | None = None) -> int | None:
    """The lowest-numbered in-service door of ``size`` (any size when None) that holds nothing."""
    for d in sorted(cfg.doors, key=lambda d: d.number):
        if d.in_service and d.number not in occupied and (not size or d.size == size):
            return d.number
    return None


# state records ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DoorSlot:
    number: int
    order: Order
    state: DoorSlotState = DoorSlotState.UNLOCKED
    retried: bool = False
    written: bool = False  # the pickup went into the outbox


@dataclass(frozen=True)
class Arrival:
    """A parcel being received: its code, the backend's order (None offline), the door given."""

    package_code: str
    order: Order | None = None
    door: int | None = None
    offline: bool = False


@dataclass(frozen=True)
class Backend:
    """What the kiosk knows of the backend, and the questions it has asked."""

    online: bool = True
    settings_loaded: bool = False
    patterns: CodePatterns = field(default_factory=CodePatterns)
    member_code_only: bool = False
    commission_enabled: bool = True
    seq: int = 0  # the last request token given out
    pending: tuple[str, int] | None = None  # (request name, token) of the interactive call in flight
    probing: int = 0  # token of a probe in flight (0: none)
    outbox_depth: int = 0
    attention: int = 0
    # docs/api.md r2: "open" lets a counter look up by phone or email alone; else the pickup code
    contact_lookup: str = "pickup_code"
    # a 429: seconds left of the lockout (counted down on the kiosk clock) and the screen where
    # it happened, the one that shows them
    locked_for: int = 0
    locked_on: Screen | None = None
    lockout_reported: bool = False  # r2: the `locked_out` event of this lockout was sent


@dataclass(frozen=True)
class Customer:
    """The person at the kiosk: forgotten as one when they leave (badge and PIN typed included)."""

    member_id: str = ""
    lookup_id: str = ""  # docs/api.md r2: the look-up's id, named by every pickup of this session
    lookup_expires_in: int = 0
    member_code: str = ""  # the code looked up (kept in memory only): shown again, it is no new look-up
    member_masked: str = ""
    orders: tuple[Order, ...] = ()
    queue: tuple[Order, ...] = ()  # counter: orders still to be scanned, the first is current
    picked: tuple[str, ...] = ()
    purpose: Purpose = Purpose.PICKUP
    doors: tuple[DoorSlot, ...] = ()
    entry_kind: str = ""  # member_entry: "phone" | "email"; pickup_code: "pickup_code"
    entry_text: str = ""
    # r2: the phone or email typed, kept while the pickup code is typed ("phone" | "email", text)
    contact_kind: str = ""
    contact: str = ""
    lookup_expired: bool = False  # the look-up's expires_in passed (kiosk clock): no door opens
    take_all: bool = False  # the parcels being taken were chosen with pickup_all
    help_back: Screen | None = None  # help: the screen `back` returns to
    badge: str = ""
    pin: str = ""

    def __repr__(self) -> str:  # codes, contacts, badges and PINs stay out of log lines
        return f"Customer(orders={len(self.orders)}, doors={len(self.doors)})"


@dataclass(frozen=True)
class StaffSession:
    """A logged-in staff member and what their session showed."""

    token: str
    id: str
    name: str
    staff_list: tuple[Staff, ...] = ()
    selected_staff: str | None = None
    arrival_count: int = 0
    confirmed: tuple[tuple[str, str], ...] = ()  # (package code, order number) confirmed this session
    overdue: tuple[Order, ...] = ()
    returns: tuple[Order, ...] = ()  # r2: the `returns` list (requested and reviewed returns)
    detail: Order | None = None
    detail_from: Screen = Screen.OVERDUE  # the list `back` on order_detail goes to
    # r2: an overdue parcel to hand over once the customer proved who they are (a look-up)
    handover: Order | None = None
    return_reason: str | None = None
    side_calls: frozenset[int] = frozenset()  # tokens of the staff_list/occupied reads in flight

    def __repr__(self) -> str:
        return f"StaffSession(id={self.id!r})"


@dataclass(frozen=True)
class OnDuty:
    """Counter: the staff member on duty, credited with customers' hand-overs (``until``: the
    kiosk clock's time the duty ends, 0 when not said)."""

    id: str
    name: str
    until: float = 0.0


@dataclass(frozen=True)
class Lockers:
    """Doors that hold parcels, and the arrival being received."""

    arrival: Arrival | None = None
    occupied: frozenset[int] = frozenset()
    assigned: frozenset[int] = frozenset()  # doors given to arrivals here, maybe still in the outbox
    occupancy_known: bool = False  # `occupied` came from the backend (else no door is given offline)


@dataclass(frozen=True)
class Alarm:
    """An open door alarm (docs/design.md r2): ``kind`` is ``door_left_open`` or ``door_forced``."""

    door: int
    kind: str


@dataclass(frozen=True)
class Paging:
    """The page of the long list shown (orders, overdue), and the rows per page the renderer
    reported for a screen (("", 0): not known yet, any page index is kept)."""

    page: int = 0
    rows: tuple[str, int] = ("", 0)


@dataclass(frozen=True)
class State:
    cfg: FlowConfig = field(default_factory=FlowConfig)
    screen: Screen = Screen.IDLE
    lang: str = "zh-TW"
    message: Message | None = None
    error_back: Screen = Screen.IDLE  # where `back` on `error` goes
    camera_ok: bool = True
    backend: Backend = field(default_factory=Backend)
    customer: Customer = field(default_factory=Customer)
    staff: StaffSession | None = None
    lockers: Lockers = field(default_factory=Lockers)
    paging: Paging = field(default_factory=Paging)
    on_duty: OnDuty | None = None  # counter: who hands parcels over to customers now
    alarms: tuple[Alarm, ...] = ()  # r2: open door alarms, oldest first
    alarm_back: Screen = Screen.IDLE  # the screen under `door_alarm` (where closing the door goes)

    def __repr__(self) -> str:  # never dump codes, PINs or tokens
        return f"State(screen={self.screen.value}, busy={self.busy}, online={self.online})"

    @property
    def busy(self) -> bool:
        return self.backend.pending is not None

    @property
    def online(self) -> bool:
        return self.backend.online

    @property
    def pending(self) -> tuple[str, int] | None:
        return self.backend.pending

    # the state with one of its parts changed: ``state.with_customer(entry_text="")``

    def with_backend(self, **changes: Any) -> State:
        return replace(self, backend=replace(self.backend, **changes))

    def with_customer(self, **changes: Any) -> State:
        return replace(self, customer=replace(self.customer, **changes))

    def with_staff(self, **changes: Any) -> State:
        """Change the staff session (a no-op when nobody is logged in)."""
        if self.staff is None:
            return self
        return replace(self, staff=replace(self.staff, **changes))

    def with_lockers(self, **changes: Any) -> State:
        return replace(self, lockers=replace(self.lockers, **changes))

    def with_page(self, page: int) -> State:
        return replace(self, paging=replace(self.paging, page=page))


def initial(cfg: FlowConfig | None = None) -> State:
    cfg = cfg or FlowConfig()
    patterns = CodePatterns.from_settings(None, dict(cfg.pattern_overrides))
    return State(cfg=cfg, lang=cfg.kiosk.language, backend=Backend(patterns=patterns))
