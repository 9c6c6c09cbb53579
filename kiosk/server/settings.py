"""The backend's settings (docs/api.md ``GET /settings``, plus the store's name and time zone).

One place says which keys exist, their defaults and which values are valid: seed loading uses
:func:`check_settings`, and so should the back office's ``PATCH /admin/settings`` (it raises
:class:`SettingsError` with a message fit for a 422).
"""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# the keys of GET /settings, with their defaults (docs/api.md r2)
KIOSK_DEFAULTS: dict[str, Any] = {
    "overdue_days": 7,
    "member_code_only": False,
    "contact_lookup": "pickup_code",
    "member_code_totp": False,
    "lookup_ttl_seconds": 300,
    "reminder_days": 2,
    "commission_enabled": True,
    "lockout_attempts": 5,
    "lockout_seconds": 60,
    "member_code_pattern": r"[0-9A-Za-z:_.-]{6,72}",
    "parcel_code_pattern": r"[0-9A-Za-z-]{6,40}",
    "staff_badge_pattern": r"STAFF-[0-9A-Z]{4,16}",
}
# the store's own keys (the seed's "store"; the back office's settings)
STORE_DEFAULTS: dict[str, Any] = {"store_name": "", "timezone": "Asia/Taipei"}
DEFAULT_SETTINGS: dict[str, Any] = {**KIOSK_DEFAULTS, **STORE_DEFAULTS}

CONTACT_LOOKUP = ("pickup_code", "open")
_NUMBER = (int, float)
_TYPES: dict[str, tuple[type, ...]] = {
    "overdue_days": _NUMBER,
    "member_code_only": (bool,),
    "contact_lookup": (str,),
    "member_code_totp": (bool,),
    "lookup_ttl_seconds": _NUMBER,
    "reminder_days": _NUMBER,
    "commission_enabled": (bool,),
    "lockout_attempts": (int,),
    "lockout_seconds": _NUMBER,
    "member_code_pattern": (str,),
    "parcel_code_pattern": (str,),
    "staff_badge_pattern": (str,),
    "store_name": (str,),
    "timezone": (str,),
}
# the smallest value of each number, and the largest (days: an order's overdue_at stays a date)
_MINIMUM = {"lockout_attempts": 1}
_MAXIMUM = 10**9
_MAXIMUM_DAYS = 36500


class SettingsError(ValueError):
    """A settings change that is refused (unknown key, wrong type, value out of range)."""


def check_setting(key: str, value: Any) -> Any:
    """``value`` if it is a valid value of ``key``, else :class:`SettingsError`."""
    types = _TYPES.get(key)
    if types is None:
        raise SettingsError(f"unknown key {key!r}")
    if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
        raise SettingsError(f"{key} has the wrong type")
    if key.endswith("_pattern"):
        try:
            re.compile(value)
        except re.error as exc:
            raise SettingsError(f"{key} is not a regular expression: {exc}") from exc
        except (OverflowError, RecursionError):  # a repeat count over 2**32, nesting too deep
            raise SettingsError(f"{key} is not a regular expression Python can compile") from None
    elif key == "contact_lookup":
        if value not in CONTACT_LOOKUP:
            raise SettingsError(f"contact_lookup is one of {', '.join(CONTACT_LOOKUP)}")
    elif key == "timezone":
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise SettingsError("timezone is not a known time zone (e.g. Asia/Taipei)") from exc
    elif key == "store_name":
        if len(value) > 200 or any(ord(ch) < 32 for ch in value):
            raise SettingsError("store_name is too long or holds a control character")
    elif isinstance(value, _NUMBER) and (
        value != value or not _MINIMUM.get(key, 0) <= value <= (_MAXIMUM_DAYS if key.endswith("_days") else _MAXIMUM)
    ):
        raise SettingsError(f"{key} is out of range")
    return value


def check_settings(values: dict[str, Any], *, keys: dict[str, Any] = DEFAULT_SETTINGS) -> dict[str, Any]:
    """The valid ``values`` (a partial change), or :class:`SettingsError` for the first bad one."""
    if not isinstance(values, dict):
        raise SettingsError("settings is an object")
    for key, value in values.items():
        if key not in keys:
            raise SettingsError(f"unknown key {key!r}")
        check_setting(key, value)
    return dict(values)


def lockout_limits(settings: dict[str, Any]) -> tuple[int, float]:
    """The lockout in force: (failed attempts allowed, seconds they count for)."""
    return int(settings["lockout_attempts"]), float(settings["lockout_seconds"])


def kiosk_view(settings: dict[str, Any]) -> dict[str, Any]:
    """What ``GET /settings`` answers: the kiosk's keys only."""
    return {key: settings[key] for key in KIOSK_DEFAULTS}
