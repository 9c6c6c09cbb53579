"""Duty at a counter and the end of a staff session through the outbox (docs/design.md r2)."""

from __future__ import annotations

from test_flow_support import Driver, order

from kiosk import flow
from kiosk.api.requests import ConfirmArrival, ParcelInfo, StaffLogout


def logouts(d: Driver) -> list[str]:
    return [e.request.staff_token for e in d.of(flow.Enqueue) if isinstance(e.request, StaffLogout)]


def test_duty_puts_the_member_on_duty_and_returns_to_idle():
    d = Driver()
    d.login()
    d.press("duty")
    assert d.screen == "idle"
    assert d.state.staff is None
    assert flow.view(d.state).on_duty == "陳*華"
    assert d.state.on_duty.id == "s_1"
    assert flow.StartTimer("duty", 12 * 3600.0) in d.effects
    assert logouts(d) == ["tok-s_1"]


def test_another_member_takes_over_and_the_same_member_ends_it():
    d = Driver()
    d.login()
    d.press("duty")
    d.login("s_2", "林*玲")
    assert flow.view(d.state).on_duty == "陳*華"  # the staff menu shows who is on duty
    d.press("duty")
    assert d.state.on_duty.id == "s_2"
    assert flow.view(d.state).on_duty == "林*玲"
    d.login("s_2", "林*玲")
    d.press("duty")
    assert d.state.on_duty is None
    assert d.screen == "idle"
    assert flow.view(d.state).on_duty == ""
    assert flow.CancelTimer("duty") in d.effects
    assert logouts(d) == ["tok-s_1", "tok-s_2", "tok-s_2"]


def test_duty_ends_after_twelve_hours_of_kiosk_time_and_survives_customers():
    d = Driver()
    d.login()
    d.press("duty")
    d.member([])
    d.press("cancel")
    assert d.state.on_duty is not None
    d.timer("idle")
    assert d.state.on_duty is not None
    d.timer("duty")
    assert d.state.on_duty is None
    assert flow.view(d.state).on_duty == ""


def test_no_duty_at_a_locker():
    d = Driver(mode="locker")
    d.login()
    d.press("duty")
    assert d.screen == "staff_menu"
    assert d.state.on_duty is None
    assert logouts(d) == []


def test_logout_and_inactivity_send_the_logout_after_the_sessions_writes():
    d = Driver()
    d.login()
    d.press("arrival")
    d.scan("PKG1001")

    d.answer("parcel", ParcelInfo(order("A1001", status="shipped")))
    d.press("confirm")
    d.press("logout")
    kinds = [type(e.request) for e in d.of(flow.Enqueue)]
    assert kinds == [ConfirmArrival, StaffLogout]
    assert logouts(d) == ["tok-s_1"]
    assert d.screen == "idle"
    d.login()
    d.timer("staff")
    assert d.screen == "idle"
    assert logouts(d) == ["tok-s_1", "tok-s_1"]
    # nobody logged in: a stray staff timer sends nothing
    d.timer("staff")
    assert logouts(d) == ["tok-s_1", "tok-s_1"]


def test_logout_record_hides_the_token():
    assert "tok" not in repr(StaffLogout(staff_token="tok-secret"))


def test_a_session_ended_any_other_way_still_sends_its_logout():
    d = Driver()
    d.login()
    d.press("overdue")
    d.answer("overdue", (order("A1003", status="overdue", overdue=True),))
    d.press("order:A1003")
    d.press("pickup")
    assert d.screen == "member_entry"
    # a colleague's badge while the customer was to identify: a new session replaces the old one
    d.login("s_2", "林*玲")
    assert d.state.staff.id == "s_2"
    assert logouts(d) == ["tok-s_1"]
    d.press("logout")
    assert logouts(d) == ["tok-s_1", "tok-s_2"]  # once each
