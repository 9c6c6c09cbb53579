"""``staff_login``: the badge was scanned; the PIN is typed on the keypad (dots only).

Buttons: ``key:0``..``key:9``, ``key:clear``, ``key:backspace``, ``confirm``, ``cancel``. Nobody is
logged in yet here, so there is no ``logout`` (``cancel`` leaves) unless ``View.staff_name`` is
set. The dots are the digits typed (``pin_length``), not a fixed six.
"""

from __future__ import annotations

import pygame

from . import parts, theme, widgets
from .view import Button, View


def render(surface: pygame.Surface, view: View, ctx: widgets.RenderContext) -> list[Button]:
    m, t = ctx.m, ctx.t
    body = parts.screen_body(surface, ctx, "login.title")
    left, pad = parts.columns(body, body.width * 45 // 100, 2 * m.pad)
    lh = ctx.fonts.line_height(m.heading, True)
    y = left.y + left.height // 2 - lh - m.px(30)
    widgets.text(
        surface, ctx, t("login.pin_hint"), pygame.Rect(left.x, y, left.width, lh), m.heading, bold=True, align="center"
    )
    dots = pygame.Rect(left.x, y + lh + m.px(10), left.width, m.px(50))
    pygame.draw.rect(surface, theme.PANEL, dots, border_radius=m.radius)
    widgets.pin_dots(surface, ctx, dots.inflate(-m.px(10), -m.px(10)), view.pin_length)
    widgets.keypad(surface, ctx, pad)
    parts.actions(surface, ctx, ["cancel"], ["confirm"])
    return ctx.buttons
