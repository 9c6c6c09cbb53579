"""Locker bank rules at pin level: gpiozero mock pins timed on a SimClock (kiosk.gpio.pins).

Pin histories are ``(kiosk seconds since start, level)``; relays here are active-low (the usual
Pi relay board: level 0 = energised) unless a test says otherwise.
"""

from __future__ import annotations

import threading

import pytest

from kiosk.clock import SimClock
from kiosk.config import DoorSection, LockerSection, parse
from kiosk.errors import ConfigError, GPIOError
from kiosk.events import DoorEvent
from kiosk.gpio import ClockedMockFactory, LockerBank

T0 = 1000.0  # SimClock's monotonic() at start

# door n: relay on BCM n+3, sensor on BCM n+11 (pull-up, reed switch to ground); BCM 2 and 3
# (I2C, with fixed pull-ups) are left alone
RELAY = {n: n + 3 for n in range(1, 7)}
SENSOR = {n: n + 11 for n in range(1, 7)}


def hist(pin, since: float = T0):
    return [(round(t - since, 3), level) for t, level in pin.history]


def changes(pin):
    """The history after the start (relay claimed, driven off)."""
    return hist(pin)[2:] if pin.history[0][1] != pin.history[1][1] else hist(pin)[1:]


class Rig:
    def __init__(self, doors=(1, 2, 3), **locker_kw):
        self.clock = SimClock()
        self.factory = ClockedMockFactory(self.clock)
        self.events: list[DoorEvent] = []
        sensorless = locker_kw.pop("sensorless", ())
        no_sensor = locker_kw.pop("no_sensor", ())
        sizes = locker_kw.pop("sizes", {})
        out_of_service = locker_kw.pop("out_of_service", ())
        self.gap = locker_kw.pop("gap", 0.1)
        door_cfgs = []
        for n in doors:
            sensor = None if n in no_sensor else SENSOR[n]
            if sensor is not None:
                self.factory.pin(sensor).wire_switch(0, closed=True)  # door shut
            door_cfgs.append(
                DoorSection(
                    number=n,
                    relay_pin=RELAY[n],
                    sensor_pin=sensor,
                    sensorless=n in sensorless,
                    size=sizes.get(n, "M"),
                    in_service=n not in out_of_service,
                )
            )
        self.locker = LockerSection(door=tuple(door_cfgs), **locker_kw)
        self.bank = LockerBank(
            self.locker, clock=self.clock, post=self.events.append, pin_factory=self.factory, gap=self.gap
        )

    def relay(self, n):
        return self.factory.pin(RELAY[n])

    def sensor(self, n):
        return self.factory.pin(SENSOR[n])

    def open(self, n):
        self.sensor(n).set_switch(False)

    def shut(self, n):
        self.sensor(n).set_switch(True)

    def kinds(self, door=None):
        return [(round(e.at - T0, 3), e.door, e.kind) for e in self.events if door in (None, e.door)]

    def close(self):
        self.bank.close()


@pytest.fixture
def rig():
    made = []

    def make(*args, **kw):
        r = Rig(*args, **kw)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()


def test_every_relay_is_driven_off_at_start(rig):
    r = rig(doors=(1, 2))
    for n in (1, 2):
        # an unclaimed mock pin reads 0; the active-low relay is driven to 1 (released) at once
        assert hist(r.relay(n)) == [(0.0, 0), (0.0, 1)]
        assert r.bank.state(n) == "locked"
        assert not r.bank.relay_on(n)
    assert r.events == []


def test_active_high_relay_starts_low_and_pulses_high():
    clock = SimClock()
    factory = ClockedMockFactory(clock)
    locker = LockerSection(door=(DoorSection(number=1, relay_pin=5, active_high=True),))
    with LockerBank(locker, clock=clock, pin_factory=factory) as bank:
        bank.unlock(1)
        clock.advance(1)
    assert hist(factory.pin(5)) == [(0.0, 0), (0.0, 1), (0.5, 0)]


