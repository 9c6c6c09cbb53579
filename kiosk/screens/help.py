"""``help`` (r2): how pickup works at this kiosk (counter or locker, from ``View.mode``), where
the pickup code comes from (not shown when the store takes only the member barcode), and
``call_staff``; ``back``."""

from __future__ import annotations

import pygame

from . import parts, theme, widgets
from .view import Button, View


def steps(view: View) -> list[str]:
    """The catalogue keys of the numbered steps, for this kiosk."""
    find = "help.step_find_code_only" if view.member_code_only else "help.step_find"
    take = "help.step_locker" if view.mode == "locker" else "help.step_counter"
    return [find, take]


def render(surface: pygame.Surface, view: View, ctx: widgets.RenderContext) -> list[Button]:
    m, t = ctx.m, ctx.t
    body = parts.screen_body(surface, ctx, "help.title")
    lh = ctx.fonts.line_height(m.heading, True)
    mode = "help.mode_locker" if view.mode == "locker" else "help.mode_counter"
    widgets.text(surface, ctx, t(mode), pygame.Rect(body.x, body.y, body.width, lh), m.heading, theme.ACCENT, bold=True)
    y = body.y + lh + m.gap
    blocks = [(str(i), t(key)) for i, key in enumerate(steps(view), 1)]
    if not view.member_code_only:
        blocks.append(("?", t("help.code")))
    blocks.append(("!", t("help.staff")))
    gap = m.px(8)
    r = m.px(16)
    text_x = body.x + 2 * r + m.gap
    width = body.right - text_x
    size = _fitting_size(ctx, [s for _mark, s in blocks], width, body.bottom - y - gap * (len(blocks) - 1))
    lh = ctx.fonts.line_height(size)
    for mark, s in blocks:
        h = len(widgets.wrap(ctx, s, width, size)) * lh
        cy = y + lh // 2
        pygame.draw.circle(surface, theme.SECONDARY, (body.x + r, cy), r)
        widgets.text(surface, ctx, mark, pygame.Rect(body.x, cy - r, 2 * r, 2 * r), m.small, bold=True, align="center")
        widgets.paragraph(surface, ctx, s, pygame.Rect(text_x, y, width, h), size)
        y += h + gap
    parts.actions(surface, ctx, ["back"], ["call_staff"])
    return ctx.buttons


def _fitting_size(ctx: widgets.RenderContext, texts: list[str], width: int, height: int) -> int:
    """The largest type size (body size at most) at which every text, wrapped, fits ``height``."""
    size = ctx.m.body
    floor = ctx.m.px(16)
    while size > floor:
        lh = ctx.fonts.line_height(size)
        if sum(len(widgets.wrap(ctx, s, width, size)) * lh for s in texts) <= height:
            break
        size -= 1
    return size
