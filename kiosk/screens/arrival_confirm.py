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
        _picker(surface, ctx, parts.columns(body, left.width, 2 * m.pad)[1], view)
    parts.actions(surface, ctx, ["cancel"], ["confirm"])
    return ctx.buttons


def _picker(surface: pygame.Surface, ctx: widgets.RenderContext, rect: pygame.Rect, view: View) -> None:
    specs = [parts.pick(f"staff:{c.id}", c.name, c.id == view.selected_staff) for c in view.staff_choices]
    parts.choices(surface, ctx, rect, ctx.t("confirm.receiver"), specs, cols=2 if len(specs) > 3 else 1)
