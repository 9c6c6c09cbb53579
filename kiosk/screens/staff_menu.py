"""``staff_menu``: ``arrival`` and ``overdue``; ``logout`` in the top bar."""

from __future__ import annotations

import pygame

from . import widgets
from .view import Button, View


def render(surface: pygame.Surface, view: View, ctx: widgets.RenderContext) -> list[Button]:
    m, t = ctx.m, ctx.t
    content = widgets.chrome(surface, ctx, "menu.title", bottom=False)
    body = content.inflate(-2 * m.pad, -2 * m.pad)
    lh = ctx.fonts.line_height(m.heading, True)
    hello = t("menu.hello", name=view.staff_name) if view.staff_name else t("menu.title")
    widgets.text(surface, ctx, hello, pygame.Rect(body.x, body.y, body.width, lh), m.heading, bold=True)
    y = body.y + lh + m.gap
    area = pygame.Rect(body.x, y, body.width, body.bottom - y)
    bh = min(area.height - m.pad, m.px(180))
    bw = (area.width - 2 * m.pad) // 2
    by = area.centery - bh // 2
    widgets.button(
        surface, ctx, "arrival", pygame.Rect(area.x, by, bw, bh), t("btn.arrival"), "primary", size=m.heading
    )
    widgets.button(
        surface,
        ctx,
        "overdue",
        pygame.Rect(area.x + bw + 2 * m.pad, by, bw, bh),
        t("btn.overdue"),
        "primary",
        size=m.heading,
    )
    return ctx.buttons
