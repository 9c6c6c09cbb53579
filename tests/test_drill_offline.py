"""Drill (issue 7): the backend goes down while staff scan parcels in, then comes back.

The scenario files ``scenarios/drill_offline_arrival_{counter,locker}.toml`` are played step by
step in a :class:`kiosk.scenario.World` so that, besides the scenario's own expectations, the
test can look at what the kiosk showed (the view's message, a screenshot) and count on the
reference server what landed: every arrival exactly once, with the receiving staff member picked
(a non-default one included), none twice, even after more outbox passes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk import scenario as scenario_mod
from kiosk.gpio.recorder import check_gpio_csv, read_gpio_csv

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def play_steps(world: scenario_mod.World, steps, after=None) -> None:
    """Play ``steps`` in ``world`` like the runner; ``after[n](world)`` runs after step n."""
    after = after or {}
    for step in steps:
        scenario_mod._do(world, step)
        if step.number in after:
            after[step.number](world)


def _world(name: str, out: Path) -> scenario_mod.World:
    sc = scenario_mod.load(SCENARIOS / name)
    world = scenario_mod.World(sc, out)
    world.start()
    return world


def _step_of(sc: scenario_mod.Scenario, action: str, value=None, nth: int = 1) -> int:
    seen = 0
    for step in sc.steps:
        if step.action == action and (value is None or step.value == value):
            seen += 1
            if seen == nth:
                return step.number
    raise AssertionError(f"no step {action} {value}")


@pytest.mark.parametrize("mode", ["counter", "locker"])
def test_offline_arrivals_land_once_with_the_right_staff(tmp_path, mode):
    name = f"drill_offline_arrival_{mode}.toml"
    sc = scenario_mod.load(SCENARIOS / name)
    seen: dict[str, object] = {}

    def offline_confirm(world):  # arrival_confirm while the backend is down
        view = world.app.view
        seen["confirm_msg"] = view.message.key if view.message else None
        seen["confirm_detail"] = view.detail
        seen["confirm_choices"] = {c.id for c in view.staff_choices}

    def picked(world):
        seen["picked"] = world.app.view.selected_staff

    def saved(world):  # back on arrival after the confirm: "saved for later", queued
        view = world.app.view
        seen["saved_msg"] = view.message.key if view.message else None
        seen["saved_depth"] = view.outbox_depth
        seen["saved_offline"] = view.offline
        seen["events_while_down"] = world.server.count_events("arrive")

    after = {
        _step_of(sc, "expect_screen", "arrival_confirm"): offline_confirm,
        _step_of(sc, "press", "staff:s_2"): picked,
        _step_of(sc, "screenshot"): saved,
    }
    world = scenario_mod.World(sc, tmp_path)
    try:
        world.start()
        base = world.server.count_events("arrive")
        play_steps(world, sc.steps, after)
        # the outbox has nothing left and more time changes nothing
        world.advance(120)
        assert world.until(lambda: world.app.state.backend.outbox_depth == 0)
        server = world.server
        for number in ("A1001", "A1005", "A1007"):
            assert server.count_events("arrive", number) == 1, number
        assert server.count_events("arrive") == base + 3
        assert server.order_by_number("A1001")["received_by"] == "s_2"
        assert server.order_by_number("A1005")["received_by"] == "s_1"
        if mode == "locker":
            doors = [server.order_by_number(n)["locker_door"] for n in ("A1001", "A1005", "A1007")]
            assert doors == [1, 4, 8], doors  # seed_locker: 2, 3, 5, 6, 7, 9 are taken
            # each door got one pulse
            energised = [
                r.name for r in read_gpio_csv(tmp_path / "gpio.csv") if r.name.startswith("relay:") and r.active
            ]
            assert energised == ["relay:1", "relay:4", "relay:8"]
        assert world.app.state.backend.outbox_depth == 0
        assert world.app.outbox.attention() == []
    finally:
        world.close()
    assert seen["confirm_msg"] == "msg.offline_saved_later"
    assert seen["confirm_detail"] is None  # no order details while the backend is away
    assert {"s_1", "s_2", "s_3"} <= seen["confirm_choices"]
    assert seen["picked"] == "s_2"
    assert seen["saved_msg"] == "msg.arrival_saved_offline"
    assert seen["saved_depth"] == 1
    assert seen["saved_offline"] is True
    assert seen["events_while_down"] == base
    png = tmp_path / "arrival_saved_offline.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert check_gpio_csv(tmp_path / "gpio.csv") == []
