"""Colours and sizes. High contrast (white on near-black, WCAG AA or better), large type.

Every size scales with the surface: :class:`Metrics` takes the drawing area and derives the unit
``u`` (1.0 at 800x480), so the same layout works from 800x480 to 1920x1080.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

Color = tuple[int, int, int]

BG: Color = (14, 18, 26)
PANEL: Color = (30, 36, 48)
BAR: Color = (22, 27, 38)
FG: Color = (255, 255, 255)
MUTED: Color = (196, 204, 216)  # 11:1 on BG
ACCENT: Color = (255, 200, 40)  # focus ring, big door numbers
PRIMARY: Color = (0, 90, 190)  # white text on it: 7:1
PRIMARY_FG: Color = (255, 255, 255)
SECONDARY: Color = (62, 72, 92)
DANGER: Color = (190, 30, 40)
OK: Color = (0, 125, 60)
WARN: Color = (214, 120, 0)
WARN_FG: Color = (0, 0, 0)
DISABLED: Color = (52, 56, 64)
DISABLED_FG: Color = (150, 156, 166)
SELECTED: Color = (0, 70, 150)
OVERDUE: Color = (215, 40, 50)

LEVEL_COLORS: dict[str, tuple[Color, Color]] = {  # banner background, text
    "info": (PRIMARY, FG),
    "ok": (OK, FG),
    "warn": (WARN, WARN_FG),
    "error": (DANGER, FG),
}
STYLE_COLORS: dict[str, tuple[Color, Color]] = {  # button styles: background, text
    "primary": (PRIMARY, PRIMARY_FG),
    "secondary": (SECONDARY, FG),
    "danger": (DANGER, FG),
    "ok": (OK, FG),
    "key": ((48, 56, 72), FG),
    "selected": (SELECTED, FG),
}

DOOR_COLORS: dict[str, Color] = {
    "unlocked": ACCENT,
    "open": (40, 190, 100),
    "locked": (120, 128, 140),
    "not_opened": OVERDUE,
}
LED_COLORS: dict[str, Color] = {
    "green": (40, 220, 90),
    "red": (235, 50, 50),
    "yellow": (250, 210, 40),
    "amber": (255, 170, 0),
    "blue": (60, 140, 255),
    "white": (240, 240, 240),
    "r": (235, 50, 50),
    "g": (40, 220, 90),
    "b": (60, 140, 255),
}

BASE_W, BASE_H = 800, 480


@dataclass(frozen=True)
class Metrics:
    """Sizes for one drawing area of ``w`` x ``h`` pixels."""

    w: int
    h: int

    @cached_property
    def u(self) -> float:
        return min(self.w / BASE_W, self.h / BASE_H)

    def px(self, n: float) -> int:
        return max(1, round(n * self.u))

    # type sizes (pixels)
    @property
    def title(self) -> int:
        return self.px(30)

    @property
    def heading(self) -> int:
        return self.px(36)

    @property
    def body(self) -> int:
        return self.px(26)

    @property
    def small(self) -> int:
        return self.px(20)

    @property
    def button(self) -> int:
        return self.px(26)

    # layout (pixels)
    @property
    def pad(self) -> int:
        return self.px(12)

    @property
    def gap(self) -> int:
        return self.px(10)

    @property
    def top_bar(self) -> int:
        return self.px(58)

    @property
    def bottom_bar(self) -> int:
        return self.px(80)

    @property
    def banner(self) -> int:
        return self.px(50)

    @property
    def button_h(self) -> int:
        return self.px(62)

    @property
    def radius(self) -> int:
        return self.px(10)

    @property
    def focus_width(self) -> int:
        return max(3, self.px(5))
