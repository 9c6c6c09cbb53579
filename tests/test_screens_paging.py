"""Long lists on ``orders`` and ``overdue`` drawn a page at a time, on real pygame surfaces.

The screens decide the rows per page (it follows the surface size), clamp ``View.page`` and
draw ``page_prev``/``page_next`` only when such a page exists; ``Renderer.last_page_rows``
reports the page size, which the app passes to the flow. Also: PageUp/PageDown, and the whole
loop (app + renderer + flow) turning pages in a scenario.
"""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import pygame
import pytest

from kiosk import scenario as scenario_mod
from kiosk.screens.inputs import translate
from kiosk.screens.render import Renderer
from kiosk.screens.view import Message, OrderRow, Press, View

SIZES = [(800, 480), (1280, 800), (1920, 1080)]
LANGS = ["zh-TW", "en"]
ITEMS = ["T-shirt x2", "運動鞋 x1", "Coffee beans 250g x3", "書籍 x4"]
SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


@pytest.fixture(scope="module")
def renderer():
    return Renderer()


def rows(n: int, staff: bool = False) -> tuple[OrderRow, ...]:
    return tuple(
        OrderRow(
            f"A{1001 + i}",
            ITEMS[i % 4],
            overdue=staff or i % 5 == 0,
            arrived_at=f"2026-11-{1 + i % 28:02d}T03:00:00Z",
            # r2: at a locker a doorless parcel has no button (tests/test_screens_r2.py), so the
            # customer's list gives every parcel a door; staff lists keep some doorless
            locker_door=i + 1 if (i % 2 or not staff) else None,
            customer_masked="王*明 / 0912***678" if staff else "",
        )
        for i in range(n)
    )


def list_view(screen: str, n: int, lang: str, page: int = 0, **kw) -> View:
    if screen == "overdue":
        return View(screen="overdue", lang=lang, orders=rows(n, True), page=page, staff_name="陳小華", **kw)
    return View(screen="orders", lang=lang, mode="locker", orders=rows(n), page=page, member_masked="王*明", **kw)


def draw(renderer: Renderer, view: View, size) -> dict:
    surface = pygame.Surface(size)
    buttons = renderer.draw(surface, view)
    w, h = size
    for b in buttons:
        assert pygame.Rect(0, 0, w, h).contains(pygame.Rect(b.rect)), f"{b.id} outside {size}: {b.rect}"
        assert min(b.rect[2:]) >= 30, b
    for a, b in itertools.combinations(buttons, 2):
        assert not pygame.Rect(a.rect).colliderect(pygame.Rect(b.rect)), f"{a.id} overlaps {b.id} at {size}"
    ids = [b.id for b in buttons]
    assert len(ids) == len(set(ids))
    # a long item summary beside door, date and badge may be cut with "…" (it is data); every
    # label, button and number fits
    cut = [t for t in renderer.last_overflows if t not in ITEMS]
    assert cut == [], f"{view.screen} {size} {view.lang}: {cut}"
    return {b.id: b for b in buttons}


def orders_on(buttons: dict) -> list[str]:
    return [bid[6:] for bid in buttons if bid.startswith("order:")]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize(("screen", "n"), [("orders", 12), ("orders", 31), ("overdue", 14), ("overdue", 40)])
