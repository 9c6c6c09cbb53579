"""``error``: the backend refused (``view.message`` says why, e.g. ``err.not_your_order``)."""

from __future__ import annotations

import pygame

from . import parts, theme, widgets
from .view import Button, View


def render(surface: pygame.Surface, view: View, ctx: widgets.RenderContext) -> list[Button]:
    m, t = ctx.m, ctx.t
    shown = view.message
    ctx.view = _without_message(view)  # the message is the body here, not a banner
    body = parts.screen_body(surface, ctx, "error.title")
    ctx.view = view
    r = min(body.height // 4, m.px(60))
    center, y = parts.badge(surface, body, theme.DANGER, r, m.px(6))
    widgets.text(
        surface,
        ctx,
        "!",
        pygame.Rect(center[0] - r, center[1] - r, 2 * r, 2 * r),
        int(r * 1.5),
        bold=True,
        align="center",
    )
    y += m.px(18)
    text = t(shown.key, **shown.kwargs()) if shown else t("err.unknown")
    y += widgets.paragraph(
        surface, ctx, text, pygame.Rect(body.x, y, body.width, m.px(90)), m.heading, bold=True, align="center"
    )
    y += m.gap
    parts.footnote(surface, ctx, t("error.hint"), body, y)
    parts.actions(surface, ctx, right=["confirm"])
    return ctx.buttons


def _without_message(view: View) -> View:
    import dataclasses

    return dataclasses.replace(view, message=None)
