"""``order_detail``: one order; ``pickup`` hands it over on the customer's behalf, ``return``
starts a return with the reason picked (``reason:<key>``; the flow uses a default when none is
picked); ``back``, ``logout``."""

from __future__ import annotations

import pygame

from . import theme, widgets
from .view import Button, View


def render(surface: pygame.Surface, view: View, ctx: widgets.RenderContext) -> list[Button]:
    m, t = ctx.m, ctx.t
    content = widgets.chrome(surface, ctx, "detail.title")
    body = content.inflate(-2 * m.pad, -2 * m.pad)
    left = pygame.Rect(body.x, body.y, body.width * 58 // 100, body.height)
    d = view.detail
    if d is not None:
        items = [(t("field.number"), d.number)]
        if d.status:
            items.append((t("field.status"), t(f"status.{d.status}")))
        if d.customer_masked:
            items.append((t("field.customer"), d.customer_masked))
        if d.items:
            items.append((t("field.items"), ", ".join(d.items)))
        if d.arrived_at:
            items.append((t("field.arrived"), widgets.short_time(d.arrived_at)))
        if d.overdue_at:
            items.append((t("field.overdue_at"), widgets.short_time(d.overdue_at)))
        if d.locker_door is not None:
            items.append((t("field.door"), str(d.locker_door)))
        widgets.fields(surface, ctx, left, items, size=m.body)
    right = pygame.Rect(left.right + 2 * m.pad, body.y, body.right - left.right - 2 * m.pad, body.height)
    lh = ctx.fonts.line_height(m.body, True)
    widgets.text(
        surface, ctx, t("detail.reason"), pygame.Rect(right.x, right.y, right.width, lh), m.body, theme.MUTED, bold=True
    )
    reasons = view.return_reasons
    if reasons:
        gap = m.px(8)
        grid = pygame.Rect(right.x, right.y + lh + m.gap, right.width, right.height - lh - m.gap)
        bh = min(m.button_h, (grid.height - gap * (len(reasons) - 1)) // len(reasons))
        for i, key in enumerate(reasons):
            box = pygame.Rect(grid.x, grid.y + i * (bh + gap), grid.width, bh)
            chosen = key == view.return_reason
            label = ("✓ " if chosen else "") + t(f"reason.{key}")
            widgets.button(surface, ctx, f"reason:{key}", box, label, "selected" if chosen else "key", size=m.body)
    widgets.bottom_bar(
        surface,
        ctx,
        widgets.bottom_area(surface, ctx),
        [("back", t("btn.back"), "secondary")],
        [("return", t("btn.return"), "danger"), ("pickup", t("btn.pickup"), "primary")],
    )
    return ctx.buttons
