"""Staff flows of the pure state machine: login, arrival (counter/locker/offline), overdue, returns."""

from __future__ import annotations

import pytest
from test_flow_support import LOOKUP_ID, Driver, args, down, order, rejected, section

from kiosk import flow
from kiosk.api.models import Settings, Staff, StaffSession
from kiosk.api.requests import ParcelInfo
from kiosk.events import ApiResult


def test_badge_starts_login_pin_keypad():
    d = Driver()
    d.scan("STAFF-0001")
    assert d.screen == "staff_login"
    assert not d.calls()
    d.press("key:2")
    d.type("46")
    d.press("key:8")
    assert flow.view(d.state).pin_length == 4
    d.press("confirm")
    call = d.last_call()
    assert call.request.name == "login"
    assert args(call.request) == {"badge_code": "STAFF-0001", "pin": "2468"}


def test_login_ok_staff_menu_and_staff_list():
    d = Driver()
    d.login()
    assert d.screen == "staff_menu"
    assert flow.view(d.state).staff_name == "陳*華"
    assert flow.StartTimer("staff", 120.0) in d.effects


def test_late_staff_list_and_door_answers_of_an_earlier_session_are_ignored():
    d = Driver(mode="locker")

    def login(staff_id):
        d.scan("STAFF-0001")
        d.type("2468")
        d.press("confirm")
        d.answer("login", StaffSession(token="tok-" + staff_id, staff=Staff(staff_id, "陳*華"), expires_in=3600))
        return d.calls("staff_list")[-1]

    old_staff = login("s_1")
    d.press("arrival")
    old_occupied = d.calls("occupied")[-1]
    d.press("logout")
    new_staff = login("s_2")
    # the first session's answers arrive late: no picker from them, no door choice from them
    d.send(ApiResult("staff_list", True, (Staff("s_9", "X*Y"),), None, old_staff.token))
    d.send(ApiResult("occupied", True, frozenset({1}), None, old_occupied.token))
    assert d.state.staff.staff_list == ()
    assert not d.state.lockers.occupancy_known
    # the current session's answer is taken
    d.send(ApiResult("staff_list", True, (Staff("s_2", "林*玲"),), None, new_staff.token))
    assert [m.id for m in d.state.staff.staff_list] == ["s_2"]


def test_wrong_pin_clears_and_stays():
    d = Driver()
    d.scan("STAFF-0001")
    d.type("1111")
    d.press("confirm")
    d.answer("login", error=rejected("bad_credentials", 401))
    assert d.screen == "staff_login"
    assert d.state.customer.pin == ""
    assert d.state.message.key == "err.bad_credentials"
    assert flow.Indicate("error") in d.effects


def test_lockout_visible_without_saying_which_part():
    d = Driver()
    d.scan("STAFF-0001")
    d.type("2468")
    d.press("confirm")
    d.answer("login", error=rejected("locked_out", 429))
    assert d.screen == "staff_login"
    assert d.state.message.key == "err.locked_out"
    assert d.state.customer.pin == ""


@pytest.mark.parametrize("button", ["cancel", "back", "logout"])
def test_login_cancel_back_to_idle(button):
    d = Driver()
    d.scan("STAFF-0001")
    d.type("24")
    d.press(button)
    assert d.screen == "idle"
    assert d.state.customer.badge == ""


def test_logout_on_every_staff_screen():
    for path in ([], ["arrival"]):
        d = Driver()
        d.login()
        for b in path:
            d.press(b)
        d.press("logout")
        assert d.screen == "idle"
        assert d.state.staff is None
        assert flow.CancelTimer("staff") in d.effects


def test_staff_inactivity_logs_out():
    d = Driver()
    d.login()
    d.press("arrival")
    d.timer("staff")
    assert d.screen == "idle"
    assert d.state.staff is None


def test_counter_arrival_with_commission_picker():
    d = Driver()
    d.login("s_1")
    d.press("arrival")
    assert d.screen == "arrival"
    d.scan("PKG1001", "CODE128")
    call = d.last_call()
    assert call.request.name == "parcel"
    assert call.request.staff_token == "tok-s_1"
    assert args(call.request) == {"package_code": "PKG1001", "occupied": False}
    d.answer("parcel", ParcelInfo(order("A1001", status="shipped")))
    assert d.screen == "arrival_confirm"
    v = flow.view(d.state)
    assert v.detail.number == "A1001"
    assert v.detail.customer_masked.startswith("王*明")
    assert v.commission_enabled
    assert [c.id for c in v.staff_choices] == ["s_1", "s_2"]
    assert v.selected_staff == "s_1"
    d.press("staff:s_2")
    assert flow.view(d.state).selected_staff == "s_2"
    d.press("confirm")
    (enq,) = d.of(flow.Enqueue)
    assert enq.request.kind == "arrive"
    assert enq.request.ref == "PKG1001"
    assert enq.request.payload() == {"package_code": "PKG1001", "received_by": "s_2"}
    assert enq.request.staff_token == "tok-s_1"
    assert d.screen == "arrival"
    assert d.state.staff.arrival_count == 1
    assert d.state.message.key == "msg.arrival_saved"


