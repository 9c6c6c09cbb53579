"""What every part of the reference server shares: the error answer and small value checks."""

from __future__ import annotations

import time
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kiosk import __version__
from kiosk.errors import KioskError

MAX_CODE = 128
MAX_DOOR = 100_000
MAX_COUNT = 1_000_000_000
DAY = 86400.0
ADMIN_SCOPE = "admin"  # the back office's idempotency scope (a kiosk's is "kiosk:<id>")


class ApiError(Exception):
    """An answer that refuses: HTTP status, the contract's snake_case code, a human message.

    ``retry_after`` (whole seconds) goes with a 429: into the error object and the
    ``Retry-After`` header (docs/api.md r2).
    """

    def __init__(self, status: int, code: str, message: str, *, retry_after: int | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.retry_after is not None:
            error["retry_after"] = self.retry_after
        return {"error": error}


@dataclass(frozen=True)
class Caller:
    """Who makes an idempotent write and with which request: what every write method of the
    store takes besides the body and the parcel or order it acts on.

    ``key`` is the ``Idempotency-Key`` (None: an admin call without one, run without storing),
    kept per ``scope`` (``kiosk:<id>`` or ``admin``) with ``path``; ``kiosk_id`` and ``staff_id``
    go into the order's event row and the log line (both None for the back office).
    """

    key: str | None
    path: str = field(repr=False)  # it may hold a package code
    scope: str
    kiosk_id: str | None = None
    staff_id: str | None = None

    @classmethod
    def kiosk(cls, key: str, path: str, kiosk_id: str, staff_id: str | None = None) -> Caller:
        """A kiosk's call (its staff member's, with ``staff_id``), on the kiosk's own scope."""
        return cls(key, path, f"kiosk:{kiosk_id}", kiosk_id, staff_id)

    @classmethod
    def admin(cls, key: str | None, path: str) -> Caller:
        """A back-office call, on the admin scope."""
        return cls(key, path, ADMIN_SCOPE)


class SeedError(KioskError, ValueError):
    """A seed file that cannot be loaded (bad shape, unknown key, non-empty database)."""


def utc_iso(ts: float | None) -> str | None:
    """RFC 3339 UTC, seconds precision: ``2026-11-20T03:00:00Z`` (four-digit years: ``0001-...``,
    which ``strftime("%Y")`` writes as ``1``)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None, microsecond=0).isoformat() + "Z"


def parse_time(text: str) -> float:
    """RFC 3339 with an offset (``Z`` or ``+08:00``) → epoch seconds."""
    dt = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if dt.tzinfo is None:
        raise ValueError(f"time without an offset: {text!r}")
    return dt.timestamp()


def is_bad_text(value: str, limit: int = MAX_CODE) -> bool:
    """docs/api.md: longer than ``limit``, holding a control character (category Cc) or a lone
    surrogate is bad input."""
    return len(value) > limit or any(unicodedata.category(ch) == "Cc" or 0xD800 <= ord(ch) <= 0xDFFF for ch in value)


def check_code(value: str, what: str, limit: int = MAX_CODE) -> str:
    """``value`` unchanged, or 400 ``bad_input`` (empty, too long, control characters)."""
    if not value or is_bad_text(value, limit):
        raise ApiError(400, "bad_input", f"{what} is empty, too long or holds a control character")
    return value


def phone_digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())


def health() -> dict[str, str]:
    return {"status": "ok", "version": __version__, "time": utc_iso(time.time()) or ""}
