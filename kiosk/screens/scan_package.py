"""``scan_package`` (counter): the customer has chosen; staff are called and bring the parcel of
``current_order`` (from door/shelf ``current_door`` when known) and scan its barcode here at
hand-over. ``cancel``."""

from __future__ import annotations

import pygame

from . import parts, theme, widgets
from .view import Button, View


def place(view: View) -> int | None:
    """The door or shelf number of the parcel being brought, when known."""
    if view.current_door is not None:
        return view.current_door
    return next((r.locker_door for r in view.orders if r.number == view.current_order), None)


def render(surface: pygame.Surface, view: View, ctx: widgets.RenderContext) -> list[Button]:
    m, t = ctx.m, ctx.t
    col, y = parts.scan_layout(surface, ctx, "scan.title", 45, t("scan.bringing"), 100)
    where = place(view)
    line = [view.current_order] if view.current_order else []
    if where is not None:
        line.append(t("scan.place", door=where))
    if line:
        lh = ctx.fonts.line_height(m.heading, True)
        s = "  ·  ".join(line)
        widgets.text(surface, ctx, s, pygame.Rect(col.x, y, col.width, lh), m.heading, theme.ACCENT, bold=True)
        y += lh + m.gap
    rest = col.bottom - y
    lh = ctx.fonts.line_height(m.body)
    extra = [s for s in (view.member_masked, _progress(ctx, view)) if s]
    hint_h = max(lh, rest - len(extra) * (lh + m.px(4)))
    y += widgets.paragraph(surface, ctx, t("scan.hint"), pygame.Rect(col.x, y, col.width, hint_h), m.body, theme.MUTED)
    y += m.px(4)
    for s in extra:
        widgets.text(surface, ctx, s, pygame.Rect(col.x, y, col.width, lh), m.body, theme.MUTED)
        y += lh + m.px(4)
    parts.actions(surface, ctx, ["cancel"])
    return ctx.buttons


def _progress(ctx: widgets.RenderContext, view: View) -> str:
    return ctx.t("scan.progress", done=len(view.picked_up)) if view.picked_up else ""
