"""Customer flows of the pure state machine: counter and locker pickup, look-ups, refusals, idle."""

from __future__ import annotations

import pytest
from test_flow_support import LOOKUP_ID, Driver, args, down, order, rejected, section

from kiosk import flow
from kiosk.api.models import Lookup, Member, Settings


def test_start_loads_settings_then_idle():
    d = Driver(config=flow.FlowConfig(), start=False)
    assert d.effects == []  # nothing happens before Start
    assert d.state == flow.initial()
    d.send(flow.Start())
    assert d.last_call().request.name == "settings"
    assert not d.state.backend.settings_loaded
    d.answer("settings", Settings(member_code_only=True), token=d.state.backend.probing)
    assert d.state.backend.settings_loaded
    assert d.state.backend.member_code_only
    assert d.screen == "idle"


def test_member_scan_shows_orders_even_for_one():
    d = Driver()
    d.member([order("A1002")])
    assert d.screen == "orders"
    v = flow.view(d.state)
    assert [r.number for r in v.orders] == ["A1002"]
    assert v.member_masked == "王*明"


def test_overdue_marked_on_orders():
    d = Driver()
    d.member([order("A1002"), order("A1003", status="overdue", overdue=True)])
    rows = flow.view(d.state).orders
    assert [r.overdue for r in rows] == [False, True]


def test_counter_one_order_scan_match_done():
    d = Driver()
    d.member([order("A1002"), order("A1003")])
    d.press("order:A1003")
    assert d.screen == "scan_package"
    assert flow.view(d.state).current_order == "A1003"
    d.scan("PKG1003", "CODE128")
    call = d.last_call()
    assert call.request.name == "pickup"
    assert args(call.request) == {"order_id": "o_A1003", "lookup_id": LOOKUP_ID, "package_code": "PKG1003"}
    d.answer("pickup", order("A1003", status="received"))
    # r2: A1002 of the same look-up still waits, so the kiosk lists it again (docs/design.md r2)
    assert d.screen == "orders"
    assert [r.number for r in flow.view(d.state).orders] == ["A1002"]
    d.press("order:A1002")
    d.scan("PKG1002", "CODE128")
    d.answer("pickup", order("A1002", status="received"))
    assert d.screen == "done"
    assert flow.view(d.state).picked_up == ("A1003", "A1002")
    assert flow.StartTimer("idle", 8.0) in d.effects


def test_counter_mismatch_stays_with_message_and_error():
    d = Driver()
    d.member([order("A1002")])
    d.press("order:A1002")
    d.effects.clear()
    d.scan("PKG9999", "CODE128")
    d.answer("pickup", error=rejected("package_mismatch"))
    assert d.screen == "scan_package"
    assert d.state.message.key == "err.package_mismatch"
    assert flow.Indicate("error") in d.effects
    # the right one still works afterwards
    d.scan("PKG1002", "CODE128")
    d.answer("pickup", order("A1002", status="received"))
    assert d.screen == "done"


def test_counter_pickup_all_scans_each():
    d = Driver()
    d.member([order("A1002"), order("A1003")])
    d.press("pickup_all")
    assert flow.view(d.state).current_order == "A1002"
    d.scan("PKG1002")
    d.answer("pickup", order("A1002", status="received"))
    assert d.screen == "scan_package"
    assert flow.view(d.state).current_order == "A1003"
    d.scan("PKG1003")
    d.answer("pickup", order("A1003", status="received"))
    assert d.screen == "done"
    assert d.state.customer.picked == ("A1002", "A1003")


@pytest.mark.parametrize("code", ["STAFF-0001", "bad code!"])
def test_scan_package_refuses_other_kinds_without_call(code):
    d = Driver()
    d.member([order("A1002")])
    d.press("order:A1002")
    d.effects.clear()
    d.scan(code)
    assert not d.calls()
    assert d.screen == "scan_package"
    assert d.state.message.level == "error"
    assert flow.Indicate("error") in d.effects


def test_scan_package_sends_a_member_like_parcel_code_and_shows_the_mismatch():
    """MEMBER-0000001 also matches the parcel pattern: it goes to the backend, which refuses it."""
    d = Driver()
    d.member([order("A1002")])
    d.press("order:A1002")
    d.effects.clear()
    d.scan("MEMBER-0000001")
    call = d.last_call()
    assert call.request.name == "pickup"
    assert d.screen == "scan_package"  # nothing decided before the backend answers
    d.answer("pickup", error=rejected("package_mismatch", 409))
    assert d.screen == "scan_package"  # the customer may scan the right parcel
    assert d.state.message.level == "error"
    assert d.state.customer.picked == ()


