"""kiosk.lifecycle.Worker: start is idempotent, stop ends the thread, and a thread that outlives a
stop's timeout is never joined by a second one on the next start."""

from __future__ import annotations

import threading

import pytest

from kiosk.lifecycle import Worker


class Slow(Worker):
    """Runs until stopped, then takes ``linger`` seconds to end (stuck in I/O, say)."""

    def __init__(self, linger: float, release: threading.Event | None = None):
        super().__init__("slow-worker")
        self.linger = linger
        self.release = release
        self.runs = 0
        self.running = 0
        self.most = 0
        self._lock = threading.Lock()

    def _run(self) -> None:
        with self._lock:
            self.runs += 1
            self.running += 1
            self.most = max(self.most, self.running)
        self._stop.wait()
        if self.release is not None:
            self.release.wait(self.linger)
        with self._lock:
            self.running -= 1


def test_start_twice_is_one_thread_and_stop_ends_it():
    w = Slow(0)
    assert w.start() is w
    w.start()
    w.stop(timeout=2)
    assert w.runs == 1
    assert not any(t.name == "slow-worker" for t in threading.enumerate())
    w.start()  # a stopped worker starts again
    w.stop(timeout=2)
    assert w.runs == 2


def test_a_thread_outliving_the_stop_timeout_is_waited_for_not_doubled():
    release = threading.Event()
    w = Slow(10, release)
    w.start()
    w.stop(timeout=0.05)  # the thread is still ending
    timer = threading.Timer(0.3, release.set)
    timer.start()
    w.start()  # waits for the old thread, then starts one
    w.stop(timeout=2)
    timer.join()
    assert w.runs == 2
    assert w.most == 1  # never two at once


def test_a_thread_that_never_ends_refuses_a_second_start():
    release = threading.Event()
    w = Slow(30, release)
    w.start()
    w.stop(timeout=0.05)
    w.end_wait = 0.2
    try:
        with pytest.raises(RuntimeError, match="has not ended"):
            w.start()
        assert w.runs == 1
    finally:
        release.set()
        w.stop(timeout=2)
