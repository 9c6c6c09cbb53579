"""The customer's r2 scenarios, played step by step (:class:`kiosk.scenario.World`) to check what
the scenario format cannot say: the lockout's seconds on the view counting down with the kiosk
clock, the buzzer in ``gpio.csv`` when staff are called, the journal's ``staff_called`` line at
a locker, what reached the reference server, and that no relay moved for a phone alone."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from kiosk import scenario as scenario_mod
from kiosk.gpio.recorder import check_gpio_csv, read_gpio_csv
from kiosk.journal import JournalFormatter

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def _play(name: str, out: Path, hook=lambda world, step: None, end=lambda world: None):
    """Play a scenario as ``kiosk.scenario.play`` does (its log into ``out/log.txt``), calling
    ``hook(world, step)`` after each step and ``end(world)`` once it is over, while the reference
    server still runs (it asks the server what it recorded)."""
    sc = scenario_mod.load(SCENARIOS / f"{name}.toml")
    handler = logging.FileHandler(out / "log.txt", mode="w", encoding="utf-8")
    handler.setFormatter(JournalFormatter(prefix=False, timestamps=True))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    world = scenario_mod.World(sc, out)
    try:
        world.start()
        for step in sc.steps:
            scenario_mod._do(world, step)
            hook(world, step)
        world.settle()
        end(world)
    finally:
        world.close()
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()
    return world


def _rows(out: Path) -> list:
    return read_gpio_csv(out / "gpio.csv")


def _log(out: Path) -> str:
    return (out / "log.txt").read_text(encoding="utf-8")


def _buzzes(rows) -> int:
    return sum(1 for r in rows if r.name == "buzzer" and r.active == 1)


@pytest.mark.parametrize("mode", ["counter", "locker"])
def test_lockout_counts_down_on_the_pickup_code_screen(tmp_path, mode):
    seen: dict[str, int] = {}

    def hook(world, step):
        view = world.app.view
        if step.action == "screenshot" and step.value == "locked_60.png":
            assert view.screen == "pickup_code"
            seen["first"] = view.locked_for
        if step.action == "screenshot" and step.value == "locked_40.png":
            seen["later"] = view.locked_for

    def end(world):
        seen["pickups"] = world.server.count_events("pickup")
        seen["lookups"] = world.server.count_rows("lookups")

    _play(f"{mode}_pickup_code_lockout", tmp_path, hook, end)
    assert 50 <= seen["first"] <= 60  # the server's retry_after (lockout_seconds 60, real time)
    assert seen["later"] == seen["first"] - 20  # the kiosk clock moved 20 s
    assert seen["pickups"] == 0
    assert seen["lookups"] == 0  # no look-up was ever granted
    assert not [r for r in _rows(tmp_path) if r.name.startswith("relay:") and r.active == 1]
    assert "event=locked_out" in _log(tmp_path)


def test_locker_phone_and_wrong_codes_never_energise_a_relay(tmp_path):
    right_code_at: list[float] = []

    def hook(world, step):
        if step.action == "type" and step.value == "480213":  # the right code, typed last
            right_code_at.append(world.clock.monotonic() - world.gpio.recorder.epoch)
            assert world.server.count_rows("lookups") == 0

    _play("locker_pickup_code", tmp_path, hook)
    relays = [r for r in _rows(tmp_path) if r.name.startswith("relay:") and r.active == 1]
    assert [r.name for r in relays] == ["relay:2"]
    assert relays[0].time >= right_code_at[0]
    assert check_gpio_csv(tmp_path / "gpio.csv") == []


def test_counter_choice_calls_staff_with_the_buzzer(tmp_path):
    chosen_at: list[float] = []

    def hook(world, step):
        if step.action == "press" and step.value == "order:A1003":
            world.settle()
            assert world.app.view.screen == "scan_package"
            assert world.app.view.current_order == "A1003"
            chosen_at.append(world.clock.monotonic() - world.gpio.recorder.epoch)

    _play("counter_pickup_code", tmp_path, hook)
    after = [r for r in _rows(tmp_path) if r.name == "buzzer" and r.active == 1 and r.time >= chosen_at[0]]
    assert after, "no buzzer once the customer chose"
    log = _log(tmp_path)
    assert "event=staff_needed" in log
    assert "513920" not in log
    assert "0912345678" not in log


@pytest.mark.parametrize("mode", ["counter", "locker"])
def test_call_staff_sounds_the_buzzer_and_journals_at_a_locker(tmp_path, mode):
    _play(f"{mode}_help", tmp_path)
    assert _buzzes(_rows(tmp_path)) >= 1
    assert ("event=staff_called" in _log(tmp_path)) == (mode == "locker")


@pytest.mark.parametrize("mode", ["counter", "locker"])
def test_a_rotating_code_shown_again_asks_for_the_new_one(tmp_path, mode):
    seen = []

    def hook(world, step):
        if step.action == "scan_last":
            world.until(lambda: world.app.view.screen == "error")
            seen.append(world.app.view.message.key)

    def end(world):
        seen.append(world.server.count_rows("lookups"))

    _play(f"{mode}_code_used", tmp_path, hook, end)
    assert seen == ["err.code_used", 1]  # the first showing only
    assert not [r for r in _rows(tmp_path) if r.name.startswith("relay:") and r.active == 1]


def test_the_member_on_duty_is_credited_with_the_hand_over(tmp_path):
    seen = {}

    def hook(world, step):
        if step.action == "screenshot" and step.value == "staff_bringing_on_duty.png":
            seen["on_duty"] = world.app.view.on_duty
            seen["door"] = world.app.view.current_door

    def end(world):
        count = world.server.count_rows
        seen["A1003"] = count("orders", number="A1003", status="received", handed_over_by="s_2")
        seen["A1002"] = count("orders", number="A1002", status="received", handed_over_by=None)

    _play("counter_handover_on_duty", tmp_path, hook, end)
    assert seen == {"on_duty": "林美玲", "door": None, "A1003": 1, "A1002": 1}
