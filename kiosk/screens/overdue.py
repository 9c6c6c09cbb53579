"""``overdue``: the overdue parcels (``order:<number>`` opens one); ``back``, ``logout``."""

from __future__ import annotations

import pygame

from . import widgets
from .view import Button, View


def render(surface: pygame.Surface, view: View, ctx: widgets.RenderContext) -> list[Button]:
    m, t = ctx.m, ctx.t
    content = widgets.chrome(surface, ctx, "overdue.title")
    body = content.inflate(-2 * m.pad, -2 * m.pad)
    if view.orders:
        widgets.order_list(surface, ctx, body, view.orders, staff=True)
    else:
        widgets.paragraph(surface, ctx, t("overdue.none"), body, m.heading, align="center", valign="center")
    widgets.bottom_bar(surface, ctx, widgets.bottom_area(surface, ctx), [("back", t("btn.back"), "secondary")])
    return ctx.buttons
