"""Screens under awkward content: every catalogue message in the banner, long data, random views."""

from __future__ import annotations

import itertools

import pygame
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.screens.i18n import catalogue
from kiosk.screens.render import Renderer
from kiosk.screens.view import (
    DOOR_STATES,
    SCREENS,
    DoorRow,
    Message,
    OrderDetail,
    OrderRow,
    StaffChoice,
    View,
)

SIZES = [(800, 480), (1920, 1080)]


@pytest.fixture(scope="module")
def renderer():
    return Renderer()


def _layout_ok(buttons, size):
    bounds = pygame.Rect(0, 0, *size)
    for b in buttons:
        assert bounds.contains(pygame.Rect(b.rect)), b
    for a, b in itertools.combinations(buttons, 2):
        assert not pygame.Rect(a.rect).colliderect(pygame.Rect(b.rect)), (a.id, b.id)


@pytest.mark.parametrize("lang", ["zh-TW", "en"])
def test_every_banner_message_fits_at_the_smallest_size(renderer, lang):
    """Texts the flow shows in the banner (msg.*, err.*) fit one line at 800x480."""
    keys = [k for k in catalogue(lang).messages if k.startswith(("msg.", "err."))]
    assert len(keys) > 40
    surface = pygame.Surface((800, 480))
    for key in keys:
        if key in ("msg.help", "msg.help_code_only"):
            continue  # help is long by nature; it may shrink, checked below without the banner rule
        view = View(screen="orders", lang=lang, message=Message.of(key, "warn", number="A100234", door=12))
        renderer.draw(surface, view)
        assert renderer.last_overflows == [], key


def test_long_data_is_cut_not_spilled(renderer):
    long = "超長商品名稱測試 Extra long item description " * 4
    orders = tuple(
        OrderRow(f"A{i:09d}", long, overdue=True, locker_door=100 + i, arrived_at="2026-11-01T03:00:00Z")
        for i in range(5)
    )
    detail = OrderDetail(
        "A000000001",
        "return_requested",
        "王*******明 / m***@a-very-long-domain.example.org",
        (long, long),
        "2026-11-01T03:00:00Z",
    )
    views = [
        View(screen="orders", orders=orders, member_masked="王*********明"),
        View(screen="overdue", orders=orders, staff_name="陳" * 20),
        View(screen="order_detail", detail=detail, staff_name="陳小華"),
        View(
            screen="arrival_confirm",
            detail=detail,
            staff_name="陳小華",
            commission_enabled=True,
            staff_choices=tuple(StaffChoice(f"s_{i}", "歐陽" * 6) for i in range(9)),
            selected_staff="s_3",
        ),
        View(screen="member_entry", entry_kind="email", entry_text="x" * 120),
        View(screen="door_open", doors=tuple(DoorRow(n) for n in (101, 102, 103, 104, 105, 106)), retry_allowed=True),
        View(screen="done", picked_up=tuple(f"A{i:09d}" for i in range(12))),
    ]
    for view, size, lang in itertools.product(views, SIZES, ("zh-TW", "en")):
        surface = pygame.Surface(size)
        view = View(**{**view.__dict__, "lang": lang})
        _layout_ok(renderer.draw(surface, view), size)


messages = st.sampled_from(sorted(catalogue("en").messages)).map(
    lambda k: Message.of(k, "error", number="A1", door=3, n=2)
)
rows = st.builds(
    OrderRow,
    number=st.text("A0123456789", min_size=1, max_size=12),
    items_summary=st.text(max_size=40),
    overdue=st.booleans(),
    locker_door=st.one_of(st.none(), st.integers(1, 999)),
    arrived_at=st.sampled_from(["", "2026-11-01T03:00:00Z", "garbage"]),
    status=st.sampled_from(["", "return_requested", "return_reviewed", "arrived"]),
)
views = st.builds(
    View,
    screen=st.sampled_from(SCREENS),
    lang=st.sampled_from(["zh-TW", "en"]),
    mode=st.sampled_from(["counter", "locker"]),
    busy=st.booleans(),
    message=st.one_of(st.none(), messages),
    orders=st.lists(rows, max_size=15, unique_by=lambda r: r.number).map(tuple),
    doors=st.lists(
        st.builds(DoorRow, number=st.integers(1, 99), state=st.sampled_from(DOOR_STATES)),
        max_size=6,
        unique_by=lambda d: d.number,
    ).map(tuple),
    retry_allowed=st.booleans(),
    member_code_only=st.booleans(),
    entry_kind=st.sampled_from(["", "phone", "email", "pickup_code"]),
    entry_text=st.text(max_size=60),
    pin_length=st.integers(0, 12),
    staff_name=st.text(max_size=12),
    offline=st.booleans(),
    outbox_depth=st.integers(0, 9999),
    attention_count=st.integers(0, 99),
    camera_ok=st.booleans(),
    countdown=st.one_of(st.none(), st.integers(0, 600)),
    # r2
    alarm_door=st.one_of(st.none(), st.integers(1, 999)),
    alarm_kind=st.sampled_from(["", "door_left_open", "door_forced"]),
    on_duty=st.text(max_size=12),
    locked_for=st.integers(0, 3600),
    return_reason=st.one_of(st.none(), st.sampled_from(["damaged", "not_collected", "bogus"])),
    detail=st.one_of(
        st.none(),
        st.builds(
            OrderDetail,
            number=st.text("A0123456789", min_size=1, max_size=12),
            status=st.sampled_from(["arrived", "overdue", "return_requested", "return_reviewed"]),
        ),
    ),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(view=views, size=st.sampled_from([(800, 480), (1024, 600), (1280, 800), (1920, 1080)]))
def test_any_view_renders_inside_the_surface(renderer, view, size):
    surface = pygame.Surface(size)
    buttons = renderer.draw(surface, view, now=1.5)
    _layout_ok(buttons, size)
    ids = {b.id for b in buttons}
    # r2: no logout on staff_login before anyone has logged in
    nobody = view.screen == "staff_login" and not view.staff_name
    assert ("logout" in ids) == (view.is_staff and not nobody)
    assert ("lang" in ids) == (not view.is_staff)
