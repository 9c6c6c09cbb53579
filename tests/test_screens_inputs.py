"""Raw pygame events → kiosk inputs (synthetic MOUSEBUTTONDOWN/FINGERDOWN/KEYDOWN) and the USB
scanner's keyboard wedge, with injected time."""

from __future__ import annotations

import pygame
import pytest

from kiosk.events import Scan
from kiosk.screens.inputs import EventTranslator, KeyboardWedge, move_focus, translate
from kiosk.screens.render import Renderer
from kiosk.screens.view import Button, Erase, Focus, Press, Typed, View, key_char

# a 3x2 grid of buttons plus a disabled one
GRID = [
    Button("a", (0, 0, 100, 50)),
    Button("b", (110, 0, 100, 50)),
    Button("c", (220, 0, 100, 50)),
    Button("d", (0, 60, 100, 50)),
    Button("confirm", (110, 60, 100, 50)),
    Button("back", (220, 60, 100, 50)),
    Button("off", (0, 200, 100, 50), enabled=False),
]


def key(k: int, uni: str = "", mod: int = 0) -> pygame.event.Event:
    return pygame.event.Event(pygame.KEYDOWN, key=k, unicode=uni, mod=mod, scancode=0)


def test_mouse_click_presses_the_button_under_it():
    ev = pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(150, 70), button=1, touch=False)
    assert translate(ev, GRID) == Press("confirm")
    miss = pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(500, 400), button=1, touch=False)
    assert translate(miss, GRID) is None


def test_disabled_right_button_and_touch_synthesised_mouse_are_ignored():
    assert translate(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(10, 210), button=1, touch=False), GRID) is None
    assert translate(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(10, 10), button=3, touch=False), GRID) is None
    # SDL turns a touch into FINGERDOWN and a mouse click marked touch=True: only one press counts
    assert translate(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(10, 10), button=1, touch=True), GRID) is None


def test_finger_uses_normalised_coordinates():
    ev = pygame.event.Event(pygame.FINGERDOWN, x=0.5, y=0.1, touch_id=1, finger_id=0, pressure=1.0, dx=0, dy=0)
    assert translate(ev, GRID, size=(320, 320)) == Press("b")
    assert translate(ev, GRID, size=(640, 200)) is None  # (320, 20): just right of c


def test_arrows_move_focus_spatially_and_enter_presses_it():
    assert translate(key(pygame.K_RIGHT), GRID, focus="a") == Focus("b")
    assert translate(key(pygame.K_DOWN), GRID, focus="b") == Focus("confirm")
    assert translate(key(pygame.K_LEFT), GRID, focus="confirm") == Focus("d")
    assert translate(key(pygame.K_UP), GRID, focus="a") == Focus("a")  # edge: stays
    assert translate(key(pygame.K_RIGHT), GRID, focus=None) == Focus("a")  # no focus yet: first
    assert move_focus(GRID, "d", 0, 1) == "d"  # the disabled button below is skipped
    assert translate(key(pygame.K_RETURN, "\r"), GRID, focus="c") == Press("c")
    assert translate(key(pygame.K_KP_ENTER, "\r"), GRID, focus=None) == Press("confirm")


def test_tab_cycles_and_escape_goes_back():
    assert translate(key(pygame.K_TAB, "\t"), GRID, focus="back") == Focus("a")
    assert translate(key(pygame.K_TAB, "\t", pygame.KMOD_LSHIFT), GRID, focus="a") == Focus("back")
    assert translate(key(pygame.K_ESCAPE, "\x1b"), GRID) == Press("back")
    staff = [Button("logout", (0, 0, 10, 10)), Button("cancel", (20, 0, 10, 10))]
    assert translate(key(pygame.K_ESCAPE, "\x1b"), staff) == Press("cancel")
    assert translate(key(pygame.K_ESCAPE, "\x1b"), staff[:1]) == Press("logout")
    assert translate(key(pygame.K_ESCAPE, "\x1b"), []) is None


def test_typing_erasing_and_function_keys():
    assert translate(key(pygame.K_7, "7"), GRID) == Typed("7")
    assert translate(key(pygame.K_KP7, "7"), GRID) == Typed("7")
    assert translate(key(pygame.K_2, "@", pygame.KMOD_SHIFT), GRID) == Typed("@")
    assert translate(key(pygame.K_BACKSPACE, "\b"), GRID) == Erase()
    assert translate(key(pygame.K_DELETE, "\x7f"), GRID) == Erase(all=True)
    assert translate(key(pygame.K_F1), GRID) is None  # the demo's shortcuts
    assert translate(pygame.event.Event(pygame.MOUSEMOTION, pos=(1, 1), rel=(0, 0), buttons=(0, 0, 0)), GRID) is None


