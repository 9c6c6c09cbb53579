"""``help`` (r2): how pickup works at this kiosk (counter or locker, from ``View.mode``), where
the pickup code comes from (not shown when the store takes only the member barcode), and
``call_staff``; ``back``."""

from __future__ import annotations

import pygame

from . import theme, widgets
from .view import Button, View


def steps(view: View) -> list[str]:
    """The catalogue keys of the numbered steps, for this kiosk."""
    find = "help.step_find_code_only" if view.member_code_only else "help.step_find"
    take = "help.step_locker" if view.mode == "locker" else "help.step_counter"
    return [find, take]


def render(surface: pygame.Surface, view: View, ctx: widgets.RenderContext) -> list[Button]:
    m, t = ctx.m, ctx.t
    content = widgets.chrome(surface, ctx, "help.title")
    body = content.inflate(-2 * m.pad, -2 * m.pad)
    lh = ctx.fonts.line_height(m.heading, True)
    mode = "help.mode_locker" if view.mode == "locker" else "help.mode_counter"
    widgets.text(surface, ctx, t(mode), pygame.Rect(body.x, body.y, body.width, lh), m.heading, theme.ACCENT, bold=True)
    y = body.y + lh + m.gap
    blocks = [(str(i), t(key)) for i, key in enumerate(steps(view), 1)]
    if not view.member_code_only:
        blocks.append(("?", t("help.code")))
    blocks.append(("!", t("help.staff")))
    avail = body.bottom - y
    share = (avail - m.px(6) * (len(blocks) - 1)) // len(blocks)
    r = min(m.px(20), share // 2)
    for mark, s in blocks:
        pygame.draw.circle(surface, theme.SECONDARY, (body.x + r, y + r + m.px(2)), r)
        widgets.text(
            surface, ctx, mark, pygame.Rect(body.x, y + m.px(2), 2 * r, 2 * r), m.small, bold=True, align="center"
        )
        text_x = body.x + 2 * r + m.gap
        widgets.paragraph(surface, ctx, s, pygame.Rect(text_x, y, body.right - text_x, share), m.body)
        y += share + m.px(6)
    widgets.bottom_bar(
        surface,
        ctx,
        widgets.bottom_area(surface, ctx),
        [("back", t("btn.back"), "secondary")],
        [("call_staff", t("btn.call_staff"), "primary")],
    )
    return ctx.buttons
