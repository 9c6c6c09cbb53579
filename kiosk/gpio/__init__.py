"""Indicators (LEDs, buzzer) and lockers (relays, door sensors, safety rules) on gpiozero.

Every device takes an injectable gpiozero ``pin_factory`` and the kiosk clock; see
``docs/wiring.md`` for the real pins and :mod:`kiosk.gpio.sim` for the simulated ones.
"""

from kiosk.gpio.indicators import PATTERNS, Indicators
from kiosk.gpio.lockers import EVENT_KINDS, LOCKED, MAX_PULSE, OPEN, PULSE_GAP, UNLOCKED, LockerBank
from kiosk.gpio.pins import ClockedMockFactory, SimPin, make_pin_factory
from kiosk.gpio.recorder import GpioRecorder, check_gpio_csv, read_gpio_csv, relay_pulses
from kiosk.gpio.sim import SimulatedGpio, simulated_sections

__all__ = [
    "EVENT_KINDS",
    "LOCKED",
    "MAX_PULSE",
    "OPEN",
    "PATTERNS",
    "PULSE_GAP",
    "UNLOCKED",
    "ClockedMockFactory",
    "GpioRecorder",
    "Indicators",
    "LockerBank",
    "SimPin",
    "SimulatedGpio",
    "check_gpio_csv",
    "make_pin_factory",
    "read_gpio_csv",
    "relay_pulses",
    "simulated_sections",
]
