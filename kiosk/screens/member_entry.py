"""``member_entry``: choose phone or email, then type it on the on-screen keypad/keyboard.

Buttons: ``lookup_phone``/``lookup_email`` while choosing (absent when member-code-only: the
screen says that only the app's member barcode works), keys ``key:<c>``, ``key:clear``,
``key:backspace``; ``back`` and (once typing) ``confirm``. A phone number is drawn masked but
for its last 2 characters (people behind the customer can read the screen).
"""

from __future__ import annotations

import pygame

from . import parts, theme, widgets
from .view import Button, View

MASK = "*"


def masked(entry: str, keep: int = 2) -> str:
    """``0912345678`` → ``********78``: all but the last ``keep`` characters hidden."""
    return MASK * max(0, len(entry) - keep) + entry[-keep:] if entry else ""


def render(surface: pygame.Surface, view: View, ctx: widgets.RenderContext) -> list[Button]:
    m, t = ctx.m, ctx.t
    kind = view.entry_kind
    title = {"phone": "entry.title_phone", "email": "entry.title_email"}.get(kind, "entry.title_choose")
    body = parts.screen_body(surface, ctx, title)
    if kind in ("phone", "email"):
        fh = m.px(58)
        shown = masked(view.entry_text) if kind == "phone" else view.entry_text
        widgets.entry_field(surface, ctx, pygame.Rect(body.x, body.y, body.width, fh), shown, t(title))
        keys = pygame.Rect(body.x, body.y + fh + m.gap, body.width, body.height - fh - m.gap)
        if kind == "phone":
            widgets.keypad(surface, ctx, keys)
        else:
            widgets.email_keyboard(surface, ctx, keys)
        right = [("confirm", t("btn.confirm"), "primary")]
    else:
        hh = m.px(50)
        rest = pygame.Rect(body.x, body.y + hh, body.width, body.height - hh)
        if view.member_code_only:
            # no phone/email buttons, and no empty gap either: say why
            widgets.paragraph(
                surface, ctx, t("entry.code_only" if view.camera_ok else "entry.code_only_no_camera"),
                rest.inflate(-2 * m.pad, 0), m.heading, theme.ACCENT,
                bold=True, align="center", valign="center",
            )  # fmt: skip
        else:
            widgets.text(surface, ctx, t("entry.hint_choose"), pygame.Rect(body.x, body.y, body.width, hh), m.body)
            bw = min(body.width // 2 - m.gap, m.px(330))
            bh = min(rest.height - m.gap, m.px(150))
            y = rest.y + (rest.height - bh) // 2
            x = body.centerx - bw - m.gap
            for bid in ("lookup_phone", "lookup_email"):
                widgets.button(surface, ctx, bid, pygame.Rect(x, y, bw, bh), t(f"btn.{bid}"), "primary", size=m.heading)
                x += bw + 2 * m.gap
        right = []
    widgets.bottom_bar(surface, ctx, widgets.bottom_area(surface, ctx), [("back", t("btn.back"), "secondary")], right)
    return ctx.buttons
