"""``member_entry``: choose phone or email, then type it on the on-screen keypad/keyboard.

Buttons: ``lookup_phone``/``lookup_email`` while choosing (absent when member-code-only), keys
``key:<c>``, ``key:clear``, ``key:backspace``; ``back`` and (once typing) ``confirm``.
"""

from __future__ import annotations

import pygame

from . import widgets
from .view import Button, View


def render(surface: pygame.Surface, view: View, ctx: widgets.RenderContext) -> list[Button]:
    m, t = ctx.m, ctx.t
    kind = view.entry_kind
    title = {"phone": "entry.title_phone", "email": "entry.title_email"}.get(kind, "entry.title_choose")
    content = widgets.chrome(surface, ctx, title)
    body = content.inflate(-2 * m.pad, -2 * m.pad)
    if kind in ("phone", "email"):
        fh = m.px(58)
        widgets.entry_field(surface, ctx, pygame.Rect(body.x, body.y, body.width, fh), view.entry_text, t(title))
        keys = pygame.Rect(body.x, body.y + fh + m.gap, body.width, body.height - fh - m.gap)
        if kind == "phone":
            widgets.keypad(surface, ctx, keys)
        else:
            widgets.email_keyboard(surface, ctx, keys)
        right = [("confirm", t("btn.confirm"), "primary")]
    else:
        hh = m.px(50)
        widgets.text(surface, ctx, t("entry.hint_choose"), pygame.Rect(body.x, body.y, body.width, hh), m.body)
        if not view.member_code_only:
            bw = min(body.width // 2 - m.gap, m.px(330))
            bh = min(body.height - hh - m.gap, m.px(150))
            y = body.y + hh + (body.height - hh - bh) // 2
            x = body.centerx - bw - m.gap
            for bid in ("lookup_phone", "lookup_email"):
                widgets.button(surface, ctx, bid, pygame.Rect(x, y, bw, bh), t(f"btn.{bid}"), "primary", size=m.heading)
                x += bw + 2 * m.gap
        right = []
    widgets.bottom_bar(surface, ctx, widgets.bottom_area(surface, ctx), [("back", t("btn.back"), "secondary")], right)
    return ctx.buttons
