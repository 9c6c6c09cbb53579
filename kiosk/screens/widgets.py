"""Drawing helpers shared by the screens: text that fits, buttons, bars, keypads, lists, preview.

Every helper draws onto the surface it is given (local coordinates of the screen area) and
registers the hit targets it drew in ``ctx.buttons``. Text that cannot fit its box even at the
smallest allowed size is cut with an ellipsis and recorded in ``ctx.overflows`` (tests keep that
list empty for every screen).
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pygame

from . import theme
from .fonts import Fonts
from .i18n import Catalogue
from .view import Button, OrderRow, View

ALWAYS_ENABLED = frozenset({"lang", "cancel", "back", "logout"})  # usable even while busy


@dataclass
class RenderContext:
    """What a screen's ``render(surface, view, ctx)`` needs besides the view."""

    fonts: Fonts
    t: Catalogue
    m: theme.Metrics
    view: View
    now: float = 0.0
    preview: Any = None  # the latest camera frame (numpy BGR/gray or a pygame Surface) or None
    buttons: list[Button] = field(default_factory=list)
    overflows: list[str] = field(default_factory=list)
    drawn: list[str] = field(default_factory=list)  # every string drawn (tests check the glyphs)
    preview_rect: pygame.Rect | None = None  # where the preview went (local coordinates)
    page_rows: int | None = None  # rows a page of the drawn list holds (order_list), else None

    @property
    def focus(self) -> str | None:
        return self.view.focus


# ---- text ---------------------------------------------------------------------------------------


def _min_size(ctx: RenderContext, size: int) -> int:
    return max(ctx.m.px(14), int(size * 0.6))


def _ellipsize(ctx: RenderContext, s: str, width: int, size: int, bold: bool) -> str:
    while s and ctx.fonts.size(s + "…", size, bold)[0] > width:
        s = s[:-1]
    return s + "…"


