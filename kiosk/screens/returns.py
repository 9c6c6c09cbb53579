"""``returns`` (r2, staff): orders waiting for review in the back office and reviewed ones, as
``order:<number>`` rows showing their status (``OrderRow.status``); a reviewed one opens
``order_detail`` to finish it. ``back``, ``logout``; a long list a page at a time."""

from __future__ import annotations

import pygame

from . import parts, widgets
from .view import Button, View


def render(surface: pygame.Surface, view: View, ctx: widgets.RenderContext) -> list[Button]:
    return staff_list(surface, view, ctx, "returns.title", "returns.none")


def staff_list(
    surface: pygame.Surface, view: View, ctx: widgets.RenderContext, title_key: str, none_key: str
) -> list[Button]:
    """A staff list of orders (``overdue``, ``returns``): rows, pager, ``back``."""
    m, t = ctx.m, ctx.t
    body = parts.screen_body(surface, ctx, title_key)
    paging = widgets.Paging()
    if view.orders:
        paging = widgets.order_list(surface, ctx, body, view.orders, staff=True, page=view.page)
    else:
        widgets.paragraph(surface, ctx, t(none_key), body, m.heading, align="center", valign="center")
    back = [("back", t("btn.back"), "secondary")]
    area = widgets.bottom_area(surface, ctx)
    middle = widgets.bottom_bar(surface, ctx, area, back, middle=widgets.pager_width(ctx, paging))
    widgets.pager(surface, ctx, middle, paging)
    return ctx.buttons