def test_on_screen_keys_type_their_character():
    assert Press("key:7").key_char == "7"
    assert key_char("key:@") == "@"
    assert key_char("key:space") == " "
    assert key_char("key:backspace") is None
    assert key_char("confirm") is None


def test_translate_against_a_real_rendered_screen():
    renderer = Renderer()
    surface = pygame.Surface((800, 480))
    buttons = renderer.draw(surface, View(screen="staff_login", staff_name=""))
    five = next(b for b in buttons if b.id == "key:5")
    ev = pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=tuple(map(int, five.center)), button=1, touch=False)
    assert translate(ev, buttons) == Press("key:5")
    fx, fy = five.center
    finger = pygame.event.Event(
        pygame.FINGERDOWN, x=fx / 800, y=fy / 480, touch_id=1, finger_id=0, pressure=1.0, dx=0, dy=0
    )
    assert translate(finger, buttons, size=(800, 480)) == Press("key:5")


# ---- keyboard wedge -----------------------------------------------------------------------------


def burst(wedge: KeyboardWedge, text: str, t0: float, gap: float) -> list:
    out = []
    t = t0
    for ch in text:
        out += wedge.feed(ch, t)
        t += gap
    got, consumed = wedge.enter(t)
    return [*out, *got], consumed


def test_fast_burst_ending_in_enter_is_a_usb_scan():
    wedge = KeyboardWedge(max_gap=0.05)
    out, consumed = burst(wedge, "PKG1002", 10.0, 0.004)
    assert consumed
    assert len(out) == 1
    scan = out[0]
    assert isinstance(scan, Scan)
    assert (scan.text, scan.source) == ("PKG1002", "usb")
    assert not wedge.pending


def test_slow_keys_are_typing():
    wedge = KeyboardWedge(max_gap=0.05)
    out = []
    for i, ch in enumerate("2468"):
        out += wedge.feed(ch, 1.0 + i * 0.2)
    assert out == [Typed("2"), Typed("4"), Typed("6")]
    assert wedge.deadline() == pytest.approx(1.65)
    assert wedge.poll(1.62) == []
    assert wedge.poll(1.7) == [Typed("8")]
    got, consumed = wedge.enter(2.0)
    assert (got, consumed) == ([], False)


def test_short_burst_or_late_enter_is_not_a_scan():
    wedge = KeyboardWedge(max_gap=0.05, min_length=4)
    out, consumed = burst(wedge, "12", 0.0, 0.001)
    assert not consumed
    assert out == [Typed("12")]
    for i, ch in enumerate("ABCDEF"):
        wedge.feed(ch, 5.0 + i * 0.001)
    got, consumed = wedge.enter(5.5)  # Enter came long after: a person pressed it
    assert not consumed
    assert got == [Typed("ABCDEF")]


def test_event_translator_routes_keys_through_the_wedge():
    tr = EventTranslator(KeyboardWedge(max_gap=0.05))
    out = []
    t = 100.0
    for ch in "STAFF-0001":
        out += tr.handle(key(pygame.K_a, ch), GRID, now=t)
        t += 0.003
    out += tr.handle(key(pygame.K_RETURN, "\r"), GRID, focus="a", now=t)
    assert len(out) == 1
    assert isinstance(out[0], Scan)
    assert out[0].text == "STAFF-0001"
    # a person: digits then Enter on the focused button
    assert tr.handle(key(pygame.K_1, "1"), GRID, now=200.0) == []
    assert tr.deadline() == pytest.approx(200.05)
    assert tr.poll(200.2) == [Typed("1")]
    assert tr.handle(key(pygame.K_2, "2"), GRID, now=201.0) == []
    assert tr.handle(key(pygame.K_RETURN, "\r"), GRID, focus="confirm", now=201.5) == [Typed("2"), Press("confirm")]
    # a click flushes held characters first, in order
    assert tr.handle(key(pygame.K_3, "3"), GRID, now=300.0) == []
    click = pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(10, 10), button=1, touch=False)
    assert tr.handle(click, GRID, now=300.01) == [Typed("3"), Press("a")]
    # navigation and erase are not held
    assert tr.handle(key(pygame.K_BACKSPACE, "\b"), GRID, now=301.0) == [Erase()]
    assert tr.handle(key(pygame.K_RIGHT), GRID, focus="a", now=301.0) == [Focus("b")]