def text(
    surface: pygame.Surface,
    ctx: RenderContext,
    s: str,
    rect: pygame.Rect,
    size: int,
    color: theme.Color = theme.FG,
    *,
    bold: bool = False,
    align: str = "left",
    valign: str = "center",
    shrink: bool = True,
) -> pygame.Rect:
    """One line of text in ``rect``: shrunk to fit the width (to 60% at most), else cut with "…"."""
    rect = pygame.Rect(rect)
    ctx.drawn.append(s)
    if shrink:
        size = ctx.fonts.fit(s, rect.width, size, bold, _min_size(ctx, size))
    w, h = ctx.fonts.size(s, size, bold)
    while h > rect.height and size > ctx.m.px(12):
        size = max(ctx.m.px(12), int(size * 0.9))
        w, h = ctx.fonts.size(s, size, bold)
    if w > rect.width or h > rect.height:
        ctx.overflows.append(s)
        if w > rect.width:
            s = _ellipsize(ctx, s, rect.width, size, bold)
    surf = ctx.fonts.text(s, size, color, bold)
    sw, sh = surf.get_size()
    x = {"left": rect.x, "center": rect.centerx - sw // 2, "right": rect.right - sw}[align]
    y = {"top": rect.y, "center": rect.centery - sh // 2, "bottom": rect.bottom - sh}[valign]
    area = pygame.Rect(0, 0, min(sw, rect.width), min(sh, rect.height + sh))
    surface.blit(surf, (max(x, rect.x), y), area)
    return pygame.Rect(max(x, rect.x), y, area.width, sh)


def big_number(surface: pygame.Surface, ctx: RenderContext, s: str, rect: pygame.Rect, color: theme.Color) -> None:
    """Digits as large as ``rect`` allows (tight glyph box, not the line box), centred."""
    ctx.drawn.append(s)
    face = ctx.fonts.face(True)
    pad, face.pad = face.pad, False  # measure and draw the glyphs' own box
    try:
        size = max(8, int(rect.height * 1.4))
        while size > 8:
            box = face.get_rect(s, size=size)
            if box.height <= rect.height and box.width <= rect.width:
                break
            size = int(size * 0.95)
        surf, _ = face.render(s, color, size=size)
    finally:
        face.pad = pad
    surface.blit(surf, surf.get_rect(center=rect.center))


def _tokens(s: str) -> list[str]:
    """Break points for wrapping: each CJK character alone, Latin words with their spaces."""
    out: list[str] = []
    word = ""
    for ch in s:
        wide = unicodedata.east_asian_width(ch) in ("W", "F")
        if wide:
            if word:
                out.append(word)
                word = ""
            out.append(ch)
        else:
            word += ch
            if ch == " ":
                out.append(word)
                word = ""
    if word:
        out.append(word)
    return out


def wrap(ctx: RenderContext, s: str, width: int, size: int, bold: bool = False) -> list[str]:
    lines: list[str] = []
    line = ""
    for tok in _tokens(s):
        if line and ctx.fonts.size((line + tok).rstrip(), size, bold)[0] > width:
            lines.append(line.rstrip())
            line = tok.lstrip()
        else:
            line += tok
    if line.strip():
        lines.append(line.rstrip())
    return lines


def paragraph(
    surface: pygame.Surface,
    ctx: RenderContext,
    s: str,
    rect: pygame.Rect,
    size: int,
    color: theme.Color = theme.FG,
    *,
    bold: bool = False,
    align: str = "left",
    valign: str = "top",
) -> int:
    """Wrapped text in ``rect``, shrunk until it fits. Returns the height used."""
    rect = pygame.Rect(rect)
    min_size = _min_size(ctx, size)
    while True:
        lines = wrap(ctx, s, rect.width, size, bold)
        lh = ctx.fonts.line_height(size, bold)
        fits = len(lines) * lh <= rect.height and all(ctx.fonts.size(ln, size, bold)[0] <= rect.width for ln in lines)
        if fits or size <= min_size:
            break
        size = max(min_size, int(size * 0.9))
    max_lines = max(1, rect.height // lh)
    if len(lines) > max_lines:
        ctx.overflows.append(s)
        lines = lines[:max_lines]
        lines[-1] = _ellipsize(ctx, lines[-1], rect.width, size, bold)
    total = len(lines) * lh
    y = {"top": rect.y, "center": rect.centery - total // 2, "bottom": rect.bottom - total}[valign]
    for ln in lines:
        text(surface, ctx, ln, pygame.Rect(rect.x, y, rect.width, lh), size, color, bold=bold, align=align)
        y += lh
    return total


# ---- buttons ------------------------------------------------------------------------------------


def button(
    surface: pygame.Surface,
    ctx: RenderContext,
    bid: str,
    rect: pygame.Rect,
    label: str,
    style: str = "primary",
    *,
    enabled: bool = True,
    size: int | None = None,
) -> Button:
    """A rounded button with a centred label; registered in ``ctx.buttons``."""
    rect = pygame.Rect(rect)
    if ctx.view.busy and bid not in ALWAYS_ENABLED:
        enabled = False
    bg, fg = theme.STYLE_COLORS[style] if enabled else (theme.DISABLED, theme.DISABLED_FG)
    pygame.draw.rect(surface, bg, rect, border_radius=ctx.m.radius)
    if ctx.focus == bid:
        ring = rect.inflate(ctx.m.focus_width * 2, ctx.m.focus_width * 2)
        pygame.draw.rect(surface, theme.ACCENT, ring, width=ctx.m.focus_width, border_radius=ctx.m.radius + 2)
    inner = rect.inflate(-2 * ctx.m.px(8), -2 * ctx.m.px(4))
    text(surface, ctx, label, inner, size or ctx.m.button, fg, bold=True, align="center")
    b = Button(bid, _abs(surface, rect), label, enabled)
    ctx.buttons.append(b)
    return b


def _abs(surface: pygame.Surface, rect: pygame.Rect) -> tuple[int, int, int, int]:
    ox, oy = surface.get_abs_offset()
    return (rect.x + ox, rect.y + oy, rect.width, rect.height)


def button_width(ctx: RenderContext, label: str, minimum: float = 150) -> int:
    return max(ctx.m.px(minimum), ctx.fonts.size(label, ctx.m.button, True)[0] + 2 * ctx.m.px(22))


def bottom_bar(
    surface: pygame.Surface,
    ctx: RenderContext,
    area: pygame.Rect,
    left: list[tuple[str, str, str]] = (),  # type: ignore[assignment]
    right: list[tuple[str, str, str]] = (),  # type: ignore[assignment]
    *,
    middle: int = 0,
) -> pygame.Rect:
    """Buttons along the bottom: ``left`` from the left edge, ``right`` from the right edge,
    each ``(id, label, style)``. Widths shrink evenly if the bar is too narrow (leaving at least
    ``middle`` pixels between them). Returns the free middle of the bar (e.g. for a pager)."""
    pygame.draw.rect(surface, theme.BAR, area)
    m = ctx.m
    h = m.button_h
    y = area.centery - h // 2
    specs = [*left, *right]
    widths = [button_width(ctx, label) for _bid, label, _style in specs]
    avail = area.width - 2 * m.pad - m.gap * max(0, len(specs) - 1) - (middle + m.gap if middle else 0)
    if specs and sum(widths) > avail:
        scale = avail / sum(widths)
        widths = [int(w * scale) for w in widths]
    x = area.x + m.pad
    for (bid, label, style), w in zip(left, widths, strict=False):
        button(surface, ctx, bid, pygame.Rect(x, y, w, h), label, style)
        x += w + m.gap
    free_left = x
    x = area.right - m.pad
    for (bid, label, style), w in zip(reversed(right), reversed(widths[len(left) :]), strict=False):
        x -= w
        button(surface, ctx, bid, pygame.Rect(x, y, w, h), label, style)
        x -= m.gap
    return pygame.Rect(free_left, area.y, max(0, x - free_left), area.height)


# ---- chrome: background, top bar, banner --------------------------------------------------------


def chrome(
    surface: pygame.Surface, ctx: RenderContext, title_key: str, *, bottom: bool = True, **title_params: Any
) -> pygame.Rect:
    """Background, top bar (title, indicators, ``lang`` or ``logout``) and the banner.

    The banner (busy indicator, lockout countdown, or the message) is laid over the top bar's
    title and indicators, beside the ``lang``/``logout`` button: it never takes room from the
    content, so keypads, lists and buttons stay where they are when a message comes and goes
    (a tap meant for a key cannot land on the one below it).

    Returns the content rectangle (between top bar and bottom bar; the bottom bar's area is
    ``bottom_area(surface, ctx)``)."""
    m, t, v = ctx.m, ctx.t, ctx.view
    w, _h = surface.get_size()
    surface.fill(theme.BG)
    bar = pygame.Rect(0, 0, w, m.top_bar)
    pygame.draw.rect(surface, theme.BAR, bar)
    # right: lang (customer) or logout (staff) button
    bh = m.top_bar - 2 * m.px(7)
    if v.is_staff:
        label = t("btn.logout")
        bid, style = "logout", "secondary"
    else:
        label = t("lang.other")
        bid, style = "lang", "secondary"
    if v.is_staff and v.screen == "staff_login" and not v.staff_name:
        bid = ""  # nobody has logged in yet: there is no one to log out (cancel leaves)
    bw = button_width(ctx, label, 110)
    right = w - m.pad
    if bid:
        button(surface, ctx, bid, pygame.Rect(right - bw, m.px(7), bw, bh), label, style, size=m.small)
        right -= bw + m.gap
    band = pygame.Rect(0, 0, right, m.top_bar)
    if _banner(surface, ctx, band):
        return _content(surface, ctx, bottom)
    # indicators, right to left
    for label, fg, bg in reversed(_indicators(ctx)):
        iw = ctx.fonts.size(label, m.small, True)[0] + 2 * m.px(10)
        if right - iw < w // 3:
            break
        pill = pygame.Rect(right - iw, m.px(12), iw, m.top_bar - 2 * m.px(12))
        pygame.draw.rect(surface, bg, pill, border_radius=pill.height // 2)
        text(surface, ctx, label, pill, m.small, fg, bold=True, align="center")
        right -= iw + m.gap
    text(
        surface,
        ctx,
        t(title_key, **title_params),
        pygame.Rect(m.pad, 0, right - 2 * m.pad, m.top_bar),
        m.title,
        bold=True,
    )
    return _content(surface, ctx, bottom)


def _content(surface: pygame.Surface, ctx: RenderContext, bottom: bool) -> pygame.Rect:
    w, h = surface.get_size()
    y = ctx.m.top_bar
    return pygame.Rect(0, y, w, h - y - (ctx.m.bottom_bar if bottom else 0))


def _banner(surface: pygame.Surface, ctx: RenderContext, band: pygame.Rect) -> bool:
    """The banner over the top bar: busy, else the lockout countdown, else the message. False
    when there is none (the title and indicators show)."""
    m, t, v = ctx.m, ctx.t, ctx.view
    if v.busy:
        pygame.draw.rect(surface, theme.PANEL, band)
        s = band.height - 2 * m.px(10)
        spinner(surface, ctx, pygame.Rect(m.pad, band.y + m.px(10), s, s))
        text(surface, ctx, t("busy"), band.inflate(-2 * (m.pad + s + m.gap), 0), m.body, bold=True)
        return True
    if v.locked_for > 0:
        bg, fg = theme.LEVEL_COLORS["error"]
        pygame.draw.rect(surface, bg, band)
        msg = t("lock.try_again", n=v.locked_for)
        text(surface, ctx, msg, band.inflate(-2 * m.pad, 0), m.title, fg, bold=True, align="center")
        return True
    if v.message is not None:
        bg, fg = theme.LEVEL_COLORS.get(v.message.level, theme.LEVEL_COLORS["info"])
        pygame.draw.rect(surface, bg, band)
        msg = t(v.message.key, **v.message.kwargs())
        text(surface, ctx, msg, band.inflate(-2 * m.pad, 0), m.body, fg, bold=True, align="center")
        return True
    return False


def bottom_area(surface: pygame.Surface, ctx: RenderContext) -> pygame.Rect:
    w, h = surface.get_size()
    return pygame.Rect(0, h - ctx.m.bottom_bar, w, ctx.m.bottom_bar)


def _indicators(ctx: RenderContext) -> list[tuple[str, theme.Color, theme.Color]]:
    v, t = ctx.view, ctx.t
    out: list[tuple[str, theme.Color, theme.Color]] = []
    if not v.is_staff and v.on_duty:
        out.append((t("ind.on_duty", name=v.on_duty), theme.FG, theme.OK))
    if v.is_staff and v.staff_name:
        out.append((t("ind.staff", name=v.staff_name), theme.FG, theme.SECONDARY))
    if v.countdown is not None:
        out.append((t("ind.countdown", n=v.countdown), theme.FG, theme.SECONDARY))
    if not v.camera_ok:
        out.append((t("ind.camera_off"), theme.WARN_FG, theme.WARN))
    if v.attention_count:
        out.append((t("ind.attention", n=v.attention_count), theme.FG, theme.DANGER))
    if v.outbox_depth:
        out.append((t("ind.outbox", n=v.outbox_depth), theme.WARN_FG, theme.WARN))
    if v.offline:
        out.append((t("ind.offline"), theme.FG, theme.DANGER))
    return out


def spinner(surface: pygame.Surface, ctx: RenderContext, rect: pygame.Rect) -> None:
    """An animated ring of dots; the lit dot moves with ``ctx.now`` (12 steps a second)."""
    n = 10
    lit = int(ctx.now * 12) % n
    r = rect.width / 2
    dot = max(2, int(r * 0.2))
    for i in range(n):
        a = 2 * math.pi * i / n - math.pi / 2
        x = rect.centerx + (r - dot) * math.cos(a)
        y = rect.centery + (r - dot) * math.sin(a)
        age = (lit - i) % n
        shade = max(60, 255 - age * 40)
        pygame.draw.circle(surface, (shade, shade, shade), (int(x), int(y)), dot)


# ---- entry, keypad, keyboard --------------------------------------------------------------------

PIN_KEYS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "clear", "0", "backspace")
EMAIL_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl-", "zxcvbnm_.@")


def entry_field(
    surface: pygame.Surface, ctx: RenderContext, rect: pygame.Rect, shown: str, placeholder: str = ""
) -> None:
    pygame.draw.rect(surface, (255, 255, 255), rect, border_radius=ctx.m.radius)
    inner = rect.inflate(-2 * ctx.m.px(14), -ctx.m.px(6))
    if shown:
        # keep the end of a long entry visible
        size = ctx.m.heading
        while shown and ctx.fonts.size(shown + "|", size)[0] > inner.width:
            shown = shown[1:]
        text(surface, ctx, shown + "|", inner, size, (0, 0, 0), shrink=False)
    elif placeholder:
        text(surface, ctx, placeholder, inner, ctx.m.body, (90, 96, 110))


def pin_dots(surface: pygame.Surface, ctx: RenderContext, rect: pygame.Rect, count: int, slots: int = 0) -> None:
    """``count`` filled dots (the digits typed), then ``slots - count`` hollow ones when
    ``slots`` is given. A PIN's length is not known in advance: its field shows only the
    digits typed so far (a 4-digit PIN, 4 dots)."""
    slots = max(slots, count)
    if slots == 0:
        return
    r = min(rect.height // 3, rect.width // (max(slots, 6) * 3))
    step = r * 3
    x0 = rect.centerx - step * (slots - 1) // 2
    for i in range(slots):
        center = (x0 + i * step, rect.centery)
        if i < count:
            pygame.draw.circle(surface, theme.FG, center, r)
        else:
            pygame.draw.circle(surface, theme.MUTED, center, r, width=max(2, r // 4))


def key_label(ctx: RenderContext, name: str) -> str:
    if name in ("backspace", "clear", "shift", "space"):
        return ctx.t(f"key.{name}")
    return name


def key_grid(
    surface: pygame.Surface, ctx: RenderContext, rect: pygame.Rect, rows: list[list[str]], max_key: float = 120
) -> None:
    """Rows of keys (ids ``key:<name>``) filling ``rect``; square-ish keys at most ``max_key`` u."""
    m = ctx.m
    cols = max(len(r) for r in rows)
    gap = m.px(6)
    kw = min((rect.width - gap * (cols - 1)) // cols, m.px(max_key * 1.6))
    kh = min((rect.height - gap * (len(rows) - 1)) // len(rows), m.px(max_key))
    total_h = kh * len(rows) + gap * (len(rows) - 1)
    y = rect.centery - total_h // 2
    for row in rows:
        row_w = kw * len(row) + gap * (len(row) - 1)
        x = rect.centerx - row_w // 2
        for name in row:
            button(surface, ctx, f"key:{name}", pygame.Rect(x, y, kw, kh), key_label(ctx, name), "key", size=m.heading)
            x += kw + gap
        y += kh + gap


def keypad(surface: pygame.Surface, ctx: RenderContext, rect: pygame.Rect) -> None:
    """Digits 0-9 with ``key:clear`` and ``key:backspace`` (3 x 4)."""
    keys = list(PIN_KEYS)
    key_grid(surface, ctx, rect, [keys[i : i + 3] for i in range(0, 12, 3)], max_key=90)


def email_keyboard(surface: pygame.Surface, ctx: RenderContext, rect: pygame.Rect) -> None:
    """Lower-case letters, digits and ``@ . - _``; ``key:clear`` and ``key:backspace`` below."""
    rows = [list(r) for r in EMAIL_ROWS]
    m = ctx.m
    gap = m.px(6)
    row_h = (rect.height - gap * 4) // 5
    key_grid(surface, ctx, pygame.Rect(rect.x, rect.y, rect.width, row_h * 4 + gap * 3), rows, max_key=100)
    kw = min((rect.width - 9 * gap) // 10, m.px(160))
    y = rect.y + 4 * (row_h + gap)
    wide = kw * 3 + gap * 2
    x = rect.centerx - wide - gap // 2
    button(surface, ctx, "key:clear", pygame.Rect(x, y, wide, row_h), key_label(ctx, "clear"), "key")
    button(
        surface, ctx, "key:backspace", pygame.Rect(x + wide + gap, y, wide, row_h), key_label(ctx, "backspace"), "key"
    )


# ---- lists and fields ---------------------------------------------------------------------------


def _local(stamp: str) -> datetime | None:
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.astimezone() if when.tzinfo else when


def short_date(stamp: str) -> str:
    """``2026-11-20T03:00:00Z`` → ``11/20`` in the kiosk's local time zone."""
    when = _local(stamp)
    return when.strftime("%m/%d") if when else stamp


def short_time(stamp: str) -> str:
    """``2026-11-20T03:00:00Z`` → ``2026-11-20 11:00`` in the kiosk's local time zone (here UTC+8)."""
    when = _local(stamp)
    return when.strftime("%Y-%m-%d %H:%M") if when else stamp


def openable(view: View, row: OrderRow) -> bool:
    """Whether the customer can take ``row`` here: at a locker only a parcel behind a door (one
    without a door is collected at the counter and gets no ``order:<number>`` button)."""
    return view.mode != "locker" or view.is_staff or row.locker_door is not None


def order_row(
    surface: pygame.Surface, ctx: RenderContext, rect: pygame.Rect, row: OrderRow, *, staff: bool = False
) -> None:
    """One order as a row: number, items, date, door, status and overdue badges; pressable
    (``order:<number>``) unless it cannot be opened here (:func:`openable`), which it says."""
    m, t = ctx.m, ctx.t
    bid = f"order:{row.number}"
    enabled = not ctx.view.busy
    pressable = openable(ctx.view, row)
    bg = theme.SELECTED if row.selected else theme.PANEL if pressable else theme.BG
    pygame.draw.rect(surface, bg, rect, border_radius=m.radius)
    if row.overdue:
        pygame.draw.rect(
            surface, theme.OVERDUE, pygame.Rect(rect.x, rect.y, m.px(10), rect.height), border_radius=m.radius
        )
    if ctx.focus == bid:
        ring = rect.inflate(m.focus_width * 2, m.focus_width * 2)
        pygame.draw.rect(surface, theme.ACCENT, ring, width=m.focus_width, border_radius=m.radius + 2)
    inner = rect.inflate(-2 * m.px(16), 0)
    size = m.body if rect.height >= m.px(56) else m.small
    # right-hand side: badge, door, date
    x = inner.right
    parts: list[tuple[str, theme.Color, theme.Color | None]] = []
    if not pressable:
        parts.append((t("orders.at_counter"), theme.WARN_FG, theme.WARN))
    if row.status:
        parts.append((t(f"status.{row.status}"), theme.FG, theme.SECONDARY))
    if row.overdue:
        parts.append((t("orders.overdue"), theme.FG, theme.OVERDUE))
    if row.locker_door is not None:
        parts.append((t("orders.door", door=row.locker_door), theme.ACCENT, None))
    if row.arrived_at:
        parts.append((t("orders.arrived", date=short_date(row.arrived_at)), theme.MUTED, None))
    second = row.customer_masked if staff and row.customer_masked else row.items_summary
    # the left keeps room for the number and the second text at its smallest (the date goes
    # first, then the door), but never less than half the row
    need = ctx.fonts.size(row.number, size, True)[0] + 2 * m.gap
    if second:
        need += ctx.fonts.size(second, _min_size(ctx, m.small))[0]
    keep = max(inner.width // 2, min(need, inner.width * 2 // 3))
    for label, fg, pill in parts:
        pw = ctx.fonts.size(label, m.small, True)[0] + (2 * m.px(10) if pill else 0)
        if x - pw - m.gap < inner.x + keep:
            break
        box = pygame.Rect(x - pw, rect.y + m.px(6), pw, rect.height - 2 * m.px(6))
        if pill:
            pill_box = box.inflate(0, -max(0, box.height - m.px(36)))
            pygame.draw.rect(surface, pill, pill_box, border_radius=pill_box.height // 2)
        text(surface, ctx, label, box, m.small, fg, bold=True, align="center" if pill else "right")
        x -= pw + m.gap
    left = pygame.Rect(inner.x, rect.y, x - inner.x, rect.height)
    num_w = min(left.width // 2, ctx.fonts.size(row.number, size, True)[0] + m.gap)
    text(surface, ctx, row.number, pygame.Rect(left.x, left.y, num_w, left.height), size, bold=True)
    if second:
        rest = pygame.Rect(left.x + num_w + m.gap, left.y, left.width - num_w - m.gap, left.height)
        if rest.width > m.px(40):
            text(surface, ctx, second, rest, m.small, theme.MUTED)
    if pressable:
        ctx.buttons.append(Button(bid, _abs(surface, rect), row.number, enabled))
    else:
        pygame.draw.rect(surface, theme.SECONDARY, rect, width=max(2, m.px(2)), border_radius=m.radius)


@dataclass(frozen=True)
class Paging:
    """How :func:`order_list` laid a list out: the page drawn (clamped), the number of pages, and
    the rows a page holds (every row when the whole list fits: then ``pages`` is 1)."""

    page: int = 0
    pages: int = 1
    per_page: int = 0

    @property
    def paged(self) -> bool:
        return self.pages > 1


def order_list(
    surface: pygame.Surface,
    ctx: RenderContext,
    rect: pygame.Rect,
    rows: tuple[OrderRow, ...],
    *,
    staff: bool = False,
    page: int = 0,
) -> Paging:
    """Every row if possible: rows shrink to 44 u, then the list goes to two columns. A longer
    list is shown a page at a time (``page`` is clamped to the pages there are); the screen draws
    :func:`pager` for it. ``pickup_all`` still takes every parcel, on any page.

    The page size follows the surface: as many 44 u rows as fit two columns of ``rect`` (a
    message banner takes no room from the list, so it never moves a row to another page). It
    is recorded in ``ctx.page_rows``,
    which the renderer reports (``Renderer.last_page_rows``) and the app passes on to the flow.
    """
    m = ctx.m
    if not rows:
        return Paging()
    gap = m.px(8)
    min_h = m.px(44)
    fit = max(1, (rect.height + gap) // (min_h + gap))
    if len(rows) <= 2 * fit:
        cols = 1 if len(rows) <= fit else 2
        in_col = -(-len(rows) // cols)
        paging = Paging(0, 1, len(rows))
        shown = rows
    else:
        cols = 2
        in_col = fit
        per_page = in_col * cols
        pages = -(-len(rows) // per_page)
        page = min(max(0, page), pages - 1)
        paging = Paging(page, pages, per_page)
        shown = rows[page * per_page : (page + 1) * per_page]
    ctx.page_rows = paging.per_page
    row_h = min(m.px(68), (rect.height - gap * (in_col - 1)) // in_col)
    col_w = (rect.width - gap * (cols - 1)) // cols
    for i, row in enumerate(shown):
        c, r = divmod(i, in_col)
        box = pygame.Rect(rect.x + c * (col_w + gap), rect.y + r * (row_h + gap), col_w, row_h)
        order_row(surface, ctx, box, row, staff=staff)
    return paging


def pager_width(ctx: RenderContext, paging: Paging) -> int:
    """The room :func:`pager` would like in the bottom bar (0 when the list has one page)."""
    if not paging.paged:
        return 0
    m, t = ctx.m, ctx.t
    label = t("page.of", page=paging.pages, pages=paging.pages)
    lw = ctx.fonts.size(label, m.small, True)[0] + 2 * m.gap
    return lw + 2 * (button_width(ctx, t("btn.page_prev"), 100) + m.gap)


def pager(surface: pygame.Surface, ctx: RenderContext, area: pygame.Rect, paging: Paging) -> None:
    """``page_prev`` · "page x of y" · ``page_next``, centred in ``area`` (the free middle of the
    bottom bar). Each button is there only when such a page exists; its place stays the same."""
    if not paging.paged or area.width <= 0:
        return
    m, t = ctx.m, ctx.t
    label = t("page.of", page=paging.page + 1, pages=paging.pages)
    lw = ctx.fonts.size(t("page.of", page=paging.pages, pages=paging.pages), m.small, True)[0] + 2 * m.gap
    prev_l, next_l = t("btn.page_prev"), t("btn.page_next")
    bw = max(button_width(ctx, prev_l, 100), button_width(ctx, next_l, 100))
    want = 2 * bw + lw + 2 * m.gap
    if want > area.width:
        bw = max(m.px(44), (area.width - lw - 2 * m.gap) // 2)
        lw = max(0, area.width - 2 * bw - 2 * m.gap)
    total = 2 * bw + lw + 2 * m.gap
    x = area.centerx - total // 2
    h = m.button_h
    y = area.centery - h // 2
    if paging.page > 0:
        button(surface, ctx, "page_prev", pygame.Rect(x, y, bw, h), prev_l, "secondary")
    if lw > 0:
        text(
            surface, ctx, label, pygame.Rect(x + bw + m.gap, y, lw, h), m.small, theme.MUTED, bold=True, align="center"
        )
    if paging.page < paging.pages - 1:
        button(surface, ctx, "page_next", pygame.Rect(x + total - bw, y, bw, h), next_l, "secondary")


def fields(
    surface: pygame.Surface,
    ctx: RenderContext,
    rect: pygame.Rect,
    items: list[tuple[str, str]],
    *,
    size: int | None = None,
) -> int:
    """Label/value lines (labels muted, values bright). Returns the height used."""
    m = ctx.m
    size = size or m.body
    if not items:
        return 0
    label_w = max(ctx.fonts.size(label, m.small)[0] for label, _ in items) + m.gap * 2
    label_w = min(label_w, rect.width // 3)
    lh = ctx.fonts.line_height(size) + m.px(6)
    lh = min(lh, rect.height // len(items))
    y = rect.y
    for label, value in items:
        text(surface, ctx, label, pygame.Rect(rect.x, y, label_w - m.gap, lh), m.small, theme.MUTED)
        text(surface, ctx, value, pygame.Rect(rect.x + label_w, y, rect.width - label_w, lh), size, bold=True)
        y += lh
    return y - rect.y


# ---- camera preview -----------------------------------------------------------------------------


def preview_box(surface: pygame.Surface, ctx: RenderContext, rect: pygame.Rect) -> pygame.Rect:
    """A 4:3 camera preview inside ``rect`` (the frame, or a dark box), with aiming corners."""
    w = min(rect.width, rect.height * 4 // 3)
    h = w * 3 // 4
    box = pygame.Rect(0, 0, w, h)
    box.center = rect.center
    ctx.preview_rect = box
    draw_preview_frame(surface, ctx, box, ctx.preview)
    return box


def draw_preview_frame(surface: pygame.Surface, ctx: RenderContext, box: pygame.Rect, frame: Any) -> None:
    m = ctx.m
    img = frame_to_surface(frame, box.size) if frame is not None else None
    if img is not None:
        surface.blit(img, box)
    else:
        pygame.draw.rect(surface, (0, 0, 0), box)
        if not ctx.view.camera_ok:
            text(surface, ctx, ctx.t("preview.none"), box.inflate(-2 * m.pad, 0), m.body, theme.MUTED, align="center")
    # aiming corners
    c = theme.ACCENT if ctx.view.camera_ok else theme.DISABLED_FG
    inner = box.inflate(-box.width // 5, -box.height // 5)
    arm = inner.width // 6
    lw = max(3, m.px(5))
    for (cx, cy), (dx, dy) in (
        (inner.topleft, (1, 1)),
        (inner.topright, (-1, 1)),
        (inner.bottomleft, (1, -1)),
        (inner.bottomright, (-1, -1)),
    ):
        pygame.draw.line(surface, c, (cx, cy), (cx + dx * arm, cy), lw)
        pygame.draw.line(surface, c, (cx, cy), (cx, cy + dy * arm), lw)


def frame_to_surface(frame: Any, size: tuple[int, int]) -> pygame.Surface | None:
    """A camera frame (numpy BGR ``(h, w, 3)`` or gray ``(h, w)`` uint8, or a Surface) scaled to
    ``size`` cheaply (resized before colour conversion, nearest-neighbour/area)."""
    if isinstance(frame, pygame.Surface):
        return pygame.transform.scale(frame, size)
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is a dependency
        return None
    arr = np.asarray(frame)
    if arr.dtype != np.uint8 or arr.ndim not in (2, 3) or arr.shape[0] == 0 or arr.shape[1] == 0:
        return None
    w, h = size
    try:
        import cv2

        small = cv2.resize(arr, (w, h), interpolation=cv2.INTER_LINEAR)
        rgb = cv2.cvtColor(small, cv2.COLOR_GRAY2RGB if small.ndim == 2 else cv2.COLOR_BGR2RGB)
    except ImportError:  # pragma: no cover - opencv is a dependency
        ys = np.linspace(0, arr.shape[0] - 1, h).astype(int)
        xs = np.linspace(0, arr.shape[1] - 1, w).astype(int)
        small = arr[ys][:, xs]
        rgb = np.repeat(small[..., None], 3, axis=2) if small.ndim == 2 else small[..., ::-1]
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        return None
    return pygame.image.frombuffer(np.ascontiguousarray(rgb), (w, h), "RGB")  # keeps a reference
