"""Every screen drawn on real pygame surfaces (SDL dummy driver): sizes, languages, buttons, text."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pygame
import pytest

from kiosk.screens import gallery
from kiosk.screens.i18n import catalogue
from kiosk.screens.render import BUSY_INTERVAL, Renderer, needs_redraw, next_redraw_in
from kiosk.screens.view import (
    CUSTOMER_SCREENS,
    SCANNING_SCREENS,
    SCREENS,
    STAFF_SCREENS,
    DoorRow,
    Message,
    OrderRow,
    View,
)
from kiosk.screens.widgets import ALWAYS_ENABLED

SIZES = [(800, 480), (1280, 800), (1920, 1080)]
LANGS = ["zh-TW", "en"]
KEYPAD = {f"key:{d}" for d in "0123456789"} | {"key:clear", "key:backspace"}

REQUIRED = {
    "idle": {"lang", "help", "lookup_phone", "lookup_email"},
    "member_entry": {"lang", "back", "confirm"} | KEYPAD,
    "orders": {"lang", "cancel", "pickup_all", "order:A1002", "order:A1005", "order:A1007"},
    "scan_package": {"lang", "cancel"},
    "door_open": {"lang", "help"},
    "done": {"lang", "confirm"},
    "error": {"lang", "confirm"},
    "offline": {"lang"},
    # r2: nobody is logged in yet on staff_login: no logout (cancel leaves)
    "staff_login": {"cancel", "confirm"} | KEYPAD,
    "staff_menu": {"logout", "arrival", "overdue", "returns", "duty"},
    "arrival": {"logout", "back"},
    "arrival_confirm": {"logout", "cancel", "confirm", "staff:s_1", "staff:s_2", "staff:s_3", "staff:s_4"},
    "overdue": {"logout", "back", "order:A1002", "order:A0998"},
    # r2: no reason preselected, so no `return` yet (see test_order_detail_return_needs_a_reason)
    "order_detail": {"logout", "back", "pickup", "reason:not_collected", "reason:customer_request", "reason:damaged"},
    "pickup_code": {"lang", "back", "confirm"} | KEYPAD,
    "door_alarm": {"lang"},
    "help": {"lang", "back", "call_staff"},
    "returns": {"logout", "back", "order:A0987", "order:A0991"},
}
# screens whose buttons are exactly these (nothing else may be pressed there)
EXACT = {"door_alarm": {"lang"}, "help": {"lang", "back", "call_staff"}}


@pytest.fixture(scope="module")
def renderer():
    return Renderer()


@pytest.fixture(scope="module")
def frame():
    return gallery.demo_frame(320, 240)


def check(renderer: Renderer, view: View, size=(800, 480), **kw):
    surface = pygame.Surface(size)
    buttons = renderer.draw(surface, view, **kw)
    w, h = size
    for b in buttons:
        assert min(b.rect[2:]) > 0, b
        assert pygame.Rect(0, 0, w, h).contains(pygame.Rect(b.rect)), f"{b.id} outside {size}: {b.rect}"
    for a, b in itertools.combinations(buttons, 2):
        assert not pygame.Rect(a.rect).colliderect(pygame.Rect(b.rect)), f"{a.id} overlaps {b.id} on {view.screen}"
    ids = [b.id for b in buttons]
    assert len(ids) == len(set(ids)), f"duplicate ids {ids}"
    assert renderer.last_overflows == [], (
        f"{view.screen} {size} {view.lang}: text does not fit: {renderer.last_overflows}"
    )
    return surface, {b.id: b for b in buttons}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("screen", SCREENS)
def test_every_screen_renders_with_its_buttons(renderer, frame, screen, size, lang):
    view = gallery.demo_views(lang)[screen]
    _surface, buttons = check(renderer, view, size, now=1.0, preview=frame)
    assert REQUIRED[screen] <= set(buttons), f"missing {REQUIRED[screen] - set(buttons)}"
    if screen in EXACT:
        assert set(buttons) == EXACT[screen]
    if screen in STAFF_SCREENS and view.staff_name:
        assert "logout" in buttons
        assert "lang" not in buttons
    if screen in CUSTOMER_SCREENS:
        assert "lang" in buttons
        assert "logout" not in buttons


@pytest.mark.parametrize("lang", LANGS)
def test_every_drawn_character_has_a_glyph(renderer, frame, lang):
    face = renderer.fonts.face()
    chars = set()
    for view in gallery.demo_views(lang).values():
        check(renderer, view, now=0.0, preview=frame)
        chars.update("".join(renderer.last_drawn))
    missing = [ch for ch in sorted(chars) if face.get_metrics(ch, size=24)[0] is None]
    assert missing == [], f"no glyph (tofu) for {missing}"
    assert catalogue(lang).missing == set()


@pytest.mark.parametrize("screen", ["idle", "member_entry"])
def test_member_code_only_hides_phone_and_email(renderer, screen):
    view = View(screen=screen, member_code_only=True)
    _s, buttons = check(renderer, view)
    assert "lookup_phone" not in buttons
    assert "lookup_email" not in buttons
    _s, buttons = check(renderer, dataclasses.replace(view, member_code_only=False))
    assert {"lookup_phone", "lookup_email"} <= set(buttons)


@pytest.mark.parametrize("size", SIZES, ids=str)
def test_email_keyboard_has_every_key(renderer, size):
    view = View(screen="member_entry", entry_kind="email", entry_text="ming.wang_01@example.com" * 2, lang="en")
    _s, buttons = check(renderer, view, size)
    for ch in "abcdefghijklmnopqrstuvwxyz0123456789@.-_":
        assert f"key:{ch}" in buttons
    assert {"key:backspace", "key:clear", "confirm", "back"} <= set(buttons)


def test_door_open_many_doors_and_retry(renderer):
    doors = (DoorRow(3, "open"), DoorRow(11, "unlocked"), DoorRow(12, "not_opened"))
    for lang, size in itertools.product(LANGS, SIZES):
        view = View(screen="door_open", mode="locker", lang=lang, doors=doors, retry_allowed=True)
        _s, buttons = check(renderer, view, size)
        assert "retry" in buttons
    _s, buttons = check(renderer, View(screen="door_open", mode="locker", doors=doors[:1]))
    assert "retry" not in buttons


def test_door_number_is_drawn_big(renderer):
    surface, _ = check(renderer, View(screen="door_open", mode="locker", doors=(DoorRow(7, "open"),)), (1280, 800))
    # the door's digit is the only thing in the accent colour here: it is a large share of the height
    arr = pygame.surfarray.pixels3d(surface)
    yellow = (arr[..., 0] > 240) & (arr[..., 1] > 180) & (arr[..., 1] < 220) & (arr[..., 2] < 80)
    ys = np.nonzero(yellow.any(axis=0))[0]
    del arr
    assert ys.size
    assert (ys.max() - ys.min()) > 800 * 0.3


def test_many_orders_are_paged_not_cut(renderer):
    # more in tests/test_screens_paging.py
    rows = tuple(OrderRow(f"A{1000 + i}", "item x1", overdue=i % 3 == 0, locker_door=i) for i in range(14))
    for size in SIZES:
        _s, buttons = check(renderer, View(screen="orders", orders=rows, member_masked="王*明"), size)
        assert "order:A1000" in buttons
        assert "page_next" in buttons
        assert not any(t.startswith("+") for t in renderer.last_drawn)


def test_orders_empty_and_overdue_empty(renderer):
    _s, buttons = check(renderer, View(screen="orders", member_masked="王*明"))
    assert "pickup_all" not in buttons
    assert "cancel" in buttons
    _s, buttons = check(renderer, View(screen="overdue", staff_name="陳小華"))
    assert not any(b.startswith("order:") for b in buttons)


def test_arrival_confirm_offline_without_details_or_picker(renderer):
    view = View(
        screen="arrival_confirm", staff_name="陳小華", detail=None, message=Message.of("msg.saved_offline", "warn")
    )
    for lang in LANGS:
        _s, buttons = check(renderer, dataclasses.replace(view, lang=lang))
        assert {"confirm", "cancel", "logout"} <= set(buttons)
        assert not any(b.startswith("staff:") for b in buttons)
        assert catalogue(lang)("confirm.no_details") in renderer.last_drawn
    # locker mode offline: the door the kiosk opened is still shown
    check(renderer, dataclasses.replace(view, mode="locker", doors=(DoorRow(4),)))
    assert catalogue("zh-TW")("confirm.door", door=4) in renderer.last_drawn


def test_overdue_marked_and_only_masked_values_drawn(renderer):
    view = gallery.demo_views("zh-TW")["orders"]
    check(renderer, view)
    assert "已逾期" in renderer.last_drawn
    assert all("0912345678" not in s and "王小明" not in s for s in renderer.last_drawn)


def test_busy_disables_all_but_leaving_buttons(renderer):
    view = dataclasses.replace(gallery.demo_views("en")["orders"], busy=True)
    _s, buttons = check(renderer, view)
    for bid, b in buttons.items():
        assert b.enabled == (bid in ALWAYS_ENABLED), bid
    assert "Working…" in renderer.last_drawn


def test_message_banner_uses_the_catalogue(renderer):
    view = View(screen="scan_package", lang="en", message=Message.of("msg.parcel_mismatch", "error", number="A1002"))
    check(renderer, view)
    assert "This parcel is not order A1002" in renderer.last_drawn


def test_focus_and_indicators_render(renderer):
    view = View(
        screen="staff_menu",
        staff_name="陳小華",
        focus="arrival",
        offline=True,
        outbox_depth=3,
        attention_count=1,
        camera_ok=False,
    )
    for size in SIZES:
        check(renderer, view, size)


@pytest.mark.parametrize("screen", sorted(SCANNING_SCREENS))
def test_preview_on_scanning_screens(renderer, screen):
    view = dataclasses.replace(gallery.demo_views("en")[screen], busy=False)
    gray = np.full((120, 160), 200, np.uint8)
    red = pygame.Surface((64, 48))
    red.fill((255, 0, 0))
    for preview in (None, gray, gallery.demo_frame(64, 48), red):
        surface, _ = check(renderer, view, (1280, 800), preview=preview)
        assert renderer.preview_rect is not None
    # the Surface preview really lands in the box
    assert surface.get_at(renderer.preview_rect.center)[:3] == (255, 0, 0)
    # cheap refresh of just the box
    blue = np.zeros((48, 64, 3), np.uint8)
    blue[..., 0] = 255  # BGR blue
    rect = renderer.draw_preview(surface, blue)
    assert rect == renderer.preview_rect
    assert surface.get_at((rect.x + 2, rect.y + 2))[:3] == (0, 0, 255)


def test_no_preview_box_elsewhere(renderer):
    surface, _ = check(renderer, View(screen="orders"))
    assert renderer.preview_rect is None
    assert renderer.draw_preview(surface, np.zeros((10, 10, 3), np.uint8)) is None


def test_camera_lost_shows_placeholder(renderer):
    check(renderer, View(screen="idle", camera_ok=False, lang="en"))
    assert "No camera picture" in renderer.last_drawn


def test_sim_panel_strip(renderer):
    snapshot = {
        "leds": {"green": True, "red": False},
        "buzzer": True,
        "doors": {i: "locked" for i in range(1, 13)} | {2: "open"},
    }
    for size in SIZES:
        _surface, _ = check(renderer, View(screen="door_open", doors=(DoorRow(2, "open"),)), size, sim=snapshot)
        # the bottom strip is drawn and the screen's buttons stay above it
        assert all(b.rect[1] + b.rect[3] <= size[1] - max(36, size[1] // 12) for b in renderer.last_buttons)
    check(renderer, View(), sim={})


def test_needs_redraw_rule():
    idle = View()
    assert needs_redraw(None, idle, 0.0, 0.0)
    assert not needs_redraw(idle, View(), 100.0, 0.0)  # equal views: nothing to do, however long
    assert needs_redraw(idle, dataclasses.replace(idle, countdown=5), 0.0, 0.0)
    busy = dataclasses.replace(idle, busy=True)
    assert needs_redraw(busy, busy, 10 + BUSY_INTERVAL, 10.0)
    assert not needs_redraw(busy, busy, 10.0 + BUSY_INTERVAL / 2, 10.0)
    assert next_redraw_in(idle, 5.0, 4.0) is None
    assert next_redraw_in(busy, 10.0, 10.0) == pytest.approx(BUSY_INTERVAL)


def test_view_rejects_unknown_values():
    with pytest.raises(ValueError, match="screen"):
        View(screen="nope")
    with pytest.raises(ValueError, match="language"):
        View(lang="fr")
    with pytest.raises(ValueError, match="mode"):
        View(mode="drone")


def test_gallery_writes_pngs(tmp_path):
    written = gallery.render_all(tmp_path, sizes=((800, 480),), langs=("en",))
    assert len(written) == len(SCREENS) + len(gallery.extra_views("en"))
    for name in ("pickup_code", "door_alarm", "help", "returns"):
        assert (tmp_path / "en" / "800x480" / f"{name}.png").is_file()
    img = pygame.image.load(str(tmp_path / "en" / "800x480" / "door_open.png"))
    assert img.get_size() == (800, 480)
