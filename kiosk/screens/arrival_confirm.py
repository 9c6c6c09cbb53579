"""``arrival_confirm``: the scanned parcel's order (number, masked customer, items), the door to
load at a locker, and the receiving-staff picker (``staff:<id>``) when commission is enabled.
``cancel`` and ``confirm``; ``logout`` in the top bar."""

from __future__ import annotations

import pygame

from . import parts, theme, widgets
from .view import Button, View


def render(surface: pygame.Surface, view: View, ctx: widgets.RenderContext) -> list[Button]:
    m, t = ctx.m, ctx.t
    body = parts.screen_body(surface, ctx, "confirm.title")
    picker = view.commission_enabled and bool(view.staff_choices)
    left = pygame.Rect(body.x, body.y, body.width * 55 // 100 if picker else body.width, body.height)
    d = view.detail
    y = left.y
    if d is None:
        y += widgets.paragraph(
            surface, ctx, t("confirm.no_details"), pygame.Rect(left.x, y, left.width, m.px(90)), m.body, theme.ACCENT
        )
    else:
        items = parts.order_fields(ctx, d, "customer", "items", "status")
        y += widgets.fields(surface, ctx, pygame.Rect(left.x, y, left.width, left.height * 6 // 10), items)
    door = d.locker_door if d is not None else None
    if door is None and view.doors:  # offline: no order details, but the kiosk chose a door
        door = view.doors[0].number
    if door is not None:
        rest = pygame.Rect(left.x, y + m.gap, left.width, left.bottom - y - m.gap)
        parts.framed(surface, ctx, rest, theme.ACCENT, max(3, m.px(4)))
        widgets.text(
            surface,
            ctx,
            t("confirm.door", door=door),
            rest.inflate(-2 * m.pad, -m.pad),
            m.px(48),
            theme.ACCENT,
            bold=True,
            align="center",
        )
    if picker:
        right = parts.columns(body, left.width, 2 * m.pad)[1]
        lh = ctx.fonts.line_height(m.body, True)
        widgets.text(
            surface,
            ctx,
            t("confirm.receiver"),
            pygame.Rect(right.x, right.y, right.width, lh),
            m.body,
            theme.MUTED,
            bold=True,
        )
        grid = pygame.Rect(right.x, right.y + lh + m.gap, right.width, right.height - lh - m.gap)
        _picker(surface, ctx, grid, view)
    parts.actions(surface, ctx, ["cancel"], ["confirm"])
    return ctx.buttons


def _picker(surface: pygame.Surface, ctx: widgets.RenderContext, rect: pygame.Rect, view: View) -> None:
    m = ctx.m
    choices = view.staff_choices
    cols = 2 if len(choices) > 3 else 1
    rows = -(-len(choices) // cols)
    gap = m.px(8)
    bh = min(m.button_h, (rect.height - gap * (rows - 1)) // max(rows, 1))
    bw = (rect.width - gap * (cols - 1)) // cols
    for i, choice in enumerate(choices):
        r, c = divmod(i, cols)
        box = pygame.Rect(rect.x + c * (bw + gap), rect.y + r * (bh + gap), bw, bh)
        style = "selected" if choice.id == view.selected_staff else "key"
        label = ("✓ " if choice.id == view.selected_staff else "") + choice.name
        widgets.button(surface, ctx, f"staff:{choice.id}", box, label, style, size=m.body)
