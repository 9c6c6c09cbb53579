"""Returns at the kiosk (docs/design.md r2): the reason first, then `return`; the `returns` list of
requested and reviewed returns; a reviewed one finished to the warehouse or the store's stock."""

from __future__ import annotations

from test_flow_support import Driver, args, order, rejected

from kiosk import flow


def test_return_needs_a_chosen_reason_and_the_view_shows_it():
    d = Driver()
    d.login()
    d.press("overdue")
    d.answer("overdue", (order("A1003", status="overdue", overdue=True),))
    d.press("order:A1003")
    assert flow.view(d.state).return_reason is None  # none preselected
    d.press("return")
    assert not d.calls("return")
    d.press("reason:bogus")
    assert flow.view(d.state).return_reason is None
    d.press("reason:customer_request")
    assert flow.view(d.state).return_reason == "customer_request"
    d.press("reason:damaged")
    assert flow.view(d.state).return_reason == "damaged"
    d.press("return")
    assert args(d.last_call().request) == {"order_id": "o_A1003", "reason": "damaged"}
    d.answer("return", order("A1003", status="return_requested"))
    assert d.screen == "overdue"
    assert d.state.message.key == "msg.return_requested"


def returns_list(d: Driver):
    d.press("returns")
    assert d.last_call().request.name == "returns"
    assert d.last_call().request.staff_token == "tok-s_1"
    d.answer("returns", (order("A1010", status="return_requested"), order("A1011", status="return_reviewed")))


def test_returns_lists_requested_and_reviewed_with_their_status():
    d = Driver()
    d.login()
    returns_list(d)
    assert d.screen == "returns"
    rows = flow.view(d.state).orders
    assert [(r.number, r.status) for r in rows] == [("A1010", "return_requested"), ("A1011", "return_reviewed")]
    d.press("order:A1010")
    assert d.screen == "order_detail"
    assert d.state.message.key == "msg.return_waits_review"
    for b in ("to_warehouse", "return", "pickup", "reason:damaged"):
        d.press(b)
    assert d.screen == "order_detail"
    assert not d.calls("return_complete")
    assert not d.calls("return")
    d.press("back")
    assert d.screen == "returns"


def test_a_reviewed_return_is_finished_at_the_kiosk():
    d = Driver()
    d.login()
    returns_list(d)
    d.press("order:A1011")
    d.press("pickup")  # not offered for a reviewed return: nothing happens
    assert d.screen == "order_detail"
    d.press("to_store_stock")
    assert args(d.last_call().request) == {"order_id": "o_A1011", "destination": "store_stock"}
    d.answer("return_complete", order("A1011", status="restocked"))
    assert d.screen == "returns"
    assert d.state.message.kwargs() == {"number": "A1011"}
    assert [r.number for r in flow.view(d.state).orders] == ["A1010"]


def test_finishing_refused_is_an_error_back_to_the_detail():
    d = Driver()
    d.login()
    returns_list(d)
    d.press("order:A1011")
    d.press("to_warehouse")
    assert args(d.last_call().request)["destination"] == "warehouse"
    d.answer("return_complete", error=rejected("wrong_status"))
    assert d.screen == "error"
    d.press("back")
    assert d.screen == "order_detail"


def test_returns_list_back_to_the_menu():
    d = Driver(mode="locker")
    d.login()
    returns_list(d)
    d.press("back")
    assert d.screen == "staff_menu"
    assert d.state.staff.returns == ()
