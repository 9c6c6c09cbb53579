"""``door_alarm`` (r2): a door held open too long (``alarm_kind == "door_left_open"``) or
opened while locked (``"door_forced"``): the door number very big, "please close door N", and
for a forced door that staff have been alerted. No buttons but ``lang``: it leaves when the
door is closed."""

from __future__ import annotations

import pygame

from . import parts, theme, widgets
from .view import Button, View


def render(surface: pygame.Surface, view: View, ctx: widgets.RenderContext) -> list[Button]:
    m, t = ctx.m, ctx.t
    body = parts.screen_body(surface, ctx, "alarm.title", bottom=False)
    forced = view.alarm_kind == "door_forced"
    door = view.alarm_door
    # left: the door, big, in a red frame
    side = min(body.height, body.width * 42 // 100)
    box, col = parts.columns(body, side, 2 * m.pad)
    parts.framed(surface, ctx, box, theme.DANGER, max(4, m.px(8)))
    cap_h = ctx.fonts.line_height(m.heading, True)
    num = pygame.Rect(box.x, box.y + m.px(10), box.width, box.height - cap_h - m.px(24))
    # the door's number; "!" when the flow could not say which door
    widgets.big_number(
        surface, ctx, "!" if door is None else str(door), num.inflate(-2 * m.px(20), -2 * m.px(8)), theme.ACCENT
    )
    if door is not None:
        cap = pygame.Rect(box.x, box.bottom - cap_h - m.px(12), box.width, cap_h)
        parts.door_caption(surface, ctx, door, cap, m.px(8))
    # right: what to do
    close = t("alarm.close", door=door) if door is not None else t("alarm.title")
    y = col.y
    y += widgets.paragraph(
        surface, ctx, close, pygame.Rect(col.x, y, col.width, col.height * 45 // 100), m.px(44), bold=True
    )
    y += m.gap
    why = t("alarm.forced") if forced else t("alarm.left_open")
    widgets.paragraph(
        surface,
        ctx,
        why,
        pygame.Rect(col.x, y, col.width, col.bottom - y),
        m.heading if forced else m.body,
        theme.WARN if forced else theme.MUTED,
        bold=forced,
    )
    return ctx.buttons
