"""selftest helpers: pin claims through the configured factory, and pulsing every door."""

from __future__ import annotations

import threading

from kiosk.clock import Clock, SimClock
from kiosk.config import Config, DoorSection, GpioSection, LockerSection
from kiosk.gpio import ClockedMockFactory, LockerBank, check_gpio_csv
from kiosk.gpio.recorder import GpioRecorder, pin_roles
from kiosk.gpio.selftest import check_pins, describe_pins, pulse_all_doors

GPIO = GpioSection(led_green=17, led_red=22, buzzer=18)
LOCKER = LockerSection(
    door=(
        DoorSection(number=1, relay_pin=5, sensor_pin=12),
        DoorSection(number=2, relay_pin=6, sensor_pin=13),
        DoorSection(number=3, relay_pin=7, sensorless=True),
    )
)
CONFIG = Config(gpio=GPIO, locker=LOCKER)


def test_pulse_all_doors_one_after_another_on_the_sim_clock(tmp_path):
    clock = SimClock()
    recorder = GpioRecorder(tmp_path / "gpio.csv", clock, pin_roles(GPIO, LOCKER))
    factory = ClockedMockFactory(clock, on_change=recorder.on_change)
    with LockerBank(LOCKER, clock=clock, pin_factory=factory) as bank:
        assert pulse_all_doors(bank) == [1, 2, 3]  # returns at once on a SimClock
        clock.advance(5)
        assert not bank.busy
    recorder.close()
    starts = [(r.time, r.name) for r in recorder.rows if r.name.startswith("relay:") and r.active]
    assert starts == [(0.0, "relay:1"), (0.6, "relay:2"), (1.2, "relay:3")]
    assert check_gpio_csv(tmp_path / "gpio.csv", 0.5) == []


def test_pulse_all_doors_waits_for_the_last_release_on_a_real_clock():
    clock = Clock()
    factory = ClockedMockFactory(clock)
    locker = LockerSection(pulse=0.05, door=LOCKER.door)
    try:
        with LockerBank(locker, clock=clock, pin_factory=factory, gap=0.01) as bank:
            assert pulse_all_doors(bank, timeout=10) == [1, 2, 3]
            assert not bank.busy
            assert [bank.relay_on(n) for n in bank.doors] == [False, False, False]
            assert all(len(factory.pin(p).history) == 4 for p in (5, 6, 7))  # start, off, on, off
    finally:
        clock.close()


def test_check_pins_claims_and_releases_every_pin():
    clock = SimClock()
    factory = ClockedMockFactory(clock)
    assert check_pins(CONFIG, pin_factory=factory, clock=clock) == []
    # released: they can be claimed again, and every relay stayed off
    assert check_pins(CONFIG, pin_factory=factory, clock=clock) == []
    assert all(factory.pin(p).state == 1 for p in (5, 6, 7))


def test_check_pins_reports_a_pin_held_elsewhere():
    clock = SimClock()
    factory = ClockedMockFactory(clock)
    from gpiozero import DigitalOutputDevice

    holder = DigitalOutputDevice(6, pin_factory=factory)
    try:
        problems = check_pins(CONFIG, pin_factory=factory, clock=clock)
    finally:
        holder.close()
    assert len(problems) == 1
    assert "door 2: relay pin BCM 6 cannot be claimed" in problems[0]


def test_check_pins_reports_a_missing_pin_factory():
    problems = check_pins(Config(gpio=GpioSection(pin_factory="mock")), clock=SimClock())
    assert problems == []
    bad = Config(gpio=GpioSection(pin_factory="rpigpio"), locker=LOCKER)
    problems = check_pins(bad, clock=SimClock())
    assert len(problems) == 1
    assert "pin factory 'rpigpio'" in problems[0]


def test_describe_pins_names_every_pin():
    assert describe_pins(CONFIG) == [
        "BCM 5 relay:1",
        "BCM 6 relay:2",
        "BCM 7 relay:3",
        "BCM 12 sensor:1",
        "BCM 13 sensor:2",
        "BCM 17 led:green",
        "BCM 18 buzzer",
        "BCM 22 led:red",
    ]


def test_wait_idle_is_set_by_the_clock_thread():
    clock = Clock()
    try:
        with LockerBank(LOCKER, clock=clock, pin_factory=ClockedMockFactory(clock), gap=0.0) as bank:
            done = threading.Event()
            bank.unlock(1)
            threading.Thread(target=lambda: done.set() if bank.wait_idle(5) else None).start()
            assert done.wait(5)
    finally:
        clock.close()
