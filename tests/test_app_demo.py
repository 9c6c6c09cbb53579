"""The demo's keys: F-keys show demo codes to the synthetic camera, F12 unplugs it, Ctrl+F-keys
open and close door sensors; typed characters are left to the keypad."""

from __future__ import annotations

import pygame

from kiosk.camera.sources import SyntheticSource
from kiosk.clock import SimClock
from kiosk.demo import DEMO_CODES, _keys, key_help
from kiosk.gpio.sim import SimulatedGpio


class _Scanner:
    def __init__(self):
        self.woken = 0

    def wake(self):
        self.woken += 1


class _App:
    def __init__(self):
        self.posted = []
        self.camera = type("C", (), {"scanner": _Scanner()})()

    def post(self, event):
        self.posted.append(event)


def _key(key, mod=0, unicode=""):
    return pygame.event.Event(pygame.KEYDOWN, key=key, mod=mod, unicode=unicode)


def test_demo_keys():
    clock = SimClock()
    source = SyntheticSource(320, 240)
    with SimulatedGpio(clock, doors=12) as gpio:
        app = _App()
        hook = _keys(app, app.camera, source, gpio)
        assert hook(_key(pygame.K_F1)) is True
        assert source.pending
        assert app.camera.scanner.woken == 1
        assert hook(_key(pygame.K_F2, pygame.KMOD_LCTRL)) is True
        assert gpio.bank.sensor_open(2) is True
        assert hook(_key(pygame.K_F2, pygame.KMOD_LCTRL)) is True
        assert gpio.bank.sensor_open(2) is False
        assert hook(_key(pygame.K_F12)) is True
        assert not source.plugged
        assert hook(_key(pygame.K_F12)) is True
        assert source.plugged
        assert hook(_key(pygame.K_2, unicode="2")) is False  # digits go to the keypad
        assert hook(_key(pygame.K_a, unicode="a")) is False


def test_key_help_lists_every_key():
    text = key_help()
    for n in DEMO_CODES:
        assert f"  F{n} " in text
    assert "  F12 " in text
    assert "Ctrl+F1..F12" in text


def test_pygame_is_imported_without_pkg_resources_which_still_imports_afterwards():
    """kiosk.assembly.import_pygame (run and demo): pygame works (its default font is found
    without pkg_resources), pkg_resources is not loaded, and a later import of it is not blocked."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from kiosk.assembly import import_pygame\n"
        "pygame = import_pygame()\n"
        "pygame.font.init()\n"
        "assert pygame.font.Font(None, 20).size('x')[0] > 0\n"
        "print('pkg_resources' in sys.modules)\n"
        "print(sys.modules.get('pkg_resources', 'absent') is None)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == ["False", "False"]
