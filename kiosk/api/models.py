"""Typed answers of the backend (shared/API.md), checked strictly on the way in.

Every ``from_json`` takes the decoded JSON of one answer and returns a frozen dataclass, or
raises :class:`~kiosk.errors.BackendUnavailable` ("malformed answer: ...") when the answer does
not have the contract's shape: a backend that answers garbage is as useless as one that does not
answer, and callers only ever handle :class:`~kiosk.errors.KioskError`, never ``KeyError`` or
``TypeError``. Unknown extra keys are ignored (a newer backend may add fields). Messages name the
field and the type that was wrong, never the value (it could be personal data).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kiosk.codes import DEFAULT_MEMBER_PATTERN, DEFAULT_PARCEL_PATTERN, DEFAULT_STAFF_PATTERN
from kiosk.errors import BackendUnavailable

STATUSES = (
    "shipped",
    "arrived",
    "overdue",
    "received",
    "return_requested",
    "return_reviewed",
    "returned_to_warehouse",
    "restocked",
)
PICKABLE = ("arrived", "overdue")
IN_STORE = ("arrived", "overdue", "return_requested")  # doors holding these are not free


def malformed(what: str) -> BackendUnavailable:
    return BackendUnavailable(f"malformed answer: {what}")


_MISSING = object()


class _Fields:
    """Typed access to one JSON object; every failure is a :func:`malformed` error."""

    def __init__(self, data: Any, what: str):
        if not isinstance(data, Mapping):
            raise malformed(f"{what} is {_kind(data)}, not an object")
        self.data = data
        self.what = what

    def _get(self, key: str, optional: bool) -> Any:
        value = self.data.get(key, _MISSING)
        if value is _MISSING and not optional:
            raise malformed(f"{self.what}.{key} is missing")
        return value

    def _wrong(self, key: str, value: Any, expected: str) -> BackendUnavailable:
        return malformed(f"{self.what}.{key} is {_kind(value)}, not {expected}")

    def _typed(self, key: str, ok: Any, expected: str, nullable: bool, optional: bool, default: Any) -> Any:
        value = self._get(key, optional)
        if value is _MISSING or (value is None and nullable):
            return default
        if not ok(value):
            raise self._wrong(key, value, expected)
        return value

    def str(self, key: str, *, nullable: bool = False, optional: bool = False, default: Any = None) -> Any:
        return self._typed(key, lambda v: isinstance(v, str), "a string", nullable, optional, default)

    def nonempty(self, key: str) -> str:
        value = self.str(key)
        if not value:
            raise malformed(f"{self.what}.{key} is empty")
        return value

    def int(self, key: str, *, nullable: bool = False, optional: bool = False, default: Any = None) -> Any:
        def ok(v: Any) -> bool:
            return isinstance(v, int) and not isinstance(v, bool)

        return self._typed(key, ok, "an integer", nullable, optional, default)

    def bool(self, key: str, *, optional: bool = False, default: Any = None) -> Any:
        return self._typed(key, lambda v: isinstance(v, bool), "true or false", False, optional, default)

    def time(self, key: str, *, nullable: bool = False) -> datetime | None:
        value = self._get(key, False)
        if value is None and nullable:
            return None
        if not isinstance(value, str):
            raise self._wrong(key, value, "an RFC 3339 time")
        return parse_time(value, f"{self.what}.{key}")

    def obj(self, key: str) -> Any:
        return self._get(key, False)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def parse_time(text: str, what: str = "time") -> datetime:
    """An RFC 3339 time as an aware UTC ``datetime`` (a time without offset is taken as UTC)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise malformed(f"{what} is not an RFC 3339 time") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def format_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _list(data: Any, what: str) -> list:
    if not isinstance(data, list):
        raise malformed(f"{what} is {_kind(data)}, not a list")
    return data


@dataclass(frozen=True)
class Order:
    """One order as the backend shows it to a kiosk (the package code is never part of it)."""

    id: str
    number: str
    status: str
    member_id: str
    customer_masked: str = ""
    items_summary: str = ""
    arrived_at: datetime | None = None
    overdue: bool = False
    overdue_at: datetime | None = None
    locker_door: int | None = None
    received_by: str | None = None
    handed_over_by: str | None = None

    @classmethod
    def from_json(cls, data: Any, what: str = "order") -> Order:
        f = _Fields(data, what)
        status = f.str("status")
        if status not in STATUSES:
            raise malformed(f"{what}.status is not a known status")
        return cls(
            id=f.nonempty("id"),
            number=f.nonempty("number"),  # the kiosk tells orders apart by it (order:<number>)
            status=status,
            member_id=f.str("member_id"),
            customer_masked=f.str("customer_masked", nullable=True) or "",
            items_summary=f.str("items_summary", nullable=True, optional=True) or "",
            arrived_at=f.time("arrived_at", nullable=True),
            overdue=f.bool("overdue"),
            overdue_at=f.time("overdue_at", nullable=True),
            locker_door=f.int("locker_door", nullable=True),
            received_by=f.str("received_by", nullable=True),
            handed_over_by=f.str("handed_over_by", nullable=True),
        )

    @property
    def pickable(self) -> bool:
        """Arrived or overdue: a customer may take it."""
        return self.status in PICKABLE

    def to_json(self) -> dict:
        """The contract's JSON form (times as RFC 3339 UTC strings)."""
        return {
            "id": self.id,
            "number": self.number,
            "status": self.status,
            "member_id": self.member_id,
            "customer_masked": self.customer_masked,
            "items_summary": self.items_summary,
            "arrived_at": format_time(self.arrived_at),
            "overdue": self.overdue,
            "overdue_at": format_time(self.overdue_at),
            "locker_door": self.locker_door,
            "received_by": self.received_by,
            "handed_over_by": self.handed_over_by,
        }


