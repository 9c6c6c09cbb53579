"""``staff_menu``: ``arrival``, ``overdue``, ``returns`` and, at a counter, ``duty`` (the logged-in
member goes on duty, or ends their duty when they are the one on it); ``logout`` in the top bar."""

from __future__ import annotations

import pygame

from . import parts, theme, widgets
from .view import Button, View


def render(surface: pygame.Surface, view: View, ctx: widgets.RenderContext) -> list[Button]:
    m, t = ctx.m, ctx.t
    body = parts.screen_body(surface, ctx, "menu.title", bottom=False)
    lh = ctx.fonts.line_height(m.heading, True)
    hello = t("menu.hello", name=view.staff_name) if view.staff_name else t("menu.title")
    half = body.width // 2 if view.on_duty else body.width
    widgets.text(surface, ctx, hello, pygame.Rect(body.x, body.y, half, lh), m.heading, bold=True)
    if view.on_duty:
        duty = t("ind.on_duty", name=view.on_duty)
        widgets.text(
            surface, ctx, duty, pygame.Rect(body.x + half, body.y, half, lh), m.body, theme.MUTED, align="right"
        )
    y = body.y + lh + m.gap
    area = pygame.Rect(body.x, y, body.width, body.bottom - y)
    specs = [("arrival", "btn.arrival"), ("overdue", "btn.overdue"), ("returns", "btn.returns")]
    if view.mode == "counter":
        mine = bool(view.on_duty) and view.on_duty == view.staff_name
        specs.append(("duty", "btn.duty_end" if mine else "btn.duty"))
    cols = 2 if len(specs) == 4 else len(specs)
    rows = -(-len(specs) // cols)
    gap = 2 * m.pad
    bw = (area.width - gap * (cols - 1)) // cols
    bh = min((area.height - gap * (rows - 1)) // rows, m.px(180))
    top = area.centery - (bh * rows + gap * (rows - 1)) // 2
    for i, (bid, key) in enumerate(specs):
        r, c = divmod(i, cols)
        box = pygame.Rect(area.x + c * (bw + gap), top + r * (bh + gap), bw, bh)
        style = "secondary" if bid == "duty" else "primary"
        widgets.button(surface, ctx, bid, box, t(key), style, size=m.heading)
    return ctx.buttons
