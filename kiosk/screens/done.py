"""``done``: the pickup is complete; returns to ``idle`` by itself (countdown in the top bar)."""

from __future__ import annotations

import pygame

from . import theme, widgets
from .view import Button, View


def render(surface: pygame.Surface, view: View, ctx: widgets.RenderContext) -> list[Button]:
    m, t = ctx.m, ctx.t
    content = widgets.chrome(surface, ctx, "done.title")
    body = content.inflate(-2 * m.pad, -2 * m.pad)
    r = min(body.height // 4, m.px(70))
    center = (body.centerx, body.y + r + m.px(6))
    pygame.draw.circle(surface, theme.OK, center, r)
    lw = max(4, r // 5)
    pts = [
        (center[0] - r // 2, center[1]),
        (center[0] - r // 8, center[1] + r // 3),
        (center[0] + r // 2, center[1] - r // 3),
    ]
    pygame.draw.lines(surface, theme.FG, False, pts, lw)
    for pt in pts:  # round the joints
        pygame.draw.circle(surface, theme.FG, pt, lw // 2)
    y = body.y + 2 * r + m.px(18)
    lh = ctx.fonts.line_height(m.heading, True)
    widgets.text(
        surface, ctx, t("done.thanks"), pygame.Rect(body.x, y, body.width, lh), m.heading, bold=True, align="center"
    )
    y += lh + m.gap
    if view.picked_up:
        items = t("done.items", numbers=", ".join(view.picked_up))
        widgets.paragraph(
            surface,
            ctx,
            items,
            pygame.Rect(body.x, y, body.width, body.bottom - y),
            m.body,
            theme.MUTED,
            align="center",
        )
    widgets.bottom_bar(surface, ctx, widgets.bottom_area(surface, ctx), [], [("confirm", t("btn.confirm"), "primary")])
    return ctx.buttons
