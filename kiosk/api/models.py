"""Typed answers of the backend (docs/api.md), checked strictly on the way in with pydantic.

Every ``from_json`` takes the decoded JSON of one answer and returns a frozen (pydantic)
dataclass, or raises :class:`~kiosk.errors.BackendUnavailable` ("malformed answer: ...") when the
answer does not have the contract's shape: a backend that answers garbage is as useless as one
that does not answer, and callers only ever handle :class:`~kiosk.errors.KioskError`, never
``KeyError``, ``TypeError`` or pydantic's ``ValidationError``. Unknown extra keys are ignored (a
newer backend may add fields). Types are strict (no ``"5"`` for 5, no 0 for false). Messages name
the field and the type that was wrong, never the value (it could be personal data).

A field the contract requires but allows ``null`` in has a default here (the kiosk builds these
records itself too, in tests and the demo); ``wire_required`` lists the keys an answer must hold.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    model_validator,
)
from pydantic.dataclasses import dataclass
from pydantic_core import PydanticCustomError

from kiosk.codes import DEFAULT_MEMBER_PATTERN, DEFAULT_PARCEL_PATTERN, DEFAULT_STAFF_PATTERN
from kiosk.errors import BackendUnavailable
from kiosk.statuses import STATUSES

PICKABLE = ("arrived", "overdue")
IN_STORE = ("arrived", "overdue", "return_requested")  # doors holding these are not free


def malformed(what: str) -> BackendUnavailable:
    return BackendUnavailable(f"malformed answer: {what}")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
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


def _time_in(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError(f"is {_kind(value)}, not an RFC 3339 time")
    try:
        return parse_time(value)
    except BackendUnavailable:
        raise ValueError("is not an RFC 3339 time") from None


def _pattern(value: str) -> str:
    try:
        re.compile(value)
    except (re.error, RecursionError, OverflowError):
        raise ValueError("is not a valid regular expression") from None
    return value


Time = Annotated[datetime | None, BeforeValidator(_time_in)]
NonEmpty = Annotated[StrictStr, Field(min_length=1)]
Text = Annotated[StrictStr, BeforeValidator(lambda v: "" if v is None else v)]  # null reads as ""
Count = Annotated[StrictInt, Field(ge=0)]
Pattern = Annotated[StrictStr, BeforeValidator(lambda v: v or None), AfterValidator(_pattern)]

_CONFIG = ConfigDict(extra="ignore", validate_by_name=True, validate_by_alias=True)

# what each pydantic error type says, after "<field> is" (the value itself is never shown)
_EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "bool_type": "true or false",
    "tuple_type": "a list",
    "list_type": "a list",
    "dataclass_type": "an object",
    "dataclass_args_type": "an object",
    "dict_type": "an object",
    "model_type": "an object",
}
_SAID = {
    "string_too_short": "is empty",
    "greater_than_equal": "is negative",
    "literal_error": "is not one of the contract's values",
}


def _message(what: str, error: Any) -> str:
    path = what
    for part in error["loc"]:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    kind = error["type"]
    if kind == "missing":
        return f"{path} is missing"
    if kind == "missing_key":
        return f"{path}.{error['ctx']['key']} is missing"
    if kind == "value_error":
        return f"{path} {error['ctx']['error']}"
    if kind in _SAID:
        return f"{path} {_SAID[kind]}"
    if kind in _EXPECTED:
        return f"{path} is {_kind(error.get('input'))}, not {_EXPECTED[kind]}"
    return f"{path} is not valid"


class _Wire:
    """``from_json`` for the records below: pydantic checks, one clear error."""

    wire_required: ClassVar[tuple[str, ...]] = ()
    wire_name: ClassVar[str] = ""  # what messages call the answer (the class name in lower case)

    @model_validator(mode="before")
    @classmethod
    def _required(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            for key in cls.wire_required:
                if key not in data:
                    raise PydanticCustomError("missing_key", "a key is missing", {"key": key})
        return data

    @classmethod
    def from_json(cls, data: Any, what: str = "") -> Any:
        what = what or cls.wire_name or cls.__name__.lower()
        try:
            return cls.__pydantic_validator__.validate_python(data)  # type: ignore[attr-defined]
        except ValidationError as exc:
            raise malformed(_message(what, exc.errors()[0])) from None
        except RecursionError:
            raise malformed(f"{what} is nested too deeply") from None


@dataclass(frozen=True, config=_CONFIG)
class Order(_Wire):
    """One order as the backend shows it to a kiosk (the package code is never part of it)."""

    wire_required: ClassVar[tuple[str, ...]] = (
        "id",
        "number",
        "status",
        "member_id",
        "customer_masked",
        "arrived_at",
        "overdue",
        "overdue_at",
        "locker_door",
        "received_by",
        "handed_over_by",
    )

    id: NonEmpty
    number: NonEmpty  # the kiosk tells orders apart by it (order:<number>)
    status: Literal[STATUSES]  # type: ignore[valid-type]
    member_id: StrictStr
    customer_masked: Text = ""
    items_summary: Text = ""
    arrived_at: Time = None
    overdue: StrictBool = False
    overdue_at: Time = None
    locker_door: StrictInt | None = None
    received_by: StrictStr | None = None
    handed_over_by: StrictStr | None = None

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


@dataclass(frozen=True, config=_CONFIG)
class Member(_Wire):
    wire_required: ClassVar[tuple[str, ...]] = ("id", "display_name_masked")

    id: NonEmpty
    display_name_masked: Text = ""


@dataclass(frozen=True, config=_CONFIG)
class Staff(_Wire):
    id: NonEmpty
    name: StrictStr


@dataclass(frozen=True, config=_CONFIG)
class StaffSession(_Wire):
    """A staff login: the token for ``X-Staff-Token``, who it is, and for how many seconds it holds."""

    wire_name: ClassVar[str] = "login"

    token: Annotated[NonEmpty, Field(alias="staff_token", repr=False)]  # never in a log line or traceback
    staff: Staff
    expires_in: Count

    def __repr__(self) -> str:
        return f"StaffSession(staff={self.staff!r}, expires_in={self.expires_in})"


SETTINGS_KEYS = (
    "overdue_days",
    "member_code_only",
    "commission_enabled",
    "lockout_attempts",
    "lockout_seconds",
    "member_code_pattern",
    "parcel_code_pattern",
    "staff_badge_pattern",
    "contact_lookup",
    "member_code_totp",
    "lookup_ttl_seconds",
)


@dataclass(frozen=True, config=_CONFIG)
class Settings(_Wire):
    """``GET /settings``: absent keys take the contract's defaults; patterns must compile."""

    overdue_days: Count = 7
    member_code_only: StrictBool = False
    commission_enabled: StrictBool = True
    lockout_attempts: Count = 5
    lockout_seconds: Count = 60
    member_code_pattern: Pattern = DEFAULT_MEMBER_PATTERN
    parcel_code_pattern: Pattern = DEFAULT_PARCEL_PATTERN
    staff_badge_pattern: Pattern = DEFAULT_STAFF_PATTERN
    # docs/api.md r2: "open" lets a counter look up by phone or email alone; anything else (the
    # default "pickup_code", or a value a newer server invents) asks for the pickup code
    contact_lookup: Text = "pickup_code"
    member_code_totp: StrictBool = False
    lookup_ttl_seconds: Count = 300

    @model_validator(mode="before")
    @classmethod
    def _some_setting(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            if data and not any(key in data for key in SETTINGS_KEYS):
                # absent keys take their defaults ({} is every default), but an object of other
                # keys only is another answer (a proxy's or a wrong route's JSON), not the settings
                raise ValueError("holds none of the settings")
            # an empty or null pattern is the default one
            data = {k: v for k, v in data.items() if not (k.endswith("_pattern") and not v)}
        return data


@dataclass(frozen=True, config=_CONFIG)
class Lookup(_Wire):
    """``POST /members/lookup``: the member and their orders waiting in the store (oldest first)."""

    wire_required: ClassVar[tuple[str, ...]] = ("member", "orders")

    member: Member
    orders: tuple[Order, ...] = ()
    lookup_id: Text = ""  # docs/api.md r2: every pickup of this session names it
    expires_in: Count = 0  # seconds the look-up is valid for (0: not said)


@dataclass(frozen=True, config=_CONFIG)
class Health(_Wire):
    status: NonEmpty
    version: Text = ""
    time: Time = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _many(cls: type[_Wire], data: Any, what: str) -> tuple:
    if not isinstance(data, list):
        raise malformed(f"{what} is {_kind(data)}, not a list")
    return tuple(cls.from_json(item, f"{what}[{i}]") for i, item in enumerate(data))


def orders_from_json(data: Any, what: str = "orders") -> tuple[Order, ...]:
    return _many(Order, data, what)


def staff_list_from_json(data: Any, what: str = "staff") -> tuple[Staff, ...]:
    return _many(Staff, data, what)
