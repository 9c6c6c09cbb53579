"""The view model: everything a screen needs, as plain frozen data (no pygame).

The flow (``kiosk/flow``) builds a :class:`View` from its state; the screens only draw it and
return the :class:`Button` hit targets they put on screen. Raw pygame events are turned into the
small :data:`Input` records below in one place (``kiosk.screens.inputs``).

Rules for producers of a View:
- Personal data only masked: ``member_masked``, ``OrderDetail.customer_masked`` and staff names
  are shown as given, so give them masked (``kiosk.privacy``). ``entry_text`` is what the customer
  is typing on the on-screen keyboard (their own phone/email, shown while typing, cleared when the
  screen is left). A PIN never enters a View: only ``pin_length``.
- Text shown to people is a catalogue key (``kiosk/locale``) plus parameters, never a sentence:
  see :class:`Message`. Order numbers, item summaries, door numbers and names are data, shown as is.
- Views compare by value: the app redraws only when the View changed (``needs_redraw``).
  Keep every field hashable (tuples, not lists).

Screens (docs/design.md): idle, member_entry, orders, scan_package, door_open, done, error, offline,
staff_login, staff_menu, arrival, arrival_confirm, overdue, order_detail; r2: pickup_code,
door_alarm, help, returns.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Screen(enum.Enum):
    """Every screen of the kiosk, in the order of docs/design.md: the one list of their names
    (the flow moves between them, the renderer has a module per value)."""

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
    PICKUP_CODE = "pickup_code"
    DOOR_ALARM = "door_alarm"
    HELP = "help"
    RETURNS = "returns"


STAFF = frozenset(
    {
        Screen.STAFF_LOGIN,
        Screen.STAFF_MENU,
        Screen.ARRIVAL,
        Screen.ARRIVAL_CONFIRM,
        Screen.OVERDUE,
        Screen.ORDER_DETAIL,
        Screen.RETURNS,
    }
)
CUSTOMER = frozenset(Screen) - STAFF  # door_open, done and error serve staff's hand-overs too
SCREENS: tuple[str, ...] = tuple(s.value for s in Screen)
CUSTOMER_SCREENS = frozenset(s.value for s in CUSTOMER)
STAFF_SCREENS = frozenset(s.value for s in STAFF)
SCANNING_SCREENS = frozenset({"idle", "scan_package", "arrival"})  # these show the camera preview
LANGUAGES: tuple[str, ...] = ("zh-TW", "en")
DOOR_STATES = ("unlocked", "open", "locked", "not_opened")
# r2 (docs/design.md): the reasons a return is started with at the kiosk (buttons ``reason:<key>``,
# texts ``reason.<key>``); none is preselected
RETURN_REASONS: tuple[str, ...] = ("not_collected", "customer_request", "damaged")
ALARM_KINDS: tuple[str, ...] = ("door_left_open", "door_forced")
PICKUP_CODE_LENGTH = 6


@dataclass(frozen=True)
class Message:
    """A line of text for the message banner: a catalogue key and its ``str.format`` parameters.

    ``level`` picks the colour/icon: ``info`` | ``ok`` | ``warn`` | ``error``.
    Build with ``Message.of("msg.parcel_mismatch", "error", number="A1002")``.
    Keys the catalogues hold are listed in ``kiosk/locale/*/LC_MESSAGES/kiosk.po`` (``msg.*`` for
    banners, ``err.<api error code>`` for every refusal code of docs/api.md).
    """

    key: str
    params: tuple[tuple[str, Any], ...] = ()
    level: str = "info"

    @classmethod
    def of(cls, key: str, level: str = "info", **params: Any) -> Message:
        return cls(key=key, params=tuple(sorted(params.items())), level=level)

    def kwargs(self) -> dict[str, Any]:
        return dict(self.params)


@dataclass(frozen=True)
class OrderRow:
    """One parcel in a list (``orders``, ``overdue``).

    ``arrived_at`` is the backend's RFC 3339 string (or ""); screens show its date.
    ``locker_door`` is the door holding it (locker mode) or None. ``selected`` highlights the row
    (e.g. the one being taken). ``customer_masked`` is only filled on staff lists.
    """

    number: str
    items_summary: str = ""
    overdue: bool = False
    arrived_at: str = ""
    locker_door: int | None = None
    selected: bool = False
    customer_masked: str = ""
    # r2, staff lists (``returns``): the API's status name (return_requested, return_reviewed,
    # ...), shown translated (``status.<name>``); "" shows none
    status: str = ""


@dataclass(frozen=True)
class DoorRow:
    """A door unlocked for this session and its state: unlocked | open | locked | not_opened."""

    number: int
    state: str = "unlocked"
    order_number: str = ""


@dataclass(frozen=True)
class StaffChoice:
    """A receiving staff member for the commission picker: button id ``staff:<id>``."""

    id: str
    name: str


@dataclass(frozen=True)
class OrderDetail:
    """The order shown on ``arrival_confirm`` and ``order_detail`` (None fields are not shown).

    ``status`` is the API's status name (shipped, arrived, overdue, received, return_requested,
    ...); the screen translates it (``status.<name>``). Times are RFC 3339 strings or "".
    """

    number: str
    status: str = ""
    customer_masked: str = ""
    items: tuple[str, ...] = ()
    arrived_at: str = ""
    overdue_at: str = ""
    locker_door: int | None = None


@dataclass(frozen=True)
class View:
    """Everything any screen shows. Defaults describe an idle counter kiosk in zh-TW."""

    # which screen, in which language, at which kind of kiosk
    screen: str = "idle"
    lang: str = "zh-TW"
    mode: str = "counter"  # counter | locker

    # a backend call is in flight: buttons that would start another are drawn disabled and an
    # animated progress indicator runs (the only case where the screen animates by itself)
    busy: bool = False
    # banner line (code not recognised, parcel does not match, saved offline, locked out, ...)
    message: Message | None = None

    # customer session
    member_masked: str = ""  # e.g. "王*明"; shown on orders/scan_package/door_open/done
    orders: tuple[OrderRow, ...] = ()  # orders: waiting parcels; overdue: the overdue list
    # orders/overdue: the page of a list longer than one screen (0 = first). The screen decides
    # how many rows a page holds (it follows the surface size), clamps the index to the pages
    # there are, and offers `page_prev`/`page_next` only when such a page exists
    page: int = 0
    doors: tuple[DoorRow, ...] = ()  # door_open: the doors unlocked now (big numbers)
    retry_allowed: bool = False  # door_open: a door was not opened in time, show `retry`
    picked_up: tuple[str, ...] = ()  # done / scan_package: order numbers handed over so far
    current_order: str = ""  # scan_package: the order whose parcel must be scanned now
    # r2, scan_package (counter): the door or shelf number holding that parcel (the order's
    # locker_door), shown so staff know where to fetch it; None: not shown (the screen falls
    # back to the locker_door of the `orders` row of current_order, when there is one)
    current_door: int | None = None

    # text entry
    # member_entry: "" (choose), "phone" or "email" (keyboard shown); pickup_code: "pickup_code"
    entry_kind: str = ""
    # member_entry/pickup_code: what has been typed so far (a phone is drawn masked but for its
    # last 2 characters; a pickup code is drawn in full, one digit per box)
    entry_text: str = ""
    member_code_only: bool = False  # no lookup_phone / lookup_email buttons on idle/member_entry
    pin_length: int = 0  # staff_login: number of PIN digits typed (dots only)

    # staff session
    staff_name: str = ""  # the logged-in staff member (shown on staff screens)
    commission_enabled: bool = False  # arrival_confirm: show the receiving-staff picker
    staff_choices: tuple[StaffChoice, ...] = ()
    selected_staff: str | None = None  # the id picked (defaults to the logged-in one)
    detail: OrderDetail | None = None  # arrival_confirm / order_detail; None: details unknown (offline)
    arrival_count: int = 0  # arrival: parcels confirmed in this staff session
    return_reason: str | None = None  # order_detail: a reason picked (button `reason:<key>`)
    return_reasons: tuple[str, ...] = RETURN_REASONS  # order_detail: reasons offered (`reason.<key>` texts)

    # r2: door alarm (door_alarm screen; staff screens show a banner from `message` instead)
    alarm_door: int | None = None  # the door held open / forced open
    alarm_kind: str = ""  # "door_left_open" | "door_forced"
    # r2: the staff member on duty at a counter (shown in the header of customer screens), as
    # given (staff names are shown unmasked: they are the store's own people)
    on_duty: str = ""
    # r2: seconds left of a lockout (429): the screen where it happened shows "try again in N s"
    # in the banner place, counting down as the flow lowers it; 0 = not locked out
    locked_for: int = 0

    # status indicators (top bar)
    offline: bool = False  # backend unreachable
    outbox_depth: int = 0  # events waiting in the outbox
    attention_count: int = 0  # events the outbox parked (need an admin)
    camera_ok: bool = True

    # accessibility and timing
    focus: str | None = None  # id of the button with keyboard focus (drawn with a thick ring)
    countdown: int | None = None  # whole seconds until this screen returns to idle, when shown

    # free-form extras the app may need without changing this class (keep values hashable)
    extra: tuple[tuple[str, Any], ...] = field(default=())

    def __post_init__(self) -> None:
        if self.screen not in SCREENS:
            raise ValueError(f"unknown screen {self.screen!r}")
        if self.lang not in LANGUAGES:
            raise ValueError(f"unknown language {self.lang!r}")
        if self.mode not in ("counter", "locker"):
            raise ValueError(f"unknown mode {self.mode!r}")

    @property
    def is_staff(self) -> bool:
        """A staff screen (``logout`` instead of ``lang``): the staff screens, and door_open/done/
        error while a staff member is logged in (``staff_name`` set: returns, hand-overs)."""
        return self.screen in STAFF_SCREENS or (self.screen in ("door_open", "done", "error") and bool(self.staff_name))


@dataclass(frozen=True)
class Button:
    """An on-screen hit target: ``id`` (docs/design.md button ids, ``key:<k>`` for keypad/keyboard
    keys, ``reason:<key>``, ``staff:<id>``, ``order:<number>``), ``rect`` = (x, y, w, h) in
    surface pixels, the visible ``label``, and whether it can be pressed now."""

    id: str
    rect: tuple[int, int, int, int]
    label: str = ""
    enabled: bool = True

    def contains(self, x: float, y: float) -> bool:
        bx, by, bw, bh = self.rect
        return bx <= x < bx + bw and by <= y < by + bh

    @property
    def center(self) -> tuple[float, float]:
        bx, by, bw, bh = self.rect
        return (bx + bw / 2, by + bh / 2)


# ---- inputs: what the event translator hands the app/flow ------------------------------------


@dataclass(frozen=True)
class Press:
    """A button pressed by touch, mouse, Enter on the focused button, or Esc (back/cancel).

    On-screen keypad/keyboard keys arrive as ``Press("key:<k>")`` too; ``key_char`` gives the
    character they type (or None for ``key:backspace`` / ``key:clear`` / ``key:shift``)."""

    button: str

    @property
    def key_char(self) -> str | None:
        return key_char(self.button)


@dataclass(frozen=True)
class Typed:
    """Characters typed on a physical keyboard (or keypad) that go to the entry field/PIN."""

    text: str


@dataclass(frozen=True)
class Erase:
    """Backspace on a physical keyboard (``all=False``), or clear the whole field (``all=True``)."""

    all: bool = False


@dataclass(frozen=True)
class Focus:
    """Keyboard navigation moved the focus to button ``button`` (the app puts it in ``View.focus``)."""

    button: str


Input = Press | Typed | Erase | Focus  # plus kiosk.events.Scan(source="usb") from the keyboard wedge

# Special on-screen keys (ids ``key:<name>``); every other ``key:<c>`` types the single character c.
SPECIAL_KEYS = ("backspace", "clear", "shift", "space")


def key_char(button_id: str) -> str | None:
    """The character an on-screen key types: ``key:7`` → "7", ``key:@`` → "@", ``key:space`` → " ";
    None for other buttons and for ``key:backspace``/``key:clear``/``key:shift``."""
    if not button_id.startswith("key:"):
        return None
    name = button_id[4:]
    if name == "space":
        return " "
    if name in SPECIAL_KEYS or len(name) != 1:
        return None
    return name
