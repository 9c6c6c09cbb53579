"""Status LEDs and the buzzer, driven by named patterns on the kiosk clock.

The app asks for a pattern by name (:data:`PATTERNS`): ``ready``, ``busy`` (waiting for the
backend), ``success``, ``error``, ``attention`` (staff needed), ``alarm`` (a door alarm) and ``off``.

Blinking and beeping are timed by the injected kiosk clock (``clock.call_later``), not by
gpiozero's ``blink``/``beep`` threads: under the scenario runner's simulated clock the pin
changes then happen at exact, repeatable kiosk times (``gpio.csv``), and on a real Pi they cost
one timer on the clock's scheduler thread instead of a thread per device. A new pattern cancels
the old one's timers and sets every output at once, so nothing of the old pattern leaks through.

LEDs are either three single LEDs (``led_green``, ``led_amber``, ``led_red``; any may be
missing) or one RGB LED (``rgb_led = [red, green, blue]``, on/off per channel: amber is red+green).
With a single-colour LED missing its colour is simply not shown.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from gpiozero import Buzzer, DigitalOutputDevice
from gpiozero.exc import GPIOZeroError

from kiosk.clock import Clock, Timer
from kiosk.config import GpioSection
from kiosk.errors import GPIOError
from kiosk.lifecycle import Closing

logger = logging.getLogger(__name__)

COLOURS = ("green", "amber", "red")
RGB_MIX = {"green": (0, 1, 0), "amber": (1, 1, 0), "red": (1, 0, 0), None: (0, 0, 0)}


@dataclass(frozen=True)
class Program:
    """One output's part of a pattern: ``steps`` of (value, seconds), looped or then ``final``.

    For the LED channel a value is a colour name or None (dark); for the buzzer True/False.
    """

    steps: tuple[tuple[object, float], ...] = ()
    loop: bool = False
    final: object = None


def steady(value) -> Program:
    return Program((), False, value)


def blink(colour: str, on: float, off: float) -> Program:
    return Program(((colour, on), (None, off)), True, None)


@dataclass(frozen=True)
class Pattern:
    led: Program
    buzzer: Program

    @property
    def loops(self) -> bool:
        return self.led.loop or self.buzzer.loop


PATTERNS: dict[str, Pattern] = {
    "off": Pattern(steady(None), steady(False)),
    "ready": Pattern(steady("green"), steady(False)),
    "busy": Pattern(blink("amber", 0.5, 0.5), steady(False)),
    "success": Pattern(steady("green"), Program(((True, 0.15),), False, False)),
    "error": Pattern(steady("red"), Program(((True, 0.1), (False, 0.1), (True, 0.1)), False, False)),
    "attention": Pattern(blink("red", 0.25, 0.25), Program(((True, 0.2), (False, 1.8)), True, False)),
    # r2: a door alarm (left open, forced): fast red and a beeping buzzer until it is closed
    "alarm": Pattern(blink("red", 0.15, 0.15), Program(((True, 0.5), (False, 0.5)), True, False)),
}


class Indicators(Closing):
    """LEDs and buzzer from ``[gpio]``; ``show(name)`` switches the pattern.

    Thread-safe: patterns may be asked for from the main loop while the clock thread steps them.
    Asking again for the pattern that is showing restarts it only when it is a one-shot pattern
    (``success``, ``error``: each asks for its beep); a looping or steady one goes on undisturbed.
    """

    def __init__(self, gpio: GpioSection, *, clock: Clock, pin_factory=None):
        self.clock = clock
        self._lock = threading.RLock()
        self._leds: dict[str, DigitalOutputDevice] = {}  # colour or rgb channel -> device
        self._rgb = bool(gpio.rgb_led)
        self._buzzer: Buzzer | None = None
        self._timers: list[Timer] = []
        self._gen = 0
        self._colour: str | None = None
        self._buzzing = False
        self.pattern = "off"
        self._closed = False
        try:
            if self._rgb:
                if len(gpio.rgb_led) != 3:
                    raise GPIOError("gpio.rgb_led needs three pins: red, green, blue")
                for channel, pin in zip(("red", "green", "blue"), gpio.rgb_led, strict=True):
                    self._leds[channel] = self._output(pin, gpio.led_active_high, pin_factory)
            else:
                for colour in COLOURS:
                    pin = getattr(gpio, f"led_{colour}")
                    if pin is not None:
                        self._leds[colour] = self._output(pin, gpio.led_active_high, pin_factory)
            if gpio.buzzer is not None:
                self._buzzer = Buzzer(
                    gpio.buzzer, active_high=gpio.buzzer_active_high, initial_value=False, pin_factory=pin_factory
                )
        except GPIOZeroError as exc:
            self.close()
            raise GPIOError(f"indicator pins cannot be claimed ({type(exc).__name__}: {exc})") from exc
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _output(pin: int, active_high: bool, pin_factory) -> DigitalOutputDevice:
        return DigitalOutputDevice(pin, active_high=active_high, initial_value=False, pin_factory=pin_factory)

    # -- the app's interface --------------------------------------------------------------
    def show(self, name: str) -> None:
        """Switch to pattern ``name`` (one of :data:`PATTERNS`); raises ValueError for others."""
        try:
            pattern = PATTERNS[name]
        except KeyError:
            raise ValueError(f"unknown indicator pattern {name!r}; known: {', '.join(PATTERNS)}") from None
        with self._lock:
            if self._closed:
                return
            if name == self.pattern and pattern.loops:
                return  # already blinking: keep its rhythm
            self._cancel()
            self._gen += 1
            self.pattern = name
            self._run(self._gen, "led", pattern.led, 0)
            self._run(self._gen, "buzzer", pattern.buzzer, 0)

    @property
    def colour(self) -> str | None:
        """The colour lit now (None: dark)."""
        return self._colour

    @property
    def buzzing(self) -> bool:
        return self._buzzing

    def lit(self) -> dict[str, bool]:
        """Which LED outputs are lit now, by colour (or RGB channel)."""
        with self._lock:
            return {name: bool(dev.value) for name, dev in self._leds.items() if not dev.closed}

    def close(self) -> None:
        """Everything off, pins released; safe to call twice."""
        with self._lock:
            self._closed = True
            self._cancel()
            for dev in [*self._leds.values(), self._buzzer]:
                if dev is None:
                    continue
                try:
                    dev.off()
                    dev.close()
                except Exception:
                    logger.exception("event=indicator_close_failed")
            self._colour = None
            self._buzzing = False

    # -- stepping ---------------------------------------------------------------------------
    def _cancel(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

    def _run(self, gen: int, channel: str, program: Program, index: int) -> None:
        with self._lock:
            if gen != self._gen or self._closed:
                return
            self._timers = [t for t in self._timers if not t.cancelled]
            if program.steps and index >= len(program.steps) and program.loop:
                index = 0
            if index < len(program.steps):
                value, duration = program.steps[index]
                self._apply(channel, value)
                self._timers.append(self.clock.call_later(duration, self._run, gen, channel, program, index + 1))
            else:
                self._apply(channel, program.final)

    def _apply(self, channel: str, value) -> None:
        if channel == "buzzer":
            self._buzzing = bool(value)
            if self._buzzer is not None:
                self._buzzer.value = bool(value)
            return
        self._colour = value
        if self._rgb:
            wanted = dict(zip(("red", "green", "blue"), map(bool, RGB_MIX[value]), strict=True))
        else:
            wanted = {colour: colour == value for colour in self._leds}
        # dark ones first: two colours are never lit together, not even for an instant
        for name in sorted(wanted, key=wanted.get):
            self._leds[name].value = wanted[name]
