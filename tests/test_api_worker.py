"""ApiWorker: calls run off the caller's thread, in order, and come back as ApiResult events."""

from __future__ import annotations

import queue
import threading

import pytest

from kiosk.api import ApiWorker
from kiosk.errors import BackendUnavailable, Rejected
from kiosk.events import ApiResult


@pytest.fixture
def results():
    return queue.Queue()


@pytest.fixture
def worker(results):
    w = ApiWorker(results.put)
    yield w
    w.close()


def test_results_carry_request_value_token_and_meta(worker, results):
    worker.submit("lookup", lambda a, b=0: a + b, 2, b=3, token=7, meta={"screen": "idle"})
    result = results.get(timeout=5)
    assert result == ApiResult(request="lookup", ok=True, value=5, token=7, meta={"screen": "idle"})


def test_kiosk_errors_are_reported_as_they_are(worker, results):
    def refuse():
        raise Rejected("member_not_found", "no member", 404)

    worker.submit("lookup", refuse, token=1)
    result = results.get(timeout=5)
    assert not result.ok
    assert isinstance(result.error, Rejected)
    assert result.error.code == "member_not_found"
    assert result.token == 1


def test_other_exceptions_become_unavailable_and_the_thread_lives_on(worker, results, caplog):
    def bug():
        raise KeyError("surprise")

    worker.submit("pickup", bug, token=2)
    result = results.get(timeout=5)
    assert not result.ok
    assert isinstance(result.error, BackendUnavailable)
    assert "KeyError" in str(result.error)
    assert "event=api_call_failed" in caplog.text
    worker.submit("health", lambda: "ok", token=3)
    assert results.get(timeout=5).value == "ok"


def test_calls_run_in_order_on_one_thread(worker, results):
    main = threading.get_ident()
    for i in range(20):
        worker.submit("n", lambda i=i: (i, threading.get_ident()), token=i)
    got = [results.get(timeout=5) for _ in range(20)]
    assert [r.value[0] for r in got] == list(range(20))
    assert len({r.value[1] for r in got}) == 1
    assert got[0].value[1] != main


def test_busy_until_the_result_is_posted(worker, results):
    gate = threading.Event()
    worker.submit("slow", gate.wait, 5, token=1)
    worker.submit("next", lambda: None, token=2)
    assert worker.busy()
    gate.set()
    assert results.get(timeout=5).request == "slow"
    assert results.get(timeout=5).request == "next"
    # the result is posted before the worker counts the call as done; allow it to settle
    for _ in range(500):
        if not worker.busy():
            break
        threading.Event().wait(0.01)
    assert not worker.busy()


def test_a_failing_post_does_not_kill_the_worker(caplog):
    got = []

    def post(result):
        got.append(result)
        if len(got) == 1:
            raise RuntimeError("queue full")

    w = ApiWorker(post)
    try:
        w.submit("a", lambda: 1)
        w.submit("b", lambda: 2)
    finally:
        w.close()
    assert [r.value for r in got] == [1, 2]
    assert "event=api_post_failed" in caplog.text


def test_close_finishes_queued_calls_then_refuses_new_ones(results):
    w = ApiWorker(results.put)
    for i in range(5):
        w.submit("n", lambda i=i: i)
    w.close()
    assert [results.get_nowait().value for _ in range(5)] == list(range(5))
    with pytest.raises(RuntimeError):
        w.submit("late", lambda: None)
    w.close()  # twice is fine
