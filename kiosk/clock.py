"""Time for every kiosk timer, real or simulated.

Every timer in the kiosk (relay pulses, door time-outs, idle return, staff inactivity, messages,
scan hold-off, camera reopen, backend retry, outbox backoff, heartbeats) goes through a
:class:`Clock`, so the scenario runner can stand time still and advance it step by step
(docs/design.md, scenario rule 3).

* :class:`Clock` is real time. ``call_later`` callbacks run on one daemon scheduler thread, so
  a relay pulse ends even when the main loop is frozen.
* :class:`SimClock` stands still until :meth:`SimClock.advance` moves it; due callbacks then run
  in the thread that advances, in order of their due time (ties in order of scheduling).

Callbacks must therefore be thread-safe: post an event to a queue, set a ``threading.Event``,
or drive a pin. A worker thread that must wait for kiosk time (a backoff, a reopen delay)
schedules ``clock.call_later(delay, wake_event.set)`` and waits on its event.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

logger = logging.getLogger(__name__)


class Timer:
    """Handle of a scheduled callback; :meth:`cancel` is safe to call at any time, twice too."""

    __slots__ = ("_seq", "args", "cancelled", "due", "fn")

    def __init__(self, due: float, seq: int, fn: Callable, args: tuple):
        self.due = due
        self._seq = seq
        self.fn = fn
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def __lt__(self, other: Timer) -> bool:
        return (self.due, self._seq) < (other.due, other._seq)

    def _run(self) -> None:
        if self.cancelled:
            return
        self.cancelled = True  # a timer fires once
        try:
            self.fn(*self.args)
        except Exception:
            logger.exception("event=timer_failed fn=%s", getattr(self.fn, "__qualname__", self.fn))


class Clock:
    """Real time; timers on one scheduler thread started on first use."""

    simulated = False

    def __init__(self) -> None:
        self._heap: list[Timer] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (for durations and deadlines)."""
        return time.monotonic()

    def time(self) -> float:
        """Seconds since the epoch (for timestamps)."""
        return time.time()

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), UTC)

    def call_later(self, delay: float, fn: Callable, *args) -> Timer:
        with self._cond:
            timer = self._push(delay, fn, args)
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._loop, name="clock", daemon=True)
                self._thread.start()
            self._cond.notify()
        return timer

    def sleep(self, seconds: float) -> None:
        """Block the calling thread for ``seconds`` of kiosk time (simulated time does not pass by
        itself: on a :class:`SimClock` the thread waits until others advance it that far)."""
        done = threading.Event()
        self.call_later(seconds, done.set)
        done.wait()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()

    def _push(self, delay: float, fn: Callable, args: tuple) -> Timer:
        """A timer due ``delay`` seconds of kiosk time from now, put on the heap (lock held)."""
        timer = Timer(self.monotonic() + max(0.0, delay), next(self._seq), fn, args)
        heapq.heappush(self._heap, timer)
        return timer

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._closed:
                    if self._heap:
                        wait = self._heap[0].due - self.monotonic()
                        if wait <= 0:
                            break
                        self._cond.wait(wait)
                    else:
                        self._cond.wait()
                if self._closed:
                    return
                timer = heapq.heappop(self._heap)
            timer._run()


class SimClock(Clock):
    """A clock that stands still until :meth:`advance` moves it (scenario rule 3)."""

    simulated = True

    def __init__(self, start: float | None = None) -> None:
        super().__init__()
        self._mono = 1000.0
        self._epoch = time.time() if start is None else start
        self._lock = threading.RLock()

    def monotonic(self) -> float:
        return self._mono

    def time(self) -> float:
        return self._epoch + (self._mono - 1000.0)

    def call_later(self, delay: float, fn: Callable, *args) -> Timer:
        with self._lock:
            return self._push(delay, fn, args)

    def pending(self) -> int:
        with self._lock:
            return sum(not t.cancelled for t in self._heap)

    def next_due(self) -> float | None:
        with self._lock:
            live = [t.due for t in self._heap if not t.cancelled]
            return min(live) - self._mono if live else None

    def run_due(self) -> int:
        """Fire the timers that are due now (delay 0 included); return how many ran."""
        return self._fire_until(self._mono)

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, firing every timer due on the way, in order."""
        if seconds < 0:
            raise ValueError("time does not go back")
        end = self._mono + seconds
        self._fire_until(end)
        with self._lock:
            self._mono = max(self._mono, end)

    def _fire_until(self, end: float) -> int:
        ran = 0
        while True:
            with self._lock:
                if not self._heap or self._heap[0].due > end:
                    break
                timer = heapq.heappop(self._heap)
                if timer.cancelled:
                    continue
                self._mono = max(self._mono, timer.due)
            timer._run()
            ran += 1
        return ran
