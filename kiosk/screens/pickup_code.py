"""``pickup_code`` (r2): the 6-digit pickup code of the arrival notice, typed on a digit keypad
after the phone number or email (``View.entry_kind == "pickup_code"``, ``View.entry_text`` the
digits so far). ``confirm`` is enabled only once six digits are typed; ``back``; keys
``key:0``..``key:9``, ``key:clear``, ``key:backspace``."""

from __future__ import annotations

import pygame

from . import parts, theme, widgets
from .view import PICKUP_CODE_LENGTH, Button, View


def complete(view: View) -> bool:
    """Six ASCII digits typed: the code can be sent."""
    code = view.entry_text
    return len(code) == PICKUP_CODE_LENGTH and code.isascii() and code.isdigit()


def render(surface: pygame.Surface, view: View, ctx: widgets.RenderContext) -> list[Button]:
    m, t = ctx.m, ctx.t
    body = parts.screen_body(surface, ctx, "code.title")
    left, pad = parts.columns(body, body.width * 48 // 100, 2 * m.pad)
    hint_h = left.height * 45 // 100
    widgets.paragraph(surface, ctx, t("code.hint"), pygame.Rect(left.x, left.y, left.width, hint_h), m.body)
    boxes = pygame.Rect(left.x, left.y + hint_h + m.gap, left.width, m.px(64))
    _code_boxes(surface, ctx, boxes, view.entry_text[:PICKUP_CODE_LENGTH])
    sh = ctx.fonts.line_height(m.small)
    typed = min(len(view.entry_text), PICKUP_CODE_LENGTH)
    widgets.text(
        surface,
        ctx,
        t("code.digits", n=typed),
        pygame.Rect(left.x, boxes.bottom + m.px(6), left.width, sh),
        m.small,
        theme.MUTED,
        align="center",
    )
    widgets.keypad(surface, ctx, pad)
    area = widgets.bottom_area(surface, ctx)
    widgets.bottom_bar(surface, ctx, area, [("back", t("btn.back"), "secondary")])
    # confirm is drawn by hand: enabled only at six digits
    label = t("btn.confirm")
    bw, bh = widgets.button_width(ctx, label), m.button_h
    rect = pygame.Rect(area.right - m.pad - bw, area.centery - bh // 2, bw, bh)
    widgets.button(surface, ctx, "confirm", rect, label, "primary", enabled=complete(view))
    return ctx.buttons


def _code_boxes(surface: pygame.Surface, ctx: widgets.RenderContext, rect: pygame.Rect, code: str) -> None:
    """Six boxes, one digit each; the next one to fill is outlined in the accent colour."""
    m = ctx.m
    n = PICKUP_CODE_LENGTH
    gap = m.px(6)
    bw = min((rect.width - gap * (n - 1)) // n, rect.height)
    x = rect.centerx - (bw * n + gap * (n - 1)) // 2
    for i in range(n):
        box = pygame.Rect(x + i * (bw + gap), rect.y, bw, rect.height)
        pygame.draw.rect(surface, (255, 255, 255), box, border_radius=m.radius)
        if i == len(code):
            pygame.draw.rect(surface, theme.ACCENT, box, width=max(3, m.px(4)), border_radius=m.radius)
        if i < len(code):
            widgets.text(surface, ctx, code[i], box, m.heading, (0, 0, 0), bold=True, align="center")
