"""Drill (issue 7): backend down, slow (beyond the time-out) and answering garbage at a pickup.

``scenarios/drill_pickup_faults_{counter,locker}.toml`` put each fault at the customer's look-up
and at the pickup call itself. Played here step by step (:class:`kiosk.scenario.World`), so the
test can also check what the scenario format cannot say: no relay energised while the look-up
failed (gpio.csv), nothing marked on the server (counted events), a slow answer that arrives after
the kiosk gave up does not mark the order either (waited out in real time; the runner's slow answer
and the kiosk's read time-out are shortened alike by ``quick_faults``), garbage never counts as the
backend being up (no flapping between `offline` and `idle`), and each locker pickup written through
the outbox lands exactly once when the backend is back.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from kiosk import scenario as scenario_mod
from kiosk.errors import BackendUnavailable
from kiosk.events import BackendState
from kiosk.gpio.recorder import check_gpio_csv, read_gpio_csv

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def _fault_windows(sc: scenario_mod.Scenario) -> dict[int, str]:
    """step number -> the backend fault in force after it ("up" when none)."""
    fault = "up"
    out = {}
    for step in sc.steps:
        if step.action == "backend":
            fault = step.value
        out[step.number] = fault
    return out


def _play(sc, out, hook):
    world = scenario_mod.World(sc, out)
    states: list[tuple[str, str]] = []  # (fault in force, BackendState posted)
    faults = _fault_windows(sc)
    current = ["up"]
    post = world.app.post

    def spy(event):
        if isinstance(event, BackendState):
            states.append((current[0], event.state))
        post(event)

    world.app.post = spy
    world.app.client.on_state = lambda state: spy(BackendState(state))
    try:
        world.start()
        for step in sc.steps:
            scenario_mod._do(world, step)
            current[0] = faults[step.number]
            hook(world, step)
        world.advance(120)
        world.settle()
        return world, states
    except BaseException:
        world.close()
        raise


def test_counter_faults_at_lookup_and_handover_mark_nothing_and_recover(tmp_path, quick_faults):
    sc = scenario_mod.load(SCENARIOS / "drill_pickup_faults_counter.toml")
    seen = {"slow_handover": None, "checked_late": False, "offline_views": 0}
    handovers = []

    def hook(world, step):
        view = world.app.view
        if step.action == "expect_screen" and step.value == "offline":
            seen["offline_views"] += 1
            assert view.offline
            assert world.server.count_events("pickup", "A1003") == 0
        if step.action == "scan" and step.value == "PKG1003":
            handovers.append(time.monotonic())
        if step.action == "backend" and step.value == "up" and len(handovers) == 2 and not seen["checked_late"]:
            # the slow hand-over: the kiosk gave up after its read time-out; the server would
            # answer after `quick_faults` seconds. Wait that out in real time: the order must
            # still not be marked.
            left = handovers[1] + quick_faults + 1.0 - time.monotonic()
            if left > 0:
                time.sleep(left)
            assert world.server.order_by_number("A1003")["status"] == "arrived"
            assert world.server.count_events("pickup", "A1003") == 0
            seen["checked_late"] = True

    world, states = _play(sc, tmp_path, hook)
    try:
        assert seen["checked_late"]
        assert seen["offline_views"] == 9  # 3 faults at the look-up (twice each: and still), 3 at the hand-over
        # each hand-over attempt reached the server, except while it was down
        assert world.server.count_events("pickup", "A1003") == 1  # the last, good one only
        assert world.server.order_by_number("A1003")["status"] == "received"
        assert world.app.state.screen.value in ("done", "idle")
        # garbage never made the kiosk think the backend was up
        assert ("garbage", "up") not in states
    finally:
        world.close()


def test_locker_faults_open_nothing_mark_nothing_and_pickups_land_once(tmp_path, quick_faults):
    sc = scenario_mod.load(SCENARIOS / "drill_pickup_faults_locker.toml")
    first_unlock = next(s.number for s in sc.steps if s.action == "press")
    energised_before: list[str] = []

    def hook(world, step):
        if step.number == first_unlock - 1:
            # every look-up under a fault is behind us: not one relay was energised
            rows = read_gpio_csv(tmp_path / "gpio.csv")
            energised_before.extend(r.name for r in rows if r.name.startswith("relay:") and r.active)
            for n in ("A1004", "A1006", "A1008"):
                assert world.server.count_events("pickup", n) == 0

    world, states = _play(sc, tmp_path, hook)
    try:
        for n, door in (("A1004", 5), ("A1006", 6), ("A1008", 7)):
            order = world.server.order_by_number(n)
            assert order["status"] == "received", n
            assert order["locker_door"] == door
            assert world.server.count_events("pickup", n) == 1, n
        assert world.app.outbox.depth() == 0
        assert world.app.outbox.attention() == []
        assert ("garbage", "up") not in states
    finally:
        world.close()
    assert energised_before == []
    rows = read_gpio_csv(tmp_path / "gpio.csv")
    pulses = [r.name for r in rows if r.name.startswith("relay:") and r.active]
    assert pulses == ["relay:5", "relay:6", "relay:7"]  # one pulse per pickup, none for a failed look-up
    assert check_gpio_csv(tmp_path / "gpio.csv") == []


def test_an_older_calls_answer_does_not_overrule_a_newer_one(backend):
    """Calls run on several threads (worker, outbox, heartbeat) and may finish out of order: a
    garbage answer to a call made during the fault, read after a newer call found the backend
    back, must not mark it down again (the drill saw the kiosk stuck `offline` that way)."""
    from kiosk.api.client import BackendClient

    states: list[str] = []
    with BackendClient(backend.base_url, backend.kiosk_token, on_state=states.append) as client:
        client.settings()  # call 1: up
        client._calls = 4  # calls 2, 3 and 4 were started on other threads
        client._set_state("down", 2)  # call 2 failed
        client._set_state("up", 4)  # call 4 found the backend back
        client._set_state("down", 3)  # the answer to call 3, read late: old news
        assert client.state == "up"
        backend.garbage = True
        try:
            with pytest.raises(BackendUnavailable):
                client.settings()  # a fresh call (number 5) that gets garbage does count
        finally:
            backend.garbage = False
        assert client.state == "down"
    assert states == ["up", "down", "up", "down"]


def test_outbox_kicked_while_a_slow_send_is_in_flight_tries_again_at_once(backend, tmp_path):
    """The locker drill flaked: the backend came back while the outbox's send to the slow backend
    was still in flight; the send timed out afterwards and the event waited out a backoff on a
    clock that stood still. A kick during a send now means: if it fails, try again at once."""
    from kiosk.api.client import BackendClient
    from kiosk.api.outbox import Outbox
    from kiosk.clock import SimClock

    clock = SimClock()
    client = BackendClient(backend.base_url, backend.kiosk_token, read_timeout=0.5, retries=0)
    try:
        outbox = Outbox(tmp_path / "outbox.db", client, clock)
        order = backend.order_by_number("A1003")
        lookup_id = client.lookup(member_code="MEMBER-0000001").lookup_id  # API r2: pickups name a look-up
        backend.delay = 1.5  # slower than the client waits
        outbox.start()
        payload = {"order_id": order["id"], "lookup_id": lookup_id, "package_code": "PKG1003"}
        outbox.enqueue("pickup", order["id"], payload)
        deadline = time.monotonic() + 5
        while not outbox._sending and time.monotonic() < deadline:
            time.sleep(0.005)
        backend.delay = 0.0  # the backend is back ...
        outbox.kick()  # ... and the app says so while the old send still waits for its answer
        deadline = time.monotonic() + 8
        while outbox.depth() and time.monotonic() < deadline:  # the clock does not move
            time.sleep(0.02)
        assert outbox.depth() == 0
        assert backend.order_by_number("A1003")["status"] == "received"
        assert backend.count_events("pickup", "A1003") == 1
        outbox.close()
    finally:
        client.close()
        clock.close()
