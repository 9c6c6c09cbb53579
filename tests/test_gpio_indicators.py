"""Indicator patterns at pin level, on mock pins timed by a SimClock."""

from __future__ import annotations

import pytest

from kiosk.clock import SimClock
from kiosk.config import GpioSection
from kiosk.errors import GPIOError
from kiosk.gpio import PATTERNS, ClockedMockFactory, Indicators

T0 = 1000.0
GREEN, AMBER, RED, BUZZER = 17, 27, 22, 18


def hist(pin):
    return [(round(t - T0, 3), level) for t, level in pin.history]


@pytest.fixture
def rig():
    clock = SimClock()
    factory = ClockedMockFactory(clock)
    gpio = GpioSection(led_green=GREEN, led_amber=AMBER, led_red=RED, buzzer=BUZZER)
    ind = Indicators(gpio, clock=clock, pin_factory=factory)
    yield clock, factory.pin, ind
    ind.close()


def test_everything_starts_off(rig):
    _clock, pin, ind = rig
    assert ind.pattern == "off"
    for p in (GREEN, AMBER, RED, BUZZER):
        assert hist(pin(p)) == [(0.0, 0)]


def test_ready_is_steady_green(rig):
    clock, pin, ind = rig
    clock.advance(1)
    ind.show("ready")
    clock.advance(10)
    assert hist(pin(GREEN)) == [(0.0, 0), (1.0, 1)]
    assert hist(pin(AMBER)) == hist(pin(RED)) == hist(pin(BUZZER)) == [(0.0, 0)]
    assert ind.colour == "green"
    assert ind.lit() == {"green": True, "amber": False, "red": False}


def test_busy_blinks_amber_on_the_kiosk_clock(rig):
    clock, pin, ind = rig
    ind.show("busy")
    clock.advance(2.0)
    assert hist(pin(AMBER)) == [(0.0, 0), (0.0, 1), (0.5, 0), (1.0, 1), (1.5, 0), (2.0, 1)]
    assert len(pin(AMBER).states) == 6
    assert hist(pin(GREEN)) == [(0.0, 0)]


def test_success_is_green_and_one_short_beep(rig):
    clock, pin, ind = rig
    ind.show("success")
    clock.advance(5)
    assert hist(pin(GREEN)) == [(0.0, 0), (0.0, 1)]
    assert hist(pin(BUZZER)) == [(0.0, 0), (0.0, 1), (0.15, 0)]


def test_error_is_red_and_two_beeps(rig):
    clock, pin, ind = rig
    ind.show("error")
    clock.advance(5)
    assert hist(pin(RED)) == [(0.0, 0), (0.0, 1)]
    assert hist(pin(BUZZER)) == [(0.0, 0), (0.0, 1), (0.1, 0), (0.2, 1), (0.3, 0)]


def test_attention_blinks_red_and_beeps_every_two_seconds_until_replaced(rig):
    clock, pin, ind = rig
    ind.show("attention")
    clock.advance(4.0)
    assert hist(pin(BUZZER)) == [(0.0, 0), (0.0, 1), (0.2, 0), (2.0, 1), (2.2, 0), (4.0, 1)]
    assert len(pin(RED).history) == 1 + 17  # on at 0, then a change every 0.25 s up to 4.0
    ind.show("ready")
    clock.advance(10)
    assert pin(BUZZER).history[-1] == (T0 + 4.0, 0)  # the beep is cut at once, none follow
    assert pin(RED).history[-1] == (T0 + 4.0, 0)
    assert pin(GREEN).history[-1] == (T0 + 4.0, 1)


def test_a_new_pattern_replaces_the_old_one_cleanly(rig):
    clock, pin, ind = rig
    ind.show("busy")
    clock.advance(0.2)
    ind.show("error")
    clock.advance(0.05)
    ind.show("ready")
    clock.advance(10)
    # amber went dark when "error" came, the error beep was cut by "ready", nothing of either
    # went on later, and two colours were never lit together
    assert hist(pin(AMBER)) == [(0.0, 0), (0.0, 1), (0.2, 0)]
    assert hist(pin(RED)) == [(0.0, 0), (0.2, 1), (0.25, 0)]
    assert hist(pin(BUZZER)) == [(0.0, 0), (0.2, 1), (0.25, 0)]
    assert hist(pin(GREEN)) == [(0.0, 0), (0.25, 1)]
    assert ind.pattern == "ready"


def test_two_colours_are_never_lit_together(rig):
    clock, pin, ind = rig
    lit_together = []

    def watch(p, level, t):
        lit = [c for c in (GREEN, AMBER, RED) if pin(c).state]
        if len(lit) > 1:
            lit_together.append((t, lit))

    pin(GREEN).factory.on_change = watch
    for name in ["ready", "busy", "error", "success", "attention", "ready", "busy"]:
        ind.show(name)
        clock.advance(0.37)
    assert lit_together == []


