"""Draw a :class:`~kiosk.screens.view.View` onto any pygame surface; decide when to redraw.

``Renderer(fonts).draw(surface, view, now=..., preview=frame, sim=snapshot) -> list[Button]``
draws the whole screen (plus, when ``sim`` is given, a strip with the simulated LEDs, buzzer and
doors) and returns the hit targets in surface coordinates. Drawing never changes the view.

The strip takes its room from the bottom of the surface, unless ``kiosk_size`` is given: then
the kiosk is drawn at exactly that size in the top-left corner and the strip below it, so a demo
window of :func:`window_size` (kiosk size plus the strip) shows the kiosk at its real size.

Redraw rule (an idle kiosk must cost little CPU): call :func:`needs_redraw` each loop turn; it
is true when the View changed, or while ``view.busy`` at :data:`BUSY_FPS` for the animation.
The camera preview is refreshed separately and cheaply with ``Renderer.draw_preview(surface,
frame)``, which repaints only the preview box (returns its rect for ``display.update(rect)``).
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

import pygame

from . import theme, widgets
from .fonts import Fonts
from .i18n import catalogue
from .view import SCREENS, Button, View

logger = logging.getLogger(__name__)

BUSY_FPS = 12.0  # frames a second of the progress animation
BUSY_INTERVAL = 1.0 / BUSY_FPS
PREVIEW_FPS = 10.0  # suggested rate of preview refreshes on scanning screens


def needs_redraw(prev: View | None, view: View, now: float, last_drawn: float) -> bool:
    """True when the screen must be drawn again: a new/changed View, or the busy animation is due."""
    if prev is None or prev != view:
        return True
    return view.busy and now - last_drawn >= BUSY_INTERVAL


def next_redraw_in(view: View, now: float, last_drawn: float) -> float | None:
    """Seconds until the next redraw is due without any change (None: not before something changes)."""
    if view.busy:
        return max(0.0, last_drawn + BUSY_INTERVAL - now)
    return None


def sim_strip_height(kiosk_height: int) -> int:
    """The height of the simulated-hardware strip for a kiosk screen this tall."""
    return max(36, kiosk_height // 12)


def window_size(kiosk_size: tuple[int, int]) -> tuple[int, int]:
    """A demo window holding the kiosk screen at ``kiosk_size`` with the strip below it."""
    w, h = kiosk_size
    return (w, h + sim_strip_height(h))


_MODULES = {name: importlib.import_module(f"kiosk.screens.{name}") for name in SCREENS}


class Renderer:
    """Draws Views. One per display; keeps the fonts and where the last preview box went."""

    def __init__(self, fonts: Fonts | None = None, *, font_path: str = ""):
        self.fonts = fonts if fonts is not None else Fonts.find(font_path)
        self.preview_rect: pygame.Rect | None = None  # surface coordinates, None when not shown
        self.last_buttons: list[Button] = []
        self.last_overflows: list[str] = []
        self.last_drawn: list[str] = []
        # rows one page of the drawn list holds (orders/overdue; None elsewhere): the app passes
        # it on to the flow (flow.PageRows), which keeps its page index within the pages
        self.last_page_rows: int | None = None
        self._last_view: View | None = None

    def draw(
        self,
        surface: pygame.Surface,
        view: View,
        *,
        now: float = 0.0,
        preview: Any = None,
        sim: dict | None = None,
        kiosk_size: tuple[int, int] | None = None,
    ) -> list[Button]:
        """Draw ``view`` on ``surface``; returns the buttons (surface coordinates).

        ``kiosk_size``: draw the kiosk at this size (top-left) and the ``sim`` strip in the room
        below it (see :func:`window_size`); default: the strip takes the bottom of the surface."""
        area = surface.get_rect()
        if kiosk_size is not None:
            area = pygame.Rect(0, 0, min(kiosk_size[0], area.width), min(kiosk_size[1], area.height))
            below = pygame.Rect(0, area.height, surface.get_width(), surface.get_height() - area.height)
            if below.height > 0:
                if sim is not None:
                    draw_sim_panel(surface, self.fonts, below, sim)
                else:
                    surface.fill(theme.BG, below)
        elif sim is not None:
            strip_h = sim_strip_height(area.height)
            area = pygame.Rect(0, 0, area.width, area.height - strip_h)
            draw_sim_panel(surface, self.fonts, pygame.Rect(0, area.height, area.width, strip_h), sim)
        sub = surface.subsurface(area)
        ctx = widgets.RenderContext(
            fonts=self.fonts,
            t=catalogue(view.lang),
            m=theme.Metrics(area.width, area.height),
            view=view,
            now=now,
            preview=preview,
        )
        buttons = _MODULES[view.screen].render(sub, view, ctx)
        if ctx.preview_rect is not None:
            ox, oy = sub.get_abs_offset()
            self.preview_rect = ctx.preview_rect.move(ox, oy)
        else:
            self.preview_rect = None
        self._last_view = view
        self.last_buttons = list(buttons)
        self.last_overflows = ctx.overflows
        self.last_drawn = ctx.drawn
        self.last_page_rows = ctx.page_rows
        if ctx.overflows:
            logger.debug("event=text_overflow screen=%s count=%d", view.screen, len(ctx.overflows))
        return self.last_buttons

    def draw_preview(self, surface: pygame.Surface, frame: Any) -> pygame.Rect | None:
        """Repaint only the preview box of the last drawn screen with ``frame``; its rect, or None."""
        if self.preview_rect is None or self._last_view is None or frame is None:
            return None
        ctx = widgets.RenderContext(
            fonts=self.fonts,
            t=catalogue(self._last_view.lang),
            m=theme.Metrics(*surface.get_size()),
            view=self._last_view,
        )
        widgets.draw_preview_frame(surface, ctx, self.preview_rect, frame)
        return self.preview_rect


def draw_sim_panel(surface: pygame.Surface, fonts: Fonts, rect: pygame.Rect, snapshot: dict) -> None:
    """The simulated hardware strip: LEDs (lit/unlit), the buzzer, and every door's state.

    ``snapshot`` = ``{"leds": {"green": True, ...}, "buzzer": bool, "doors": {1: "locked", ...}}``
    (any part may be missing).
    """
    pygame.draw.rect(surface, (8, 10, 14), rect)
    pygame.draw.line(surface, theme.SECONDARY, rect.topleft, rect.topright, 2)
    h = rect.height
    r = max(5, h // 4)
    x = rect.x + h // 2
    cy = rect.centery
    small = max(10, h * 4 // 10)
    for name, on in (snapshot.get("leds") or {}).items():
        color = theme.LED_COLORS.get(str(name), theme.FG)
        if on:
            pygame.draw.circle(surface, color, (x, cy), r)
        else:
            pygame.draw.circle(surface, tuple(c // 4 for c in color), (x, cy), r)
            pygame.draw.circle(surface, color, (x, cy), r, 2)
        x += 2 * r + 4
        label = fonts.text(str(name), small, theme.MUTED)
        surface.blit(label, (x, cy - label.get_height() // 2))
        x += label.get_width() + r * 2
    if "buzzer" in snapshot:
        on = bool(snapshot.get("buzzer"))
        color = theme.WARN if on else theme.DISABLED_FG
        label = fonts.text("♪ buzzer" if on else "buzzer", small, color, bold=on)
        surface.blit(label, (x, cy - label.get_height() // 2))
        x += label.get_width() + r * 2
    doors = snapshot.get("doors") or {}
    if doors:
        n = len(doors)
        avail = rect.right - x - 8
        bw = max(14, min(h * 2, (avail - 4 * (n - 1)) // n))
        bh = h - 10
        for number, state in sorted(doors.items(), key=lambda kv: int(kv[0])):
            if x + bw > rect.right:
                break
            box = pygame.Rect(x, rect.y + 5, bw, bh)
            color = theme.DOOR_COLORS.get(str(state), theme.FG)
            if state == "locked":
                pygame.draw.rect(surface, color, box, width=2, border_radius=4)
            else:
                pygame.draw.rect(surface, color, box, border_radius=4)
            fg = theme.FG if state == "locked" else (0, 0, 0)
            label = fonts.text(str(number), min(small, bh - 4), fg, bold=True)
            surface.blit(label, label.get_rect(center=box.center))
            x += bw + 4
