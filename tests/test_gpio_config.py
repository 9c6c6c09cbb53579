"""The gpio/locker config sections as the GPIO code needs them, and the pin factory choice."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.clock import SimClock
from kiosk.config import DoorSection, LockerSection, parse
from kiosk.errors import ConfigError, GPIOError
from kiosk.gpio import ClockedMockFactory, LockerBank, make_pin_factory

DOC = Path(__file__).resolve().parents[1] / "docs" / "wiring.md"


def doc_example() -> str:
    """The ``toml`` block under "## Example config" in docs/wiring.md."""
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## Example config") :]
    return section[section.index("```toml") + len("```toml") : section.index("```\n", section.index("```toml") + 7)]


def test_the_wiring_doc_example_parses_and_runs():
    config = parse(doc_example().replace('pin_factory = "lgpio"', 'pin_factory = "mock"'), "wiring.md")
    assert [(d.number, d.relay_pin, d.sensor_pin, d.size) for d in config.locker.door] == [
        (1, 23, 24, "M"),
        (2, 25, 5, "L"),
        (3, 6, None, "S"),
    ]
    clock = SimClock()
    factory = make_pin_factory(config.gpio.pin_factory, clock)
    assert isinstance(factory, ClockedMockFactory)
    events = []
    with LockerBank(config.locker, clock=clock, pin_factory=factory, post=events.append) as bank:
        # a bench without wiring: the mock factory reads every door shut, not open
        assert bank.states() == {1: "locked", 2: "locked", 3: "locked"}
        bank.unlock(1)
        bank.unlock(3)
        clock.advance(0.3)
        factory.pin(24).set_switch(False)
        assert bank.state(1) == "open"
        clock.advance(1)
        assert bank.states() == {1: "open", 2: "locked", 3: "locked"}  # 3 shut again after its pulse
    assert [(e.door, e.kind) for e in events] == [
        (1, "unlocked"),
        (1, "opened"),
        (3, "unlocked"),
        (3, "opened"),
        (3, "closed"),
    ]


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        ("[[locker.door]]\nnumber = 1\n", "locker.door[1].relay_pin", "needs its relay_pin"),
        ("[[locker.door]]\nrelay_pin = 5\n", "locker.door[0].number", "greater than 0"),
        ("[[locker.door]]\nnumber = 1\nrelay_pin = 28\n", "locker.door[0].relay_pin", "0 to 27"),
        ("[gpio]\nrgb_led = [5, 6]\n", "gpio.rgb_led", "three BCM pins"),
        ("[gpio]\nrgb_led = [5, 6, 40]\n", "gpio.rgb_led", "not 40"),
        ("[gpio]\nled_green = 5\nbuzzer = 5\n", "gpio.buzzer", "already used by gpio.led_green"),
        ("[locker]\npulse = 3.5\n", "locker.pulse", "at most 3 seconds"),
        ('[gpio]\npin_factory = "pigpio"\n', "gpio.pin_factory", "must be one of"),
    ],
)
def test_bad_gpio_config_is_refused_with_key_and_reason(text, key, reason):
    with pytest.raises(ConfigError) as info:
        parse(text, "kiosk.toml")
    assert info.value.key == key
    assert reason in info.value.reason
    assert info.value.path == "kiosk.toml"


def test_bank_refuses_a_door_without_relay_pin_built_in_code():
    clock = SimClock()
    locker = LockerSection(door=(DoorSection(number=1),))
    with pytest.raises(ConfigError, match="relay_pin"):
        LockerBank(locker, clock=clock, pin_factory=ClockedMockFactory(clock))


def _on_a_pi() -> bool:
    try:
        return "Raspberry Pi" in Path("/proc/device-tree/model").read_text(errors="replace")
    except OSError:
        return False


def test_unknown_pin_factory_is_a_gpio_error():
    with pytest.raises(GPIOError, match="unknown pin factory 'pigpio'"):
        make_pin_factory("pigpio")


@pytest.mark.skipif(_on_a_pi(), reason="on a Pi the real factory starts")
def test_unavailable_pin_factory_is_a_gpio_error():
    with pytest.raises(GPIOError, match="pin factory 'rpigpio'"):
        make_pin_factory("rpigpio")  # not a Pi (or RPi.GPIO missing): a clear error, no traceback
