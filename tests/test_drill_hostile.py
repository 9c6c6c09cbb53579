"""Drill (issue 7): hostile and junk codes, from the camera and from a USB keyboard-wedge scanner.

* ``scenarios/drill_hostile_codes_{counter,locker}.toml`` are played step by step while the reference
  server's request log is watched: no hostile code and no code of the wrong kind reaches the
  backend (heartbeats and settings probes aside), the screen stays, a code that reaches the flow
  leaves a message, and the good code right afterwards works.
* the keyboard wedge (``kiosk.screens.inputs.EventTranslator``) fed with scanner bursts holding a
  tab, ESC or NUL, an overlong burst, SQL, a path, look-alikes: the burst is refused as a whole
  (no backend call, a message, the screen stays, nothing typed into the PIN or moved focus),
  never split into typing plus a scan of its tail; a good burst works right afterwards.
* codes the kiosk does send that hold ``/`` or ``%`` are URL-quoted: the server answers
  ``parcel_not_found`` (a refusal shown on ``arrival``), not a bare 404 or another route.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pygame
import pytest

from kiosk import scenario as scenario_mod
from kiosk.api.client import BackendClient
from kiosk.errors import Rejected
from kiosk.scenario import Step
from kiosk.screens.inputs import EventTranslator

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
BACKGROUND = ("/heartbeat", "/settings", "/health", "/staff")
GOOD = {"MEMBER-0000001", "MEMBER-0000002", "PKG1003", "PKG1002", "PKG1001", "STAFF-0001"}  # the drills' good codes


def _calls(world) -> list[tuple[str, str]]:
    """What the kiosk asked the backend for, minus its background calls."""
    return [r for r in world.server.requests() if not r[1].endswith(BACKGROUND)]


def _settle(world) -> None:
    """The loop quiet and the outbox drained: a write queued by the step before (a pickup, a
    door event) is sent now, not in the middle of the next step's count."""
    world.settle()
    outbox = world.app.outbox
    assert world.until(lambda: outbox.depth() == 0 and not outbox.busy())
    world.settle()


@pytest.mark.parametrize("mode", ["counter", "locker"])
def test_hostile_camera_codes_reach_no_backend_and_good_codes_still_work(tmp_path, mode):
    sc = scenario_mod.load(SCENARIOS / f"drill_hostile_codes_{mode}.toml")
    world = scenario_mod.World(sc, tmp_path)
    refused = 0
    try:
        world.start()
        for step in sc.steps:
            _settle(world)  # what the step before started (the occupied doors, a pickup) is done
            before = len(_calls(world))
            screen = world.app.state.screen.value
            scenario_mod._do(world, step)
            if step.action != "scan" or step.value in GOOD:
                continue
            _settle(world)
            assert len(_calls(world)) == before, f"step {step.number} reached the backend"
            assert world.app.state.screen.value == screen, f"step {step.number}"
            if world.app.view.message is not None and world.app.view.message.level == "error":
                refused += 1
        picked = "A1003" if mode == "counter" else "A1004"
        assert world.server.order_by_number(picked)["status"] == "received"
        assert world.server.order_by_number("A1001")["status"] == "arrived"
    finally:
        world.close()
    assert refused > 30  # the codes that reached the flow were refused with a message


def _burst(translator: EventTranslator, app, keys: list[tuple[int, str]], start: float) -> float:
    """Key presses 5 ms apart (a scanner), each translated and handed to the app; then Enter."""
    now = start
    for key, ch in [*keys, (pygame.K_RETURN, "\r")]:
        ev = pygame.event.Event(pygame.KEYDOWN, key=key, unicode=ch, mod=0)
        for item in translator.handle(ev, app.buttons, app.view.focus, now):
            app.post(item)
        now += 0.005
    for item in translator.poll(now + 1.0):
        app.post(item)
    app.pump()
    return now + 1.0


def _keys(text: str) -> list[tuple[int, str]]:
    special = {"\t": pygame.K_TAB, "\x1b": pygame.K_ESCAPE, "\n": pygame.K_RETURN}
    return [(special.get(ch, ord(ch.lower()) if ch.isascii() and ch.isprintable() else 0), ch) for ch in text]


WEDGE_JUNK = [
    "MEMBER-0000001\tX",  # a tab inside the burst (once: the tail became a scan of its own)
    "X\tMEMBER-0000001",
    "\x1bMEMBER-0000001",  # ESC inside: must not leave the screen
    "STAFF-0001\x00",
    "MEMBER-" + "0" * 700,  # overlong (once: split into typing + a scan of the tail)
    "' OR 1=1--",
    "../../etc/passwd",
    "%2e%2e%2fPKG1003",
    "https://evil.example/x",
    "ＭＥＭＢＥＲ-0000001",
]


