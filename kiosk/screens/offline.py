"""``offline``: the backend cannot be reached; nothing opens. Leaves by itself when it answers."""

from __future__ import annotations

import math

import pygame

from . import parts, theme, widgets
from .view import Button, View


def render(surface: pygame.Surface, view: View, ctx: widgets.RenderContext) -> list[Button]:
    m, t = ctx.m, ctx.t
    content = widgets.chrome(surface, ctx, "offline.title", bottom=False)
    body = content.inflate(-4 * m.pad, -2 * m.pad)
    r = min(body.height // 5, m.px(64))
    center, y = parts.badge(surface, body, theme.WARN, r, m.px(10))
    # no signal: three arcs and a dot, crossed out
    lw = max(3, r // 9)
    cx, cy = center[0], center[1] + r // 3
    for k in (1, 2, 3):
        rr = r * k // 4
        arc = pygame.Rect(cx - rr, cy - rr, 2 * rr, 2 * rr)
        pygame.draw.arc(surface, theme.BG, arc, math.radians(45), math.radians(135), lw)
    pygame.draw.circle(surface, theme.BG, (cx, cy), lw)
    pygame.draw.line(
        surface, theme.BG, (center[0] - r // 2, center[1] + r // 2), (center[0] + r // 2, center[1] - r // 2), lw + 2
    )
    y = parts.headline(surface, ctx, t("offline.title"), body, y + m.px(24))
    y += widgets.paragraph(
        surface, ctx, t("offline.hint"), pygame.Rect(body.x, y, body.width, m.px(80)), m.body, align="center"
    )
    y += m.gap
    parts.footnote(surface, ctx, t("offline.ask"), body, y)
    return ctx.buttons