def test_asking_again_for_a_blinking_pattern_keeps_its_rhythm(rig):
    clock, pin, ind = rig
    ind.show("busy")
    clock.advance(0.3)
    ind.show("busy")
    clock.advance(0.4)
    assert hist(pin(AMBER)) == [(0.0, 0), (0.0, 1), (0.5, 0)]


def test_asking_again_for_error_beeps_again(rig):
    clock, pin, ind = rig
    ind.show("error")
    clock.advance(1)
    ind.show("error")
    clock.advance(1)
    beeps = [t for t, level in hist(pin(BUZZER)) if level]
    assert beeps == [0.0, 0.2, 1.0, 1.2]


def test_unknown_pattern_is_refused(rig):
    _clock, _pin, ind = rig
    with pytest.raises(ValueError, match="unknown indicator pattern 'party'"):
        ind.show("party")
    assert set(PATTERNS) == {"off", "ready", "busy", "success", "error", "attention", "alarm"}


def test_alarm_pattern_beeps_until_another_pattern(rig):
    clock, pin, ind = rig
    ind.show("alarm")
    clock.advance(3)
    beeps = [t for t, level in hist(pin(BUZZER)) if level]
    assert len(beeps) >= 3  # r2: a door alarm keeps sounding
    ind.show("ready")
    before = len([t for t, level in hist(pin(BUZZER)) if level])
    clock.advance(3)
    assert len([t for t, level in hist(pin(BUZZER)) if level]) == before


def test_off_and_close_leave_everything_dark(rig):
    clock, pin, ind = rig
    ind.show("attention")
    clock.advance(0.1)
    ind.show("off")
    assert [pin(p).state for p in (GREEN, AMBER, RED, BUZZER)] == [0, 0, 0, 0]
    ind.show("ready")
    ind.close()
    ind.close()
    assert pin(GREEN).state == 0
    ind.show("busy")  # after close: ignored, nothing is driven
    assert pin(AMBER).history[-1][1] == 0


def test_rgb_led_mixes_amber_from_red_and_green():
    clock = SimClock()
    factory = ClockedMockFactory(clock)
    with Indicators(GpioSection(rgb_led=(5, 6, 13)), clock=clock, pin_factory=factory) as ind:
        ind.show("busy")
        assert [factory.pin(p).state for p in (5, 6, 13)] == [1, 1, 0]
        assert ind.lit() == {"red": True, "green": True, "blue": False}
        clock.advance(0.5)
        assert [factory.pin(p).state for p in (5, 6, 13)] == [0, 0, 0]
        ind.show("ready")
        assert [factory.pin(p).state for p in (5, 6, 13)] == [0, 1, 0]


def test_rgb_led_needs_three_pins():
    clock = SimClock()
    with pytest.raises(GPIOError, match="three pins"):
        Indicators(GpioSection(rgb_led=(5, 6)), clock=clock, pin_factory=ClockedMockFactory(clock))


def test_active_low_leds_and_buzzer():
    clock = SimClock()
    factory = ClockedMockFactory(clock)
    gpio = GpioSection(led_green=5, led_active_high=False, buzzer=6, buzzer_active_high=False)
    with Indicators(gpio, clock=clock, pin_factory=factory) as ind:
        assert factory.pin(5).state == 1  # dark
        assert factory.pin(6).state == 1  # silent
        ind.show("success")
        assert factory.pin(5).state == 0
        assert factory.pin(6).state == 0
        clock.advance(1)
        assert factory.pin(6).state == 1


def test_no_pins_configured_is_a_quiet_no_op():
    clock = SimClock()
    with Indicators(GpioSection(), clock=clock, pin_factory=ClockedMockFactory(clock)) as ind:
        ind.show("attention")
        clock.advance(3)
        assert ind.pattern == "attention"
        assert ind.lit() == {}


def test_a_missing_amber_led_is_just_not_shown():
    clock = SimClock()
    factory = ClockedMockFactory(clock)
    with Indicators(GpioSection(led_green=5, led_red=6), clock=clock, pin_factory=factory) as ind:
        ind.show("busy")
        clock.advance(2)
        assert len(factory.pin(5).history) == 1
        assert len(factory.pin(6).history) == 1


def test_pin_in_use_is_a_gpio_error_and_releases_the_rest():
    clock = SimClock()
    factory = ClockedMockFactory(clock)
    holder = Indicators(GpioSection(buzzer=6), clock=clock, pin_factory=factory)
    with pytest.raises(GPIOError, match="indicator pins cannot be claimed"):
        Indicators(GpioSection(led_green=5, buzzer=6), clock=clock, pin_factory=factory)
    holder.close()
    Indicators(GpioSection(led_green=5, buzzer=6), clock=clock, pin_factory=factory).close()
