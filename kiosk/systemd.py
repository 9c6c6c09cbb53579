"""Talking to systemd over the plain notify socket protocol (``sd_notify(3)``), no libsystemd.

The service manager passes ``NOTIFY_SOCKET`` (a path, or an abstract address starting with
``@``) and, with ``WatchdogSec=``, ``WATCHDOG_USEC`` (and ``WATCHDOG_PID``). The kiosk sends:

* ``READY=1`` once config, display, camera, GPIO and outbox are open and the first screen is
  drawn (:meth:`Systemd.ready`);
* ``WATCHDOG=1`` from the main loop (:meth:`Systemd.watchdog`), so a frozen loop is restarted,
  not a merely alive thread. ``sd_watchdog_enabled(3)`` advises a ping every half of
  ``WATCHDOG_USEC``; the loop wakes at least every quarter of it (:meth:`Systemd.watchdog_wake`)
  and pings once a quarter has passed since the last ping, so two pings are never more than half
  the timeout apart (plus one turn of the loop), however the wake-ups fall;
* ``STATUS=`` with a one-line summary whenever it changes (:meth:`Systemd.status`,
  :func:`status_line`);
* ``STOPPING=1`` on SIGTERM (:meth:`Systemd.stopping`, :func:`on_sigterm`).

Without ``NOTIFY_SOCKET`` (a terminal, the tests, a container) every call is a no-op, so the
app calls these unconditionally. A failing send is logged once and never raised: the kiosk
must not stop serving customers because systemd went away.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Mapping

from kiosk.journal import log_event
from kiosk.lifecycle import Closing

logger = logging.getLogger(__name__)


def status_line(state: str, camera: str, backend: str, outbox: int) -> str:
    """The one-line summary for ``STATUS=`` (what ``systemctl status`` shows).

    >>> status_line("idle", "ok", "up", 0)
    'state=idle camera=ok backend=up outbox=0'
    """

    def clean(value: object) -> str:
        text = str(value).strip() or "-"
        return "".join("_" if ch.isspace() or ch == "=" else ch for ch in text)

    return f"state={clean(state)} camera={clean(camera)} backend={clean(backend)} outbox={int(outbox)}"


def _socket_address(address: str) -> str | bytes:
    """``@name`` is an abstract socket (leading NUL byte); anything else is a filesystem path."""
    if address.startswith("@"):
        return b"\0" + address[1:].encode("utf-8")
    return address


class Systemd(Closing):
    """The notify side of a ``Type=notify`` service.

    ``address`` defaults to ``$NOTIFY_SOCKET``; ``environ`` (default ``os.environ``) supplies it
    and the watchdog settings; ``monotonic`` (real time by default: systemd's watchdog counts
    real seconds, not the kiosk's possibly simulated clock) is injectable for tests.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        env = os.environ if environ is None else environ
        if address is None:
            address = env.get("NOTIFY_SOCKET") or None
        self.address = address
        self._monotonic = monotonic
        # re-entrant: the SIGTERM handler (on_sigterm) sends STOPPING=1 on the main thread, which
        # may be interrupted in the middle of a watchdog ping holding this lock
        self._lock = threading.RLock()
        self._socket: socket.socket | None = None
        self._failed = False
        self._last_status: str | None = None
        self._last_watchdog: float | None = None
        self._interval = self._parse_watchdog(env)

    @staticmethod
    def _parse_watchdog(env: Mapping[str, str]) -> float | None:
        usec = env.get("WATCHDOG_USEC")
        if not usec:
            return None
        pid = env.get("WATCHDOG_PID")
        if pid:
            try:
                if int(pid) != os.getpid():
                    return None  # meant for another process (sd_watchdog_enabled semantics)
            except ValueError:
                return None
        try:
            value = int(usec)
        except ValueError:
            return None
        if value <= 0:
            return None
        return value / 2_000_000  # half the timeout, in seconds

    @property
    def enabled(self) -> bool:
        """True when a notify socket is known (running under systemd as ``Type=notify``)."""
        return self.address is not None

    def watchdog_interval(self) -> float | None:
        """The longest gap allowed between watchdog pings (half of ``WATCHDOG_USEC``, as
        ``sd_watchdog_enabled(3)`` advises), in seconds, or None without a watchdog."""
        return self._interval

    def watchdog_wake(self) -> float | None:
        """How often the caller's loop must call :meth:`watchdog` (a quarter of ``WATCHDOG_USEC``),
        or None without a watchdog. Called that often, no two pings are more than
        :meth:`watchdog_interval` apart."""
        return None if self._interval is None else self._interval / 2

    def notify(self, state: str) -> bool:
        """Send one raw notification (``"KEY=value\\n..."``); True if it was sent."""
        if self.address is None:
            return False
        with self._lock:
            try:
                if self._socket is None:
                    self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                self._socket.sendto(state.encode("utf-8"), _socket_address(self.address))
            except OSError as exc:
                if not self._failed:
                    self._failed = True
                    log_event(logger, "notify_failed", logging.WARNING, error=type(exc).__name__, detail=str(exc))
                return False
            if self._failed:
                self._failed = False
                log_event(logger, "notify_restored")
            return True

    def ready(self, status: str | None = None) -> bool:
        """``READY=1`` (with a first ``STATUS=`` when given)."""
        if status is not None:
            self._last_status = status
            return self.notify(f"READY=1\nSTATUS={status}")
        return self.notify("READY=1")

    def status(self, text: str) -> bool:
        """``STATUS=text``, only when it differs from the last one sent; True if sent."""
        text = text.replace("\n", " ")
        if text == self._last_status:
            return False
        sent = self.notify(f"STATUS={text}")
        if sent or self.address is None:
            self._last_status = text
        return sent

    def watchdog(self) -> bool:
        """``WATCHDOG=1`` if a watchdog is configured and a quarter of its timeout passed since the
        last ping.

        Call it on every turn of the main loop, which wakes at least every :meth:`watchdog_wake`
        seconds; it sends only when due. A ping waiting for a full half (the advised interval)
        would come up to a quarter late when the turn after it is due falls just short of it: a
        ping at 0.49 of the timeout is skipped, the next turn at 0.74 sends it. Pinging from a
        quarter on, the next turn after one that fell short comes at most a quarter later, so the
        gap stays within half the timeout. True if sent.
        """
        if self._interval is None or self.address is None:
            return False
        now = self._monotonic()
        if self._last_watchdog is not None and now - self._last_watchdog < self._interval / 2:
            return False
        if self.notify("WATCHDOG=1"):
            self._last_watchdog = now
            return True
        return False

    def extend_timeout(self, seconds: float) -> bool:
        """``EXTEND_TIMEOUT_USEC=``: ask for more start (or stop) time, e.g. while a camera warms up."""
        return self.notify(f"EXTEND_TIMEOUT_USEC={max(0, int(seconds * 1_000_000))}")

    def stopping(self) -> bool:
        """``STOPPING=1``: the service is shutting down on purpose."""
        return self.notify("STOPPING=1")

    def close(self) -> None:
        with self._lock:
            if self._socket is not None:
                self._socket.close()
                self._socket = None


def on_sigterm(systemd: Systemd, stop: Callable[[], None]) -> Callable | int | None:
    """Install a SIGTERM handler that sends ``STOPPING=1`` and calls ``stop()``.

    ``stop`` should only ask the main loop to end (set a flag, post an event): the loop then
    releases the relays, closes the outbox and returns 0. It is called on a short-lived thread,
    not inside the signal handler: the handler runs on the main thread wherever it was
    interrupted, possibly holding the very lock ``stop`` needs (a ``queue.Queue``'s, say), which
    would deadlock. Returns the previous handler. Must be called from the main thread.
    """

    def handler(signum: int, frame: object) -> None:
        log_event(logger, "sigterm")
        systemd.stopping()
        threading.Thread(target=stop, name="sigterm", daemon=True).start()

    return signal.signal(signal.SIGTERM, handler)


def notifying_uvicorn_server(config: object, systemd: Systemd | None = None) -> object:
    """A ``uvicorn.Server`` for ``config`` that speaks to systemd (``pickup-kiosk-server.service``).

    ``READY=1`` once uvicorn listens; ``WATCHDOG=1`` from uvicorn's own main-loop tick (every
    0.1 s, rate-limited to a quarter of ``WATCHDOG_USEC``), so a blocked event loop stops the pings and
    systemd restarts the server; ``STOPPING=1`` when it shuts down. Without ``NOTIFY_SOCKET`` it
    is a plain ``uvicorn.Server``.
    """
    import uvicorn

    sd = systemd if systemd is not None else Systemd()

    class NotifyingServer(uvicorn.Server):
        async def startup(self, sockets: list | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started:
                sd.ready()
                log_event(logger, "server_ready", notify=sd.enabled, watchdog=sd.watchdog_interval())

        async def on_tick(self, counter: int) -> bool:
            sd.watchdog()
            return await super().on_tick(counter)

        async def shutdown(self, sockets: list | None = None) -> None:
            sd.stopping()
            await super().shutdown(sockets=sockets)
            # uvicorn re-raises a captured SIGTERM after shutdown (the process then dies of it);
            # a service asked to stop that stopped cleanly exits 0 instead
            captured = getattr(self, "_captured_signals", None)
            if isinstance(captured, list):
                captured[:] = [s for s in captured if s != signal.SIGTERM]

    return NotifyingServer(config)  # type: ignore[arg-type]