@pytest.mark.parametrize("code", ["", "a\tb", "x" * 200, "ab"])
def test_idle_refuses_junk_and_unknown_on_the_spot(code):
    d = Driver()
    d.scan(code)
    assert not d.calls()
    assert d.screen == "idle"
    assert d.state.message is not None
    assert d.state.message.level == "error"
    assert flow.Indicate("error") in d.effects


def test_idle_refuses_parcel_only_codes():
    d = Driver(settings=Settings(member_code_pattern="MEMBER-[0-9]{7}"))
    d.scan("PKG1002")
    assert not d.calls()
    assert d.state.message.key == "msg.code_wrong_kind"


def test_local_pattern_override_wins():
    d = Driver(pattern_overrides=(("member_code_pattern", "M[0-9]{3}"),))
    d.scan("MEMBER-0000001")
    assert not d.calls("lookup")
    d.scan("M123")
    assert args(d.last_call().request) == {"member_code": "M123"}


def test_unknown_member_is_error_screen_then_back_to_idle():
    d = Driver()
    d.scan("MEMBER-9999999")
    d.answer("lookup", error=rejected("member_not_found", 404))
    assert d.screen == "error"
    assert d.state.message.key == "err.member_not_found"
    d.press("back")
    assert d.screen == "idle"


def test_lookup_lockout_is_error():
    d = Driver()
    d.scan("MEMBER-0000001")
    d.answer("lookup", error=rejected("locked_out", 429))
    assert d.screen == "error"
    assert d.state.message.key == "err.locked_out"


def test_phone_lookup():
    # revision 1's phone look-up, kept while the backend's contact_lookup is "open" at a counter
    d = Driver(settings=Settings(contact_lookup="open"))
    d.press("lookup_phone")
    assert d.screen == "member_entry"
    d.type("0912")
    d.press("key:3")
    d.type("45678x")
    d.press("key:backspace")
    d.type("8")
    assert flow.view(d.state).entry_text == "0912345678"
    d.press("confirm")
    assert args(d.last_call().request) == {"phone": "0912345678"}
    d.answer("lookup", Lookup(Member("m_1", "王*明"), (order(),)))
    assert d.screen == "orders"
    assert d.state.customer.entry_text == ""


def test_email_lookup_and_invalid_refused():
    d = Driver(settings=Settings(contact_lookup="open"))
    d.press("lookup_email")
    d.type("nonsense")
    d.press("confirm")
    assert not d.calls()
    assert d.state.message.key == "msg.email_invalid"
    d.send(flow.Erase(all=True)) if hasattr(flow, "Erase") else None
    d.press("key:clear")
    d.type("ming@example.com")
    d.press("confirm")
    assert args(d.last_call().request) == {"email": "ming@example.com"}


def test_member_code_only_hides_and_ignores_phone():
    d = Driver(settings=Settings(member_code_only=True))
    assert flow.view(d.state).member_code_only
    d.press("lookup_phone")
    assert d.screen == "idle"


def test_cancel_clears_session():
    d = Driver()
    d.member([order()])
    d.press("cancel")
    assert d.screen == "idle"
    assert d.state.customer.orders == ()
    assert d.state.customer.member_masked == ""


def test_idle_timeout_returns_and_clears():
    d = Driver()
    d.member([order()])
    assert flow.StartTimer("idle", 60.0) in d.effects
    d.timer("idle")
    assert d.screen == "idle"
    assert d.state.customer.member_id == ""
    assert flow.view(d.state).orders == ()


def test_done_timeout_returns_to_idle():
    d = Driver()
    d.member([order()])
    d.press("order:A1002")
    d.scan("PKG1002")
    d.answer("pickup", order(status="received"))
    d.timer("idle")
    assert d.screen == "idle"


def test_stale_answer_ignored():
    d = Driver()
    d.scan("MEMBER-0000001")
    token = d.state.pending[1]
    d.press("cancel")
    d.answer("lookup", Lookup(Member("m_1", "x"), (order(),)), token=token)
    assert d.screen == "idle"
    assert d.state.customer.orders == ()


def test_busy_ignores_second_scan():
    d = Driver()
    d.scan("MEMBER-0000001")
    d.scan("MEMBER-0000002")
    assert len(d.calls("lookup")) == 1
    assert flow.view(d.state).busy


def test_lang_toggles():
    d = Driver()
    d.press("lang")
    assert flow.view(d.state).lang == "en"
    d.press("lang")
    assert flow.view(d.state).lang == "zh-TW"


def test_message_clears_on_timer():
    d = Driver()
    d.scan("??")
    assert d.state.message is not None
    d.timer("message")
    assert d.state.message is None