def orders_from_json(data: Any, what: str = "orders") -> tuple[Order, ...]:
    return tuple(Order.from_json(item, f"{what}[{i}]") for i, item in enumerate(_list(data, what)))


@dataclass(frozen=True)
class Member:
    id: str
    display_name_masked: str = ""

    @classmethod
    def from_json(cls, data: Any, what: str = "member") -> Member:
        f = _Fields(data, what)
        return cls(id=f.nonempty("id"), display_name_masked=f.str("display_name_masked", nullable=True) or "")


@dataclass(frozen=True)
class Staff:
    id: str
    name: str

    @classmethod
    def from_json(cls, data: Any, what: str = "staff") -> Staff:
        f = _Fields(data, what)
        return cls(id=f.nonempty("id"), name=f.str("name"))


def staff_list_from_json(data: Any, what: str = "staff") -> tuple[Staff, ...]:
    return tuple(Staff.from_json(item, f"{what}[{i}]") for i, item in enumerate(_list(data, what)))


@dataclass(frozen=True)
class StaffSession:
    """A staff login: the token for ``X-Staff-Token``, who it is, and for how many seconds it holds."""

    token: str = field(repr=False)  # never in a log line or traceback
    staff: Staff
    expires_in: int

    @classmethod
    def from_json(cls, data: Any, what: str = "login") -> StaffSession:
        f = _Fields(data, what)
        expires_in = f.int("expires_in")
        if expires_in < 0:
            raise malformed(f"{what}.expires_in is negative")
        return cls(
            token=f.nonempty("staff_token"),
            staff=Staff.from_json(f.obj("staff"), f"{what}.staff"),
            expires_in=expires_in,
        )


SETTINGS_KEYS = (
    "overdue_days",
    "member_code_only",
    "commission_enabled",
    "lockout_attempts",
    "lockout_seconds",
    "member_code_pattern",
    "parcel_code_pattern",
    "staff_badge_pattern",
)


@dataclass(frozen=True)
class Settings:
    """``GET /settings``: absent keys take the contract's defaults; patterns must compile."""

    overdue_days: int = 7
    member_code_only: bool = False
    commission_enabled: bool = True
    lockout_attempts: int = 5
    lockout_seconds: int = 60
    member_code_pattern: str = DEFAULT_MEMBER_PATTERN
    parcel_code_pattern: str = DEFAULT_PARCEL_PATTERN
    staff_badge_pattern: str = DEFAULT_STAFF_PATTERN

    @classmethod
    def from_json(cls, data: Any, what: str = "settings") -> Settings:
        f = _Fields(data, what)
        if f.data and not any(key in f.data for key in SETTINGS_KEYS):
            # absent keys take their defaults ({} is every default), but an object of other keys
            # only is another answer (a proxy's or a wrong route's JSON), not the settings
            raise malformed(f"{what} holds none of the settings")
        d = cls()
        values = {
            "overdue_days": f.int("overdue_days", optional=True, default=d.overdue_days),
            "member_code_only": f.bool("member_code_only", optional=True, default=d.member_code_only),
            "commission_enabled": f.bool("commission_enabled", optional=True, default=d.commission_enabled),
            "lockout_attempts": f.int("lockout_attempts", optional=True, default=d.lockout_attempts),
            "lockout_seconds": f.int("lockout_seconds", optional=True, default=d.lockout_seconds),
        }
        for key in ("overdue_days", "lockout_attempts", "lockout_seconds"):
            if values[key] < 0:
                raise malformed(f"{what}.{key} is negative")
        for key in ("member_code_pattern", "parcel_code_pattern", "staff_badge_pattern"):
            pattern = f.str(key, optional=True, default=getattr(d, key)) or getattr(d, key)
            try:
                re.compile(pattern)
            except (re.error, RecursionError, OverflowError):
                raise malformed(f"{what}.{key} is not a valid regular expression") from None
            values[key] = pattern
        return cls(**values)


@dataclass(frozen=True)
class Lookup:
    """``POST /members/lookup``: the member and their orders waiting in the store (oldest first)."""

    member: Member
    orders: tuple[Order, ...] = ()
    lookup_id: str = ""  # API.md r2: pickups name it
    expires_in: int = 0  # seconds the look-up is valid for (0: not said)

    @classmethod
    def from_json(cls, data: Any, what: str = "lookup") -> Lookup:
        f = _Fields(data, what)
        return cls(
            member=Member.from_json(f.obj("member"), f"{what}.member"),
            orders=orders_from_json(f.obj("orders"), f"{what}.orders"),
            lookup_id=f.str("lookup_id", optional=True, default=""),
            expires_in=f.int("expires_in", optional=True, default=0),
        )


@dataclass(frozen=True)
class Health:
    status: str
    version: str = ""
    time: datetime | None = None

    @classmethod
    def from_json(cls, data: Any, what: str = "health") -> Health:
        f = _Fields(data, what)
        return cls(
            status=f.nonempty("status"),
            version=f.str("version", optional=True, nullable=True) or "",
            time=f.time("time", nullable=True) if "time" in f.data else None,
        )

    @property
    def ok(self) -> bool:
        return self.status == "ok"
