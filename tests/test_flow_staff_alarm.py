"""Door alarms and kiosk events of the pure flow (docs/design.md r2): door_alarm over customer screens
and idle, a banner on staff screens, door_closed, the events through the outbox."""

from __future__ import annotations

from test_flow_support import Driver, order

from kiosk import flow
from kiosk.api.requests import KioskEvent
from kiosk.events import CameraState


def events(d: Driver) -> list[tuple[str, int | None]]:
    return [(e.request.event, e.request.door) for e in d.of(flow.Enqueue) if isinstance(e.request, KioskEvent)]


def locker() -> Driver:
    return Driver(mode="locker", kiosk_id="k_1")


def test_forced_door_on_idle_shows_the_alarm_and_closing_goes_back_to_idle():
    d = locker()
    d.door(5, "forced")
    assert d.screen == "door_alarm"
    v = flow.view(d.state)
    assert (v.alarm_door, v.alarm_kind) == (5, "door_forced")
    assert flow.Indicate("alarm") in d.effects
    assert events(d) == [("door_forced", 5)]
    ev = d.of(flow.Enqueue)[0].request
    assert ev.kiosk_id == "k_1"
    assert ev.at == ""
    # left open as well: no second alarm
    d.door(5, "left_open")
    assert events(d) == [("door_forced", 5)]
    d.door(5, "closed")
    assert d.screen == "idle"
    assert events(d) == [("door_forced", 5), ("door_closed", 5)]
    assert d.state.alarms == ()
    assert flow.Indicate("ready") in d.effects


def test_customer_door_left_open_alarm_then_closed_goes_to_done():
    d = locker()
    d.member([order("A1002", door=2)])
    d.press("order:A1002")
    assert d.screen == "door_open"
    d.door(2, "opened")
    assert len([e for e in d.of(flow.Enqueue) if e.request.kind == "pickup"]) == 1
    # the idle timer does not end the session of someone at an open door
    d.timer("idle")
    assert d.screen == "door_open"
    d.door(2, "left_open")
    assert d.screen == "door_alarm"
    assert flow.view(d.state).alarm_kind == "door_left_open"
    assert d.state.alarm_back.value == "door_open"
    d.door(2, "closed")
    assert events(d) == [("door_left_open", 2), ("door_closed", 2)]
    assert d.screen == "done"


def test_input_on_the_alarm_opens_nothing_and_says_close_the_door_first():
    d = locker()
    d.door(7, "forced")
    d.effects.clear()
    d.scan("MEMBER-0000001")
    assert d.screen == "door_alarm"
    assert not d.calls()
    assert d.state.message.key == "msg.close_door_first"
    assert d.state.message.kwargs() == {"door": 7}
    d.scan("STAFF-0001")
    d.press("lookup_phone")
    d.type("1234")
    assert d.screen == "door_alarm"
    assert not d.calls()
    assert not d.of(flow.Unlock)
    d.press("lang")
    assert d.state.lang == "en"
    d.timer("message")
    assert d.state.message is None
    d.door(7, "closed")
    assert d.screen == "idle"


def test_alarm_over_orders_keeps_the_session_and_returns_to_orders():
    d = locker()
    d.member([order("A1002", door=2), order("A1003", door=3)])
    assert d.screen == "orders"
    d.door(9, "forced")
    assert d.screen == "door_alarm"
    assert d.state.customer.orders  # the session lives on under the alarm
    d.door(9, "closed")
    assert d.screen == "orders"


def test_session_timing_out_under_the_alarm_goes_to_idle_on_close():
    d = locker()
    d.member([order("A1002", door=2)])
    d.door(9, "forced")
    d.timer("idle")
    assert d.screen == "door_alarm"
    assert d.state.customer.orders == ()
    d.door(9, "closed")
    assert d.screen == "idle"


def test_staff_screens_show_a_banner_not_the_alarm_screen():
    d = locker()
    d.login()
    d.door(4, "left_open")
    assert d.screen == "staff_menu"
    v = flow.view(d.state)
    assert v.message.key == "msg.door_alarm_banner"
    assert events(d) == [("door_left_open", 4)]
    # the banner stays while the alarm is open, whatever else the screen said
    d.timer("message")
    assert flow.view(d.state).message.key == "msg.door_alarm_banner"
    d.door(4, "closed")
    assert flow.view(d.state).message is None
    assert events(d)[-1] == ("door_closed", 4)


def test_staff_logging_out_during_an_alarm_brings_the_alarm_screen():
    d = locker()
    d.login()
    d.door(4, "forced")
    d.press("logout")
    assert d.screen == "door_alarm"


def test_door_not_opened_after_the_retry_is_an_event():
    d = locker()
    d.member([order("A1002", door=2)])
    d.press("order:A1002")
    d.door(2, "not_opened")
    assert events(d) == []  # a retry is offered first
    d.press("retry")
    d.door(2, "not_opened")
    assert events(d) == [("door_not_opened", 2)]
    assert d.screen == "idle"


def test_camera_lost_and_back_are_events_once_each():
    d = locker()
    d.send(CameraState("lost"))
    d.send(CameraState("lost"))
    d.send(CameraState("ok"))
    assert events(d) == [("camera_lost", None), ("camera_back", None)]


def test_no_events_without_a_kiosk_id():
    d = Driver(mode="locker")
    d.door(5, "forced")
    assert d.screen == "door_alarm"
    assert events(d) == []


def test_counter_alarm_never_comes_without_doors_but_works_the_same():
    d = Driver(mode="counter", kiosk_id="k_1")
    d.door(1, "forced")
    assert d.screen == "door_alarm"


def test_outbox_attention_is_an_event_but_a_parked_event_is_not_reported_again():
    from kiosk.events import OutboxChanged

    d = locker()
    d.send(OutboxChanged(depth=0, attention=1, order_ref="o_1"))
    assert events(d) == [("outbox_attention", None)]
    d.send(OutboxChanged(depth=0, attention=2, order_ref="events:k_1"))
    d.send(OutboxChanged(depth=0, attention=2, order_ref="o_2"))
    assert events(d) == [("outbox_attention", None)]


def test_locked_out_is_sent_on_the_first_429_only():
    from test_flow_support import rejected

    d = Driver(mode="counter", kiosk_id="k_1")
    for _ in range(3):
        d.scan("STAFF-0001")
        d.type("1111")
        d.press("confirm")
        d.answer("login", error=rejected("locked_out", 429))
    assert events(d) == [("locked_out", None)]
    assert [e.request.detail for e in d.of(flow.Enqueue)] == ["login"]
