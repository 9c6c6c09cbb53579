"""Simulated GPIO (demo, scenario runner): layout, gpio.csv, door switches, exit paths."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kiosk.clock import SimClock
from kiosk.config import DoorSection, GpioSection, LockerSection
from kiosk.errors import GPIOError
from kiosk.gpio import SimulatedGpio, check_gpio_csv, read_gpio_csv, relay_pulses, simulated_sections
from kiosk.gpio.recorder import HEADER

ROW = re.compile(r"^\d+\.\d{3},\d{1,2},(relay:\d+|sensor:\d+|led:(green|amber|red|blue)|buzzer),[01],[01]$")


@pytest.fixture
def clock():
    return SimClock()


@pytest.fixture
def sim(clock, tmp_path):
    events = []
    s = SimulatedGpio(clock, csv_path=tmp_path / "out" / "gpio.csv", post=events.append)
    s.events = events
    yield s
    s.close()


def test_default_layout_is_12_doors_on_bcm_0_to_27(clock):
    gpio, locker, revision = simulated_sections()
    assert revision == "a02082"  # a 40-pin Pi
    assert [d.number for d in locker.door] == list(range(1, 13))
    assert {d.size for d in locker.door} == {"M"}
    pins = [gpio.led_green, gpio.led_amber, gpio.led_red, gpio.buzzer]
    pins += [d.relay_pin for d in locker.door] + [d.sensor_pin for d in locker.door]
    assert sorted(pins) == list(range(28))  # every pin once, none twice
    assert all(not d.active_high and d.sensor_pull_up for d in locker.door)


@pytest.mark.parametrize(("doors", "revision"), [(1, "a02082"), (12, "a02082"), (13, "a020a0"), (21, "a020a0")])
def test_bigger_banks_use_a_compute_module_board(clock, doors, revision):
    _gpio, locker, rev = simulated_sections(doors)
    assert rev == revision
    assert len(locker.door) == doors
    with SimulatedGpio(clock, doors=doors) as sim:
        sim.bank.unlock(doors)
        clock.advance(1)
        assert sim.bank.state(doors) == "unlocked"


def test_too_many_doors_are_refused_clearly(clock):
    with pytest.raises(GPIOError, match="22 doors with sensors needs 44 free pins; at most 21"):
        SimulatedGpio(clock, doors=22)
    with pytest.raises(GPIOError, match="at least one door"):
        SimulatedGpio(clock, doors=0)


def test_pins_from_a_config_are_kept(clock):
    gpio = GpioSection(rgb_led=(9, 10, 11), buzzer=12)
    locker = LockerSection(pulse=1.0, door=(DoorSection(number=7, relay_pin=20, sensor_pin=21, size="L"),))
    g, lk, _rev = simulated_sections(gpio=gpio, locker=locker)
    assert g == gpio
    assert lk == locker
    gl, lk2, _ = simulated_sections(3, "S", gpio=GpioSection(), locker=LockerSection(pulse=1.0))
    assert gl.led_green == 17
    assert lk2.pulse == 1.0
    assert [d.size for d in lk2.door] == ["S", "S", "S"]


def test_gpio_csv_format_and_names(sim, clock, tmp_path):
    sim.indicators.show("attention")
    clock.advance(1)
    sim.bank.unlock(3)
    clock.advance(0.2)
    sim.open_door(3)
    clock.advance(1)
    sim.close_door("last")
    sim.close()
    path = tmp_path / "out" / "gpio.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "time,pin,name,level,active"
    assert all(ROW.match(line) for line in lines[1:]), [line for line in lines[1:] if not ROW.match(line)]
    rows = read_gpio_csv(path)
    relay3 = [(r.time, r.level, r.active) for r in rows if r.name == "relay:3"]
    # relay 3 sits on BCM 2 (fixed pull-up: high = released from the start, so no start row);
    # pulse at 1.0, released when the door opened at 1.2
    assert relay3 == [(1.0, 0, 1), (1.2, 1, 0)]
    assert {r.pin for r in rows if r.name == "relay:3"} == {2}
    sensor3 = [(r.time, r.level, r.active) for r in rows if r.name == "sensor:3"]
    assert sensor3 == [(1.2, 1, 1), (2.2, 0, 0)]
    red = [(r.time, r.active) for r in rows if r.name == "led:red"]
    assert red[:4] == [(0.0, 1), (0.25, 0), (0.5, 1), (0.75, 0)]
    buzzer = [(r.time, r.active) for r in rows if r.name == "buzzer"]
    assert buzzer[:2] == [(0.0, 1), (0.2, 0)]
    assert [e.kind for e in sim.events] == ["unlocked", "opened", "closed"]
    assert check_gpio_csv(path, 0.5) == []


def test_open_door_on_a_locked_door_is_forced(sim, clock):
    clock.advance(2)
    assert sim.open_door(5) == 5
    assert sim.bank.state(5) == "open"
    assert [(e.door, e.kind, e.at - 1000.0) for e in sim.events] == [(5, "forced", 2.0)]
    sim.toggle_door(5)
    assert sim.bank.state(5) == "locked"


def test_last_and_bad_door_names(sim):
    with pytest.raises(ValueError, match="no door has been unlocked"):
        sim.open_door("last")
    with pytest.raises(ValueError, match="no locker door 13"):
        sim.open_door(13)
    with pytest.raises(ValueError, match="not a door"):
        sim.open_door("left")
    sim.bank.unlock(4)
    assert sim.open_door("last") == 4
    assert sim.bank.state(4) == "open"
    assert sim.close_door("4") == 4


def test_sensorless_door_cannot_be_opened_by_the_simulation(clock):
    locker = LockerSection(door=(DoorSection(number=1, relay_pin=5),))
    with SimulatedGpio(clock, locker=locker) as sim, pytest.raises(GPIOError, match="door 1 has no sensor"):
        sim.open_door(1)


def test_pickup_all_run_passes_the_csv_check(clock, tmp_path):
    path = tmp_path / "gpio.csv"
    with SimulatedGpio(clock, csv_path=path, locker=LockerSection(pulse=0.8)) as sim:
        sim.indicators.show("busy")
        for n in (2, 5, 9, 11):
            sim.bank.unlock(n)
        sim.indicators.show("success")
        clock.advance(0.3)
        sim.open_door(2)
        clock.advance(2)
        sim.open_door(9)
        clock.advance(25)  # 5 and 11 not opened
        sim.close_door(2)
        sim.bank.unlock(5)  # retry
        clock.advance(1)
    rows = read_gpio_csv(path)
    pulses = relay_pulses(rows)
    assert [p[0] for p in pulses] == ["relay:2", "relay:5", "relay:9", "relay:11", "relay:5"]
    assert all(end is not None and end - start <= 0.8 + 1e-9 for _n, start, end in pulses)
    assert check_gpio_csv(path, 0.8) == []
    assert check_gpio_csv(path, 0.5)  # 0.8 s pulses are too long for a 0.5 s limit


def write_csv(path: Path, rows: list[str], header: str = "time,pin,name,level,active") -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_check_gpio_csv_finds_each_kind_of_problem(tmp_path):
    ok = write_csv(tmp_path / "ok.csv", ["0.000,4,relay:1,1,0", "1.000,4,relay:1,0,1", "1.500,4,relay:1,1,0"])
    assert check_gpio_csv(ok, 0.5) == []
    long = write_csv(tmp_path / "long.csv", ["1.000,4,relay:1,0,1", "1.600,4,relay:1,1,0"])
    assert check_gpio_csv(long, 0.5) == ["line 3: relay:1 pulse 0.600 s from 1.000 is longer than 0.500 s"]
    two = write_csv(
        tmp_path / "two.csv",
        ["1.000,4,relay:1,0,1", "1.100,5,relay:2,0,1", "1.200,4,relay:1,1,0", "1.300,5,relay:2,1,0"],
    )
    assert check_gpio_csv(two, 0.5) == ["line 3: relay:2 energised at 1.100 while relay:1 still energised"]
    # same instant but written in the wrong order is still two at once
    order = write_csv(tmp_path / "order.csv", ["1.000,4,relay:1,0,1", "1.500,5,relay:2,0,1", "1.500,4,relay:1,1,0"])
    assert len(check_gpio_csv(order, 0.5)) == 2  # overlap, and relay:2 left on
    left = write_csv(tmp_path / "left.csv", ["1.000,4,relay:1,0,1"])
    assert check_gpio_csv(left, 0.5) == ["relay:1 left energised since 1.000"]
    back = write_csv(tmp_path / "back.csv", ["2.000,17,led:green,1,1", "1.000,17,led:green,0,0"])
    assert check_gpio_csv(back, 0.5) == ["line 3: time 1.000 goes back from 2.000"]
    header = write_csv(tmp_path / "header.csv", [], header="t,pin,name")
    assert "header must be" in check_gpio_csv(header, 0.5)[0]
    junk = write_csv(tmp_path / "junk.csv", ["1.000,4,relay:1,2,1"])
    assert "level and active must be 0 or 1" in check_gpio_csv(junk, 0.5)[0]
    short = write_csv(tmp_path / "short.csv", ["1.000,4,relay:1"])
    assert "expected 5 fields" in check_gpio_csv(short, 0.5)[0]
    assert "No such file" in check_gpio_csv(tmp_path / "missing.csv", 0.5)[0]


def test_snapshot_is_plain_data_for_drawing(sim, clock):
    sim.indicators.show("ready")
    sim.bank.unlock(1)
    sim.open_door(6)
    clock.advance(0.25)
    snap = sim.snapshot()
    assert snap["time"] == 0.25
    assert snap["pattern"] == "ready"
    assert snap["leds"] == {"green": True, "amber": False, "red": False}
    assert snap["colour"] == "green"
    assert snap["buzzer"] is False
    assert snap["rgb"] is False
    doors = {d["number"]: d for d in snap["doors"]}
    assert len(doors) == 12
    assert doors[1] == {
        "number": 1,
        "state": "unlocked",
        "relay": True,
        "sensor_open": False,
        "size": "M",
        "in_service": True,
        "sensorless": False,
    }
    assert doors[6]["state"] == "open"
    assert doors[6]["sensor_open"] is True
    assert doors[2]["state"] == "locked"


def test_rows_kept_in_memory_without_a_file(clock):
    with SimulatedGpio(clock, doors=2) as sim:
        sim.bank.unlock(1)
        clock.advance(1)
        rows = sim.recorder.rows
    assert [(r.time, r.name, r.active) for r in rows if r.active] == [(0.0, "relay:1", 1)]


SCRIPT = textwrap.dedent(
    """
    import signal, sys, time
    from kiosk.clock import SimClock
    from kiosk.gpio import SimulatedGpio
    clock = SimClock()
    sim = SimulatedGpio(clock, csv_path=sys.argv[1], doors=3)
    if sys.argv[2] == "sigterm":
        def on_term(signum, frame):
            sim.bank.all_off()      # what the app's handler does first
            sys.exit(128 + signum)
        signal.signal(signal.SIGTERM, on_term)
    sim.bank.unlock(1)
    sim.bank.unlock(2)
    clock.advance(0.6)              # relay 2 energised now; the sim clock stands still
    print("energised", flush=True)
    if sys.argv[2] == "exception":
        raise RuntimeError("crash with a relay energised")
    time.sleep(30)
    """
)


@pytest.mark.parametrize(("how", "status"), [("sigterm", 128 + signal.SIGTERM), ("exception", 1)])
def test_sigterm_or_an_exception_leaves_every_relay_off(tmp_path, how, status):
    path = tmp_path / "gpio.csv"
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(path), how],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        assert proc.stdout.readline().strip() == "energised"
        if how == "sigterm":
            proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == status, err
    rows = read_gpio_csv(path)
    relay2 = [(r.time, r.active) for r in rows if r.name == "relay:2"]
    assert relay2 == [(0.0, 0), (0.6, 1), (0.6, 0)]  # claimed off, energised, forced off at exit
    assert check_gpio_csv(path, 0.5) == []


def test_header_constant_matches_design():
    assert ",".join(HEADER) == "time,pin,name,level,active"
