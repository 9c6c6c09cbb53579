"""``arrival``: staff scan parcel after parcel; ``back`` to the menu, ``logout`` in the top bar."""

from __future__ import annotations

import pygame

from . import theme, widgets
from .view import Button, View


def render(surface: pygame.Surface, view: View, ctx: widgets.RenderContext) -> list[Button]:
    m, t = ctx.m, ctx.t
    content = widgets.chrome(surface, ctx, "arrival.title")
    body = content.inflate(-2 * m.pad, -2 * m.pad)
    left = pygame.Rect(body.x, body.y, body.width * 55 // 100, body.height)
    widgets.preview_box(surface, ctx, left)
    col = pygame.Rect(left.right + 2 * m.pad, body.y, body.right - left.right - 2 * m.pad, body.height)
    y = col.y
    y += widgets.paragraph(
        surface, ctx, t("arrival.hint"), pygame.Rect(col.x, y, col.width, m.px(110)), m.heading, bold=True
    )
    y += m.gap
    lh = ctx.fonts.line_height(m.body)
    widgets.text(
        surface,
        ctx,
        t("arrival.count", n=view.arrival_count),
        pygame.Rect(col.x, y, col.width, lh),
        m.body,
        theme.MUTED,
    )
    widgets.bottom_bar(surface, ctx, widgets.bottom_area(surface, ctx), [("back", t("btn.back"), "secondary")])
    return ctx.buttons