def test_pulse_lasts_the_configured_time_then_the_relay_is_released(rig):
    r = rig(doors=(1,))
    r.clock.advance(2.0)
    assert r.bank.unlock(1) is True
    assert r.bank.state(1) == "unlocked"
    assert r.bank.relay_on(1)
    r.clock.advance(0.499)
    assert r.bank.relay_on(1)
    r.clock.advance(10)
    assert changes(r.relay(1)) == [(2.0, 0), (2.5, 1)]
    assert len(r.relay(1).states) == 4  # initial, off at start, on, off: nothing else
    # the kiosk's view: unlocked from the pulse until it opens or times out, also after release
    assert r.bank.state(1) == "unlocked"
    assert r.kinds() == [(2.0, 1, "unlocked")]


def test_pulse_length_comes_from_config(rig):
    r = rig(doors=(1,), pulse=1.5)
    r.bank.unlock(1)
    r.clock.advance(5)
    assert changes(r.relay(1)) == [(0.0, 0), (1.5, 1)]


@pytest.mark.parametrize("pulse", [3.01, 10.0, 0.0, -1.0])
def test_pulse_above_3_s_or_not_positive_is_refused_at_start(pulse):
    clock = SimClock()
    factory = ClockedMockFactory(clock)
    locker = LockerSection(pulse=pulse, door=(DoorSection(number=1, relay_pin=5),))
    with pytest.raises(ConfigError) as info:
        LockerBank(locker, clock=clock, pin_factory=factory)
    assert info.value.key == "locker.pulse"
    # nothing was claimed: the pin is free for the next try
    LockerBank(LockerSection(pulse=3.0, door=locker.door), clock=clock, pin_factory=factory).close()


def test_config_file_refuses_a_long_pulse_too():
    with pytest.raises(ConfigError) as info:
        parse("[locker]\npulse = 4\n")
    assert info.value.key == "locker.pulse"


def test_queued_unlocks_pulse_one_after_another_without_waiting_for_doors(rig):
    r = rig(doors=(1, 2, 3))
    for n in (1, 2, 3):
        assert r.bank.unlock(n)
    # all three are the kiosk's "unlocked" at once; only one relay is on
    assert r.bank.states() == {1: "unlocked", 2: "unlocked", 3: "unlocked"}
    assert [r.bank.relay_on(n) for n in (1, 2, 3)] == [True, False, False]
    assert r.bank.queued == (2, 3)
    assert r.bank.last_unlocked == 3
    r.clock.advance(5)
    assert changes(r.relay(1)) == [(0.0, 0), (0.5, 1)]
    assert changes(r.relay(2)) == [(0.6, 0), (1.1, 1)]
    assert changes(r.relay(3)) == [(1.2, 0), (1.7, 1)]
    assert r.kinds() == [(0.0, 1, "unlocked"), (0.6, 2, "unlocked"), (1.2, 3, "unlocked")]
    assert not r.bank.busy


def test_never_two_relays_at_once_even_without_a_gap(rig):
    r = rig(doors=(1, 2, 3), gap=0.0)
    order = []
    for n in (1, 2, 3):
        r.relay(n).history.clear()
    original = r.factory.on_change
    r.factory.on_change = lambda pin, level, t: order.append((round(t - T0, 3), pin.bcm, level))
    for n in (1, 2, 3):
        r.bank.unlock(n)
    r.clock.advance(3)
    r.factory.on_change = original
    # release of one relay is recorded before the next one's energise, at the same instant
    assert order == [(0.0, 4, 0), (0.5, 4, 1), (0.5, 5, 0), (1.0, 5, 1), (1.0, 6, 0), (1.5, 6, 1)]
    energised = set()
    for _t, pin, level in order:
        if level == 0:
            assert not energised
            energised.add(pin)
        else:
            energised.discard(pin)
    assert not energised


def test_a_second_unlock_of_a_pulsing_or_queued_door_is_ignored(rig):
    r = rig(doors=(1, 2))
    assert r.bank.unlock(1)
    assert r.bank.unlock(2)
    assert r.bank.unlock(1) is False
    assert r.bank.unlock(2) is False
    r.clock.advance(3)
    assert changes(r.relay(1)) == [(0.0, 0), (0.5, 1)]
    assert changes(r.relay(2)) == [(0.6, 0), (1.1, 1)]