# locker ----------------------------------------------------------------------------------------


def test_locker_one_door_opened_written_closed_done():
    d = Driver("locker")
    d.member([order("A1002", door=2)])
    d.press("order:A1002")
    assert d.screen == "door_open"
    assert flow.Unlock(2) in d.effects
    v = flow.view(d.state)
    assert [(r.number, r.state) for r in v.doors] == [(2, "unlocked")]
    assert not d.of(flow.Enqueue)
    d.door(2, "opened")
    (enq,) = d.of(flow.Enqueue)
    assert enq.request.kind == "pickup"
    assert enq.request.ref == "o_A1002"
    assert enq.request.payload() == {"order_id": "o_A1002", "lookup_id": LOOKUP_ID, "locker_door": 2}
    assert d.screen == "door_open"
    d.door(2, "closed")
    assert d.screen == "done"


def test_locker_pickup_all_unlocks_every_door_without_waiting():
    d = Driver("locker")
    d.member([order("A1002", door=2), order("A1003", door=5)])
    d.press("pickup_all")
    assert d.of(flow.Unlock) == [flow.Unlock(2), flow.Unlock(5)]
    d.door(5, "opened")
    d.door(5, "closed")
    assert d.screen == "door_open"
    d.door(2, "opened")
    d.door(2, "closed")
    assert d.screen == "done"
    assert len(d.of(flow.Enqueue)) == 2


def test_locker_not_opened_retry_once_then_idle_uncollected():
    d = Driver("locker")
    d.member([order("A1002", door=2)])
    d.press("order:A1002")
    d.door(2, "not_opened")
    assert d.screen == "door_open"
    assert flow.view(d.state).retry_allowed
    d.effects.clear()
    d.press("retry")
    assert d.of(flow.Unlock) == [flow.Unlock(2)]
    assert not flow.view(d.state).retry_allowed
    d.door(2, "not_opened")
    assert d.screen == "idle"
    assert not d.of(flow.Enqueue)


def test_locker_retry_then_opened():
    d = Driver("locker")
    d.member([order("A1002", door=2)])
    d.press("order:A1002")
    d.door(2, "not_opened")
    d.press("retry")
    d.door(2, "opened")
    d.door(2, "closed")
    assert d.screen == "done"
    assert len(d.of(flow.Enqueue)) == 1


def test_locker_forced_door_is_an_alarm():
    # r2 (docs/design.md "Door alarms"): a forced door shows door_alarm over idle with the alarm
    # pattern (r1: attention only); no kiosk id configured here, so no event is queued
    d = Driver("locker")
    d.door(7, "forced")
    assert d.screen == "door_alarm"
    assert flow.Indicate("alarm") in d.effects
    assert not d.of(flow.Enqueue)


def test_locker_door_events_for_other_doors_ignored():
    d = Driver("locker")
    d.member([order("A1002", door=2)])
    d.press("order:A1002")
    d.door(3, "opened")
    assert not d.of(flow.Enqueue)


def test_locker_sensorless_door_done_after_pulse():
    d = Driver(config=flow.FlowConfig(kiosk=section("locker"), doors=(flow.DoorInfo(1, sensorless=True),)))
    d.member([order("A1002", door=1)])
    d.press("order:A1002")
    d.door(1, "opened")
    assert d.screen == "done"


def test_offline_customer_nothing_opens():
    d = Driver("locker")
    d.scan("MEMBER-0000001")
    d.answer("lookup", error=down())
    assert d.screen == "offline"
    assert not d.of(flow.Unlock)
    assert flow.StartTimer("probe", flow.FlowConfig().probe_offline) in d.effects
    # a probe that works brings the kiosk back by itself
    d.timer("probe")
    d.answer("settings", Settings(), token=d.state.backend.probing)
    assert d.screen == "idle"
    assert d.state.online


def test_offline_probe_failing_keeps_offline_and_reschedules():
    d = Driver()
    d.scan("MEMBER-0000001")
    d.answer("lookup", error=down())
    d.effects.clear()
    d.timer("probe")
    d.answer("settings", error=down(), token=d.state.backend.probing)
    assert d.screen == "offline"
    assert flow.StartTimer("probe", flow.FlowConfig().probe_offline) in d.effects


def test_offline_screen_scan_tries_again():
    d = Driver()
    d.scan("MEMBER-0000001")
    d.answer("lookup", error=down())
    d.scan("MEMBER-0000001")
    d.answer("lookup", Lookup(Member("m_1", "x"), (order(),)))
    assert d.screen == "orders"
    assert d.state.online


def test_idle_backend_state_events():
    d = Driver()
    d.send(flow.BackendState("down"))
    assert d.screen == "offline"
    d.send(flow.BackendState("up"))
    assert d.screen == "idle"


