"""``orders``: every waiting parcel (overdue ones marked); one (``order:<number>``) or all
(``pickup_all``) can be taken; ``cancel`` ends the session. A list longer than the screen is
shown a page at a time, with ``page_prev``/``page_next`` in the bottom bar.

At a locker, a parcel without a door is listed but gets no button: its row says to collect it
at the counter, and ``pickup_all`` is offered only when some parcel can be opened."""

from __future__ import annotations

import pygame

from . import parts, theme, widgets
from .view import Button, View


def count_text(ctx: widgets.RenderContext, n: int) -> str:
    """ "1 parcel waiting" / "3 parcels waiting" (the catalogues have no plural forms: two keys)."""
    return ctx.t("orders.count_one" if n == 1 else "orders.count", n=n)


def render(surface: pygame.Surface, view: View, ctx: widgets.RenderContext) -> list[Button]:
    m, t = ctx.m, ctx.t
    body = parts.screen_body(surface, ctx, "orders.title")
    lh = ctx.fonts.line_height(m.body, True)
    head = t("orders.greeting", name=view.member_masked) if view.member_masked else ""
    half = body.width // 2
    widgets.text(surface, ctx, head, pygame.Rect(body.x, body.y, half, lh), m.body, bold=True)
    y = body.y + lh + m.gap
    right = []
    paging = widgets.Paging()
    if view.orders:
        count = count_text(ctx, len(view.orders))
        widgets.text(
            surface, ctx, count, pygame.Rect(body.x + half, body.y, half, lh), m.body, theme.MUTED, align="right"
        )
        can_open = sum(widgets.openable(view, row) for row in view.orders)
        hint = (
            "orders.hint"
            if can_open == len(view.orders)
            else "orders.hint_some_counter"
            if can_open
            else "orders.hint_counter_only"
        )
        sh = ctx.fonts.line_height(m.small)
        widgets.text(surface, ctx, t(hint), pygame.Rect(body.x, y, body.width, sh), m.small, theme.MUTED)
        y += sh + m.gap
        rect = pygame.Rect(body.x, y, body.width, body.bottom - y)
        paging = widgets.order_list(surface, ctx, rect, view.orders, page=view.page)
        if can_open:
            right = [("pickup_all", t("btn.pickup_all"), "primary")]
    elif view.message is None or view.message.key not in ("msg.no_orders", "msg.member_not_found"):
        # "no parcels" once: not again below a banner that already says so
        rest = pygame.Rect(body.x, y, body.width, body.bottom - y)
        widgets.paragraph(surface, ctx, t("orders.none"), rest, m.heading, align="center", valign="center")
    middle = widgets.bottom_bar(
        surface,
        ctx,
        widgets.bottom_area(surface, ctx),
        [("cancel", t("btn.cancel"), "secondary")],
        right,
        middle=widgets.pager_width(ctx, paging),
    )
    widgets.pager(surface, ctx, middle, paging)
    return ctx.buttons
