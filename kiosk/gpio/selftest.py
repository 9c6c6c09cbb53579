"""GPIO checks for ``pickup-kiosk selftest``: claim every pin once, and pulse every door.

``check_pins`` claims the LED, buzzer, relay and sensor pins of the config through the configured
pin factory and releases them again (relays stay off throughout), so a wrong pin factory, a pin
another process holds or a bad pin number shows up before the kiosk starts.
``pulse_all_doors`` is ``selftest --doors``: every door's relay, one after another, for a
technician walking along the bank.
"""

from __future__ import annotations

import logging

from kiosk.clock import Clock
from kiosk.config import Config
from kiosk.errors import KioskError
from kiosk.gpio.indicators import Indicators
from kiosk.gpio.lockers import LockerBank
from kiosk.gpio.pins import make_pin_factory
from kiosk.gpio.recorder import pin_roles
from kiosk.journal import log_event

logger = logging.getLogger(__name__)


def describe_pins(config: Config) -> list[str]:
    """``"BCM 17 led:green"`` lines for every configured pin, by pin number."""
    roles = pin_roles(config.gpio, config.locker)
    return [f"BCM {pin} {role.name}" for pin, role in sorted(roles.items())]


def check_pins(config: Config, *, pin_factory=None, clock: Clock | None = None) -> list[str]:
    """Claim and release every configured pin; return the problems (empty: all pins usable).

    ``pin_factory``: None makes the one ``[gpio] pin_factory`` names.
    """
    own_clock = clock is None
    clock = clock or Clock()
    problems: list[str] = []
    try:
        if pin_factory is None:
            pin_factory = make_pin_factory(config.gpio.pin_factory, clock)
        try:
            Indicators(config.gpio, clock=clock, pin_factory=pin_factory).close()
        except KioskError as exc:
            problems.append(str(exc))
        if config.locker.door:
            try:
                LockerBank(config.locker, clock=clock, pin_factory=pin_factory).close()
            except KioskError as exc:
                problems.append(str(exc))
    except KioskError as exc:
        problems.append(str(exc))
    finally:
        if own_clock:
            clock.close()
    return problems


def pulse_all_doors(bank: LockerBank, *, wait: bool = True, timeout: float | None = None) -> list[int]:
    """Unlock every door of ``bank`` in number order (pulses queue, one relay at a time).

    With a real clock and ``wait`` this returns once the last relay is released (or after
    ``timeout`` real seconds); with a SimClock it returns at once and the caller advances time.
    Returns the doors pulsed.
    """
    doors = list(bank.doors)
    for number in doors:
        bank.unlock(number)
    log_event(logger, "selftest_pulse_all", doors=len(doors))
    if wait and not getattr(bank.clock, "simulated", False):
        limit = timeout if timeout is not None else len(doors) * (bank.pulse + bank.gap) + 5.0
        if not bank.wait_idle(limit):
            log_event(logger, "selftest_pulse_timeout", logging.WARNING, waited=limit)
    return doors
