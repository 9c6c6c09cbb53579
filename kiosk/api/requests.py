"""Backend requests as typed records (docs/api.md): one frozen record per call the kiosk makes.

The flow emits them, the api worker runs them (:meth:`Request.run`), the outbox stores the
durable ones (:class:`Write`) by class name and fields and rebuilds them after a restart. Every
record knows its client call, so nothing downstream switches on a name.

``Request.name`` is what the flow calls the answer it waits for (``ApiResult.request``) and what
log lines say; a :class:`Write`'s ``kind`` is its short wire kind (``arrive``, ``pickup``, ...),
also the name an outbox row written before the records existed carries.

``repr`` never shows a field: codes, PINs and staff tokens must not reach a log line.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from kiosk.api.models import IN_STORE, Order


@dataclass(frozen=True, repr=False)
class Request:
    """One backend call. ``run(client)`` makes it and returns the typed answer."""

    name: ClassVar[str] = ""

    def run(self, client: Any) -> Any:  # pragma: no cover - every record defines it
        raise NotImplementedError

    def __repr__(self) -> str:  # fields hold codes, PINs and tokens: never in a log line
        return f"{type(self).__name__}()"


# -- reads and logins (interactive, on the api worker) -----------------------------------------


@dataclass(frozen=True, repr=False)
class LoadSettings(Request):
    name: ClassVar[str] = "settings"

    def run(self, client: Any) -> Any:
        return client.settings()


@dataclass(frozen=True, repr=False)
class LookupMember(Request):
    """Exactly one of the three keys (the client refuses anything else); docs/api.md r2: a
    ``pickup_code`` with the phone or the email."""

    name: ClassVar[str] = "lookup"
    member_code: str | None = None
    phone: str | None = None
    email: str | None = None
    pickup_code: str | None = None

    def run(self, client: Any) -> Any:
        keys = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if getattr(self, f.name) is not None}
        return client.lookup(**keys)


@dataclass(frozen=True, repr=False)
class StaffLogin(Request):
    name: ClassVar[str] = "login"
    badge_code: str
    pin: str

    def run(self, client: Any) -> Any:
        return client.staff_login(self.badge_code, self.pin)


@dataclass(frozen=True, repr=False)
class ListStaff(Request):
    """Active staff, for the commission picker."""

    name: ClassVar[str] = "staff_list"
    staff_token: str | None = None

    def run(self, client: Any) -> Any:
        return client.staff()


@dataclass(frozen=True)
class ParcelInfo:
    """The answer to :class:`GetParcel`: the order, and the doors that hold parcels (None: not asked)."""

    order: Order
    occupied: frozenset[int] | None = None


def _occupied(client: Any, staff_token: str) -> frozenset[int]:
    """The doors that hold a parcel now (the backend's orders in store)."""
    held = client.orders(IN_STORE, staff_token)
    return frozenset(o.locker_door for o in held if o.locker_door is not None)


@dataclass(frozen=True, repr=False)
class GetParcel(Request):
    """A parcel being received, and (``occupied``: at a locker) which doors are taken."""

    name: ClassVar[str] = "parcel"
    package_code: str
    staff_token: str
    occupied: bool = False

    def run(self, client: Any) -> ParcelInfo:
        order = client.parcel(self.package_code, self.staff_token)
        return ParcelInfo(order, _occupied(client, self.staff_token) if self.occupied else None)


@dataclass(frozen=True, repr=False)
class ListOccupied(Request):
    name: ClassVar[str] = "occupied"
    staff_token: str

    def run(self, client: Any) -> frozenset[int]:
        return _occupied(client, self.staff_token)


@dataclass(frozen=True, repr=False)
class ListOverdue(Request):
    name: ClassVar[str] = "overdue"
    staff_token: str

    def run(self, client: Any) -> Any:
        return client.orders("overdue", self.staff_token)


@dataclass(frozen=True, repr=False)
class ListReturns(Request):
    """r2: returns waiting for review in the back office, and reviewed ones to finish."""

    name: ClassVar[str] = "returns"
    staff_token: str

    def run(self, client: Any) -> Any:
        return client.orders(RETURN_STATUSES, self.staff_token)


RETURN_STATUSES = ("return_requested", "return_reviewed")


@dataclass(frozen=True, repr=False)
class SendHeartbeat(Request):
    name: ClassVar[str] = "heartbeat"
    kiosk_id: str
    payload: dict = dataclasses.field(default_factory=dict, hash=False)

    def run(self, client: Any) -> Any:
        return client.heartbeat(self.kiosk_id, self.payload)


# -- writes (durable: the outbox stores them; some also run at once on the worker) ---------------


@dataclass(frozen=True, repr=False)
class Write(Request):
    """A write the outbox can store: ``kind`` its wire name, ``ref`` the order it keeps in order.

    Fields named in ``required`` must be set; ``needs_staff``: the staff token it was made with is
    part of it. ``run(client, key)`` sends it with the stored ``Idempotency-Key``.
    """

    kind: ClassVar[str] = ""
    needs_staff: ClassVar[bool] = True

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        cls.name = cls.kind  # the answer awaited is called by the wire kind

    def __post_init__(self) -> None:
        required = [f.name for f in dataclasses.fields(self) if f.default is dataclasses.MISSING]
        missing = [k for k in required if getattr(self, k) is None]
        if missing:
            raise ValueError(f"{self.kind} event lacks {', '.join(missing)}")
        if self.needs_staff and not getattr(self, "staff_token", None):
            raise ValueError(f"a {self.kind} event needs the staff token it was made with")

    @property
    def ref(self) -> str:
        """What the outbox keeps in order: the order id (the package code for an arrival)."""
        return str(self.order_id)  # type: ignore[attr-defined]

    def payload(self) -> dict[str, Any]:
        """The stored fields (the staff token goes into its own column), None left out."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name != "staff_token" and getattr(self, f.name) is not None
        }

    def run(self, client: Any, key: str | None = None) -> Any:  # pragma: no cover
        raise NotImplementedError


@dataclass(frozen=True, repr=False)
class ConfirmArrival(Write):
    kind: ClassVar[str] = "arrive"
    package_code: str
    staff_token: str | None = None
    received_by: str | None = None
    locker_door: int | None = None

    @property
    def ref(self) -> str:
        return self.package_code

    def run(self, client: Any, key: str | None = None) -> Any:
        return client.arrive(
            self.package_code,
            self.staff_token,
            received_by=self.received_by,
            locker_door=self.locker_door,
            idempotency_key=key,
        )


@dataclass(frozen=True, repr=False)
class Pickup(Write):
    """Counter: the package code scanned at hand-over; locker: the door opened (exactly one)."""

    kind: ClassVar[str] = "pickup"
    needs_staff: ClassVar[bool] = False
    order_id: str
    lookup_id: str  # docs/api.md r2: the look-up that allowed this order
    package_code: str | None = None
    locker_door: int | None = None
    handed_over_by: str | None = None
    staff_token: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if (self.package_code is None) == (self.locker_door is None):
            raise ValueError("a pickup event takes exactly one of package_code, locker_door")

    def run(self, client: Any, key: str | None = None) -> Any:
        return client.pickup(
            self.order_id,
            self.lookup_id,
            package_code=self.package_code,
            locker_door=self.locker_door,
            handed_over_by=self.handed_over_by,
            idempotency_key=key,
            staff_token=self.staff_token,
        )


@dataclass(frozen=True, repr=False, kw_only=True)
class ReturnStep(Write):
    """A step of a return (asked for, reviewed, completed): the order and the staff token it was
    made with, and the step's own field. Built by keyword, as the outbox rebuilds it."""

    order_id: str
    staff_token: str | None = None


@dataclass(frozen=True, repr=False)
class RequestReturn(ReturnStep):
    kind: ClassVar[str] = "return"
    reason: str

    def run(self, client: Any, key: str | None = None) -> Any:
        return client.request_return(self.order_id, self.reason, self.staff_token, idempotency_key=key)


@dataclass(frozen=True, repr=False)
class ReviewReturn(ReturnStep):
    kind: ClassVar[str] = "return_review"
    approved: bool

    def run(self, client: Any, key: str | None = None) -> Any:
        return client.review_return(self.order_id, self.approved, self.staff_token, idempotency_key=key)


@dataclass(frozen=True, repr=False)
class CompleteReturn(ReturnStep):
    kind: ClassVar[str] = "return_complete"
    destination: str

    def run(self, client: Any, key: str | None = None) -> Any:
        return client.complete_return(self.order_id, self.destination, self.staff_token, idempotency_key=key)


@dataclass(frozen=True, repr=False)
class StaffLogout(Write):
    """API revision 2: ``POST /staff/logout``, after that staff member's queued writes."""

    kind: ClassVar[str] = "staff_logout"
    staff_token: str | None = None

    @property
    def ref(self) -> str:
        return "staff:" + str(self.staff_token)

    def run(self, client: Any, key: str | None = None) -> Any:
        return client.staff_logout(self.staff_token, idempotency_key=key)


@dataclass(frozen=True, repr=False)
class KioskEvent(Write):
    """API revision 2: ``POST /kiosks/{id}/events`` (door alarms, camera, outbox attention)."""

    kind: ClassVar[str] = "kiosk_event"
    needs_staff: ClassVar[bool] = False
    kiosk_id: str
    event: str  # the contract's "kind": door_forced, door_left_open, door_closed, ...
    at: str  # RFC 3339
    door: int | None = None
    detail: str | None = None

    @property
    def ref(self) -> str:
        return f"events:{self.kiosk_id}"

    def run(self, client: Any, key: str | None = None) -> Any:
        return client.kiosk_event(
            self.kiosk_id, self.event, self.at, door=self.door, detail=self.detail, idempotency_key=key
        )


def stamped(request: Request) -> Request:
    """A kiosk event made by the flow (which has no wall clock) gets its time as it is queued."""
    if isinstance(request, KioskEvent) and not request.at:
        at = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return dataclasses.replace(request, at=at)
    return request


WRITES: dict[str, type[Write]] = {
    cls.__name__: cls
    for cls in (ConfirmArrival, Pickup, RequestReturn, ReviewReturn, CompleteReturn, StaffLogout, KioskEvent)
}
"""The records the outbox stores, by class name (what a row's ``kind`` column holds)."""

KINDS: dict[str, type[Write]] = {cls.kind: cls for cls in WRITES.values()}
"""The same records by wire kind (rows written before the records existed; tools and tests)."""


def write_class(kind: str) -> type[Write]:
    """The record class a stored ``kind`` names: its class name, or the older wire kind."""
    cls = WRITES.get(kind) or KINDS.get(kind)
    if cls is None:
        raise ValueError(f"unknown outbox event kind {kind!r}; known: {', '.join(KINDS)}")
    return cls


def rebuild(kind: str, payload: dict, staff_token: str | None = None) -> Write:
    """A stored write as its record again; ``ValueError`` when the fields do not make one."""
    cls = write_class(kind)
    if not isinstance(payload, dict):
        raise ValueError("an outbox payload is a dict")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(payload) - names | ({"staff_token"} & set(payload)))
    if unknown:
        raise ValueError(f"{cls.kind} event has unknown fields {', '.join(unknown)}")
    values = {k: v for k, v in payload.items() if v is not None}
    if "staff_token" in names:
        values["staff_token"] = staff_token
    try:
        return cls(**values)
    except TypeError:  # a required field absent altogether
        missing = [
            f.name
            for f in dataclasses.fields(cls)
            if f.name not in values and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        ]
        raise ValueError(f"{cls.kind} event lacks {', '.join(missing)}") from None


__all__ = [
    "KINDS",
    "WRITES",
    "CompleteReturn",
    "ConfirmArrival",
    "GetParcel",
    "KioskEvent",
    "ListOccupied",
    "ListOverdue",
    "ListReturns",
    "ListStaff",
    "LoadSettings",
    "LookupMember",
    "ParcelInfo",
    "Pickup",
    "Request",
    "RequestReturn",
    "ReturnStep",
    "ReviewReturn",
    "SendHeartbeat",
    "StaffLogin",
    "StaffLogout",
    "Write",
    "rebuild",
    "stamped",
]
