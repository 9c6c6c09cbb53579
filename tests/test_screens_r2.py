"""Revision-2 screens and fixes (issue 12) on real pygame surfaces (SDL dummy driver):
pickup_code, door_alarm, help, returns; reasons and return states on order_detail; duty;
the on-duty header; the lockout countdown; doorless locker parcels; and the rule that a
message banner never moves a button."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pygame
import pytest

from kiosk.screens import gallery
from kiosk.screens.i18n import catalogue, load_catalogue
from kiosk.screens.render import Renderer
from kiosk.screens.view import CUSTOMER_SCREENS, RETURN_REASONS, STAFF_SCREENS, Message, OrderDetail, OrderRow, View

SIZES = [(800, 480), (1280, 800)]
LANGS = ["zh-TW", "en"]
EN = catalogue("en")
ZH = catalogue("zh-TW")


@pytest.fixture(scope="module")
def renderer():
    return Renderer()


def draw(renderer: Renderer, view: View, size=(800, 480)) -> dict:
    """Draw and check the layout rules: inside the surface, no overlap, no cut text."""
    surface = pygame.Surface(size)
    buttons = renderer.draw(surface, view, now=1.0)
    bounds = pygame.Rect(0, 0, *size)
    for b in buttons:
        assert bounds.contains(pygame.Rect(b.rect)), f"{b.id} outside {size}"
    for a, b in itertools.combinations(buttons, 2):
        assert not pygame.Rect(a.rect).colliderect(pygame.Rect(b.rect)), f"{a.id} overlaps {b.id} on {view.screen}"
    assert renderer.last_overflows == [], f"{view.screen} {size} {view.lang}: {renderer.last_overflows}"
    ids = [b.id for b in buttons]
    assert len(ids) == len(set(ids))
    renderer.surface = surface
    return {b.id: b for b in buttons}


def all_views(lang: str) -> dict[str, View]:
    return {**gallery.demo_views(lang), **gallery.extra_views(lang)}


# ---- the banner never moves a button ------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_a_banner_leaves_every_button_where_it_was(renderer, size, lang):
    long_msg = Message.of("msg.picked_next", "ok", number="A100234")
    for name, view in all_views(lang).items():
        plain = dataclasses.replace(view, message=None, busy=False, locked_for=0)
        base = {bid: b.rect for bid, b in draw(renderer, plain, size).items()}
        for variant in (
            dataclasses.replace(plain, message=Message.of("msg.code_unknown", "error")),
            dataclasses.replace(plain, message=long_msg),
            dataclasses.replace(plain, busy=True),
            dataclasses.replace(plain, locked_for=59),
        ):
            moved = {bid: b.rect for bid, b in draw(renderer, variant, size).items()}
            assert moved == base, f"{name}: a banner moved {set(moved.items()) ^ set(base.items())}"


def test_a_keypad_key_is_hit_at_the_same_point_with_and_without_a_message(renderer):
    from kiosk.screens.inputs import hit

    view = View(screen="pickup_code", entry_kind="pickup_code", entry_text="12")
    keys = draw(renderer, view)
    with_msg = list(draw(renderer, dataclasses.replace(view, message=Message.of("msg.pickup_code_wrong"))).values())
    for bid in ("key:1", "key:5", "key:0", "key:backspace"):
        assert hit(with_msg, *keys[bid].center).id == bid


# ---- pickup_code --------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES, ids=str)
@pytest.mark.parametrize("lang", LANGS)
def test_pickup_code_confirm_only_at_six_digits(renderer, size, lang):
    for typed, ok in (("", False), ("12345", False), ("123456", True), ("12a456", False), ("１２３４５６", False)):
        view = View(screen="pickup_code", lang=lang, entry_kind="pickup_code", entry_text=typed)
        buttons = draw(renderer, view, size)
        assert {f"key:{d}" for d in "0123456789"} | {"key:clear", "key:backspace", "back", "lang"} <= set(buttons)
        assert buttons["confirm"].enabled is ok, typed
        assert not any(b.startswith("key:") and len(b) == 5 and b[4].isalpha() for b in buttons)  # digits only
    # where the code comes from
    assert catalogue(lang)("code.hint") in " ".join(renderer.last_drawn) or any(
        s and s in catalogue(lang)("code.hint") for s in renderer.last_drawn
    )


def test_pickup_code_shows_the_digits_in_boxes(renderer):
    draw(renderer, View(screen="pickup_code", lang="en", entry_kind="pickup_code", entry_text="2468"))
    for digit in "2468":
        assert digit in renderer.last_drawn
    assert EN("code.digits", n=4) in renderer.last_drawn


# ---- door_alarm ---------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES, ids=str)
@pytest.mark.parametrize("lang", LANGS)
def test_door_alarm_tells_which_door_to_close_and_offers_nothing_but_lang(renderer, size, lang):
    t = catalogue(lang)
    for kind in ("door_left_open", "door_forced"):
        view = View(screen="door_alarm", lang=lang, mode="locker", alarm_door=11, alarm_kind=kind)
        buttons = draw(renderer, view, size)
        assert set(buttons) == {"lang"}
        drawn = "".join(renderer.last_drawn)
        assert "11" in renderer.last_drawn  # the big number
        assert t("alarm.close", door=11).replace(" ", "") in drawn.replace(" ", "")
        alerted = t("alarm.forced").replace(" ", "")
        assert (alerted in drawn.replace(" ", "")) == (kind == "door_forced")


def test_door_alarm_number_is_big(renderer):
    view = View(screen="door_alarm", mode="locker", alarm_door=7, alarm_kind="door_left_open")
    draw(renderer, view, (1280, 800))
    arr = pygame.surfarray.pixels3d(renderer.surface)
    yellow = (arr[..., 0] > 240) & (arr[..., 1] > 180) & (arr[..., 1] < 220) & (arr[..., 2] < 80)
    ys = np.nonzero(yellow.any(axis=0))[0]
    del arr
    assert ys.size
    assert ys.max() - ys.min() > 800 * 0.35


# ---- help ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_help_explains_this_kiosk_not_just_the_instruction(renderer, lang):
    t = catalogue(lang)
    for mode, step, other in (
        ("locker", "help.step_locker", "help.step_counter"),
        ("counter", "help.step_counter", "help.step_locker"),
    ):
        for size in SIZES:
            buttons = draw(renderer, View(screen="help", lang=lang, mode=mode), size)
            assert set(buttons) == {"lang", "back", "call_staff"}
            drawn = "".join(renderer.last_drawn).replace(" ", "")
            assert t(step).replace(" ", "") in drawn
            assert t(other).replace(" ", "") not in drawn
            assert t("help.code").replace(" ", "") in drawn  # where the pickup code comes from
            assert t("msg.help").replace(" ", "") not in drawn  # not the old repeated instruction
    draw(renderer, View(screen="help", lang=lang, member_code_only=True))
    drawn = "".join(renderer.last_drawn).replace(" ", "")
    assert t("help.code").replace(" ", "") not in drawn
    assert t("help.step_find_code_only").replace(" ", "") in drawn


# ---- returns and order_detail -------------------------------------------------------------------


def test_returns_lists_rows_with_their_status(renderer):
    view = gallery.demo_views("en")["returns"]
    for size in SIZES:
        buttons = draw(renderer, view, size)
        assert {"logout", "back", "order:A0987", "order:A0991"} <= set(buttons)
        assert "lang" not in buttons
        assert EN("status.return_reviewed") in renderer.last_drawn
        assert EN("status.return_requested") in renderer.last_drawn
    draw(renderer, View(screen="returns", lang="en", staff_name="Ann"))
    assert EN("returns.none") in renderer.last_drawn
    many = tuple(OrderRow(f"R{i:04d}", status="return_requested", customer_masked="王*明") for i in range(30))
    buttons = draw(renderer, View(screen="returns", orders=many, staff_name="Ann"))
    assert "page_next" in buttons
    assert renderer.last_page_rows < 30


def _detail(status: str, reason: str | None = None, lang: str = "en") -> View:
    d = OrderDetail("A1002", status=status, customer_masked="王*明", items=("T-shirt x2",), locker_door=2)
    return View(screen="order_detail", lang=lang, detail=d, staff_name="陳小華", return_reason=reason)


@pytest.mark.parametrize("size", SIZES, ids=str)
def test_order_detail_return_needs_a_reason_and_none_is_preselected(renderer, size):
    reasons = {f"reason:{k}" for k in ("not_collected", "customer_request", "damaged")}
    assert set(RETURN_REASONS) == {"not_collected", "customer_request", "damaged"}
    buttons = draw(renderer, _detail("overdue"), size)
    assert reasons <= set(buttons)
    assert "return" not in buttons
    assert "pickup" in buttons
    assert not any(b.label.startswith("✓") for b in buttons.values())
    assert EN("detail.choose_reason") in renderer.last_drawn
    pickup = buttons["pickup"].rect
    for key in RETURN_REASONS:
        buttons = draw(renderer, _detail("overdue", key), size)
        assert "return" in buttons
        assert buttons["pickup"].rect == pickup  # return appears beside it, pickup stays put
        ticked = [bid for bid, b in buttons.items() if b.label.startswith("✓")]
        assert ticked == [f"reason:{key}"]
    # a reason the screen does not offer chooses nothing
    buttons = draw(renderer, _detail("arrived", "overdue"), size)
    assert "return" not in buttons


@pytest.mark.parametrize("lang", LANGS)
def test_order_detail_by_return_status(renderer, lang):
    for size in SIZES:
        buttons = draw(renderer, _detail("return_requested", lang=lang), size)
        assert set(buttons) == {"logout", "back"}
        assert catalogue(lang)("detail.waiting_review")[:6] in "".join(renderer.last_drawn)
        buttons = draw(renderer, _detail("return_reviewed", "damaged", lang=lang), size)
        assert {"to_warehouse", "to_store_stock", "back", "logout"} == set(buttons)


# ---- staff_menu, duty and the header ------------------------------------------------------------


def test_staff_menu_offers_returns_and_duty_at_a_counter_only(renderer):
    for size, lang in itertools.product(SIZES, LANGS):
        counter = draw(renderer, View(screen="staff_menu", lang=lang, staff_name="陳小華"), size)
        assert {"arrival", "overdue", "returns", "duty", "logout"} == set(counter)
        assert counter["duty"].label == catalogue(lang)("btn.duty")
        locker = draw(renderer, View(screen="staff_menu", lang=lang, mode="locker", staff_name="陳小華"), size)
        assert {"arrival", "overdue", "returns", "logout"} == set(locker)
    mine = draw(renderer, View(screen="staff_menu", lang="en", staff_name="陳小華", on_duty="陳小華"))
    assert mine["duty"].label == EN("btn.duty_end")


def test_on_duty_name_in_the_header_of_customer_screens(renderer):
    for name, view in gallery.demo_views("en").items():
        if name == "staff_menu":
            continue  # says who is on duty in its body (test above)
        view = dataclasses.replace(view, on_duty="陳小華", message=None, busy=False)
        draw(renderer, view)
        shown = EN("ind.on_duty", name="陳小華") in renderer.last_drawn
        assert shown == (name in CUSTOMER_SCREENS and not view.is_staff), name


def test_staff_login_has_no_logout_before_anyone_logged_in(renderer):
    buttons = draw(renderer, View(screen="staff_login"))
    assert "logout" not in buttons
    assert "cancel" in buttons
    assert "staff_login" in STAFF_SCREENS


@pytest.mark.parametrize("n", [0, 1, 4, 6, 8])
def test_pin_shows_as_many_dots_as_digits(renderer, n):
    from kiosk.screens import theme

    draw(renderer, View(screen="staff_login", pin_length=n))
    arr = pygame.surfarray.array3d(renderer.surface)  # (x, y, rgb)
    left = arr[: arr.shape[0] * 45 // 100]
    panel = (left == np.array(theme.PANEL)).all(axis=2)
    ys = np.nonzero(panel.any(axis=0))[0]
    assert ys.size, "the PIN field is drawn"
    row = (ys.min() + ys.max()) // 2  # the field's middle line crosses every dot once
    xs = np.nonzero(panel[:, row])[0]
    line = ~panel[xs.min() : xs.max() + 1, row]
    runs = int(np.count_nonzero(np.diff(line.astype(int)) == 1)) + int(line[0])
    assert runs == n  # filled dots only: no hollow placeholders for digits a PIN may not have


# ---- the lockout countdown ----------------------------------------------------------------------


@pytest.mark.parametrize("screen", ["idle", "member_entry", "pickup_code", "staff_login"])
def test_lockout_countdown_is_shown_where_it_happened(renderer, screen):
    for lang, size in itertools.product(LANGS, SIZES):
        view = View(screen=screen, lang=lang, locked_for=42, message=Message.of("msg.locked_out", "error"))
        draw(renderer, view, size)
        assert catalogue(lang)("lock.try_again", n=42) in renderer.last_drawn
        draw(renderer, dataclasses.replace(view, locked_for=41), size)
        assert catalogue(lang)("lock.try_again", n=41) in renderer.last_drawn
        draw(renderer, dataclasses.replace(view, locked_for=0), size)
        assert not any("42" in s or "41" in s for s in renderer.last_drawn)


# ---- orders at a locker, counter hand-over ------------------------------------------------------


def test_doorless_parcel_at_a_locker_has_no_button_and_says_counter(renderer):
    rows = (OrderRow("A1", "x", locker_door=3), OrderRow("A2", "y"))
    for lang, size in itertools.product(LANGS, SIZES):
        buttons = draw(renderer, View(screen="orders", lang=lang, mode="locker", orders=rows), size)
        assert "order:A1" in buttons
        assert "order:A2" not in buttons
        assert "pickup_all" in buttons
        assert catalogue(lang)("orders.at_counter") in renderer.last_drawn
    buttons = draw(renderer, View(screen="orders", mode="locker", orders=rows[1:]))
    assert "pickup_all" not in buttons
    assert "order:A2" not in buttons
    assert "cancel" in buttons
    # at a counter every parcel is chosen, door or not
    buttons = draw(renderer, View(screen="orders", mode="counter", orders=rows))
    assert {"order:A1", "order:A2", "pickup_all"} <= set(buttons)


def test_counter_hand_over_says_staff_are_bringing_it_with_its_place(renderer):
    view = View(screen="scan_package", lang="en", current_order="A1005", current_door=15)
    for size in SIZES:
        draw(renderer, view, size)
        drawn = " ".join(renderer.last_drawn)
        assert EN("scan.bringing") in drawn
        assert EN("scan.place", door=15) in drawn
    rows = (OrderRow("A1005", locker_door=4),)
    draw(renderer, View(screen="scan_package", lang="en", current_order="A1005", orders=rows))
    assert EN("scan.place", door=4) in " ".join(renderer.last_drawn)
    draw(renderer, View(screen="scan_package", lang="en", current_order="A1005"))
    assert "shelf" not in " ".join(renderer.last_drawn)


# ---- member-code-only, camera, masking, wording -------------------------------------------------


@pytest.mark.parametrize("screen", ["idle", "member_entry"])
def test_member_code_only_says_why_instead_of_a_gap(renderer, screen):
    for lang, size in itertools.product(LANGS, SIZES):
        buttons = draw(renderer, View(screen=screen, lang=lang, member_code_only=True), size)
        assert "lookup_phone" not in buttons
        assert "lookup_email" not in buttons
        key = "idle.code_only" if screen == "idle" else "entry.code_only"
        text = catalogue(lang)(key).replace(" ", "")
        assert text[:8] in "".join(renderer.last_drawn).replace(" ", "")


def test_idle_without_camera_does_not_say_aim_at_the_camera(renderer):
    for lang in LANGS:
        t = catalogue(lang)
        draw(renderer, View(lang=lang, camera_ok=False))
        drawn = "".join(renderer.last_drawn).replace(" ", "")
        assert t("idle.hint").replace(" ", "") not in drawn
        assert t("idle.hint_no_camera").replace(" ", "")[:8] in drawn
        for screen in ("idle", "member_entry"):
            draw(renderer, View(screen=screen, lang=lang, camera_ok=False, member_code_only=True))
            drawn = "".join(renderer.last_drawn).replace(" ", "")
            assert "tothecamera" not in drawn  # "hold it up / show it to the camera"
            assert "對準相機" not in drawn
        draw(renderer, View(lang=lang))
        assert t("idle.hint").replace(" ", "")[:8] in "".join(renderer.last_drawn).replace(" ", "")


def test_phone_is_masked_but_its_last_two_digits_while_typed(renderer):
    draw(renderer, View(screen="member_entry", entry_kind="phone", entry_text="0912345678"))
    assert not any("09123" in s or "345678" in s for s in renderer.last_drawn)
    assert any(s.rstrip("|").endswith("78") and "*" in s for s in renderer.last_drawn)
    draw(renderer, View(screen="member_entry", entry_kind="email", entry_text="ann@example.org"))
    assert any("ann@example.org" in s for s in renderer.last_drawn)  # an email is checked by eye


def test_no_parcels_is_said_once(renderer):
    for lang in LANGS:
        t = catalogue(lang)
        draw(renderer, View(screen="orders", lang=lang, member_masked="王*明"))
        said = [s for s in renderer.last_drawn if s in (t("orders.none"), t("msg.no_orders"))]
        assert said == [t("orders.none")]
        assert t("orders.count", n=0) not in renderer.last_drawn
        draw(renderer, View(screen="orders", lang=lang, message=Message.of("msg.no_orders", "info")))
        said = [s for s in renderer.last_drawn if s in (t("orders.none"), t("msg.no_orders"))]
        assert said == [t("msg.no_orders")]


def test_parcel_counts_are_singular_and_plural():
    en = load_catalogue("en")
    assert not [k for k, v in en.messages.items() if "(s)" in v]
    one = (OrderRow("A1", locker_door=1),)
    r = Renderer()
    draw(r, View(screen="orders", lang="en", orders=one))
    assert "1 parcel waiting" in r.last_drawn
    draw(r, View(screen="orders", lang="en", orders=one * 1 + (OrderRow("A2", locker_door=2),)))
    assert "2 parcels waiting" in r.last_drawn
    draw(r, View(screen="orders", lang="zh-TW", orders=one))
    assert "共 1 件包裹待領取" in r.last_drawn


@pytest.mark.parametrize("lang", LANGS)
def test_every_new_view_draws_with_real_glyphs(renderer, lang):
    face = renderer.fonts.face()
    chars = set()
    for view in gallery.extra_views(lang).values():
        for size in SIZES:
            draw(renderer, view, size)
            chars.update("".join(renderer.last_drawn))
    missing = [ch for ch in sorted(chars) if face.get_metrics(ch, size=24)[0] is None]
    assert missing == []
    assert catalogue(lang).missing == set()


def test_the_sim_strip_can_go_below_a_full_size_kiosk(renderer):
    """The demo's GPIO strip beside (below) the kiosk, not inside its 800x480."""
    from kiosk.screens.render import sim_strip_height, window_size

    snapshot = {"leds": {"green": True}, "buzzer": False, "doors": {1: "locked", 2: "open"}}
    view = gallery.demo_views("en")["orders"]
    plain = {b.id: b.rect for b in renderer.draw(pygame.Surface((800, 480)), view)}
    size = window_size((800, 480))
    assert size == (800, 480 + sim_strip_height(480))
    surface = pygame.Surface(size)
    buttons = {b.id: b.rect for b in renderer.draw(surface, view, sim=snapshot, kiosk_size=(800, 480))}
    assert buttons == plain  # the kiosk is drawn at its real size, where it would be alone
    strip = pygame.surfarray.array3d(surface)[:, 481:]
    assert strip.any()  # and the strip is drawn below it
    # without kiosk_size the strip still takes the bottom of the surface (as before)
    squeezed = renderer.draw(pygame.Surface((800, 480)), view, sim=snapshot)
    assert max(b.rect[1] + b.rect[3] for b in squeezed) <= 480 - sim_strip_height(480)
