"""Events that threads put on the app's queue (docs/design.md, "one loop; threads only produce events").

Producers (camera scanner, USB scanner, lockers, api worker, outbox, timers) create these small
frozen records; only the main loop consumes them and feeds them to the flow.
"""

from __future__ import annotations

import queue
import threading
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


class EventQueue:
    """The loop's inbox, made first and handed to every producer (camera scanner, lockers, api
    worker, outbox, timers, the backend client): threads only ``post``; only the loop reads.

    ``pygame_wake``: the pygame event type posted with each event, so a loop blocked in
    ``pygame.event.wait`` wakes at once (None: no display, the loop waits on :meth:`wait`).
    """

    def __init__(self, *, pygame_wake: int | None = None):
        self._queue: queue.Queue = queue.Queue()
        self._wake = threading.Event()
        self.pygame_wake = pygame_wake

    def post(self, event: object) -> None:
        """Thread-safe: queue an event for the loop and wake it."""
        self._queue.put(event)
        self._wake.set()
        if self.pygame_wake is not None:
            try:
                import pygame

                pygame.event.post(pygame.event.Event(self.pygame_wake))
            except Exception:  # noqa: S110 - pygame not initialised (closing): the queue is enough
                pass

    def backend_state(self, state: str) -> None:
        """For ``BackendClient(on_state=...)``: every call tells the flow whether the backend answers."""
        self.post(BackendState(state))

    def get_nowait(self) -> object:
        return self._queue.get_nowait()

    def empty(self) -> bool:
        return self._queue.empty()

    def wait(self, timeout: float) -> None:
        """Block until an event is posted or ``timeout`` seconds pass (loops without a display)."""
        self._wake.clear()
        if self._queue.empty():
            self._wake.wait(max(0.0, timeout))