def test_every_order_is_on_exactly_one_page(renderer, screen, n, size, lang):
    seen: list[str] = []
    first = draw(renderer, list_view(screen, n, lang), size)
    per_page = renderer.last_page_rows
    assert per_page is not None
    assert 1 <= per_page < n
    pages = -(-n // per_page)
    assert "page_next" in first
    assert "page_prev" not in first
    for page in range(pages):
        buttons = draw(renderer, list_view(screen, n, lang, page), size)
        assert renderer.last_page_rows == per_page  # the page size does not depend on the page
        shown = orders_on(buttons)
        assert len(shown) == (per_page if page < pages - 1 else n - per_page * (pages - 1))
        seen += shown
        assert ("page_prev" in buttons) == (page > 0)
        assert ("page_next" in buttons) == (page < pages - 1)
        assert ("pickup_all" in buttons) == (screen == "orders")  # still takes every parcel
        if {"page_prev", "page_next"} <= set(buttons):
            assert buttons["page_prev"].rect[0] < buttons["page_next"].rect[0]
        # the page label tells where one is
        assert any(f"{page + 1}" in s and f"{pages}" in s for s in renderer.last_drawn if "/" in s or "of" in s)
    assert seen == [r.number for r in list_view(screen, n, lang).orders]  # in order, none twice, none lost


def test_the_page_size_follows_the_surface(renderer):
    sizes = {}
    for size in SIZES:
        draw(renderer, list_view("orders", 30, "en"), size)
        sizes[size] = renderer.last_page_rows
    assert sizes[(1280, 800)] > sizes[(800, 480)]  # a taller surface in the layout's units holds more
    assert all(n >= 6 for n in sizes.values()), sizes
    draw(renderer, list_view("orders", 30, "en"), (800, 1280))  # portrait: many more rows
    assert renderer.last_page_rows > sizes[(800, 480)] * 2


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_pager_buttons_keep_their_places_across_pages(renderer, size):
    mid = draw(renderer, list_view("orders", 31, "zh-TW", 1), size)
    first = draw(renderer, list_view("orders", 31, "zh-TW", 0), size)
    pages = -(-31 // renderer.last_page_rows)
    last = draw(renderer, list_view("orders", 31, "zh-TW", pages - 1), size)
    assert first["page_next"].rect == mid["page_next"].rect
    assert last["page_prev"].rect == mid["page_prev"].rect
    for bid in ("cancel", "pickup_all", "lang"):
        assert first[bid].rect == mid[bid].rect == last[bid].rect


@pytest.mark.parametrize("screen", ["orders", "overdue"])
def test_a_message_banner_does_not_move_rows_between_pages(renderer, screen):
    for size in SIZES:
        plain = orders_on(draw(renderer, list_view(screen, 30, "en", 1), size))
        rows_plain = renderer.last_page_rows
        msg = Message.of("msg.code_unknown", "error")
        banner = orders_on(draw(renderer, list_view(screen, 30, "en", 1, message=msg), size))
        assert renderer.last_page_rows == rows_plain
        assert banner == plain
        busy = orders_on(draw(renderer, list_view(screen, 30, "en", 1, busy=True), size))
        assert busy == plain


def test_a_page_past_the_end_is_clamped_to_the_last(renderer):
    last = draw(renderer, list_view("orders", 13, "en", 99), (800, 480))
    per_page = renderer.last_page_rows
    pages = -(-13 // per_page)
    assert orders_on(last) == orders_on(draw(renderer, list_view("orders", 13, "en", pages - 1), (800, 480)))
    assert "page_next" not in last
    assert "page_prev" in last
    first = draw(renderer, list_view("orders", 13, "en", -3), (800, 480))
    assert orders_on(first)[0] == "A1001"


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_short_lists_have_no_pager(renderer, size):
    for n in (1, 3, 8):
        buttons = draw(renderer, list_view("orders", n, "zh-TW"), size)
        assert len(orders_on(buttons)) == n
        assert not {"page_prev", "page_next"} & set(buttons)
        assert renderer.last_page_rows == n
    draw(renderer, list_view("orders", 0, "zh-TW"), size)
    assert renderer.last_page_rows is None
    draw(renderer, View(screen="idle"), size)
    assert renderer.last_page_rows is None


def test_page_buttons_are_disabled_while_busy(renderer):
    buttons = draw(renderer, list_view("orders", 20, "en", 1, busy=True), (800, 480))
    assert not buttons["page_next"].enabled
    assert not buttons["page_prev"].enabled
    assert buttons["cancel"].enabled


def _key(key: int) -> pygame.event.Event:
    return pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode="")


def test_page_keys_press_the_page_buttons_only_when_on_screen(renderer):
    buttons = list(draw(renderer, list_view("orders", 20, "en", 0), (800, 480)).values())
    assert translate(_key(pygame.K_PAGEDOWN), buttons) == Press("page_next")
    assert translate(_key(pygame.K_PAGEUP), buttons) is None  # first page: no page_prev
    buttons = list(draw(renderer, list_view("orders", 20, "en", 1), (800, 480)).values())
    assert translate(_key(pygame.K_PAGEUP), buttons) == Press("page_prev")
    buttons = list(draw(renderer, list_view("orders", 3, "en"), (800, 480)).values())
    assert translate(_key(pygame.K_PAGEDOWN), buttons) is None
    buttons = list(draw(renderer, list_view("orders", 20, "en", 0, busy=True), (800, 480)).values())
    assert translate(_key(pygame.K_PAGEDOWN), buttons) is None


# -- the whole loop: scenarios ---------------------------------------------------------------------

STEPS_TO_ORDERS = """
[setup]
mode = "counter"
seed = "{seed}"
[[step]]
scan = "MEMBER-0000001"
[[step]]
expect_screen = "orders"
"""


def _play(tmp_path: Path, steps: str, size=None) -> tuple[int, list[str]]:
    text = STEPS_TO_ORDERS.format(seed=(SCENARIOS / "seed_many.json").as_posix()) + steps
    scenario = scenario_mod.parse(text, tmp_path / "paging.toml")
    stream = io.StringIO()
    rc = scenario_mod.play(scenario, tmp_path / "out", stream, size=size)
    return rc, stream.getvalue().strip().splitlines()


def test_an_order_on_another_page_cannot_be_pressed_until_the_page_is_turned(tmp_path):
    rc, lines = _play(tmp_path, '[[step]]\npress = "order:A2012"\n')
    assert rc == 1
    assert lines[-1].startswith("step 3 press FAIL no such button on screen orders"), lines


@pytest.mark.parametrize("size", [(1280, 800), (1920, 1080)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_pages_turn_through_the_app_at_other_sizes(tmp_path, size):
    steps = """
[[step]]
press = "page_next"
[[step]]
press = "order:A2012"
[[step]]
expect_screen = "scan_package"
"""
    rc, lines = _play(tmp_path, steps, size=size)
    assert rc == 0, lines


def test_page_keys_pass_the_usb_scanner_wedge(renderer):
    from kiosk.screens.inputs import EventTranslator

    buttons = list(draw(renderer, list_view("overdue", 30, "zh-TW", 1), (800, 480)).values())
    wedge = EventTranslator(clock=lambda: 0.0)
    assert wedge.handle(_key(pygame.K_PAGEDOWN), buttons) == [Press("page_next")]
    assert wedge.handle(_key(pygame.K_PAGEUP), buttons) == [Press("page_prev")]


def test_the_app_passes_the_page_size_to_the_flow_which_clamps(renderer):
    """The app reports ``Renderer.last_page_rows`` after a draw (flow.PageRows); a page index past
    the end (the list shrank) is put back on the last page and drawn again at once."""
    import dataclasses

    from test_flow_support import order

    from kiosk import flow
    from kiosk.app import App, Display
    from kiosk.clock import SimClock
    from kiosk.config import Config
    from kiosk.events import EventQueue

    clock = SimClock()
    display = Display(pygame.Surface((800, 480)), renderer)
    app = App(Config(), clock=clock, events=EventQueue(), client=None, display=display)
    try:
        orders = tuple(order(f"A{1001 + i}") for i in range(13))
        state = app.state
        app.state = dataclasses.replace(
            state,
            screen=flow.Screen.ORDERS,
            customer=dataclasses.replace(state.customer, orders=orders),
            paging=dataclasses.replace(state.paging, page=7),
        )
        app._refresh_view()
        assert app.redraw(force=True)
        per_page = renderer.last_page_rows
        pages = -(-13 // per_page)
        assert app.state.paging.rows == ("orders", per_page)
        assert app.state.paging.page == pages - 1
        assert app.drawn_view.page == pages - 1
        assert "page_prev" in {b.id for b in app.buttons}
        app.handle(Press("page_prev"))
        assert app.state.paging.page == pages - 2
    finally:
        app.close()
        clock.close()