def test_commission_off_no_picker():
    d = Driver(settings=Settings(commission_enabled=False))
    d.login()
    d.press("arrival")
    d.scan("PKG1001")
    d.answer("parcel", ParcelInfo(order("A1001", status="shipped")))
    assert flow.view(d.state).staff_choices == ()
    d.press("staff:s_2")
    d.press("confirm")
    assert d.of(flow.Enqueue)[0].request.payload() == {"package_code": "PKG1001", "received_by": "s_1"}


def test_arrival_refuses_member_badge_and_junk_on_the_spot():
    d = Driver(settings=Settings(member_code_pattern="MEMBER-[0-9]{7}", parcel_code_pattern="PKG[0-9]+"))
    d.login()
    d.press("arrival")
    d.effects.clear()
    for code in ("MEMBER-0000001", "STAFF-0001", "zz"):
        d.scan(code)
        assert not d.calls()
        assert d.screen == "arrival"
        assert d.state.message.level == "error"


def test_arrival_unknown_parcel_stays_with_message():
    d = Driver()
    d.login()
    d.press("arrival")
    d.scan("PKG0000")
    d.answer("parcel", error=rejected("parcel_not_found", 404))
    assert d.screen == "arrival"
    assert d.state.message.key == "err.parcel_not_found"


def test_arrival_already_arrived_stays():
    d = Driver()
    d.login()
    d.press("arrival")
    d.scan("PKG1002")
    d.answer("parcel", ParcelInfo(order("A1002", status="arrived")))
    assert d.screen == "arrival"
    assert d.state.message.key == "msg.already_arrived"
    assert not d.of(flow.Unlock)


def _ParcelWithDoors(order, occupied):
    return ParcelInfo(order, frozenset(occupied))


def test_locker_arrival_takes_lowest_free_door():
    d = Driver("locker")
    d.login()
    d.press("arrival")
    d.scan("PKG1001")
    assert args(d.last_call().request)["occupied"] is True
    d.answer("parcel", _ParcelWithDoors(order("A1001", status="shipped"), {1, 2, 4}))
    assert d.screen == "arrival_confirm"
    assert d.of(flow.Unlock) == [flow.Unlock(3)]
    assert flow.view(d.state).detail.locker_door == 3
    d.press("confirm")
    assert d.of(flow.Enqueue)[0].request.payload() == {
        "package_code": "PKG1001",
        "received_by": "s_1",
        "locker_door": 3,
    }
    assert d.screen == "arrival"
    # the next parcel does not get the same door
    d.scan("PKG1005")
    d.answer("parcel", _ParcelWithDoors(order("A1005", status="shipped"), {1, 2, 4}))
    assert d.of(flow.Unlock)[-1] == flow.Unlock(5)


def test_locker_arrival_no_free_door():
    d = Driver("locker", doors=2)
    d.login()
    d.press("arrival")
    d.scan("PKG1001")
    d.answer("parcel", _ParcelWithDoors(order("A1001", status="shipped"), {1, 2}))
    assert d.screen == "arrival"
    assert d.state.message.key == "msg.no_free_door"
    assert not d.of(flow.Unlock)


def test_free_door_skips_out_of_service_and_size():
    cfg = flow.FlowConfig(
        kiosk=section("locker"),
        doors=(flow.DoorInfo(1, in_service=False), flow.DoorInfo(2, size="L"), flow.DoorInfo(3, size="M")),
    )
    assert flow.free_door(cfg, frozenset(), None) == 2
    assert flow.free_door(cfg, frozenset(), "M") == 3
    assert flow.free_door(cfg, frozenset({3}), "M") is None


def test_arrival_confirm_cancel_writes_nothing():
    d = Driver()
    d.login()
    d.press("arrival")
    d.scan("PKG1001")
    d.answer("parcel", ParcelInfo(order("A1001", status="shipped")))
    d.press("cancel")
    assert d.screen == "arrival"
    assert not d.of(flow.Enqueue)


