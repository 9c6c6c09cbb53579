"""Pieces several screens draw alike, so that each is drawn by one piece of code: the body inside
the chrome, the bottom bar of catalogue-labelled buttons, the scan layout (camera preview left, a
column of text right), a centred headline and a muted footnote, a status badge, a door's framed
card, an order's label/value lines, and a headed column of choice buttons."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pygame

from . import theme, widgets
from .view import OrderDetail


def actions(
    surface: pygame.Surface, ctx: widgets.RenderContext, left: Sequence[str] = (), right: Sequence[str] = ()
) -> pygame.Rect:
    """The bottom bar: ``left`` buttons secondary, ``right`` ones primary, each labelled
    ``btn.<id>``. Returns the free middle of the bar."""
    t = ctx.t
    return widgets.bottom_bar(
        surface,
        ctx,
        widgets.bottom_area(surface, ctx),
        [(b, t(f"btn.{b}"), "secondary") for b in left],
        [(b, t(f"btn.{b}"), "primary") for b in right],
    )


def columns(body: pygame.Rect, left_width: int, gap: int) -> tuple[pygame.Rect, pygame.Rect]:
    """``body`` split into a left part ``left_width`` wide and the rest right of it, ``gap`` apart."""
    left = pygame.Rect(body.x, body.y, left_width, body.height)
    return left, pygame.Rect(left.right + gap, body.y, body.right - left.right - gap, body.height)


def screen_body(
    surface: pygame.Surface, ctx: widgets.RenderContext, title_key: str, *, bottom: bool = True, **title_params: Any
) -> pygame.Rect:
    """The chrome (:func:`widgets.chrome`) and, inside its content rectangle, the page padding
    in from every edge: the body where a screen lays out its own parts."""
    m = ctx.m
    return widgets.chrome(surface, ctx, title_key, bottom=bottom, **title_params).inflate(-2 * m.pad, -2 * m.pad)


def scan_layout(
    surface: pygame.Surface, ctx: widgets.RenderContext, title_key: str, percent: int, hint: str, hint_h: int
) -> tuple[pygame.Rect, int]:
    """The frame of a scanning screen: the camera preview on the left ``percent`` of the body,
    ``hint`` as a bold heading atop the column on the right. Returns the column and the y under
    the hint."""
    m = ctx.m
    body = screen_body(surface, ctx, title_key)
    left, col = columns(body, body.width * percent // 100, 2 * m.pad)
    widgets.preview_box(surface, ctx, left)
    y = col.y + widgets.paragraph(
        surface, ctx, hint, pygame.Rect(col.x, col.y, col.width, m.px(hint_h)), m.heading, bold=True
    )
    return col, y + m.gap


def badge(
    surface: pygame.Surface, body: pygame.Rect, color: theme.Color, r: int, top: int
) -> tuple[tuple[int, int], int]:
    """A filled circle of radius ``r``, centred across ``body``, ``top`` below its top. Returns
    its centre and the y under it."""
    center = (body.centerx, body.y + r + top)
    pygame.draw.circle(surface, color, center, r)
    return center, body.y + 2 * r


def headline(surface: pygame.Surface, ctx: widgets.RenderContext, s: str, body: pygame.Rect, y: int) -> int:
    """``s`` as one bold centred heading line at ``y`` across ``body``; returns the y under it."""
    m = ctx.m
    lh = ctx.fonts.line_height(m.heading, True)
    widgets.text(surface, ctx, s, pygame.Rect(body.x, y, body.width, lh), m.heading, bold=True, align="center")
    return y + lh + m.gap


def footnote(surface: pygame.Surface, ctx: widgets.RenderContext, s: str, body: pygame.Rect, y: int) -> None:
    """``s`` muted and centred, wrapped from ``y`` to the bottom of ``body``."""
    rect = pygame.Rect(body.x, y, body.width, body.bottom - y)
    widgets.paragraph(surface, ctx, s, rect, ctx.m.body, theme.MUTED, align="center")


def framed(
    surface: pygame.Surface, ctx: widgets.RenderContext, rect: pygame.Rect, color: theme.Color, width: int
) -> None:
    """A panel with a ``width``-pixel frame in ``color`` (rounded like every panel)."""
    pygame.draw.rect(surface, theme.PANEL, rect, border_radius=ctx.m.radius)
    pygame.draw.rect(surface, color, rect, width=width, border_radius=ctx.m.radius)


def door_caption(surface: pygame.Surface, ctx: widgets.RenderContext, door: int, rect: pygame.Rect, inset: int) -> None:
    """ "Door N", bold and centred in ``rect`` less ``inset`` on each side."""
    widgets.text(
        surface,
        ctx,
        ctx.t("orders.door", door=door),
        rect.inflate(-2 * inset, 0),
        ctx.m.heading,
        bold=True,
        align="center",
    )


def order_fields(ctx: widgets.RenderContext, d: OrderDetail, *names: str) -> list[tuple[str, str]]:
    """The label/value lines :func:`widgets.fields` draws for an order: its number, then each of
    ``names`` (``status``, ``customer``, ``items``, ``arrived``, ``overdue_at``, ``door``) that
    ``d`` has, in that order. The status is translated, times are the kiosk's local time."""
    t = ctx.t
    shown = {
        "status": t(f"status.{d.status}") if d.status else None,
        "customer": d.customer_masked or None,
        "items": ", ".join(d.items) if d.items else None,
        "arrived": widgets.short_time(d.arrived_at) if d.arrived_at else None,
        "overdue_at": widgets.short_time(d.overdue_at) if d.overdue_at else None,
        "door": str(d.locker_door) if d.locker_door is not None else None,
    }
    return [(t("field.number"), d.number)] + [(t(f"field.{n}"), shown[n]) for n in names if shown[n] is not None]


def pick(bid: str, label: str, chosen: bool) -> tuple[str, str, str]:
    """One button of a one-of choice for :func:`choices`: ticked and ``selected`` when chosen."""
    return bid, ("✓ " if chosen else "") + label, "selected" if chosen else "key"


def choices(
    surface: pygame.Surface,
    ctx: widgets.RenderContext,
    rect: pygame.Rect,
    head: str,
    specs: Sequence[tuple[str, str, str]],
    cols: int = 1,
) -> None:
    """``head`` as a muted bold line atop ``rect`` and, below it, a button for each of ``specs``
    (id, label, style) in ``cols`` columns, each button at most ``button_h`` high."""
    m = ctx.m
    lh = ctx.fonts.line_height(m.body, True)
    widgets.text(surface, ctx, head, pygame.Rect(rect.x, rect.y, rect.width, lh), m.body, theme.MUTED, bold=True)
    grid = pygame.Rect(rect.x, rect.y + lh + m.gap, rect.width, rect.height - lh - m.gap)
    rows = -(-len(specs) // cols)
    gap = m.px(8)
    bh = min(m.button_h, (grid.height - gap * (rows - 1)) // max(rows, 1))
    bw = (grid.width - gap * (cols - 1)) // cols
    for i, (bid, label, style) in enumerate(specs):
        r, c = divmod(i, cols)
        box = pygame.Rect(grid.x + c * (bw + gap), grid.y + r * (bh + gap), bw, bh)
        widgets.button(surface, ctx, bid, box, label, style, size=m.body)
