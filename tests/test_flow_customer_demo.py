"""The demo's window (issue 12): the simulated GPIO strip goes below the kiosk's screen, which
keeps its full size (800x480 stays 800x480, not 800x440)."""

from __future__ import annotations

import pygame
import pytest

from kiosk.app import App, Display, Hardware
from kiosk.assembly import event_queue
from kiosk.clock import SimClock
from kiosk.config import Config
from kiosk.gpio.sim import SimulatedGpio
from kiosk.screens.render import Renderer, sim_strip_height, window_size


@pytest.mark.parametrize("size", [(800, 480), (1280, 800)])
def test_the_kiosk_in_a_window_is_drawn_as_on_its_own_screen(size):
    pygame.init()
    clock = SimClock()
    window = window_size(size)
    assert window == (size[0], size[1] + sim_strip_height(size[1]))
    surface = pygame.Surface(window)
    surface.fill((255, 0, 255))
    renderer = Renderer()
    with SimulatedGpio(clock, doors=12) as gpio:
        app = App(
            Config(),
            clock=clock,
            events=event_queue(window=False),
            client=None,
            hardware=Hardware(sim=gpio),
            display=Display(surface, renderer, kiosk_size=size),
        )
        try:
            assert app.redraw(force=True)
            alone = renderer.draw(pygame.Surface(size), app.view, now=1.0)  # the kiosk's own screen
            assert [b.rect for b in app.buttons] == [b.rect for b in alone]
            # nothing of the window is left undrawn: kiosk above, strip below
            strip = surface.subsurface(pygame.Rect(0, size[1], window[0], window[1] - size[1]))
            kiosk = surface.subsurface(pygame.Rect(0, 0, *size))
            for part in (strip, kiosk):
                w, h = part.get_size()
                colours = {part.get_at((x, y))[:3] for x in range(0, w, 7) for y in range(0, h, 5)}
                assert (255, 0, 255) not in colours
        finally:
            app.close()


def test_run_demo_opens_the_window_for_kiosk_and_strip(monkeypatch):
    import argparse

    from kiosk import app as app_mod
    from kiosk import demo

    seen = {}

    def run(self):
        self.redraw(force=True)
        seen["window"] = self.surface.get_size()
        seen["kiosk"] = self.kiosk_size
        seen["bottom"] = max(b.rect[1] + b.rect[3] for b in self.buttons)
        return 0

    monkeypatch.setattr(app_mod.App, "run", run)
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    args = argparse.Namespace(headless=True, scenario=None, mode="locker", size="800x480", config=None, lang=None)
    assert demo.run_demo(args) == 0
    assert seen["kiosk"] == (800, 480)
    assert seen["window"] == window_size((800, 480))
    assert seen["bottom"] <= 480
