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
        ends = [(b, t(f"btn.{b}"), "primary") for b in ("to_warehouse", "to_store_stock")]
        parts.choices(surface, ctx, right, t("detail.reviewed"), ends)
    else:
        _reasons(surface, ctx, right, view)
        if view.return_reason in view.return_reasons:
            actions.append(("return", t("btn.return"), "danger"))
        actions.append(("pickup", t("btn.pickup"), "primary"))
    widgets.bottom_bar(surface, ctx, widgets.bottom_area(surface, ctx), [("back", t("btn.back"), "secondary")], actions)
    return ctx.buttons


def _reasons(surface: pygame.Surface, ctx: widgets.RenderContext, rect: pygame.Rect, view: View) -> None:
    t = ctx.t
    chosen = view.return_reason if view.return_reason in view.return_reasons else None
    head = "detail.reason" if chosen else "detail.choose_reason"
    specs = [parts.pick(f"reason:{key}", t(f"reason.{key}"), key == chosen) for key in view.return_reasons]
    parts.choices(surface, ctx, rect, t(head), specs)
