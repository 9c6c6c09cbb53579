"""The kiosk's heartbeat: ``POST /kiosks/{id}/heartbeat`` every 30 s of kiosk time.

A remote admin sees from the backend which kiosks are alive and how they are: state, camera,
GPIO, outbox depth, version, uptime. The heartbeat runs on its own thread and waits on the
kiosk clock (``clock.call_later``), so the main loop never blocks on it and the scenario
runner's simulated clock drives it like every other kiosk timer.

``snapshot_fn()`` is called on the heartbeat thread and returns a dict with ``state``,
``camera``, ``gpio`` (short strings) and ``outbox`` (an int): read values the loop keeps up to
date (plain attributes), never touch pygame or the devices from it.

A failing heartbeat is logged once per change of outcome (``event=heartbeat_failed`` when it
starts failing or fails differently, ``event=heartbeat_ok`` when it works again), not every
30 s, so a backend outage does not flood the journal.

``uptime`` is not in docs/api.md v1's heartbeat body; a backend that refuses it (422
``validation_error``, as the strict reference server does) gets the contract's fields only from
then on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from kiosk import __version__
from kiosk.api.requests import SendHeartbeat
from kiosk.clock import Clock, Timer
from kiosk.errors import BackendUnavailable, Rejected
from kiosk.journal import log_event
from kiosk.lifecycle import Worker

logger = logging.getLogger(__name__)

CONTRACT_FIELDS = ("state", "camera", "gpio", "outbox", "version")


class _Client(Protocol):
    def heartbeat(self, kiosk_id: str, payload: dict) -> None: ...


class Heartbeat(Worker):
    """Posts heartbeats on a background thread; ``start()`` sends the first at once."""

    def __init__(
        self,
        client: _Client,
        kiosk_id: str,
        clock: Clock,
        snapshot_fn: Callable[[], dict[str, Any]],
        interval: float = 30.0,
        *,
        version: str = __version__,
        send_uptime: bool = True,
    ) -> None:
        if interval <= 0:
            raise ValueError("the heartbeat interval must be greater than 0")
        super().__init__("heartbeat")
        self.client = client
        self.kiosk_id = kiosk_id
        self.clock = clock
        self.snapshot_fn = snapshot_fn
        self.interval = float(interval)
        self.version = version
        self.send_uptime = send_uptime
        self._started_at = clock.monotonic()
        self._timer: Timer | None = None
        self._due = 0.0
        self._immediate = False
        self._cond = threading.Condition()
        self._outcome: str | None = None
        self.sent = 0  # heartbeats the backend accepted
        self.failed = 0  # heartbeats that did not get through
        self.last_payload: dict[str, Any] | None = None
        self.last_error: str | None = None

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> Heartbeat:
        if self._thread is None:
            self._wake.set()  # the first heartbeat at once
            self._due = self.clock.monotonic()
        return super().start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the thread; a heartbeat in flight ends within the client's timeouts."""
        super().stop(timeout)
        if self._timer is not None:
            self._timer.cancel()

    close = stop

    def beat_now(self) -> None:
        """Send one without waiting for the interval (e.g. right after a state the admin must see)."""
        self._immediate = True
        self._wake.set()

    def wait_sent(self, count: int, timeout: float = 5.0) -> bool:
        """Wait (real time) until ``count`` heartbeats were attempted; True if they were."""
        with self._cond:
            return self._cond.wait_for(lambda: self.sent + self.failed >= count, timeout)

    def uptime(self) -> float:
        """Seconds of kiosk time since this heartbeat was created (≈ since the kiosk started)."""
        return max(0.0, self.clock.monotonic() - self._started_at)

    # -- the thread ---------------------------------------------------------------------------

    def _schedule_next(self) -> None:
        now = self.clock.monotonic()
        self._due += self.interval
        if self._due <= now:  # fell behind (a slow backend): skip the missed beats
            self._due = now + self.interval
        self._timer = self.clock.call_later(self._due - now, self._wake.set)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            if self._stop.is_set():
                break
            self._wake.clear()
            if self._immediate:  # beat_now(): restart the cadence from here
                self._immediate = False
                if self._timer is not None:
                    self._timer.cancel()
                self._due = self.clock.monotonic()
            self._schedule_next()  # before the beat, so a clock advanced meanwhile finds it
            self._beat()

    def payload(self) -> dict[str, Any]:
        """The body of the next heartbeat (contract fields, plus ``uptime`` unless refused)."""
        snap = dict(self.snapshot_fn() or {})
        body: dict[str, Any] = {
            "state": str(snap.get("state") or "unknown"),
            "camera": str(snap.get("camera") or "unknown"),
            "gpio": str(snap.get("gpio") or "unknown"),
            "outbox": int(snap.get("outbox") or 0),
            "version": self.version,
        }
        if self.send_uptime:
            body["uptime"] = round(self.uptime())
        return body

    def _beat(self) -> None:
        outcome = "ok"
        try:
            body = self.payload()
            self.last_payload = body
            try:
                SendHeartbeat(self.kiosk_id, body).run(self.client)
            except Rejected as exc:
                if not (self.send_uptime and exc.status in (400, 422) and exc.code == "validation_error"):
                    raise
                self.send_uptime = False  # a backend that keeps to docs/api.md v1's fields
                log_event(logger, "heartbeat_without_uptime", code=exc.code)
                body = {k: v for k, v in body.items() if k in CONTRACT_FIELDS}
                self.last_payload = body
                SendHeartbeat(self.kiosk_id, body).run(self.client)
        except BackendUnavailable as exc:
            outcome = "unavailable"
            self.last_error = str(exc)
        except Rejected as exc:
            outcome = f"rejected:{exc.code}"
            self.last_error = f"{exc.status} {exc.code}"
        except Exception as exc:  # a snapshot or client bug must not end the heartbeat thread
            outcome = f"error:{type(exc).__name__}"
            self.last_error = type(exc).__name__
            logger.debug("heartbeat error", exc_info=True)
        with self._cond:
            if outcome == "ok":
                self.sent += 1
                self.last_error = None
            else:
                self.failed += 1
            self._cond.notify_all()
        self._log_change(outcome)

    def _log_change(self, outcome: str) -> None:
        if outcome == self._outcome:
            return
        first = self._outcome is None
        self._outcome = outcome
        if outcome == "ok":
            if not first:
                log_event(logger, "heartbeat_ok", kiosk=self.kiosk_id)
            return
        log_event(
            logger,
            "heartbeat_failed",
            logging.WARNING,
            kiosk=self.kiosk_id,
            reason=outcome,
            detail=self.last_error,
            interval=self.interval,
        )