def test_door_opening_releases_the_relay_at_once(rig):
    r = rig(doors=(1, 2))
    r.bank.unlock(1)
    r.bank.unlock(2)
    r.clock.advance(0.2)
    r.open(1)
    assert not r.bank.relay_on(1)
    assert r.bank.state(1) == "open"
    r.clock.advance(3)
    assert changes(r.relay(1)) == [(0.0, 0), (0.2, 1)]
    assert changes(r.relay(2)) == [(0.3, 0), (0.8, 1)]  # the next pulse follows after the gap
    assert r.kinds(1) == [(0.0, 1, "unlocked"), (0.2, 1, "opened")]
    r.shut(1)
    assert r.bank.state(1) == "locked"
    assert r.kinds(1)[-1] == (3.2, 1, "closed")
    # no "not_opened" later for the door that opened
    r.clock.advance(30)
    assert [k for _t, d, k in r.kinds() if d == 1] == ["unlocked", "opened", "closed"]


def test_not_opened_after_the_timeout_then_one_retry(rig):
    r = rig(doors=(1,))
    r.bank.unlock(1)
    r.clock.advance(19.9)
    assert r.bank.state(1) == "unlocked"
    assert r.kinds() == [(0.0, 1, "unlocked")]
    r.clock.advance(0.1)
    assert r.kinds()[-1] == (20.0, 1, "not_opened")
    assert r.bank.state(1) == "locked"
    # retry: one more pulse, one more timeout window
    assert r.bank.unlock(1)
    r.clock.advance(5)
    r.open(1)
    r.clock.advance(60)
    assert changes(r.relay(1)) == [(0.0, 0), (0.5, 1), (20.0, 0), (20.5, 1)]
    assert [k for _t, _d, k in r.kinds()] == ["unlocked", "not_opened", "unlocked", "opened", "left_open"]


def test_open_timeout_comes_from_config_and_counts_from_the_pulse(rig):
    r = rig(doors=(1, 2), open_timeout=5.0)
    r.bank.unlock(1)
    r.bank.unlock(2)
    r.clock.advance(10)
    assert [e for e in r.kinds() if e[2] == "not_opened"] == [(5.0, 1, "not_opened"), (5.6, 2, "not_opened")]


def test_left_open_raises_attention_once(rig):
    r = rig(doors=(1,), left_open=30.0)
    r.bank.unlock(1)
    r.clock.advance(1)
    r.open(1)
    r.clock.advance(29.9)
    assert "left_open" not in [k for *_x, k in r.kinds()]
    r.clock.advance(0.1)
    assert r.kinds()[-1] == (31.0, 1, "left_open")
    r.clock.advance(100)
    assert [k for *_x, k in r.kinds()].count("left_open") == 1
    r.shut(1)
    assert r.kinds()[-1] == (131.0, 1, "closed")
    assert r.bank.state(1) == "locked"


def test_closing_in_time_cancels_left_open(rig):
    r = rig(doors=(1,), left_open=30.0)
    r.bank.unlock(1)
    r.open(1)
    r.clock.advance(29)
    r.shut(1)
    r.clock.advance(60)
    assert [k for *_x, k in r.kinds()] == ["unlocked", "opened", "closed"]


def test_forced_door_is_an_alarm_and_fires_no_relay(rig):
    r = rig(doors=(1, 2))
    r.clock.advance(3)
    r.open(2)
    assert r.bank.state(2) == "open"
    assert r.kinds() == [(3.0, 2, "forced")]
    r.clock.advance(1)
    r.shut(2)
    assert r.bank.state(2) == "locked"
    assert r.kinds() == [(3.0, 2, "forced"), (4.0, 2, "closed")]
    assert changes(r.relay(2)) == []
    # the sensor pin went high (open) and low (shut) at those kiosk times
    assert hist(r.sensor(2)) == [(0.0, 0), (3.0, 1), (4.0, 0)]


def test_forced_door_left_open_also_raises_attention(rig):
    r = rig(doors=(1,))
    r.open(1)
    r.clock.advance(60)
    assert [k for *_x, k in r.kinds()] == ["forced", "left_open"]


def test_sensor_reporting_open_before_unlock_does_not_stop_the_relay(rig):
    r = rig(doors=(1,))
    r.open(1)  # damaged cable: the pin floats high, "open"
    r.clock.advance(2)
    assert r.bank.unlock(1)
    r.clock.advance(0.25)
    assert r.bank.relay_on(1)  # not released early: the sensor never changed
    r.clock.advance(30)
    assert changes(r.relay(1)) == [(2.0, 0), (2.5, 1)]
    assert [(t, k) for t, _d, k in r.kinds()] == [(0.0, "forced"), (2.0, "unlocked"), (2.0, "opened")]
    assert r.bank.state(1) == "open"
    assert "not_opened" not in [k for *_x, k in r.kinds()]


