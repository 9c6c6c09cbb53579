"""Pin factories: the real ones gpiozero picks on a Pi, and a mock one that runs on the kiosk clock.

:class:`ClockedMockFactory` is gpiozero's :class:`~gpiozero.pins.mock.MockFactory` whose pins
(:class:`SimPin`) time their history on the kiosk's :class:`~kiosk.clock.Clock` instead of the
process's monotonic clock. With a :class:`~kiosk.clock.SimClock` a pin's history
(``pin.states`` as gpiozero's ``MockPin`` keeps it, ``pin.history`` with absolute kiosk times)
is therefore exact and repeatable, which is what the pin-level tests and ``gpio.csv`` rely on.

A :class:`SimPin` can also have a switch wired to it (a door's reed switch): closed, the switch
holds the pin at its level (ground for a pull-up input); open, the pull resistor decides. That is
how the simulated doors open and close (:meth:`SimPin.set_switch`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from gpiozero.exc import PinFixedPull, PinInvalidPull
from gpiozero.pins.mock import MockFactory, MockPin, PinState

from kiosk.clock import Clock
from kiosk.errors import GPIOError

logger = logging.getLogger(__name__)

#: Mock board revisions: a Pi 3B has BCM 0-27 on its header (like every Pi since the B+),
#: a Compute Module 3 has BCM 0-45 (used only when a simulated bank needs more pins).
REVISION_40PIN = "a02082"
REVISION_CM3 = "a020a0"
PINS_40PIN = tuple(range(28))
PINS_CM3 = tuple(range(46))

AGAINST_PULL = -1  # a switch that pulls against the pin's pull resistor (a shut reed switch)

# (pin, level, kiosk time) -> None
ChangeListener = Callable[["SimPin", int, float], None]


class SimPin(MockPin):
    """A mock pin timed on the kiosk clock, optionally wired to a switch."""

    def __init__(self, factory: ClockedMockFactory, info):
        # level a closed switch forces (AGAINST_PULL: the opposite of the pull), None: no switch
        self._switch_level: int | None = AGAINST_PULL if factory.inputs_shut else None
        self._switch_closed = self._switch_level is not None
        self.history: list[tuple[float, int]] = []
        super().__init__(factory, info)

    # -- kiosk-clock history -------------------------------------------------------------
    def _now(self) -> float:
        return self.factory.clock.monotonic()

    def clear_states(self) -> None:
        self._last_change = self._now()
        self.states = [PinState(0.0, self._state)]
        self.history = [(self._last_change, int(self._state))]

    def _change_state(self, value) -> bool:
        value = bool(value)
        if self._state == value:
            return False
        t = self._now()
        self._state = value
        self.states.append(PinState(t - self._last_change, value))
        self._last_change = t
        self.history.append((t, int(value)))
        listener = self.factory.on_change
        if listener is not None:
            listener(self, int(value), t)
        return True

    @property
    def bcm(self) -> int:
        return int(self.info.name[4:])

    @property
    def level(self) -> int:
        return int(self._state)

    # -- a switch wired to an input ------------------------------------------------------
    def wire_switch(self, closed_level: int, closed: bool = True) -> None:
        """Wire a switch that holds the pin at ``closed_level`` while it is closed."""
        self._switch_level = 1 if closed_level else 0
        self._switch_closed = closed
        self._settle()

    def set_switch(self, closed: bool) -> None:
        """Close or open the wired switch; an input pin follows (and fires its edge)."""
        if self._switch_level is None:
            raise GPIOError(f"no switch is wired to {self.info.name}")
        self._switch_closed = bool(closed)
        self._settle()

    @property
    def switch_closed(self) -> bool | None:
        return None if self._switch_level is None else self._switch_closed

    def _set_pull(self, value) -> None:
        # MockPin drives the pin to its pull at once; with a closed switch the switch wins.
        if self.function != "input":
            return super()._set_pull(value)
        if self.info.pull and value != self.info.pull:
            raise PinFixedPull(f"{self!r} has a fixed pull resistor")
        if value not in ("floating", "up", "down"):
            raise PinInvalidPull("pull must be floating, up, or down")
        self._pull = value
        self._settle()

    def _settle(self) -> None:
        if self._function != "input":
            return
        if self._switch_level is not None and self._switch_closed:
            if self._switch_level != AGAINST_PULL:
                level = self._switch_level
            elif self._pull == "floating":
                return
            else:
                level = 0 if self._pull == "up" else 1
        elif self._pull == "up":
            level = 1
        elif self._pull == "down":
            level = 0
        else:
            return  # floating: stays where it was
        if level:
            self.drive_high()
        else:
            self.drive_low()


class ClockedMockFactory(MockFactory):
    """gpiozero's ``MockFactory`` with pins (:class:`SimPin`) timed on the kiosk ``clock``.

    ``on_change(pin, level, time)`` is called for every pin change (the ``gpio.csv`` recorder).
    ``revision`` picks the mock board: the default has BCM 0-27 like a real Pi.
    ``inputs_shut``: every pin starts with a shut switch against its pull (a bench without
    wiring, ``pin_factory = "mock"``: doors read shut instead of open).
    """

    def __init__(
        self,
        clock: Clock,
        revision: str = REVISION_40PIN,
        on_change: ChangeListener | None = None,
        *,
        inputs_shut: bool = False,
    ):
        self.clock = clock
        self.on_change = on_change
        self.inputs_shut = inputs_shut
        super().__init__(revision=revision, pin_class=SimPin)

    def ticks(self) -> float:  # gpiozero times events with this
        return self.clock.monotonic()


FACTORY_NAMES = ("", "lgpio", "rpigpio", "native", "mock")


def make_pin_factory(name: str, clock: Clock | None = None):
    """The gpiozero pin factory for ``[gpio] pin_factory``.

    ``""`` lets gpiozero choose (lgpio, then RPi.GPIO, then its native driver; a Pi 5 needs lgpio),
    ``"mock"`` is a :class:`ClockedMockFactory` on ``clock`` (a real :class:`Clock` if none).
    Raises :class:`GPIOError` when the library for the factory is missing or this is not a Pi.
    """
    try:
        if name == "mock":
            return ClockedMockFactory(clock or Clock(), inputs_shut=True)
        if name == "lgpio":
            from gpiozero.pins.lgpio import LGPIOFactory

            return LGPIOFactory()
        if name == "rpigpio":
            from gpiozero.pins.rpigpio import RPiGPIOFactory

            return RPiGPIOFactory()
        if name == "native":
            from gpiozero.pins.native import NativeFactory

            return NativeFactory()
        if name == "":
            from gpiozero import Device

            return Device._default_pin_factory()
    except ImportError as exc:
        raise GPIOError(f"pin factory {name or 'default'!r} is not available ({exc})") from None
    except Exception as exc:  # gpiozero raises a variety of errors off a Pi
        raise GPIOError(f"pin factory {name or 'default'!r} cannot start ({type(exc).__name__}: {exc})") from None
    raise GPIOError(f"unknown pin factory {name!r}; known: {', '.join(repr(n) for n in FACTORY_NAMES)}")