def test_counter_pickup_unreachable_goes_offline():
    d = Driver()
    d.member([order()])
    d.press("order:A1002")
    d.scan("PKG1002")
    d.answer("pickup", error=down())
    assert d.screen == "offline"
    assert d.state.customer.orders == ()


def test_other_refusal_is_error_screen():
    d = Driver()
    d.member([order()])
    d.press("order:A1002")
    d.scan("PKG1002")
    d.answer("pickup", error=rejected("wrong_status"))
    assert d.screen == "error"


def test_view_never_holds_codes_or_pin():
    d = Driver()
    d.scan("STAFF-0001")
    d.type("2468")
    v = flow.view(d.state)
    assert v.pin_length == 4
    assert "2468" not in repr(v)
    assert "STAFF-0001" not in repr(v)
    assert "2468" not in repr(d.state)


def test_language_chosen_by_a_customer_resets_on_idle_return():
    d = Driver()
    d.press("lang")
    d.member([order()])
    assert flow.view(d.state).lang == "en"
    d.timer("idle")
    assert flow.view(d.state).lang == "zh-TW"


def test_no_orders_still_shows_orders_with_a_message():
    d = Driver()
    d.member([])
    assert d.screen == "orders"
    assert d.state.message.key == "msg.no_orders"


def test_help_shows_a_message_on_staff_screens():
    # r2: on customer screens `help` opens the help screen (test_flow_customer_r2.py)
    d = Driver()
    d.login()
    d.press("help")
    assert d.screen == "staff_menu"
    assert d.state.message.key == "msg.help"


def test_unknown_button_changes_nothing():
    d = Driver()
    d.member([order()])
    before = d.state
    d.press("order:Z9999")
    d.press("retry")
    d.press("staff:s_1")
    assert d.state.screen is before.screen
    assert not d.calls("pickup")


def test_locker_order_without_door_is_refused_and_opens_nothing():
    # r2: such a parcel is listed to collect at the counter (no button); a press is refused
    d = Driver("locker")
    d.member([order("A1003", door=None)])
    d.press("order:A1003")
    assert d.screen == "orders"
    assert d.state.message.key == "orders.at_counter"
    assert not d.of(flow.Unlock)


def test_door_left_open_and_outbox_attention_call_for_attention():
    d = Driver("locker")
    d.door(4, "left_open")
    assert flow.Indicate("alarm") in d.effects  # r2: a door left open is an alarm
    d.door(4, "closed")
    d.effects.clear()
    d.send(flow.OutboxChanged(depth=0, attention=1))
    assert flow.Indicate("attention") in d.effects
    assert flow.view(d.state).attention_count == 1


def test_camera_state_shown():
    d = Driver()
    d.send(flow.CameraState("lost"))
    assert not flow.view(d.state).camera_ok
    d.send(flow.CameraState("ok"))
    assert flow.view(d.state).camera_ok


def test_offline_screen_cancel_stays_offline():
    d = Driver()
    d.scan("MEMBER-0000001")
    d.answer("lookup", error=down())
    d.press("cancel")
    assert d.screen == "offline"


def test_settings_refused_keeps_defaults_and_probes_again():
    d = Driver(config=flow.FlowConfig(), start=False)
    d.send(flow.Start())
    d.answer("settings", error=rejected("unauthorized", 401), token=d.state.backend.probing)
    assert not d.state.backend.settings_loaded
    assert any(isinstance(e, flow.StartTimer) and e.name == "probe" for e in d.effects)


def test_unreachable_at_start_is_offline_until_the_probe_answers():
    d = Driver(config=flow.FlowConfig(), start=False)
    d.send(flow.Start())
    d.answer("settings", error=down(), token=d.state.backend.probing)
    assert d.screen == "offline"
    d.timer("probe")
    d.answer("settings", Settings(), token=d.state.backend.probing)
    assert d.screen == "idle"
    assert d.state.backend.settings_loaded


def test_locker_door_of_another_bank_is_not_opened():
    d = Driver("locker", doors=4)
    d.member([order("A1002", door=2), order("A1012", door=9)])
    d.press("pickup_all")
    assert d.of(flow.Unlock) == [flow.Unlock(2)]
    assert [r.number for r in flow.view(d.state).doors] == [2]


def test_locker_only_door_of_another_bank_is_refused():
    d = Driver("locker", doors=4)
    d.member([order("A1012", door=9)])
    d.press("order:A1012")
    d.press("pickup_all")
    assert d.screen == "orders"
    assert d.state.message.key == "orders.hint_counter_only"
    assert not d.of(flow.Unlock)
