"""``order_detail``: one order, by its status.

- waiting (``arrived``/``overdue``): ``pickup`` hands it over on the customer's behalf; a
  return starts with a reason (``reason:<key>``, none preselected: one shows as chosen only
  when ``View.return_reason`` names it), and ``return`` appears once one is chosen;
- ``return_requested``: it waits for the review in the back office (nothing to do here);
- ``return_reviewed``: ``to_warehouse`` or ``to_store_stock`` finishes it.
``back``, ``logout``."""

from __future__ import annotations

import pygame

from . import parts, theme, widgets
from .view import Button, View


def render(surface: pygame.Surface, view: View, ctx: widgets.RenderContext) -> list[Button]:
    m, t = ctx.m, ctx.t
    body = parts.screen_body(surface, ctx, "detail.title")
    left, right = parts.columns(body, body.width * 56 // 100, 2 * m.pad)
    d = view.detail
    status = d.status if d is not None else ""
    if d is not None:
        items = parts.order_fields(ctx, d, "status", "customer", "items", "arrived", "overdue_at", "door")
        widgets.fields(surface, ctx, left, items, size=m.body)
    actions: list[tuple[str, str, str]] = []
    if status == "return_requested":
        widgets.paragraph(surface, ctx, t("detail.waiting_review"), right, m.heading, theme.ACCENT, bold=True)
    elif status == "return_reviewed":
        _choices(surface, ctx, right, "detail.reviewed", [("to_warehouse", "primary"), ("to_store_stock", "primary")])
    else:
        _reasons(surface, ctx, right, view)
        if view.return_reason in view.return_reasons:
            actions.append(("return", t("btn.return"), "danger"))
        actions.append(("pickup", t("btn.pickup"), "primary"))
    widgets.bottom_bar(surface, ctx, widgets.bottom_area(surface, ctx), [("back", t("btn.back"), "secondary")], actions)
    return ctx.buttons


def _reasons(surface: pygame.Surface, ctx: widgets.RenderContext, rect: pygame.Rect, view: View) -> None:
    _m, t = ctx.m, ctx.t
    chosen = view.return_reason if view.return_reason in view.return_reasons else None
    head = "detail.reason" if chosen else "detail.choose_reason"
    specs = []
    for key in view.return_reasons:
        label = ("✓ " if key == chosen else "") + t(f"reason.{key}")
        specs.append((f"reason:{key}", label, "selected" if key == chosen else "key"))
    _column(surface, ctx, rect, t(head), specs)


def _choices(
    surface: pygame.Surface, ctx: widgets.RenderContext, rect: pygame.Rect, head: str, ids: list[tuple[str, str]]
) -> None:
    t = ctx.t
    _column(surface, ctx, rect, t(head), [(bid, t(f"btn.{bid}"), style) for bid, style in ids])


def _column(
    surface: pygame.Surface, ctx: widgets.RenderContext, rect: pygame.Rect, head: str, specs: list[tuple[str, str, str]]
) -> None:
    """A heading line and a column of buttons below it."""
    m = ctx.m
    lh = ctx.fonts.line_height(m.body, True)
    widgets.text(surface, ctx, head, pygame.Rect(rect.x, rect.y, rect.width, lh), m.body, theme.MUTED, bold=True)
    if not specs:
        return
    gap = m.px(8)
    grid = pygame.Rect(rect.x, rect.y + lh + m.gap, rect.width, rect.height - lh - m.gap)
    bh = min(m.button_h, (grid.height - gap * (len(specs) - 1)) // len(specs))
    for i, (bid, label, style) in enumerate(specs):
        box = pygame.Rect(grid.x, grid.y + i * (bh + gap), grid.width, bh)
        widgets.button(surface, ctx, bid, box, label, style, size=m.body)
