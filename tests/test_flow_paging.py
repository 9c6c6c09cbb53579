"""Paging of the long lists (``orders``, ``overdue``) in the pure state machine.

The flow keeps the page index (``State.page``, shown as ``View.page``); the screens decide how
many rows a page holds and the app reports it (``flow.PageRows``). Until it is known the flow
keeps any index (the renderer clamps); once known, the index stays within the pages there are.
"""

from __future__ import annotations

from test_flow_support import Driver, order

from kiosk import flow
from kiosk.screens.view import Press


def _orders(n: int, **kw) -> list:
    return [order(f"A{1001 + i}", **kw) for i in range(n)]


def _customer(n: int = 12, rows: int = 6, mode: str = "counter") -> Driver:
    d = Driver(mode)
    d.member(_orders(n, door=1) if mode == "locker" else _orders(n))
    if rows:
        d.send(flow.PageRows("orders", rows))
    d.effects.clear()
    return d


def test_orders_start_on_the_first_page_and_turn_both_ways():
    d = _customer(12, rows=5)  # 3 pages
    assert d.state.paging.page == 0
    assert flow.view(d.state).page == 0
    d.press("page_next")
    assert flow.view(d.state).page == 1
    d.press("page_next")
    assert flow.view(d.state).page == 2
    d.press("page_next")  # no fourth page: stays
    assert d.state.paging.page == 2
    d.press("page_prev")
    d.press("page_prev")
    d.press("page_prev")  # no page before the first
    assert d.state.paging.page == 0
    assert d.screen == "orders"
    pages = [dict(e.fields) for e in d.of(flow.Log) if e.event == "page"]
    assert [p["page"] for p in pages] == [2, 3, 2, 1]
    assert {p["pages"] for p in pages} == {3}


def test_paging_keeps_the_session_alive_and_makes_no_call():
    d = _customer(12)
    d.press("page_next")
    assert flow.StartTimer("idle", 60.0) in d.effects
    assert not d.calls()
    assert not d.of(flow.Indicate)


def test_the_view_lists_every_order_whatever_the_page():
    d = _customer(12)
    d.press("page_next")
    v = flow.view(d.state)
    assert len(v.orders) == 12  # the screen picks the page's rows; pickup_all needs them all


def test_an_order_on_the_second_page_can_be_taken():
    d = _customer(12, rows=6)
    d.press("page_next")
    d.press("order:A1010")
    assert d.screen == "scan_package"
    assert flow.view(d.state).current_order == "A1010"
    assert [o.number for o in d.state.customer.queue] == ["A1010"]


def test_pickup_all_takes_every_order_on_every_page():
    d = _customer(12, rows=6, mode="locker")
    d.press("page_next")
    d.press("pickup_all")
    assert d.screen == "door_open"
    assert len(d.state.customer.doors) == 12


def test_a_smaller_page_size_clamps_the_index():
    d = _customer(12, rows=4)
    d.press("page_next")
    d.press("page_next")
    assert d.state.paging.page == 2
    d.send(flow.PageRows("orders", 12))  # a bigger surface: everything on one page
    assert d.state.paging.page == 0
    assert flow.view(d.state).page == 0


def test_page_rows_for_another_screen_is_ignored():
    d = _customer(12, rows=0)
    d.send(flow.PageRows("overdue", 1))
    assert d.state.paging.rows == ("", 0)
    d.send(flow.PageRows("orders", 0))  # nothing drawn: no paging known
    d.press("page_next")
    d.press("page_next")
    assert d.state.paging.page == 2  # unknown page size: the flow keeps the index, the screen clamps


def test_a_new_session_starts_on_the_first_page():
    d = _customer(12)
    d.press("page_next")
    d.press("cancel")
    assert d.screen == "idle"
    assert d.state.paging.page == 0
    d.member(_orders(12))
    assert d.state.paging.page == 0
    # another member's code scanned on the orders screen: a new list, first page
    d.send(flow.PageRows("orders", 6))
    d.press("page_next")
    d.scan("MEMBER-0000002")
    d.answer("lookup", _lookup(12))
    assert d.screen == "orders"
    assert d.state.paging.page == 0


def _lookup(n):
    from kiosk.api.models import Lookup, Member

    return Lookup(Member("m_2", "李*芬"), tuple(_orders(n, member="m_2")))


def test_page_buttons_mean_nothing_on_other_screens():
    d = Driver()
    before = d.state
    d.press("page_next")
    assert d.state == before
    d.member(_orders(2))
    d.press("order:A1001")
    d.press("page_next")
    assert d.screen == "scan_package"
    assert d.state.paging.page == 0


def test_paging_while_busy_is_ignored():
    d = _customer(12)
    d.scan("MEMBER-0000002")  # a look-up in flight
    assert d.state.busy
    d.press("page_next")
    assert d.state.paging.page == 0


def _staff(n: int = 14, rows: int = 5) -> Driver:
    d = Driver()
    d.login()
    d.press("overdue")
    d.answer("overdue", tuple(_orders(n, status="overdue", overdue=True)))
    d.send(flow.PageRows("overdue", rows))
    d.effects.clear()
    return d


def test_overdue_pages_and_an_order_on_page_three_opens():
    d = _staff(14, rows=5)
    assert d.screen == "overdue"
    d.press("page_next")
    d.press("page_next")
    assert flow.view(d.state).page == 2
    d.press("order:A1013")
    assert d.screen == "order_detail"
    assert flow.view(d.state).detail.number == "A1013"
    assert flow.view(d.state).page == 0  # not a list screen
    d.press("back")  # back to the same page of the list
    assert d.screen == "overdue"
    assert flow.view(d.state).page == 2


def test_overdue_list_shrinks_after_a_return_and_the_page_follows():
    d = _staff(11, rows=5)  # pages of 5, 5, 1
    d.press("page_next")
    d.press("page_next")
    d.press("order:A1011")
    d.press("return")
    d.answer("return", order("A1011", status="return_requested"))
    assert d.screen == "overdue"
    assert len(d.state.staff.overdue) == 10
    assert d.state.paging.page == 1  # the third page is gone: the last one there is
    d.press("page_prev")
    assert d.state.paging.page == 0


def test_overdue_reopened_from_the_menu_starts_on_the_first_page():
    d = _staff(14)
    d.press("page_next")
    d.press("back")
    assert d.screen == "staff_menu"
    assert d.state.paging.page == 0
    d.press("overdue")
    d.answer("overdue", tuple(_orders(14, status="overdue", overdue=True)))
    assert d.state.paging.page == 0


def test_logout_forgets_the_page():
    d = _staff(14)
    d.press("page_next")
    d.send(Press("logout"))
    assert d.screen == "idle"
    assert d.state.paging.page == 0
