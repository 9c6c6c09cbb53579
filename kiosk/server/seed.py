"""Seed files (docs/api.md "Reference server data"), checked with pydantic and turned into rows.

:func:`seed_rows` refuses a bad seed with :class:`SeedError` naming the entry and the key
(``seed: staff[0]: pin is required``), never the value (it may be personal data).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from kiosk.server import db
from kiosk.server.common import DAY, MAX_DOOR, SeedError, is_bad_text, parse_time, phone_digits, utc_iso
from kiosk.server.security import (
    random_pickup_code,
    random_totp_secret,
    seed_secret_hash,
    token_hash,
    valid_totp_secret,
)
from kiosk.server.settings import KIOSK_DEFAULTS, SettingsError, check_setting, check_settings
from kiosk.statuses import STATUSES

API_STATUSES = STATUSES  # as the API names them; "overdue" is never stored (db.STORED_STATUSES)
# pickup codes go to orders that wait (arrived, overdue)
WAITING = ("arrived", "overdue")


def _text(value: str) -> str:
    if is_bad_text(value, 500):
        raise ValueError("too long or holds a control character")
    return value


Text = Annotated[str, AfterValidator(_text)]
Required = Annotated[str, Field(min_length=1), AfterValidator(_text)]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class SeedStore(_Entry):
    name: Text | None = None
    timezone: Text | None = None


class SeedAdmin(_Entry):
    username: Required
    password: Required


class SeedKiosk(_Entry):
    id: Required
    token: Required
    mode: Literal["locker", "counter"] = "locker"


class SeedStaff(_Entry):
    id: Required
    name: Required
    badge_code: Required
    pin: Required
    active: bool = True


class SeedMember(_Entry):
    id: Required
    name: Required
    phone: Text | None = None
    email: Text | None = None
    member_code: Text | None = None
    lang: Literal["zh-TW", "en"] = "zh-TW"
    totp_secret: Text | None = None


class SeedOrder(_Entry):
    id: Required
    number: Required
    member_id: Required
    package_code: Required
    items_summary: Text | None = None
    status: Required
    arrived_at: Text | None = None
    locker_door: Annotated[int, Field(ge=1, le=MAX_DOOR)] | None = None
    received_by: Text | None = None
    handed_over_by: Text | None = None
    return_reason: Text | None = None
    pickup_code: Text | None = None


class Seed(_Entry):
    settings: dict[str, Any] | None = None
    store: SeedStore | None = None
    admins: list[SeedAdmin] = []
    kiosks: list[SeedKiosk] = []
    staff: list[SeedStaff] = []
    members: list[SeedMember] = []
    orders: list[SeedOrder] = []


def _message(error: dict[str, Any]) -> str:
    """A pydantic error as ``seed: staff[0]: pin is required`` (no input value)."""
    loc = list(error.get("loc", ()))
    where = "seed"
    if len(loc) >= 2 and isinstance(loc[1], int):
        where += f": {loc[0]}[{loc[1]}]"
        loc = loc[2:]
    elif loc and error["type"] != "extra_forbidden":
        where += f": {loc[0]}"
        loc = loc[1:]
    key = str(loc[0]) if loc else ""
    kind = error["type"]
    if kind == "extra_forbidden":
        what = f"unknown key {str(error['loc'][-1])!r}"
    elif kind == "missing" or (kind == "string_too_short" and key):
        what = f"{key} is required"
    elif kind == "bool_type":
        what = f"{key} is true or false"
    elif key == "locker_door":
        what = f"locker_door is a door number from 1 to {MAX_DOOR}"
    elif kind == "string_type":
        what = f"{key} is a string"
    elif kind in ("list_type", "model_type", "dict_type"):
        what = f"{key or where.split(': ')[-1]} has the wrong shape"
    elif kind == "literal_error":
        what = f"{key} is not one of the allowed values"
    else:
        what = f"{key} is {error.get('msg', 'invalid')}".lower()
    return f"{where}: {what}"


def parse_seed(raw: Any) -> Seed:
    if not isinstance(raw, dict):
        raise SeedError("a seed is a JSON object")
    try:
        seed = Seed.model_validate(raw)
    except ValidationError as exc:
        raise SeedError(_message(exc.errors(include_input=False)[0])) from None
    try:
        check_settings(seed.settings or {}, keys=KIOSK_DEFAULTS)
    except SettingsError as exc:
        raise SeedError(f"seed: settings: {exc}") from None
    for kind, items in (("admins", seed.admins), ("kiosks", seed.kiosks), ("staff", seed.staff)):
        _unique(kind, [getattr(i, "username", None) or getattr(i, "id", "") for i in items], "id")
    _unique("members", [m.id for m in seed.members], "id")
    _unique("orders", [o.id for o in seed.orders], "id")
    return seed


def _unique(kind: str, values: list[str], what: str) -> None:
    seen: set[str] = set()
    for i, value in enumerate(values):
        if value in seen:
            raise SeedError(f"seed: {kind}[{i}]: duplicate {what} {value!r}" if what == "id" else what)
        seen.add(value)


def seed_rows(raw: Any, now: float) -> list[tuple[Any, list[dict[str, Any]]]]:
    """(table, rows) in insertion order for a seed, or :class:`SeedError`."""
    seed = parse_seed(raw)
    cfg = dict(seed.settings or {})
    if seed.store is not None:
        for key, value in (("store_name", seed.store.name), ("timezone", seed.store.timezone)):
            if value is not None:
                try:
                    cfg[key] = check_setting(key, value)
                except SettingsError as exc:
                    raise SeedError(f"seed: store: {exc}") from None
    setting_rows = [{"key": k, "value": json.dumps(v)} for k, v in cfg.items()]

    admin_rows = [
        {
            "username": a.username,
            "password_hash": seed_secret_hash("admin:" + a.username, a.password),
            "created_at": now,
        }
        for a in seed.admins
    ]
    kiosk_rows = [
        {"id": k.id, "token_hash": token_hash(k.token), "position": i, "mode": k.mode}
        for i, k in enumerate(seed.kiosks)
    ]
    if len({r["token_hash"] for r in kiosk_rows}) != len(kiosk_rows):
        raise SeedError("seed: two kiosks share a token")

    staff_rows = [
        {
            "id": s.id,
            "name": s.name,
            "badge_code": s.badge_code,
            "pin_hash": seed_secret_hash(s.badge_code, s.pin),
            "active": s.active,
            "position": i,
        }
        for i, s in enumerate(seed.staff)
    ]
    if len({r["badge_code"] for r in staff_rows}) != len(staff_rows):
        raise SeedError("seed: two staff members share a badge code")
    staff_ids = {r["id"] for r in staff_rows}

    member_rows = []
    for i, m in enumerate(seed.members):
        if m.totp_secret is not None and not valid_totp_secret(m.totp_secret):
            raise SeedError(f"seed: members[{i}]: totp_secret is base32 of at least 160 bits")
        member_rows.append(
            {
                "id": m.id,
                "name": m.name,
                "phone": m.phone,
                "phone_digits": phone_digits(m.phone) if m.phone else None,
                "email": m.email,
                "email_lower": m.email.strip().lower() if m.email else None,
                "member_code": m.member_code,
                "lang": m.lang,
                "totp_secret": (m.totp_secret or random_totp_secret()).strip().upper().rstrip("="),
            }
        )
    codes = [r["member_code"] for r in member_rows if r["member_code"]]
    if len(set(codes)) != len(codes):
        raise SeedError("seed: two members share a member code")
    member_ids = {r["id"] for r in member_rows}

    overdue_days = float(cfg.get("overdue_days", KIOSK_DEFAULTS["overdue_days"]))
    order_rows = [_order_row(i, o, now, overdue_days, member_ids, staff_ids) for i, o in enumerate(seed.orders)]
    doors_in_use: set[int] = set()
    for i, r in enumerate(order_rows):
        door = r["locker_door"]
        if door is not None and r["status"] in db.DOOR_HOLDING:
            if door in doors_in_use:
                raise SeedError(f"seed: orders[{i}]: door {door} already holds another order")
            doors_in_use.add(door)
    for key in ("number", "package_code"):
        values = [r[key] for r in order_rows]
        if len(set(values)) != len(values):
            raise SeedError(f"seed: two orders share a {key}")
    _give_pickup_codes(order_rows)
    return [
        (db.settings, setting_rows),
        (db.admins, admin_rows),
        (db.kiosks, kiosk_rows),
        (db.staff, staff_rows),
        (db.members, member_rows),
        (db.orders, order_rows),
    ]


def _order_row(
    i: int, o: SeedOrder, now: float, overdue_days: float, member_ids: set[str], staff_ids: set[str]
) -> dict[str, Any]:
    where = f"seed: orders[{i}]"
    status = o.status
    if status not in API_STATUSES:
        raise SeedError(f"{where}: unknown status {status!r}")
    if o.member_id not in member_ids:
        raise SeedError(f"{where}: unknown member_id {o.member_id!r}")
    for key in ("received_by", "handed_over_by"):
        value = getattr(o, key)
        if value is not None and value not in staff_ids:
            raise SeedError(f"{where}: {key} is not a staff id")
    arrived_at = None
    if o.arrived_at is not None:
        try:
            arrived_at = parse_time(o.arrived_at)
            for shown in (arrived_at, arrived_at + overdue_days * DAY):  # arrived_at, overdue_at in UTC
                utc_iso(shown)
        except (ValueError, OverflowError, OSError):
            raise SeedError(f"{where}: arrived_at is not an RFC 3339 time with offset") from None
    elif status == "overdue":
        arrived_at = now - (overdue_days + 1) * DAY
    elif status != "shipped":
        arrived_at = now  # "an arrived order without arrived_at arrived when the seed was loaded"
    if status == "shipped":
        arrived_at = None
    if o.pickup_code is not None and not (
        len(o.pickup_code) == 6 and o.pickup_code.isascii() and o.pickup_code.isdigit()
    ):
        raise SeedError(f"{where}: pickup_code is six digits")
    return {
        "id": o.id,
        "number": o.number,
        "member_id": o.member_id,
        "package_code": o.package_code,
        "items_summary": o.items_summary,
        "status": "arrived" if status == "overdue" else status,
        "arrived_at": arrived_at,
        "locker_door": o.locker_door,
        "received_by": o.received_by,
        "handed_over_by": o.handed_over_by,
        "return_reason": o.return_reason,
        "updated_at": now,
        "pickup_code": o.pickup_code,
        "received_at": arrived_at if status == "received" else None,
        "_waiting": status in WAITING,
    }


def _give_pickup_codes(order_rows: list[dict[str, Any]]) -> None:
    """Waiting orders without a code get one; codes are unique among waiting orders."""
    holding = [r for r in order_rows if r["status"] in db.DOOR_HOLDING and r["pickup_code"]]
    taken = [r["pickup_code"] for r in holding]
    if len(set(taken)) != len(taken):
        raise SeedError("seed: two waiting orders share a pickup_code")
    used = set(taken)
    for r in order_rows:
        if r.pop("_waiting") and not r["pickup_code"]:
            code = random_pickup_code()
            while code in used:
                code = random_pickup_code()
            used.add(code)
            r["pickup_code"] = code
