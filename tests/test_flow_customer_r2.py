"""The customer's r2 flow rules (docs/design.md "Flow rules added in r2"), on the pure flow."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk import flow
from kiosk.api.models import Lookup, Member, Settings
from kiosk.errors import Rejected
from kiosk.screens.view import Press, Typed
from tests.test_flow_support import LOOKUP_ID, Driver, args, order, rejected


def to_pickup_code(d: Driver, phone: str = "0912345678") -> None:
    d.press("lookup_phone")
    d.type(phone)
    d.press("confirm")


def lockout(seconds: int) -> Rejected:
    err = Rejected("locked_out", "too many tries", 429)
    err.retry_after = seconds
    return err


def lookup(*orders, expires_in=300):
    return Lookup(Member("m_1", "王*明"), tuple(orders), lookup_id=LOOKUP_ID, expires_in=expires_in)


# phone or email, then the pickup code ------------------------------------------------------------


@pytest.mark.parametrize("mode", ["counter", "locker"])
def test_phone_then_pickup_code_then_lookup_with_both(mode):
    d = Driver(mode)
    to_pickup_code(d)
    assert d.screen == "pickup_code"
    assert not d.calls("lookup")  # a phone alone is never sent
    v = flow.view(d.state)
    assert (v.entry_kind, v.entry_text) == ("pickup_code", "")
    d.type("4802")
    d.press("confirm")  # four digits: refused on the spot
    assert not d.calls("lookup")
    assert d.state.message.key == "msg.pickup_code_invalid"
    d.press("key:1")  # the keypad's keys carry their character
    d.press("key:3")
    assert flow.view(d.state).entry_text == "480213"
    d.type("9")  # a seventh digit does not fit
    assert flow.view(d.state).entry_text == "480213"
    d.press("confirm")
    assert args(d.last_call().request) == {"phone": "0912345678", "pickup_code": "480213"}
    d.answer("lookup", lookup(order("A1002", door=2)))
    assert d.screen == "orders"
    c = d.state.customer
    assert (c.contact, c.entry_text, c.lookup_id) == ("", "", LOOKUP_ID)


def test_email_then_pickup_code():
    d = Driver()
    d.press("lookup_email")
    d.type("ming@example.com\n")  # Enter confirms
    assert d.screen == "pickup_code"
    d.type("480213\n")
    assert args(d.last_call().request) == {"email": "ming@example.com", "pickup_code": "480213"}


def test_contact_lookup_open_looks_up_directly_at_a_counter_only():
    d = Driver(settings=Settings(contact_lookup="open"))
    to_pickup_code(d)
    assert args(d.last_call().request) == {"phone": "0912345678"}
    d = Driver("locker", settings=Settings(contact_lookup="open"))  # a locker always needs the code
    to_pickup_code(d)
    assert d.screen == "pickup_code"
    assert not d.calls("lookup")


def test_backend_asking_for_the_code_gets_the_pickup_code_screen():
    d = Driver(settings=Settings(contact_lookup="open"))
    to_pickup_code(d)
    d.answer("lookup", error=rejected("pickup_code_required", 403))
    assert d.screen == "pickup_code"
    d.type("480213")
    d.press("confirm")
    assert args(d.last_call().request) == {"phone": "0912345678", "pickup_code": "480213"}


def test_wrong_pair_stays_with_message_and_field_emptied():
    d = Driver("locker")
    to_pickup_code(d)
    d.type("000000")
    d.press("confirm")
    d.effects.clear()
    d.answer("lookup", error=rejected("member_not_found", 404))
    assert d.screen == "pickup_code"
    assert d.state.message.key == "msg.pickup_code_wrong"
    assert flow.view(d.state).entry_text == ""
    assert flow.Indicate("error") in d.effects
    assert not d.of(flow.Unlock)
    d.type("480213")  # another try, same phone
    d.press("confirm")
    assert args(d.last_call().request) == {"phone": "0912345678", "pickup_code": "480213"}


@pytest.mark.parametrize("typed", ["48O213", "abc", "12a", "４８０２１３", "+1", "\x00"])
def test_letters_for_a_pickup_code_are_refused(typed):
    d = Driver("locker")
    to_pickup_code(d)
    d.type("12")
    d.effects.clear()
    d.type(typed)
    assert d.state.message.key == "msg.pickup_code_invalid"
    assert d.state.message.level == "error"
    assert flow.view(d.state).entry_text == "12"  # nothing of it went in
    assert flow.Indicate("error") in d.effects
    assert not d.calls()


def test_spaces_in_a_pickup_code_are_passed_over():
    d = Driver()
    to_pickup_code(d)
    d.type("480 213")
    assert flow.view(d.state).entry_text == "480213"
    assert d.state.message is None


def test_pickup_code_back_keeps_the_contact_and_erase_works():
    d = Driver()
    to_pickup_code(d)
    d.type("480")
    d.press("key:backspace")
    assert flow.view(d.state).entry_text == "48"
    d.press("key:clear")
    assert flow.view(d.state).entry_text == ""
    d.press("back")
    assert d.screen == "member_entry"
    v = flow.view(d.state)
    assert (v.entry_kind, v.entry_text) == ("phone", "0912345678")
    d.press("cancel")
    assert d.screen == "idle"
    assert d.state.customer.contact == ""
    assert d.state.customer.entry_text == ""


def test_pickup_code_forgotten_on_idle_timeout():
    d = Driver()
    to_pickup_code(d)
    d.type("480213")
    d.timer("idle")
    assert d.screen == "idle"
    c = d.state.customer
    assert (c.contact, c.entry_text, c.entry_kind) == ("", "", "")


def test_member_code_only_no_phone_email_and_says_so():
    d = Driver(settings=Settings(member_code_only=True))
    assert flow.view(d.state).member_code_only
    d.press("lookup_phone")
    assert d.screen == "idle"
    # a backend that turned the switch on meanwhile refuses: the kiosk learns it
    d = Driver()
    to_pickup_code(d)
    d.type("480213")
    d.press("confirm")
    d.answer("lookup", error=rejected("member_code_only", 403))
    assert d.screen == "error"
    assert d.state.message.key == "err.member_code_only"
    assert flow.view(d.state).member_code_only


# 429: the seconds left, counting down on the screen where it happened ----------------------------


def test_lockout_counts_down_on_the_pickup_code_screen():
    d = Driver("locker")
    to_pickup_code(d)
    d.type("480213")
    d.press("confirm")
    d.effects.clear()
    d.answer("lookup", error=lockout(3))
    assert d.screen == "pickup_code"
    assert flow.view(d.state).locked_for == 3
    assert flow.StartTimer("lockout", 1.0) in d.effects
    d.timer("lockout")
    assert flow.view(d.state).locked_for == 2
    d.type("480213")
    d.effects.clear()
    d.press("confirm")  # still counting down: nothing is sent
    assert not d.calls("lookup")
    assert flow.Indicate("error") in d.effects
    d.press("key:clear")
    d.timer("lockout")
    d.effects.clear()
    d.timer("lockout")
    assert flow.view(d.state).locked_for == 0
    assert not d.of(flow.StartTimer)  # the countdown ends
    d.type("480213")
    d.press("confirm")
    assert d.calls("lookup")


def test_lockout_on_a_member_scan_is_the_error_screen_counting_down():
    d = Driver()
    d.scan("MEMBER-0000001")
    d.answer("lookup", error=lockout(45))
    assert d.screen == "error"  # as in revision 1, now with the seconds left
    assert d.state.message.key == "err.locked_out"
    assert flow.view(d.state).locked_for == 45
    d.timer("lockout")
    assert flow.view(d.state).locked_for == 44
    d.press("confirm")
    assert d.screen == "idle"
    assert flow.view(d.state).locked_for == 0  # shown where it happened only


def test_lockout_on_member_entry_stays_there():
    d = Driver(settings=Settings(contact_lookup="open"))
    to_pickup_code(d)
    d.answer("lookup", error=lockout(7))
    assert d.screen == "member_entry"
    assert flow.view(d.state).locked_for == 7
    assert flow.view(d.state).entry_text == "0912345678"


def test_lockout_without_retry_after_is_the_error_screen():
    d = Driver()
    d.scan("MEMBER-0000001")
    d.answer("lookup", error=rejected("locked_out", 429))
    assert d.screen == "error"
    assert d.state.message.key == "err.locked_out"


def test_client_reads_retry_after():
    from kiosk.api.client import _rejection

    err = _rejection("lookup", 429, b'{"error": {"code": "locked_out", "message": "", "retry_after": 42}}')
    assert (err.code, err.status, err.retry_after) == ("locked_out", 429, 42)
    for junk in (b'"x"', b"true", b"-5", b'"42"', b"1e9"):
        raw = b'{"error": {"code": "locked_out", "message": "", "retry_after": ' + junk + b"}}"
        assert _rejection("lookup", 429, raw).retry_after == 0


# rotating codes --------------------------------------------------------------------------------


def test_code_used_goes_to_error_asking_for_the_new_code():
    d = Driver("locker")
    d.scan("MEMBER-0000001.123456")
    d.answer("lookup", error=rejected("code_used", 409))
    assert d.screen == "error"
    assert d.state.message.key == "err.code_used"
    assert not d.of(flow.Unlock)
    d.press("confirm")
    assert d.screen == "idle"


# the look-up's id and its time ---------------------------------------------------------------------


def test_lookup_expiry_stops_every_door():
    d = Driver("locker")
    d.member([order("A1002", door=2), order("A1003", door=3)])
    assert flow.StartTimer("lookup", 300.0) in d.effects
    d.timer("lookup")
    d.effects.clear()
    d.press("order:A1002")
    assert d.screen == "error"
    assert d.state.message.key == "err.lookup_expired"
    assert not d.of(flow.Unlock)
    d.press("confirm")
    assert d.screen == "idle"


def test_lookup_expiry_stops_a_door_retry():
    d = Driver("locker")
    d.member([order("A1002", door=2)])
    d.press("order:A1002")
    d.door(2, "not_opened")
    d.timer("lookup")
    d.effects.clear()
    d.press("retry")
    assert not d.of(flow.Unlock)
    assert d.screen == "error"


def test_lookup_expiry_at_a_counter_makes_no_pickup():
    d = Driver()
    d.member([order("A1002")])
    d.press("order:A1002")
    d.timer("lookup")
    d.effects.clear()
    d.scan("PKG1002")
    assert not d.calls("pickup")
    assert d.screen == "error"
    assert d.state.message.key == "err.lookup_expired"


def test_pickup_refused_lookup_expired_is_error_then_idle():
    d = Driver()
    d.member([order("A1002")])
    d.press("order:A1002")
    d.scan("PKG1002")
    assert args(d.last_call().request)["lookup_id"] == LOOKUP_ID
    d.answer("pickup", error=rejected("lookup_expired", 403))
    assert d.screen == "error"
    assert d.state.message.key == "err.lookup_expired"
    d.timer("idle")
    assert d.screen == "idle"


def test_a_new_lookup_restarts_the_clock():
    d = Driver("locker")
    d.member([order("A1002", door=2)])
    d.timer("lookup")
    d.press("cancel")
    d.member([order("A1002", door=2)])
    d.press("order:A1002")
    assert d.of(flow.Unlock) == [flow.Unlock(2)]


# after one pickup: the others; doorless parcels at a locker --------------------------------------


def test_locker_one_of_two_back_to_orders_then_done():
    d = Driver("locker")
    d.member([order("A1002", door=2), order("A1004", door=5)])
    d.press("order:A1002")
    d.door(2, "opened")
    d.door(2, "closed")
    assert d.screen == "orders"
    assert [r.number for r in flow.view(d.state).orders] == ["A1004"]
    assert d.state.message.key == "msg.picked_up"
    d.press("order:A1004")
    assert flow.Unlock(5) in d.effects
    d.door(5, "opened")
    d.door(5, "closed")
    assert d.screen == "done"
    assert flow.view(d.state).picked_up == ("A1002", "A1004")
    assert [e.request.locker_door for e in d.of(flow.Enqueue)] == [2, 5]
    assert all(e.request.lookup_id == LOOKUP_ID for e in d.of(flow.Enqueue))


def test_a_door_not_opened_leaves_its_parcel_listed():
    d = Driver("locker")
    d.member([order("A1002", door=2), order("A1004", door=5)])
    d.press("pickup_all")
    d.door(2, "opened")
    d.door(2, "closed")
    d.door(5, "not_opened")
    d.press("retry")
    d.door(5, "not_opened")
    assert d.screen == "done"  # pickup_all: done once it is over


def test_locker_doorless_parcel_listed_never_tried():
    d = Driver("locker")
    d.member([order("A1002", door=2), order("A1003", door=None)])
    rows = flow.view(d.state).orders
    assert [(r.number, r.locker_door) for r in rows] == [("A1002", 2), ("A1003", None)]
    d.press("pickup_all")
    assert d.of(flow.Unlock) == [flow.Unlock(2)]
    assert [r.number for r in flow.view(d.state).doors] == [2]
    d.door(2, "opened")
    d.door(2, "closed")
    assert d.screen == "done"
    assert [e.request.order_id for e in d.of(flow.Enqueue)] == ["o_A1002"]


def test_locker_one_then_only_a_doorless_one_left():
    d = Driver("locker")
    d.member([order("A1002", door=2), order("A1003", door=None)])
    d.press("order:A1002")
    d.door(2, "opened")
    d.door(2, "closed")
    assert d.screen == "orders"  # it still waits: listed as one for the counter
    assert [r.number for r in flow.view(d.state).orders] == ["A1003"]
    d.effects.clear()
    d.press("pickup_all")
    assert not d.of(flow.Unlock)
    assert d.state.message.key == "orders.hint_counter_only"


@pytest.fixture(scope="module")
def renderer():
    import pygame

    from kiosk.screens.render import Renderer

    pygame.init()
    return Renderer()


def drawn(renderer, state, lang="en"):
    import dataclasses

    import pygame

    view = dataclasses.replace(flow.view(state), lang=lang)
    surface = pygame.Surface((800, 480))
    buttons = renderer.draw(surface, view, now=1.0)
    return {b.id for b in buttons}, " ".join(renderer.last_drawn)


def test_locker_doorless_parcel_drawn_without_its_button(renderer):
    d = Driver("locker")
    d.member([order("A1002", door=2), order("A1003", door=None)])
    ids, text = drawn(renderer, d.state)
    assert "order:A1002" in ids
    assert "pickup_all" in ids
    assert "order:A1003" not in ids
    assert "Collect at the counter" in text


def test_idle_without_camera_does_not_ask_to_aim_at_it(renderer):
    from kiosk.events import CameraState

    d = Driver()
    _, text = drawn(renderer, d.state)
    assert "Hold your app's member barcode up to the camera" in text
    d.send(CameraState("lost"))
    assert not flow.view(d.state).camera_ok
    _, text = drawn(renderer, d.state)
    assert "up to the camera" not in text
    assert "camera is unavailable" in text


def test_member_code_only_drawn_without_phone_email_and_says_why(renderer):
    d = Driver(settings=Settings(member_code_only=True))
    ids, text = drawn(renderer, d.state)
    assert not {"lookup_phone", "lookup_email"} & ids
    assert "only the member barcode" in text


def test_pickup_code_and_countdown_drawn(renderer):
    d = Driver("locker")
    to_pickup_code(d)
    d.type("480213")
    ids, text = drawn(renderer, d.state)
    assert {"confirm", "back", "key:0"} <= ids
    d.press("confirm")
    d.answer("lookup", error=lockout(42))
    _, text = drawn(renderer, d.state)
    assert "42" in text


def test_help_drawn_with_call_staff(renderer):
    d = Driver("locker")
    d.press("help")
    ids, text = drawn(renderer, d.state)
    assert {"call_staff", "back"} <= ids
    assert "pickup code" in text.lower()


# counter: staff bring the parcel; the member on duty is credited ----------------------------------


def test_counter_choice_calls_staff_and_shows_the_shelf():
    d = Driver()
    d.member([order("A1002", door=4), order("A1003")])
    d.effects.clear()
    d.press("order:A1002")
    assert d.screen == "scan_package"
    assert flow.Indicate("attention") in d.effects  # the attention pattern with its buzzer
    v = flow.view(d.state)
    assert (v.current_order, v.current_door) == ("A1002", 4)


def test_counter_hand_over_credits_the_member_on_duty():
    d = Driver()
    d.state = flow.State(**{**d.state.__dict__, "on_duty": flow.OnDuty("s_2", "林美玲")})
    assert flow.view(d.state).on_duty == "林美玲"
    d.member([order("A1002")])
    d.press("order:A1002")
    d.scan("PKG1002")
    assert args(d.last_call().request) == {
        "order_id": "o_A1002",
        "lookup_id": LOOKUP_ID,
        "package_code": "PKG1002",
        "handed_over_by": "s_2",
    }
    assert d.last_call().request.staff_token is None


def test_counter_hand_over_nobody_on_duty_credits_nobody():
    d = Driver()
    d.member([order("A1002")])
    d.press("order:A1002")
    d.scan("PKG1002")
    assert "handed_over_by" not in args(d.last_call().request)


# help --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["counter", "locker"])
def test_help_screen_and_call_staff(mode):
    d = Driver(mode)
    d.member([order("A1002", door=2)])
    d.press("help")
    assert d.screen == "help"
    d.effects.clear()
    d.press("call_staff")
    assert flow.Indicate("attention") in d.effects
    assert d.state.message.key == "msg.staff_called"
    logged = [e.event for e in d.of(flow.Log)]
    assert ("staff_called" in logged) == (mode == "locker")
    assert not d.of(flow.Unlock)
    assert not d.calls()
    d.press("back")
    assert d.screen == "orders"  # the session went on
    assert [r.number for r in flow.view(d.state).orders] == ["A1002"]


def test_help_from_idle_back_to_idle_and_timeout():
    d = Driver()
    d.press("help")
    assert d.screen == "help"
    d.press("back")
    assert d.screen == "idle"
    d.press("help")
    d.timer("idle")
    assert d.screen == "idle"


def test_help_scan_of_a_member_code_looks_up():
    d = Driver()
    d.press("help")
    d.scan("MEMBER-0000001")
    assert d.calls("lookup")


# a phone number alone never energises a relay -------------------------------------------------------

BUTTONS = [
    "lookup_phone",
    "lookup_email",
    "confirm",
    "back",
    "cancel",
    "retry",
    "pickup_all",
    "order:A1002",
    "help",
    "call_staff",
    "key:backspace",
    "key:clear",
]
EVENTS = st.one_of(
    st.sampled_from(BUTTONS).map(Press),
    st.sampled_from(["0912345678", "ming@example.com", "480213", "12", "abc", "\n"]).map(Typed),
    st.sampled_from(["not_found", "locked", "required", "code_only", "timer"]),
)


def _refuse(d: Driver, kind: str) -> None:
    """Any answer the backend may give a phone/email look-up, but a 200."""
    if kind == "timer":
        for name in ("idle", "message", "lockout", "lookup"):
            d.timer(name)
        return
    if d.state.pending is None or d.state.pending[0] != "lookup":
        return
    error = {
        "not_found": rejected("member_not_found", 404),
        "locked": lockout(30),
        "required": rejected("pickup_code_required", 403),
        "code_only": Rejected("member_code_only", "", 403),
    }[kind]
    d.answer("lookup", error=error)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mode=st.sampled_from(["counter", "locker"]), open_=st.booleans(), events=st.lists(EVENTS, max_size=40))
def test_a_phone_number_alone_never_energises_a_relay(mode, open_, events):
    d = Driver(mode, settings=Settings(contact_lookup="open" if open_ else "pickup_code"))
    for event in events:
        if isinstance(event, str):
            _refuse(d, event)
        else:
            d.send(event)
        for call in d.calls("lookup"):
            r = call.request
            if mode == "locker" or not open_:  # the code always goes with a phone or an email
                assert r.member_code is not None or r.pickup_code is not None
    assert not d.of(flow.Unlock)
    assert not d.calls("pickup")
    assert not d.of(flow.Enqueue)


def test_help_over_door_open_keeps_following_the_doors():
    d = Driver("locker")
    d.member([order("A1002", door=2)])
    d.press("order:A1002")
    d.press("help")
    assert d.screen == "help"
    d.door(2, "opened")
    assert [e.request.locker_door for e in d.of(flow.Enqueue)] == [2]
    d.press("back")
    assert d.screen == "door_open"
    d.press("help")
    d.door(2, "closed")
    assert d.screen == "done"
    d.door(2, "opened")  # the session's doors are done: a later event changes nothing here
    assert len(d.of(flow.Enqueue)) == 1


def test_login_lockout_counts_down_on_staff_login():
    d = Driver()
    d.scan("STAFF-0001")
    d.type("2468")
    d.press("confirm")
    d.answer("login", error=lockout(12))
    assert d.screen == "staff_login"
    assert flow.view(d.state).locked_for == 12
    assert flow.view(d.state).pin_length == 0
    d.timer("lockout")
    assert flow.view(d.state).locked_for == 11


@settings(max_examples=200, deadline=None)
@given(texts=st.lists(st.text(max_size=12), max_size=6))
def test_anything_typed_on_pickup_code_keeps_six_ascii_digits_at_most(texts):
    d = Driver("locker")
    to_pickup_code(d)
    for text in texts:
        d.send(Typed(text))
        entry = flow.view(d.state).entry_text
        assert len(entry) <= 6
        assert all(ch in "0123456789" for ch in entry)
        for call in d.calls("lookup"):
            code = call.request.pickup_code
            assert code is not None
            assert len(code) == 6
            assert code.isascii()
            assert code.isdigit()
    assert not d.of(flow.Unlock)
