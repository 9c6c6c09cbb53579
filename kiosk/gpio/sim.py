"""Simulated GPIO for the demo and the scenario runner: mock pins on the kiosk clock, gpio.csv.

:class:`SimulatedGpio` builds a :class:`~kiosk.gpio.pins.ClockedMockFactory`, the indicators and
a locker bank on it, records every pin change to ``gpio.csv`` and lets the runner or the demo's
keys open and close doors through their (simulated) reed switches.

Default layout (no pins in the given config), for ``doors`` N:

* LEDs green BCM 17, amber BCM 27, red BCM 22, buzzer BCM 18;
* the other BCM pins in ascending order: relays of doors 1..N first, then their sensors.

12 doors with sensors and the four indicator pins use exactly BCM 0-27, the pins every 40-pin
Pi has. gpiozero's ``MockFactory`` only accepts the pins of the board it pretends to be, so a
bank of 13-21 doors is simulated on a Compute Module 3 board (BCM 0-45); more doors than that
are refused with a clear error (a real Pi needs an I/O expander for them anyway).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable

from kiosk.clock import Clock
from kiosk.config import DoorSection, GpioSection, LockerSection
from kiosk.errors import GPIOError
from kiosk.events import DoorEvent
from kiosk.gpio.indicators import Indicators
from kiosk.gpio.lockers import PULSE_GAP, LockerBank
from kiosk.gpio.pins import PINS_40PIN, PINS_CM3, REVISION_40PIN, REVISION_CM3, ClockedMockFactory, SimPin
from kiosk.gpio.recorder import GpioRecorder, pin_roles
from kiosk.lifecycle import Closing

logger = logging.getLogger(__name__)

DEFAULT_DOORS = 12
DEFAULT_LEDS = {"led_green": 17, "led_amber": 27, "led_red": 22, "buzzer": 18}


def _used_pins(gpio: GpioSection, locker: LockerSection) -> set[int]:
    used = {p for p in (gpio.led_green, gpio.led_amber, gpio.led_red, gpio.buzzer) if p is not None}
    used |= set(gpio.rgb_led)
    for door in locker.door:
        used |= {p for p in (door.relay_pin, door.sensor_pin) if p is not None}
    return used


def simulated_sections(
    doors: int = DEFAULT_DOORS,
    size: str = "M",
    *,
    gpio: GpioSection | None = None,
    locker: LockerSection | None = None,
) -> tuple[GpioSection, LockerSection, str]:
    """``(gpio, locker, mock board revision)`` for a simulated kiosk.

    Pins already in ``gpio``/``locker`` are kept; without indicator pins the default ones are
    used; without doors, ``doors`` doors of ``size`` with a sensor each are laid out on the
    remaining pins. Raises GPIOError when they do not fit.
    """
    gpio = gpio or GpioSection()
    locker = locker or LockerSection()
    has_indicators = any(p is not None for p in (gpio.led_green, gpio.led_amber, gpio.led_red, gpio.buzzer)) or bool(
        gpio.rgb_led
    )
    if not has_indicators:
        taken = _used_pins(gpio, locker)
        free = {k: v for k, v in DEFAULT_LEDS.items() if v not in taken}
        gpio = dataclasses.replace(gpio, **free)
    if not locker.door:
        if doors < 1:
            raise GPIOError(f"a simulated locker bank needs at least one door, not {doors}")
        used = _used_pins(gpio, locker)
        free = [p for p in PINS_40PIN if p not in used]
        if len(free) < 2 * doors:
            free = [p for p in PINS_CM3 if p not in used]
        if len(free) < 2 * doors:
            raise GPIOError(
                f"a simulated bank of {doors} doors with sensors needs {2 * doors} free pins; "
                f"at most {len(free) // 2} doors fit"
            )
        relays, sensors = free[:doors], free[doors : 2 * doors]
        locker = dataclasses.replace(
            locker,
            door=tuple(
                DoorSection(number=i + 1, relay_pin=relays[i], sensor_pin=sensors[i], size=size) for i in range(doors)
            ),
        )
    highest = max(_used_pins(gpio, locker), default=0)
    if highest > PINS_CM3[-1]:
        raise GPIOError(f"BCM {highest} cannot be simulated (BCM 0-{PINS_CM3[-1]})")
    revision = REVISION_40PIN if highest <= PINS_40PIN[-1] else REVISION_CM3
    return gpio, locker, revision


class SimulatedGpio(Closing):
    """Mock pins, indicators and a locker bank for the demo and the runner.

    ``csv_path``: where ``gpio.csv`` goes (None: rows kept in ``recorder.rows`` only).
    ``post``: the door event callback (may also be set later as ``sim.bank.post``).
    ``gpio``/``locker``: config sections to start from (see :func:`simulated_sections`).
    ``relays_left_energised``: the relay pins start at their energised level, as a killed
    process may have left them (the kill -9 drill): the bank's start must release every one.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        doors: int = DEFAULT_DOORS,
        size: str = "M",
        csv_path: str | os.PathLike | None = None,
        post: Callable[[DoorEvent], object] | None = None,
        gpio: GpioSection | None = None,
        locker: LockerSection | None = None,
        gap: float = PULSE_GAP,
        relays_left_energised: bool = False,
    ):
        self.clock = clock
        self.gpio_config, self.locker_config, revision = simulated_sections(doors, size, gpio=gpio, locker=locker)
        self.recorder = GpioRecorder(csv_path, clock, pin_roles(self.gpio_config, self.locker_config))
        self.factory = ClockedMockFactory(clock, revision, on_change=self.recorder.on_change)
        self.indicators: Indicators | None = None
        self.bank: LockerBank | None = None
        try:
            for door in self.locker_config.door:
                if relays_left_energised and door.relay_pin is not None:
                    # as a process killed mid-pulse may leave the line: the bank must force it off
                    # at start (a row per relay in gpio.csv), not trust the pin's power-on state
                    pin = self.factory.pin(door.relay_pin)
                    pin._state = bool(door.active_high)
                    pin.clear_states()
                if door.sensor_pin is not None and not door.sensorless:
                    # a reed switch, closed (door shut): to ground with a pull-up, else to 3V3
                    self.factory.pin(door.sensor_pin).wire_switch(0 if door.sensor_pull_up else 1, closed=True)
            self.indicators = Indicators(self.gpio_config, clock=clock, pin_factory=self.factory)
            self.bank = LockerBank(
                self.locker_config, clock=clock, post=post, pin_factory=self.factory, gap=gap, bounce_time=None
            )
        except BaseException:
            self.close()
            raise

    # -- the runner's and the demo's hands ---------------------------------------------------
    def resolve(self, door: int | str) -> int:
        """A door number from ``door``: a number, its text, or ``"last"`` (the door unlocked last)."""
        if door == "last":
            last = self.bank.last_unlocked
            if last is None:
                raise ValueError("no door has been unlocked yet")
            return last
        try:
            number = int(door)
        except (TypeError, ValueError):
            raise ValueError(f"not a door: {door!r}") from None
        self.bank.door(number)  # ValueError for a door the bank does not have
        return number

    def _switch(self, door: int | str) -> SimPin:
        number = self.resolve(door)
        cfg = self.bank.door(number)
        if cfg.sensor_pin is None or cfg.sensorless:
            raise GPIOError(f"door {number} has no sensor to open or close")
        return self.factory.pin(cfg.sensor_pin)

    def open_door(self, door: int | str) -> int:
        """Someone opens the door: its reed switch opens (a locked door: ``forced``)."""
        pin = self._switch(door)
        pin.set_switch(False)
        return self.resolve(door)

    def close_door(self, door: int | str) -> int:
        """Someone shuts the door: its reed switch closes."""
        pin = self._switch(door)
        pin.set_switch(True)
        return self.resolve(door)

    def toggle_door(self, door: int | str) -> int:
        """Open a shut door, shut an open one (the demo's keys)."""
        pin = self._switch(door)
        pin.set_switch(not pin.switch_closed)
        return self.resolve(door)

    def pin(self, bcm: int) -> SimPin:
        return self.factory.pin(bcm)

    def snapshot(self) -> dict:
        """Plain data for drawing: LEDs, buzzer and doors as the hardware would show them.

        ``{"time": s, "pattern": name, "leds": {colour: lit}, "colour": lit colour or None,
        "rgb": bool, "buzzer": bool, "doors": [{"number", "state", "relay", "sensor_open",
        "size", "in_service", "sensorless"}, ...]}``
        """
        ind, bank = self.indicators, self.bank
        doors = []
        for number in bank.doors:
            cfg = bank.door(number)
            doors.append(
                {
                    "number": number,
                    "state": bank.state(number),
                    "relay": bank.relay_on(number),
                    "sensor_open": bank.sensor_open(number),
                    "size": cfg.size,
                    "in_service": cfg.in_service,
                    "sensorless": bank.is_sensorless(number),
                }
            )
        return {
            "time": round(self.clock.monotonic() - self.recorder.epoch, 3),
            "pattern": ind.pattern,
            "leds": ind.lit(),
            "colour": ind.colour,
            "rgb": bool(self.gpio_config.rgb_led),
            "buzzer": ind.buzzing,
            "doors": doors,
        }

    def close(self) -> None:
        """Everything off (relays first), pins released, gpio.csv closed."""
        if self.bank is not None:
            self.bank.close()
        if self.indicators is not None:
            self.indicators.close()
        self.recorder.close()
