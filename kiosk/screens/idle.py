"""``idle``: camera preview to aim the member barcode; phone/email look-up unless member-code-only
(then a line says that only the app's member barcode works); ``help``."""

from __future__ import annotations

import pygame

from . import parts, theme, widgets
from .view import Button, View


def render(surface: pygame.Surface, view: View, ctx: widgets.RenderContext) -> list[Button]:
    m, t = ctx.m, ctx.t
    body = parts.screen_body(surface, ctx, "app.title", bottom=False)
    left, col = parts.columns(body, body.width * 55 // 100, 2 * m.pad)
    widgets.preview_box(surface, ctx, left)
    y = col.y
    lh = ctx.fonts.line_height(m.heading, True)
    widgets.text(surface, ctx, t("idle.title"), pygame.Rect(col.x, y, col.width, lh), m.heading, bold=True)
    y += lh + m.gap
    # without a camera, do not ask to aim at it: the scanner, or the staff
    hint = t("idle.hint") if view.camera_ok else t("idle.hint_no_camera")
    y += widgets.paragraph(surface, ctx, hint, pygame.Rect(col.x, y, col.width, m.px(100)), m.body) + m.gap
    bh = m.button_h
    bottom = col.bottom
    # bottom-up: staff hint, help, look-up buttons
    sh = ctx.fonts.line_height(m.small)
    widgets.text(
        surface, ctx, t("idle.staff_hint"), pygame.Rect(col.x, bottom - sh, col.width, sh), m.small, theme.MUTED
    )
    bottom -= sh + m.gap
    hw = widgets.button_width(ctx, t("btn.help"), 110)
    widgets.button(surface, ctx, "help", pygame.Rect(col.x, bottom - bh, hw, bh), t("btn.help"), "secondary")
    bottom -= bh + m.gap
    if not view.member_code_only:
        for bid in ("lookup_email", "lookup_phone"):
            widgets.button(
                surface, ctx, bid, pygame.Rect(col.x, bottom - bh, col.width, bh), t(f"btn.{bid}"), "primary"
            )
            bottom -= bh + m.gap
        alt_h = ctx.fonts.line_height(m.small)
        if bottom - alt_h >= y:
            widgets.text(
                surface, ctx, t("idle.alt"), pygame.Rect(col.x, bottom - alt_h, col.width, alt_h), m.small, theme.MUTED
            )
    elif bottom - y > ctx.fonts.line_height(m.body):
        # no phone/email buttons, and no empty gap: say that only the member barcode works
        widgets.paragraph(
            surface, ctx, t("idle.code_only"), pygame.Rect(col.x, y, col.width, bottom - y), m.body, theme.ACCENT,
            bold=True, valign="center",
        )  # fmt: skip
    return ctx.buttons
