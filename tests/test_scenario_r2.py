"""The scenario runner's revision-2 steps (docs/design.md rule 11): scan_totp, scan_last, settings,
expect_event, expect_absent. Played against the real reference server and kiosk."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pyotp
import pytest

from kiosk import scenario as scenario_mod
from kiosk.scenario_r2 import rotating_code

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def _seed(tmp_path: Path, **settings) -> Path:
    seed = json.loads((SCENARIOS / "seed.json").read_text(encoding="utf-8"))
    seed["members"][0]["totp_secret"] = SECRET
    seed["settings"].update(settings)
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(seed, ensure_ascii=False), encoding="utf-8")
    return path


def _write(tmp_path: Path, steps: str, mode: str = "counter", **settings) -> Path:
    _seed(tmp_path, **settings)
    path = tmp_path / "s.toml"
    path.write_text(f'[setup]\nmode = "{mode}"\nseed = "seed.json"\n' + steps, encoding="utf-8")
    return path


def _play(path: Path, out: Path) -> tuple[int, str]:
    stream = io.StringIO()
    return scenario_mod.run_file(path, out, stream), stream.getvalue()


def test_rotating_code_is_the_apps_code_now():
    seed = {"members": [{"id": "m_1", "member_code": "MEMBER-0000001", "totp_secret": SECRET}]}
    code = rotating_code(seed, "m_1", now=1_700_000_000)
    assert code == "MEMBER-0000001." + pyotp.TOTP(SECRET).at(1_700_000_000)
    with pytest.raises(ValueError, match="no such member"):
        rotating_code({"members": [{"id": "m_1", "member_code": "MEMBER-0000001"}]}, "m_1")


@pytest.mark.parametrize(
    ("steps", "reason"),
    [
        ("[[step]]\nscan_last = true\n", "scan_last needs a scan"),
        ('[[step]]\nscan_last = false\n[[step]]\nscan = "x"\n', "must be true"),
        ("[[step]]\nscan_totp = 5\n", "must be a member id"),
        ('[[step]]\nscan_totp = "m_2"\n', "no seed member with member_code and totp_secret"),
        ("[[step]]\nsettings = {colour = 1}\n", "unknown setting 'colour'"),
        ("[[step]]\nsettings = {lockout_attempts = 0}\n", "bad value"),
        ('[[step]]\nsettings = {member_code_only = "yes"}\n', "bad value"),
        ("[[step]]\nsettings = {}\n", "table of settings"),
        ('[[step]]\nexpect_event = {kind = "door_ajar"}\n', "kind must be one of"),
        ('[[step]]\nexpect_event = {kind = "door_forced", door = 0}\n', "door must be a door number"),
        ('[[step]]\nexpect_event = {kind = "door_forced", colour = 1}\n', "unknown key 'colour'"),
        ('[[step]]\nexpect_event = "door_forced"\n', "must be a table"),
        ('[[step]]\nexpect_absent = ""\n', "must be a button id"),
        ('[[step]]\nexpect_absent = "x"\nsymbology = "CODE128"\n', "symbology only goes with scan"),
    ],
)
def test_bad_r2_steps_are_refused_clearly(tmp_path, steps, reason):
    path = _write(tmp_path, steps)
    with pytest.raises(scenario_mod.ScenarioError) as err:
        scenario_mod.load(path)
    assert reason in str(err.value)
    assert rc_of(path, tmp_path) == 2


def rc_of(path: Path, tmp_path: Path) -> int:
    return scenario_mod.run_file(path, tmp_path / "out", io.StringIO())


def test_settings_reach_the_kiosk_and_expect_absent_sees_it(tmp_path):
    path = _write(
        tmp_path,
        '[[step]]\npress = "lookup_phone"\n[[step]]\npress = "back"\n'
        "[[step]]\nsettings = {member_code_only = true}\n[[step]]\nwait = 16\n"
        '[[step]]\nexpect_absent = "lookup_phone"\n[[step]]\nexpect_absent = "lookup_email"\n',
    )
    rc, output = _play(path, tmp_path / "out")
    assert rc == 0, output


def test_expect_absent_fails_when_the_button_is_there(tmp_path, quick_expectations):
    path = _write(tmp_path, '[[step]]\nexpect_absent = "lookup_phone"\n')
    rc, output = _play(path, tmp_path / "out")
    assert rc == 1
    assert output.startswith("step 1 expect_absent FAIL the button is on screen idle")


def test_scan_totp_looks_up_and_scan_last_is_a_replay(tmp_path):
    path = _write(
        tmp_path,
        '[[step]]\nscan_totp = "m_1"\n[[step]]\nexpect_screen = "orders"\n[[step]]\npress = "cancel"\n'
        '[[step]]\nexpect_screen = "idle"\n[[step]]\nwait = 3\n[[step]]\nscan_last = true\n'
        '[[step]]\nexpect_screen = "error"\n',
        member_code_totp=True,
    )
    rc, output = _play(path, tmp_path / "out")
    assert rc == 0, output
    assert "MEMBER" not in output
    log = (tmp_path / "out" / "log.txt").read_text(encoding="utf-8")
    assert "MEMBER-0000001" not in log
    assert "event=lookup_refused code=code_used" in log


def test_expect_event_fails_without_such_an_event(tmp_path, quick_expectations):
    path = _write(tmp_path, '[[step]]\nexpect_event = {kind = "door_forced", door = 3}\n', mode="locker")
    rc, output = _play(path, tmp_path / "out")
    assert rc == 1
    assert output.startswith("step 1 expect_event FAIL the backend has no such event")


def test_the_heartbeat_says_alarm_while_a_door_alarm_is_open(tmp_path):
    path = _write(tmp_path, "[[step]]\nwait = 1\n", mode="locker")
    world = scenario_mod.World(scenario_mod.load(path), tmp_path / "out")
    try:
        world.start()
        world.advance(31)
        assert world.server.last_heartbeat("k_1")["gpio"] == "ok"
        world.gpio.open_door(8)  # forced: it was locked
        world.app.post(None)
        assert world.until(lambda: world.app.state.screen.value == "door_alarm")
        assert world.app.snapshot()["gpio"] == "alarm"
        world.advance(31)
        assert world.until(lambda: world.server.last_heartbeat("k_1")["gpio"] == "alarm")
        world.gpio.close_door(8)
        world.app.post(None)
        assert world.until(lambda: world.app.state.screen.value == "idle")
        assert world.app.snapshot()["gpio"] == "ok"
    finally:
        world.close()


@pytest.mark.parametrize(
    "steps",
    [
        "[[step]]\nsettings = {member_code_only = [1]}\n",
        "[[step]]\nsettings = {overdue_days = nan}\n",
        "[[step]]\nsettings = {overdue_days = inf}\n",
        "[[step]]\nsettings = {member_code_pattern = '('}\n",
        "[[step]]\nsettings = []\n",
        "[[step]]\nexpect_event = {kind = [1]}\n",
        '[[step]]\nexpect_event = {kind = "door_forced", door = "3"}\n',
        '[[step]]\nexpect_event = {kind = "door_forced", door = true}\n',
        '[[step]]\nexpect_event = {kind = "door_forced", detail = 3}\n',
        "[[step]]\nexpect_absent = 3\n",
        "[[step]]\nscan_totp = {id = 1}\n",
        '[[step]]\nscan_totp = ""\n',
        '[[step]]\nscan_last = "yes"\n',
    ],
)
def test_odd_r2_values_are_refused_not_crashed_on(tmp_path, steps):
    with pytest.raises(scenario_mod.ScenarioError):
        scenario_mod.parse(steps, tmp_path / "s.toml")


def test_every_r2_staff_rule_has_its_scenarios():
    names = {p.stem for p in SCENARIOS.glob("*.toml")}
    for rule in ("duty", "returns", "outbox_attention", "return", "overdue_handover", "lockout", "camera_unplug"):
        assert {f"counter_{rule}", f"locker_{rule}"} <= names, rule
    assert {"locker_door_forced", "locker_door_left_open", "locker_staff_door_alarm", "locker_not_opened"} <= names
    # each r2 event kind the kiosk can be made to send is asserted by some scenario
    text = "\n".join((SCENARIOS / f"{n}.toml").read_text(encoding="utf-8") for n in names)
    for kind in (
        "door_forced",
        "door_left_open",
        "door_closed",
        "door_not_opened",
        "camera_lost",
        "camera_back",
        "outbox_attention",
        "locked_out",
    ):
        assert f'expect_event = {{kind = "{kind}"' in text, kind