def test_door_opened_while_its_pulse_waits_in_the_queue_still_gets_its_pulse(rig):
    r = rig(doors=(1, 2))
    r.bank.unlock(1)
    r.bank.unlock(2)
    r.open(2)  # before its turn: it counts as opened, never as forced
    r.clock.advance(30)
    assert changes(r.relay(2)) == [(0.6, 0), (1.1, 1)]
    assert [k for _t, d, k in r.kinds() if d == 2] == ["opened", "unlocked"]


def test_sensorless_door_pulses_in_full_then_counts_as_opened_and_closed(rig):
    r = rig(doors=(1, 2), no_sensor=(1,), sensorless=(2,))
    assert r.bank.is_sensorless(1)
    assert r.bank.is_sensorless(2)
    assert r.bank.sensor_open(2) is None
    r.bank.unlock(1)
    r.bank.unlock(2)
    assert r.bank.states() == {1: "unlocked", 2: "unlocked"}
    r.clock.advance(0.5)
    assert r.bank.state(1) == "locked"
    r.clock.advance(30)
    assert changes(r.relay(1)) == [(0.0, 0), (0.5, 1)]
    assert changes(r.relay(2)) == [(0.6, 0), (1.1, 1)]
    assert r.kinds() == [
        (0.0, 1, "unlocked"),
        (0.5, 1, "opened"),
        (0.5, 1, "closed"),
        (0.6, 2, "unlocked"),
        (1.1, 2, "opened"),
        (1.1, 2, "closed"),
    ]
    # sensorless = true: the sensor pin is not even claimed
    assert not r.factory._reservations.get(r.sensor(2).info.name)


def test_unknown_door_is_refused(rig):
    r = rig(doors=(1,))
    with pytest.raises(ValueError, match="no locker door 9"):
        r.bank.unlock(9)
    with pytest.raises(ValueError, match="no locker door"):
        r.bank.state(9)
    assert r.bank.doors == (1,)


def test_close_during_a_pulse_releases_the_relay_and_the_pins(rig):
    r = rig(doors=(1, 2))
    r.bank.unlock(1)
    r.bank.unlock(2)
    r.clock.advance(0.2)
    r.bank.close()
    r.bank.close()  # twice is fine
    assert changes(r.relay(1)) == [(0.0, 0), (0.2, 1)]
    r.clock.advance(10)
    assert changes(r.relay(2)) == []  # the queued pulse never ran
    # pins are free again
    LockerBank(r.locker, clock=r.clock, pin_factory=r.factory).close()


def test_an_exception_in_the_caller_leaves_every_relay_off(rig):
    r = rig(doors=(1,))

    def crash():
        with r.bank:
            r.bank.unlock(1)
            assert r.bank.relay_on(1)
            raise RuntimeError("the app crashed mid-pulse")

    with pytest.raises(RuntimeError):
        crash()
    assert r.relay(1).state == 1  # active-low: released
    assert r.relay(1).function == "input"  # and the pin given back


def test_all_off_from_a_signal_handler_stops_everything(rig):
    r = rig(doors=(1, 2))
    r.bank.unlock(1)
    r.bank.unlock(2)
    r.clock.advance(0.1)
    r.bank.all_off()
    assert changes(r.relay(1)) == [(0.0, 0), (0.1, 1)]
    with pytest.raises(GPIOError):
        r.bank.unlock(1)
    r.clock.advance(10)
    assert changes(r.relay(2)) == []
    assert not r.bank.busy


def test_a_relay_cannot_burn_even_if_the_caller_never_returns(rig):
    # the release is a clock timer, not the caller's job: a caller stuck forever changes nothing
    r = rig(doors=(1,))
    stuck = threading.Event()

    def caller():
        r.bank.unlock(1)
        stuck.wait(5)

    t = threading.Thread(target=caller)
    t.start()
    while not r.bank.relay_on(1):
        threading.Event().wait(0.001)
    r.clock.advance(0.5)
    assert not r.bank.relay_on(1)
    stuck.set()
    t.join()


