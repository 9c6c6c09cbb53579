"""``scan_package`` (counter): the parcel of ``current_order`` is scanned at hand-over."""

from __future__ import annotations

import pygame

from . import theme, widgets
from .view import Button, View


def render(surface: pygame.Surface, view: View, ctx: widgets.RenderContext) -> list[Button]:
    m, t = ctx.m, ctx.t
    content = widgets.chrome(surface, ctx, "scan.title")
    body = content.inflate(-2 * m.pad, -2 * m.pad)
    left = pygame.Rect(body.x, body.y, body.width * 55 // 100, body.height)
    widgets.preview_box(surface, ctx, left)
    col = pygame.Rect(left.right + 2 * m.pad, body.y, body.right - left.right - 2 * m.pad, body.height)
    y = col.y
    if view.current_order:
        lh = ctx.fonts.line_height(m.heading, True)
        widgets.text(
            surface, ctx, view.current_order, pygame.Rect(col.x, y, col.width, lh), m.heading, theme.ACCENT, bold=True
        )
        y += lh + m.gap
    hint = t("scan.hint", number=view.current_order) if view.current_order else t("scan.title")
    y += widgets.paragraph(surface, ctx, hint, pygame.Rect(col.x, y, col.width, m.px(120)), m.body) + m.gap
    if view.member_masked:
        lh = ctx.fonts.line_height(m.body)
        widgets.text(surface, ctx, view.member_masked, pygame.Rect(col.x, y, col.width, lh), m.body, theme.MUTED)
        y += lh + m.gap
    if view.picked_up:
        lh = ctx.fonts.line_height(m.body)
        done = t("scan.progress", done=len(view.picked_up))
        widgets.text(surface, ctx, done, pygame.Rect(col.x, y, col.width, lh), m.body, theme.MUTED)
    widgets.bottom_bar(surface, ctx, widgets.bottom_area(surface, ctx), [("cancel", t("btn.cancel"), "secondary")])
    return ctx.buttons
