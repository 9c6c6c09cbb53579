"""``done``: the pickup is complete; returns to ``idle`` by itself (countdown in the top bar)."""

from __future__ import annotations

import pygame

from . import parts, theme, widgets
from .view import Button, View


def render(surface: pygame.Surface, view: View, ctx: widgets.RenderContext) -> list[Button]:
    m, t = ctx.m, ctx.t
    body = parts.screen_body(surface, ctx, "done.title")
    r = min(body.height // 4, m.px(70))
    center, y = parts.badge(surface, body, theme.OK, r, m.px(6))
    lw = max(4, r // 5)
    pts = [
        (center[0] - r // 2, center[1]),
        (center[0] - r // 8, center[1] + r // 3),
        (center[0] + r // 2, center[1] - r // 3),
    ]
    pygame.draw.lines(surface, theme.FG, False, pts, lw)
    for pt in pts:  # round the joints
        pygame.draw.circle(surface, theme.FG, pt, lw // 2)
    y = parts.headline(surface, ctx, t("done.thanks"), body, y + m.px(18))
    if view.picked_up:
        parts.footnote(surface, ctx, t("done.items", numbers=", ".join(view.picked_up)), body, y)
    parts.actions(surface, ctx, right=["confirm"])
    return ctx.buttons
