"""Events that threads put on the app's queue (docs/design.md, "one loop; threads only produce events").

Producers (camera scanner, USB scanner, lockers, api worker, outbox, timers) create these small
frozen records; only the main loop consumes them and feeds them to the flow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Scan:
    """A code read by the camera (``source="camera"``) or a USB scanner (``"usb"``)."""

    symbology: str
    text: str
    at: float  # clock.monotonic() when it was read
    kind: str = "unknown"  # member | parcel | staff | unknown (kiosk.codes.CodeKind values)
    source: str = "camera"

    def __repr__(self) -> str:  # never put the code itself in a log line or traceback
        return f"Scan(symbology={self.symbology!r}, kind={self.kind!r}, source={self.source!r}, len={len(self.text)})"


@dataclass(frozen=True)
class CameraState:
    """The camera changed state: ``ok``, ``lost`` (no good frame for a while), ``reopening``, ``absent``."""

    state: str
    detail: str = ""


@dataclass(frozen=True)
class DoorEvent:
    """A locker door event: ``unlocked``, ``opened``, ``closed``, ``not_opened``, ``left_open``, ``forced``."""

    door: int
    kind: str
    at: float = 0.0


@dataclass(frozen=True)
class ApiResult:
    """The answer to an interactive backend call made on the api worker.

    ``ok`` with ``value`` (a typed result), or not ``ok`` with ``error`` (a KioskError).
    """

    request: str  # what was asked, e.g. "lookup", "login", "pickup"
    ok: bool
    value: Any = None
    error: Exception | None = None
    token: int = 0  # matches the request that the flow made, stale answers are ignored
    meta: dict = field(default_factory=dict)


@dataclass(frozen=True)
class OutboxChanged:
    """The outbox delivered, queued or parked an event; ``depth`` waiting, ``attention`` parked."""

    depth: int
    attention: int
    delivered: str | None = None  # idempotency key of an event just delivered
    order_ref: str | None = None


@dataclass(frozen=True)
class BackendState:
    """The backend became reachable (``up``) or unreachable (``down``)."""

    state: str
