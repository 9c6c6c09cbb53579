"""``overdue``: the overdue parcels (``order:<number>`` opens one); ``back``, ``logout``; a long
list a page at a time (``page_prev``/``page_next``)."""

from __future__ import annotations

import pygame

from . import widgets
from .view import Button, View


def render(surface: pygame.Surface, view: View, ctx: widgets.RenderContext) -> list[Button]:
    m, t = ctx.m, ctx.t
    content = widgets.chrome(surface, ctx, "overdue.title")
    body = content.inflate(-2 * m.pad, -2 * m.pad)
    paging = widgets.Paging()
    if view.orders:
        paging = widgets.order_list(surface, ctx, body, view.orders, staff=True, page=view.page)
    else:
        widgets.paragraph(surface, ctx, t("overdue.none"), body, m.heading, align="center", valign="center")
    back = [("back", t("btn.back"), "secondary")]
    area = widgets.bottom_area(surface, ctx)
    middle = widgets.bottom_bar(surface, ctx, area, back, middle=widgets.pager_width(ctx, paging))
    widgets.pager(surface, ctx, middle, paging)
    return ctx.buttons
