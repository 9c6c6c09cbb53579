"""Raw pygame events → kiosk inputs, in one place.

- ``translate(event, buttons, focus=None, size=None) -> Input | None``: one event, no memory.
  Mouse (left button) and touch (``FINGERDOWN``) hit the enabled buttons → ``Press(id)``; SDL's
  mouse events synthesised from touch are ignored (no double presses). Arrow keys move the
  focus spatially and Tab/Shift-Tab in order → ``Focus(id)``; Enter presses the focused button
  (or ``confirm`` when nothing has focus) → ``Press``; Esc → ``Press`` of ``back``, ``cancel`` or
  ``logout`` (the first on screen); PageUp/PageDown → ``Press`` of ``page_prev``/``page_next``
  when that button is on screen; Backspace → ``Erase()``, Delete → ``Erase(all=True)``;
  printable characters → ``Typed(c)``. F-keys and anything else → None (the app may use F-keys
  for demo shortcuts).
- ``KeyboardWedge``: a USB barcode scanner types like a keyboard, a fast burst (every key within
  ``max_gap`` seconds of the previous one) ending in Enter. Such a burst becomes one
  ``kiosk.events.Scan(source="usb")``; slower keys are typing. Time is passed in, so it is
  testable without waiting.
- ``EventTranslator``: both together, as the app loop uses them. Characters wait in the wedge
  for at most ``max_gap`` seconds; call ``poll(now)`` each loop turn (``deadline()`` says when).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence

import pygame

from ..events import Scan
from .view import Button, Erase, Focus, Input, Press, Typed

ESCAPE_ORDER = ("back", "cancel", "logout")
USB_SYMBOLOGY = "USB"

_ARROWS = {
    pygame.K_LEFT: (-1, 0),
    pygame.K_RIGHT: (1, 0),
    pygame.K_UP: (0, -1),
    pygame.K_DOWN: (0, 1),
}
_ENTER = (pygame.K_RETURN, pygame.K_KP_ENTER)
_PAGE_KEYS = {pygame.K_PAGEUP: "page_prev", pygame.K_PAGEDOWN: "page_next"}


def _enabled(buttons: Sequence[Button]) -> list[Button]:
    return [b for b in buttons if b.enabled]


def hit(buttons: Sequence[Button], x: float, y: float) -> Button | None:
    """The enabled button under (x, y), the last drawn winning (it is on top)."""
    for b in reversed(buttons):
        if b.enabled and b.contains(x, y):
            return b
    return None


def move_focus(buttons: Sequence[Button], focus: str | None, dx: int, dy: int) -> str | None:
    """The button id that the arrow (dx, dy) moves the focus to (spatially nearest that way)."""
    live = _enabled(buttons)
    if not live:
        return None
    current = next((b for b in live if b.id == focus), None)
    if current is None:
        return live[0].id
    cx, cy = current.center
    best: tuple[float, str] | None = None
    for b in live:
        if b.id == current.id:
            continue
        bx, by = b.center
        along = (bx - cx) * dx + (by - cy) * dy
        if along <= 1:
            continue
        across = abs((bx - cx) * dy) + abs((by - cy) * dx)
        score = along + 2 * across
        if best is None or score < best[0]:
            best = (score, b.id)
    return best[1] if best else current.id


def step_focus(buttons: Sequence[Button], focus: str | None, step: int) -> str | None:
    live = _enabled(buttons)
    if not live:
        return None
    ids = [b.id for b in live]
    if focus not in ids:
        return ids[0] if step > 0 else ids[-1]
    return ids[(ids.index(focus) + step) % len(ids)]


def _printable(ch: str) -> bool:
    return len(ch) == 1 and ch.isprintable()


def translate(
    event: pygame.event.Event,
    buttons: Sequence[Button],
    focus: str | None = None,
    size: tuple[int, int] | None = None,
) -> Input | None:
    """One pygame event → one kiosk input (or None). ``size`` is the display size, for touch
    coordinates (which SDL gives as 0..1); default: the current display surface's size."""
    if event.type == pygame.MOUSEBUTTONDOWN:
        if getattr(event, "touch", False) or event.button != 1:
            return None
        b = hit(buttons, *event.pos)
        return Press(b.id) if b else None
    if event.type == pygame.FINGERDOWN:
        if size is None:
            surf = pygame.display.get_surface()
            if surf is None:
                return None
            size = surf.get_size()
        b = hit(buttons, event.x * size[0], event.y * size[1])
        return Press(b.id) if b else None
    if event.type != pygame.KEYDOWN:
        return None
    key = event.key
    if key in _ARROWS:
        target = move_focus(buttons, focus, *_ARROWS[key])
        return Focus(target) if target else None
    if key == pygame.K_TAB:
        back = bool(getattr(event, "mod", 0) & pygame.KMOD_SHIFT)
        target = step_focus(buttons, focus, -1 if back else 1)
        return Focus(target) if target else None
    if key in _ENTER:
        live = {b.id for b in _enabled(buttons)}
        if focus in live:
            return Press(focus)
        return Press("confirm") if "confirm" in live else None
    if key in _PAGE_KEYS:
        bid = _PAGE_KEYS[key]
        return Press(bid) if bid in {b.id for b in _enabled(buttons)} else None
    if key == pygame.K_ESCAPE:
        live = {b.id for b in _enabled(buttons)}
        for bid in ESCAPE_ORDER:
            if bid in live:
                return Press(bid)
        return None
    if key == pygame.K_BACKSPACE:
        return Erase()
    if key == pygame.K_DELETE:
        return Erase(all=True)
    ch = getattr(event, "unicode", "")
    if _printable(ch):
        return Typed(ch)
    return None


