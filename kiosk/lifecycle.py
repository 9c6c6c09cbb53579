"""How the kiosk's long-lived parts start and end, written once.

* :class:`Closing`: a part that owns something (a device, a session, a file, a thread) is a
  context manager whose ``with`` block ends in ``close()``: the backend client, the outbox, the api
  worker, the frame sources, the locker bank, the indicators, the simulated GPIO, systemd's socket.
* :class:`Worker`: a part that is one daemon thread running ``_run`` until ``_stop`` is set,
  woken early by ``_wake`` (which it also waits on for kiosk time: ``clock.call_later(delay,
  self._wake.set)``): the camera scanner, the heartbeat, the server's notice sender.
  ``start()`` is idempotent and returns the worker; ``stop()`` sets both events and waits for
  the thread, and may be called from the thread itself; ``with worker:`` starts it and stops it.
"""

from __future__ import annotations

import threading
from typing import Self


class Closing:
    """``with part:`` hands the part back and calls its :meth:`close` at the end."""

    def close(self) -> None:  # pragma: no cover - every part defines it
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Worker:
    """One named daemon thread running :meth:`_run`; subclasses call ``super().__init__(name)``."""

    end_wait = 5.0  # seconds start() waits for a thread still ending after a stop that timed out

    def __init__(self, name: str) -> None:
        self._name = name
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        """Start the thread, unless it runs. A thread still ending after a :meth:`stop` that timed
        out is waited for first (at most ``end_wait`` seconds), so two never run at once."""
        thread = self._thread
        if thread is not None and self._stop.is_set():
            thread.join(self.end_wait)
            if thread.is_alive():
                raise RuntimeError(f"the {self._name} thread has not ended; it cannot be started again")
            thread = self._thread = None
        if thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to end and wait for it (at most ``timeout`` seconds of real time). A
        thread that has not ended by then is kept, so a later :meth:`start` waits for it."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                return
        self._thread = None

    def _run(self) -> None:  # pragma: no cover - every worker defines it
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
