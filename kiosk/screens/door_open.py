"""``door_open`` (locker): the unlocked door number(s) very big, each door's state, ``retry``."""

from __future__ import annotations

import pygame

from . import parts, theme, widgets
from .view import Button, View


def render(surface: pygame.Surface, view: View, ctx: widgets.RenderContext) -> list[Button]:
    m, t = ctx.m, ctx.t
    n = len(view.doors)
    title = "door.title_many" if n > 1 else "door.title"
    body = parts.screen_body(surface, ctx, title, n=n)
    lh = ctx.fonts.line_height(m.body)
    hint = t("door.not_opened") if view.retry_allowed else t("door.hint")
    widgets.text(surface, ctx, hint, pygame.Rect(body.x, body.y, body.width, lh), m.body, bold=True, align="center")
    area = pygame.Rect(body.x, body.y + lh + m.gap, body.width, body.height - lh - m.gap)
    if n:
        gap = m.px(16)
        bw = min((area.width - gap * (n - 1)) // n, int(area.height * 1.3))
        total = bw * n + gap * (n - 1)
        x = area.centerx - total // 2
        for door in view.doors:
            _door_box(surface, ctx, pygame.Rect(x, area.y, bw, area.height), door.number, door.state)
            x += bw + gap
    parts.actions(surface, ctx, ["help"], ["retry"] if view.retry_allowed else [])
    return ctx.buttons


def _door_box(surface: pygame.Surface, ctx: widgets.RenderContext, rect: pygame.Rect, number: int, state: str) -> None:
    m, t = ctx.m, ctx.t
    color = theme.DOOR_COLORS.get(state, theme.ACCENT)
    parts.framed(surface, ctx, rect, color, max(3, m.px(6)))
    cap_h = ctx.fonts.line_height(m.heading, True)
    state_h = ctx.fonts.line_height(m.body, True)
    num_area = pygame.Rect(rect.x, rect.y + m.px(12), rect.width, rect.height - cap_h - state_h - m.px(20))
    widgets.big_number(surface, ctx, str(number), num_area.inflate(-2 * m.px(16), -2 * m.px(6)), theme.ACCENT)
    cap = pygame.Rect(rect.x, num_area.bottom, rect.width, cap_h)
    parts.door_caption(surface, ctx, number, cap, m.px(6))
    srect = pygame.Rect(rect.x, rect.bottom - state_h - m.px(8), rect.width, state_h)
    widgets.text(
        surface, ctx, t(f"door.state.{state}"), srect.inflate(-2 * m.px(6), 0), m.body, color, bold=True, align="center"
    )
