"""The staff hand-over of an overdue parcel (r2): the customer proves who they are first (member
barcode, or phone/email and pickup code); only an order their look-up allows goes on, and the
pickup names that look-up with handed_over_by the staff member."""

from __future__ import annotations

from test_flow_support import LOOKUP_ID, Driver, args, order, rejected

from kiosk import flow


def to_detail(d: Driver, door=None):
    d.login("s_1")
    d.press("overdue")
    d.answer("overdue", (order("A1003", door=door, status="overdue", overdue=True),))
    d.press("order:A1003")
    d.press("pickup")


def test_pickup_asks_the_customer_to_identify_first():
    d = Driver()
    to_detail(d)
    assert d.screen == "member_entry"
    assert d.state.message.key == "msg.handover_identify"
    assert not d.calls("pickup")
    assert d.state.staff is not None


def test_a_look_up_of_someone_else_opens_nothing():
    d = Driver(mode="locker")
    to_detail(d, door=4)
    d.member([order("A1002", door=2)])  # another member's parcels
    assert d.screen == "order_detail"
    assert d.state.message.key == "msg.handover_not_theirs"
    assert d.state.message.kwargs() == {"number": "A1003"}
    assert not d.of(flow.Unlock)
    assert not d.of(flow.Enqueue)
    assert d.state.customer.lookup_id == ""


def test_a_refused_look_up_is_an_error_back_to_the_order():
    d = Driver()
    to_detail(d)
    d.scan("MEMBER-0000009")
    d.answer("lookup", error=rejected("member_not_found", 404))
    assert d.screen == "error"
    d.press("back")
    assert d.screen == "order_detail"
    assert d.state.staff is not None


def test_a_wrong_pickup_code_asks_again_and_the_hand_over_goes_on():
    d = Driver()
    to_detail(d)
    d.press("lookup_phone")
    d.type("0912345678")
    d.press("confirm")
    assert d.screen == "pickup_code"
    d.type("000000")
    d.press("confirm")
    d.answer("lookup", error=rejected("member_not_found", 404))
    assert d.screen == "pickup_code"  # not an error screen: the customer types the code again
    assert d.state.message.key == "msg.pickup_code_wrong"
    assert flow.view(d.state).entry_text == ""
    assert d.state.staff.handover is not None
    d.type("480213")
    d.press("confirm")
    assert args(d.last_call().request) == {"phone": "0912345678", "pickup_code": "480213"}
    d.member([order("A1003", status="overdue", overdue=True)])
    assert d.screen == "scan_package"  # the hand-over goes on with the look-up that passed
    assert [o.number for o in d.state.customer.queue] == ["A1003"]


def test_back_while_identifying_returns_to_the_order_logged_in():
    d = Driver()
    to_detail(d)
    d.press("lookup_phone")
    d.press("back")
    assert d.screen == "order_detail"
    assert d.state.staff is not None
    assert d.state.staff.handover is None
    # the pickup is asked again: the customer identifies again
    d.press("pickup")
    assert d.screen == "member_entry"


def test_counter_handover_names_the_look_up_and_the_staff_member():
    d = Driver()
    to_detail(d)
    d.member([order("A1002"), order("A1003", status="overdue", overdue=True)])
    assert d.screen == "scan_package"
    assert [o.number for o in d.state.customer.queue] == ["A1003"]  # only the parcel chosen
    d.scan("PKG1003")
    assert args(d.last_call().request) == {
        "order_id": "o_A1003",
        "lookup_id": LOOKUP_ID,
        "package_code": "PKG1003",
        "handed_over_by": "s_1",
    }
