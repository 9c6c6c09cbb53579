"""``arrival``: staff scan parcel after parcel; ``back`` to the menu, ``logout`` in the top bar."""

from __future__ import annotations

import pygame

from . import parts, theme, widgets
from .view import Button, View


def render(surface: pygame.Surface, view: View, ctx: widgets.RenderContext) -> list[Button]:
    m, t = ctx.m, ctx.t
    col, y = parts.scan_layout(surface, ctx, "arrival.title", 55, t("arrival.hint"), 110)
    lh = ctx.fonts.line_height(m.body)
    widgets.text(
        surface,
        ctx,
        t("arrival.count", n=view.arrival_count),
        pygame.Rect(col.x, y, col.width, lh),
        m.body,
        theme.MUTED,
    )
    parts.actions(surface, ctx, ["back"])
    return ctx.buttons