class KeyboardWedge:
    """Tells a USB scanner's keystroke burst from a person typing.

    ``feed(ch, now)`` for each printable character, ``enter(now)`` for Enter, ``poll(now)`` each
    loop turn. Each returns what became certain: ``Typed`` runs of characters, or a ``Scan``.
    A burst is at least ``min_length`` characters, each within ``max_gap`` seconds of the one
    before, ended by Enter within ``max_gap``. Characters are held back (at most ``max_gap``)
    until it is clear they were typed.
    """

    def __init__(self, max_gap: float = 0.05, min_length: int = 4, max_length: int = 512):
        self.max_gap = max_gap
        self.min_length = min_length
        self.max_length = max_length
        self._buf: list[str] = []
        self._last = 0.0

    @property
    def pending(self) -> bool:
        return bool(self._buf)

    def deadline(self) -> float | None:
        """When held characters become typing (call ``poll`` then), or None."""
        return self._last + self.max_gap if self._buf else None

    def _release(self) -> list[Input | Scan]:
        if not self._buf:
            return []
        text = "".join(self._buf)
        self._buf.clear()
        if any(unicodedata.category(c) == "Cc" for c in text):
            return []  # a burst with a control key in it is a junk code, never typing
        return [Typed(text)]

    def in_burst(self, now: float) -> bool:
        """Characters are held and the last came within ``max_gap``: a scanner is typing."""
        return bool(self._buf) and now - self._last <= self.max_gap

    def feed(self, ch: str, now: float) -> list[Input | Scan]:
        """One key of text (or, within a burst, a control key: it taints the burst, whose scan
        the flow then refuses as a whole, instead of the burst being split in two)."""
        out: list[Input | Scan] = []
        if self._buf and now - self._last > self.max_gap:
            out = self._release()
        if len(self._buf) < self.max_length:
            self._buf.append(ch)
        # beyond max_length a fast burst is not split into typing and a scan of its tail: it
        # stays one (overlong) scan, which the flow refuses
        self._last = now
        return out

    def enter(self, now: float) -> tuple[list[Input | Scan], bool]:
        """Enter pressed: ``(outputs, consumed)``; consumed=False means Enter is a normal Enter
        (to be translated after the outputs)."""
        if len(self._buf) >= self.min_length and now - self._last <= self.max_gap:
            text = "".join(self._buf)
            self._buf.clear()
            return [Scan(symbology=USB_SYMBOLOGY, text=text, at=now, source="usb")], True
        return self._release(), False

    def poll(self, now: float) -> list[Input | Scan]:
        if self._buf and now - self._last > self.max_gap:
            return self._release()
        return []

    def flush(self) -> list[Input | Scan]:
        return self._release()