@pytest.mark.parametrize("where", ["idle", "staff_login", "arrival"])
def test_usb_wedge_bursts_with_junk_are_refused_whole(tmp_path, where):
    text = '[setup]\nmode = "counter"\nseed = "seed_patterns.json"\n[[step]]\nwait = 0\n'
    sc = scenario_mod.parse(text, SCENARIOS / "wedge.toml")
    world = scenario_mod.World(sc, tmp_path)
    translator = EventTranslator(clock=time.monotonic)
    now = 1000.0
    try:
        world.start()
        app = world.app
        n = 0

        def do(action, value):
            nonlocal n
            n += 1
            scenario_mod._do(world, Step(n, action, value))

        if where in ("staff_login", "arrival"):
            do("scan", "STAFF-0001")
            do("expect_screen", "staff_login")
        if where == "arrival":
            do("type", "2468")
            do("press", "confirm")
            do("expect_screen", "staff_menu")
            do("press", "arrival")
            do("expect_screen", "arrival")
        _settle(world)
        for junk in WEDGE_JUNK:
            before = len(_calls(world))
            now = _burst(translator, app, _keys(junk), now)
            _settle(world)
            assert len(_calls(world)) == before, repr(junk[:20])
            assert app.state.screen.value == where, repr(junk[:20])
            assert app.view.message is not None, repr(junk[:20])
            assert app.view.message.level == "error", repr(junk[:20])
            assert app.view.pin_length == 0
            assert app.view.focus is None
        # a good burst right afterwards
        good = {"idle": "MEMBER-0000001", "staff_login": "STAFF-0002", "arrival": "PKG1001"}[where]
        now = _burst(translator, app, _keys(good), now)
        after = {"idle": "orders", "staff_login": "staff_login", "arrival": "arrival_confirm"}[where]
        do("expect_screen", after)
        if where == "staff_login":
            assert app.state.customer.badge == "STAFF-0002"
    finally:
        world.close()


def test_codes_holding_slash_or_percent_are_quoted(tmp_path):
    seed = json.loads((SCENARIOS / "seed_patterns.json").read_text(encoding="utf-8"))
    seed["settings"]["parcel_code_pattern"] = "PKG[0-9A-Za-z/%.]{4,24}"
    (tmp_path / "seed.json").write_text(json.dumps(seed), encoding="utf-8")
    steps = ['scan = "STAFF-0001"', 'type = "2468"', 'press = "confirm"', 'press = "arrival"']
    codes = ["PKG/1001", "PKG%2F1001", "PKG%2e%2e/1001", "PKG1001/arrive", "PKG../../x"]
    text = '[setup]\nmode = "counter"\nseed = "seed.json"\n'
    text += "".join(f"[[step]]\n{s}\n" for s in steps)
    text += "".join(
        f'[[step]]\nscan = "{c}"\nsymbology = "CODE128"\n[[step]]\nexpect_screen = "arrival"\n' for c in codes
    )
    sc = scenario_mod.parse(text, tmp_path / "s.toml")
    world = scenario_mod.World(sc, tmp_path / "out")
    messages = []
    try:
        world.start()
        for step in sc.steps:
            scenario_mod._do(world, step)
            if step.action == "expect_screen":
                world.settle()
                messages.append(world.app.view.message.key if world.app.view.message else None)
        sent = [path for method, path in world.server.requests("/api/v1/parcels") if method == "GET"]
        shipped = world.server.order_by_number("A1001")["status"]
    finally:
        world.close()
    assert messages == ["err.parcel_not_found"] * len(codes)
    assert sent == [
        "/api/v1/parcels/PKG%2F1001",
        "/api/v1/parcels/PKG%252F1001",
        "/api/v1/parcels/PKG%252e%252e%2F1001",
        "/api/v1/parcels/PKG1001%2Farrive",
        "/api/v1/parcels/PKG..%2F..%2Fx",
    ]
    assert shipped == "shipped"  # "PKG1001/arrive" did not arrive anything


def test_client_quotes_path_codes_and_gets_the_contract_answer(backend):
    with BackendClient(backend.base_url, backend.kiosk_token) as client:
        token = client.staff_login("STAFF-0001", "2468").token
        for code in ("PKG/1001", "../../etc/passwd", "%2e%2e%2f", "PKG1001/arrive", "?status=received", "#x"):
            with pytest.raises(Rejected) as err:
                client.parcel(code, token)
            assert err.value.code == "parcel_not_found", code


def test_client_refuses_dot_segments_without_asking_the_backend(backend):
    """``.``/``..``/empty as a path segment would be removed before sending (another route)."""
    with BackendClient(backend.base_url, backend.kiosk_token) as client:
        token = client.staff_login("STAFF-0001", "2468").token
        before = len(backend.requests())
        for code in (".", "..", ""):
            with pytest.raises(Rejected) as err:
                client.parcel(code, token)
            assert err.value.code == "bad_input", code
            assert err.value.local, code
        assert len(backend.requests()) == before


def test_the_same_code_again_makes_no_second_call_and_opens_no_second_door(tmp_path):
    """``drill_repeated_codes_locker``: a code still in view is read again after the hold-off."""
    from kiosk.gpio.recorder import read_gpio_csv

    sc = scenario_mod.load(SCENARIOS / "drill_repeated_codes_locker.toml")
    world = scenario_mod.World(sc, tmp_path)
    messages = {}
    try:
        world.start()
        for step in sc.steps:
            scenario_mod._do(world, step)
            if step.action == "expect_screen":
                world.settle()
                msg = world.app.view.message
                messages.setdefault(step.value, []).append(msg.key if msg else None)
        world.advance(60)
        server = world.server
        lookups = [r for r in server.requests("/api/v1/members/lookup")]
        parcels = [r for r in server.requests("/api/v1/parcels/") if r[0] == "GET"]
        arrives = server.count_events("arrive", "A1001"), server.count_events("arrive", "A1005")
        attention = world.app.outbox.attention()
    finally:
        world.close()
    assert len(lookups) == 1  # one look-up, not one per read of the code
    assert [p for _m, p in parcels] == ["/api/v1/parcels/PKG1001"]  # offline PKG1005 never got through
    assert arrives == (1, 1)
    assert attention == []
    assert messages["arrival_confirm"][1] is None  # the parcel in view is no wrong-kind error
    assert messages["arrival"][1] == "msg.already_arrived"
    assert messages["arrival"][3] == "msg.parcel_already_registered"
    pulses = [r.name for r in read_gpio_csv(tmp_path / "gpio.csv") if r.name.startswith("relay:") and r.active]
    assert pulses == ["relay:5", "relay:1", "relay:4"]