def test_offline_arrival_goes_on_into_outbox():
    d = Driver()
    d.login("s_2")
    d.press("arrival")
    d.scan("PKG1001")
    d.answer("parcel", error=down())
    assert d.screen == "arrival_confirm"
    v = flow.view(d.state)
    assert v.detail is None
    assert v.offline
    d.press("confirm")
    (enq,) = d.of(flow.Enqueue)
    assert enq.request.payload() == {"package_code": "PKG1001", "received_by": "s_2"}
    assert enq.request.staff_token == "tok-s_2"
    assert d.screen == "arrival"
    assert d.state.message.key == "msg.arrival_saved_offline"
    # the same parcel again (still in view): no second arrival, and a message without a number
    d.scan("PKG1001")
    assert d.screen == "arrival"
    assert not d.calls("parcel")[1:]
    assert d.state.message.key == "msg.parcel_already_registered"


def test_offline_arrival_at_locker_unknown_occupancy_gives_no_door():
    d = Driver("locker")
    d.login()
    d.press("arrival")
    d.scan("PKG1001")
    d.answer("parcel", error=down())
    assert d.screen == "arrival_confirm"
    assert not d.of(flow.Unlock)
    d.press("confirm")
    assert "locker_door" not in d.of(flow.Enqueue)[0].request.payload()


def test_locker_arrival_screen_loads_occupancy_ahead():
    d = Driver("locker")
    d.login()
    d.press("arrival")
    call = d.calls("occupied")[-1]
    assert call.request.staff_token == "tok-s_1"
    d.send(ApiResult("occupied", True, frozenset({1, 2}), None, call.token))
    d.scan("PKG1001")
    d.answer("parcel", error=down())
    assert d.of(flow.Unlock) == [flow.Unlock(3)]


def test_offline_arrival_at_locker_uses_known_occupancy():
    d = Driver("locker")
    d.login()
    d.press("arrival")
    d.scan("PKG1001")
    d.answer("parcel", _ParcelWithDoors(order("A1001", status="shipped"), {1}))
    d.press("confirm")
    d.scan("PKG1005")
    d.answer("parcel", error=down())
    assert d.of(flow.Unlock)[-1] == flow.Unlock(3)


def test_outbox_delivery_brings_kiosk_online():
    d = Driver()
    d.login()
    d.press("arrival")
    d.scan("PKG1001")
    d.answer("parcel", error=down())
    assert not d.state.online
    d.send(flow.OutboxChanged(depth=0, attention=0, delivered="k1"))
    assert d.state.online


def test_overdue_list_detail_handover_counter():
    d = Driver()
    d.login("s_1")
    d.press("overdue")
    assert d.last_call().request.name == "overdue"
    d.answer("overdue", (order("A1003", status="overdue", overdue=True),))
    assert d.screen == "overdue"
    v = flow.view(d.state)
    assert v.orders[0].number == "A1003"
    assert v.orders[0].customer_masked
    d.press("order:A1003")
    assert d.screen == "order_detail"
    assert flow.view(d.state).detail.number == "A1003"
    d.press("pickup")
    # r2: the customer proves who they are first (a normal look-up)
    assert d.screen == "member_entry"
    d.member([order("A1003", status="overdue", overdue=True)])
    assert d.screen == "scan_package"
    d.scan("PKG1003")
    call = d.last_call()
    assert call.request.name == "pickup"
    assert args(call.request)["handed_over_by"] == "s_1"
    assert args(call.request)["lookup_id"] == LOOKUP_ID
    assert args(call.request)["package_code"] == "PKG1003"
    d.answer("pickup", order("A1003", status="received"))
    assert d.screen == "done"
    d.timer("idle")
    assert d.screen == "staff_menu"


def test_handover_locker_through_outbox():
    d = Driver("locker")
    d.login("s_1")
    d.press("overdue")
    d.answer("overdue", (order("A1003", door=4, status="overdue", overdue=True),))
    d.press("order:A1003")
    d.press("pickup")
    assert not d.of(flow.Unlock)  # r2: nothing opens before the customer's look-up
    d.member([order("A1003", door=4, status="overdue", overdue=True)])
    assert d.of(flow.Unlock) == [flow.Unlock(4)]
    d.door(4, "opened")
    (enq,) = d.of(flow.Enqueue)
    # r2: the hand-over names the customer's look-up
    assert enq.request.payload() == {
        "order_id": "o_A1003",
        "lookup_id": LOOKUP_ID,
        "locker_door": 4,
        "handed_over_by": "s_1",
    }
    d.door(4, "closed")
    assert d.screen == "done"