class EventTranslator:
    """``translate`` plus the keyboard wedge, for the app loop.

    ``handle(event, buttons, focus, now)`` → list of ``Press``/``Typed``/``Erase``/``Focus``/``Scan``.
    ``poll(now)`` releases held characters; ``deadline()`` is when the next poll is due.
    ``now`` is ``time.monotonic()`` (real time: key timing is physical, not kiosk time).
    """

    def __init__(self, wedge: KeyboardWedge | None = None, clock: Callable[[], float] | None = None):
        import time

        self.wedge = wedge if wedge is not None else KeyboardWedge()
        self._clock = clock or time.monotonic
        # a tab/ESC/control key held back for max_gap: it may open a scanner's burst (then it is
        # part of a junk code), else it is a person's key and is translated then
        self._held: tuple | None = None

    def handle(
        self,
        event: pygame.event.Event,
        buttons: Sequence[Button],
        focus: str | None = None,
        now: float | None = None,
        size: tuple[int, int] | None = None,
    ) -> list[Input | Scan]:
        now = self._clock() if now is None else now
        first: list[Input | Scan] = []
        ch = getattr(event, "unicode", "") if event.type == pygame.KEYDOWN else ""
        burst_char = _printable(ch) and event.key not in _ARROWS and event.key != pygame.K_TAB
        if self._held is not None:
            held, self._held = self._held, None
            if burst_char and now - held[-1] <= self.wedge.max_gap:
                self.wedge.feed(_control_of(held[0]), held[-1])  # the burst starts with it: junk
            else:
                first = _translate_held(held)
        if event.type == pygame.KEYDOWN:
            if event.key in _ENTER:
                out, consumed = self.wedge.enter(now)
                if consumed:
                    return [*first, *out]
                more = translate(event, buttons, focus, size)
                return [*first, *out, more] if more is not None else [*first, *out]
            if burst_char:
                return [*first, *self.wedge.feed(ch, now)]
            control = _control_of(event)
            if control and self.wedge.in_burst(now):
                # a tab, ESC or NUL inside a scanner's burst is part of the code (a junk one): it
                # must neither split the code nor move the focus or leave the screen
                return [*first, *self.wedge.feed(control, now)]
            if control:
                self._held = (event, tuple(buttons), focus, size, now)
                return [*first, *self.wedge.flush()]
        out = self.wedge.flush() if event.type in (pygame.KEYDOWN, pygame.MOUSEBUTTONDOWN, pygame.FINGERDOWN) else []
        more = translate(event, buttons, focus, size)
        return [*first, *out, more] if more is not None else [*first, *out]

    def poll(self, now: float | None = None) -> list[Input | Scan]:
        now = self._clock() if now is None else now
        out: list[Input | Scan] = []
        if self._held is not None and now - self._held[-1] > self.wedge.max_gap:
            held, self._held = self._held, None
            out = _translate_held(held)
        return [*out, *self.wedge.poll(now)]

    def deadline(self) -> float | None:
        due = self.wedge.deadline()
        if self._held is not None:
            held_due = self._held[-1] + self.wedge.max_gap
            due = held_due if due is None else min(due, held_due)
        return due


def _translate_held(held: tuple) -> list[Input | Scan]:
    event, buttons, focus, size, _at = held
    more = translate(event, buttons, focus, size)
    return [more] if more is not None else []


def _control_of(event: pygame.event.Event) -> str:
    """The control character a key press stands for (tab, ESC, NUL, ...), or ""."""
    if event.key in (pygame.K_BACKSPACE, pygame.K_DELETE):
        return ""  # editing keys act at once
    ch = getattr(event, "unicode", "")
    if len(ch) == 1 and unicodedata.category(ch) == "Cc":
        return ch
    if event.key == pygame.K_TAB:
        return "\t"
    if event.key == pygame.K_ESCAPE:
        return "\x1b"
    return ""