def test_duplicate_pins_are_refused_and_nothing_stays_claimed():
    clock = SimClock()
    factory = ClockedMockFactory(clock)
    locker = LockerSection(
        door=(DoorSection(number=1, relay_pin=5, sensor_pin=6), DoorSection(number=2, relay_pin=6, sensor_pin=7))
    )
    with pytest.raises(GPIOError, match="door 2: relay pin BCM 6"):
        LockerBank(locker, clock=clock, pin_factory=factory)
    assert factory.pin(5).state == 1  # door 1's relay, released
    LockerBank(LockerSection(door=locker.door[:1]), clock=clock, pin_factory=factory).close()


def test_a_door_open_at_start_is_open_without_an_alarm():
    clock = SimClock()
    factory = ClockedMockFactory(clock)
    factory.pin(16).wire_switch(0, closed=False)
    events = []
    locker = LockerSection(door=(DoorSection(number=1, relay_pin=5, sensor_pin=16),))
    with LockerBank(locker, clock=clock, post=events.append, pin_factory=factory) as bank:
        assert bank.state(1) == "open"
        clock.advance(60)
        assert [e.kind for e in events] == ["left_open"]


def test_sensor_pull_down_wiring(rig):
    clock = SimClock()
    factory = ClockedMockFactory(clock)
    factory.pin(16).wire_switch(1, closed=True)  # reed switch to 3V3, pull-down
    events = []
    locker = LockerSection(door=(DoorSection(number=1, relay_pin=5, sensor_pin=16, sensor_pull_up=False),))
    with LockerBank(locker, clock=clock, post=events.append, pin_factory=factory) as bank:
        assert bank.state(1) == "locked"
        factory.pin(16).set_switch(False)
        assert bank.state(1) == "open"
        assert [e.kind for e in events] == ["forced"]


def test_post_failure_is_logged_not_fatal(rig, caplog):
    r = rig(doors=(1,))

    def bad(event):
        raise RuntimeError("queue gone")

    r.bank.post = bad
    r.bank.unlock(1)
    r.clock.advance(1)
    assert changes(r.relay(1)) == [(0.0, 0), (0.5, 1)]
    assert "door_event_post_failed" in caplog.text


def test_concurrent_unlocks_and_sensor_changes_keep_one_relay_at_a_time(rig):
    r = rig(doors=(1, 2, 3, 4, 5, 6), gap=0.0)
    on = set()
    overlaps = []
    lock = threading.Lock()

    def watch(pin, level, t):
        if pin.bcm not in RELAY.values():
            return
        with lock:
            if level == 0:
                if on:
                    overlaps.append((t, pin.bcm, set(on)))
                on.add(pin.bcm)
            else:
                on.discard(pin.bcm)

    r.factory.on_change = watch

    def worker(doors):
        for _ in range(20):
            for n in doors:
                r.bank.unlock(n)
                r.open(n)
                r.shut(n)

    threads = [threading.Thread(target=worker, args=(d,)) for d in ((1, 2), (3, 4), (5, 6))]
    for t in threads:
        t.start()
    for _ in range(200):
        r.clock.advance(0.05)
    for t in threads:
        t.join()
    r.clock.advance(10)
    assert overlaps == []
    assert on == set()
    assert not r.bank.busy


def test_a_relay_that_cannot_be_driven_reports_not_opened_and_the_queue_goes_on(rig, caplog):
    from kiosk.gpio.pins import SimPin

    class BrokenPin(SimPin):
        def _set_state(self, value):
            if not value:  # energising an active-low relay fails (driver error, pin lost)
                raise OSError("gpiochip write failed")
            super()._set_state(value)

    clock = SimClock()
    factory = ClockedMockFactory(clock)
    factory.pin(5, pin_class=BrokenPin)
    events = []
    locker = LockerSection(door=(DoorSection(number=1, relay_pin=5), DoorSection(number=2, relay_pin=6)))
    with LockerBank(locker, clock=clock, post=events.append, pin_factory=factory) as bank:
        bank.unlock(1)
        bank.unlock(2)
        clock.advance(5)
        assert [(e.door, e.kind) for e in events] == [(1, "not_opened"), (2, "unlocked"), (2, "opened"), (2, "closed")]
        assert hist(factory.pin(6))[-2:] == [(0.0, 0), (0.5, 1)]
        assert factory.pin(5).state == 1
        assert not bank.busy
    assert "event=relay_failed door=1 error=OSError" in caplog.text