def test_return_counter_with_reason():
    d = Driver()
    d.login()
    d.press("overdue")
    d.answer("overdue", (order("A1003", status="overdue", overdue=True),))
    d.press("order:A1003")
    d.press("reason:damaged")
    assert flow.view(d.state).return_reason == "damaged"
    d.press("return")
    call = d.last_call()
    assert call.request.name == "return"
    assert args(call.request) == {"order_id": "o_A1003", "reason": "damaged"}
    d.answer("return", order("A1003", status="return_requested"))
    assert d.screen == "overdue"
    assert d.state.message.key == "msg.return_requested"
    assert not d.of(flow.Unlock)


def test_return_locker_opens_door_after_yes():
    d = Driver("locker")
    d.login()
    d.press("overdue")
    d.answer("overdue", (order("A1003", door=4, status="overdue", overdue=True),))
    d.press("order:A1003")
    d.press("reason:damaged")  # r2: a reason first (reason keys of view.RETURN_REASONS)
    assert not d.of(flow.Unlock)
    d.press("return")
    d.answer("return", order("A1003", door=4, status="return_requested"))
    assert d.of(flow.Unlock) == [flow.Unlock(4)]
    assert d.screen == "door_open"
    d.door(4, "opened")
    assert not d.of(flow.Enqueue)
    d.door(4, "closed")
    assert d.screen == "overdue"


def test_return_refused_is_error_back_to_detail():
    d = Driver()
    d.login()
    d.press("overdue")
    d.answer("overdue", (order("A1003", status="overdue", overdue=True),))
    d.press("order:A1003")
    d.press("return")  # r2: no reason is preselected: refused, nothing asked
    assert not d.calls("return")
    assert d.state.message.key == "msg.choose_reason"
    d.press("reason:not_collected")
    d.press("return")
    assert args(d.last_call().request)["reason"] == "not_collected"  # r2 reason keys (view.RETURN_REASONS)
    d.answer("return", error=rejected("wrong_status"))
    assert d.screen == "error"
    d.press("back")
    assert d.screen == "order_detail"


def test_staff_offline_message_not_offline_screen():
    d = Driver()
    d.login()
    d.press("overdue")
    d.answer("overdue", error=down())
    assert d.screen == "staff_menu"
    assert d.state.message.key == "msg.offline"


def test_back_navigation():
    d = Driver()
    d.login()
    d.press("arrival")
    d.press("back")
    assert d.screen == "staff_menu"
    d.press("overdue")
    d.answer("overdue", (order("A1003", status="overdue", overdue=True),))
    d.press("order:A1003")
    d.press("back")
    assert d.screen == "overdue"
    d.press("back")
    assert d.screen == "staff_menu"


def test_enter_in_typed_text_confirms():
    d = Driver()
    d.scan("STAFF-0001")
    d.type("2468\n")
    assert d.last_call().request.name == "login"
    assert args(d.last_call().request)["pin"] == "2468"


def test_handover_left_alone_returns_to_staff_menu_logged_in():
    d = Driver()
    d.login()
    d.press("overdue")
    d.answer("overdue", (order("A1003", status="overdue", overdue=True),))
    d.press("order:A1003")
    d.press("pickup")
    d.member([order("A1003", status="overdue", overdue=True)])
    assert d.screen == "scan_package"
    d.timer("idle")
    assert d.screen == "staff_menu"
    assert d.state.staff is not None


def test_abandoned_login_returns_to_idle_and_forgets_the_badge():
    d = Driver()
    d.scan("STAFF-0001")
    d.type("24")
    assert flow.StartTimer("idle", 60.0) in d.effects
    d.timer("idle")
    assert d.screen == "idle"
    assert d.state.customer.badge == ""
    assert d.state.customer.pin == ""


def test_staff_names_in_full_on_staff_screens():
    """Issue 12 (revision 2): colleagues' names were masked on staff-only screens (陳*華), which
    invited mix-ups; the staff header and the arrival picker show them in full now."""
    d = Driver()
    d.login("s_1", name="陳小華")
    assert flow.view(d.state).staff_name == "陳小華"
    d.press("arrival")
    d.scan("PKG1001")
    d.answer("parcel", ParcelInfo(order("A1001", status="shipped")))
    names = [c.name for c in flow.view(d.state).staff_choices]
    assert names == ["陳小華", "林美玲"]
