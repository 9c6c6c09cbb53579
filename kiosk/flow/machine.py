"""The step function: one event in, the next state and the effects out. Pure.

It routes each event to the rules of the screen it arrives on (:mod:`kiosk.flow.customer`,
:mod:`kiosk.flow.staff`) and keeps what holds for every screen: timers, indicator patterns, the
backend's reachability and settings, typing, stale answers.
"""

from __future__ import annotations

from dataclasses import replace

from kiosk.api.requests import GetParcel, LoadSettings, LookupMember
from kiosk.codes import CodePatterns, clean
from kiosk.errors import BackendUnavailable
from kiosk.events import ApiResult, BackendState, CameraState, DoorEvent, OutboxChanged, Scan
from kiosk.flow import alarm, contact, customer, help_screen, staff
from kiosk.flow.common import (
    customer_reset,
    next_token,
    on,
    refusal_code,
    refuse,
    staff_task,
    to_idle,
    went_offline,
    went_online,
)
from kiosk.flow.customer import clamp_page, on_page_rows, wrong_code
from kiosk.flow.state import (
    CUSTOMER,
    STAFF,
    Call,
    CancelTimer,
    DoorSlotState,
    Effect,
    Indicate,
    Log,
    PageRows,
    Screen,
    Start,
    StartTimer,
    State,
    TimerFired,
)
from kiosk.screens.view import Erase, Message, Press, Typed

# loading them registered each screen's rules in ``on`` (``@on.press(Screen.IDLE)`` ...)
SCREEN_RULES = (customer, contact, help_screen, staff)


def step(state: State, event: object) -> tuple[State, list[Effect]]:
    """The next state and what to do, for one event. Pure."""
    fx: list[Effect] = []
    handler = _HANDLERS.get(type(event))
    if handler is None:
        return state, fx
    if alarm.blocked(state, event):
        refused = alarm.refuse_input(state, event, fx)
        if refused.message is not None and refused.message is not state.message:
            fx.append(StartTimer("message", state.cfg.kiosk.message_timeout))
        return refused, fx
    outer = state
    covered = state.screen is Screen.DOOR_ALARM
    before = state = alarm.cover(state)  # under door_alarm, the rules see the screen underneath
    user_input = isinstance(event, Press | Typed | Erase | Scan | DoorEvent)
    state = handler(state, event, fx)
    state = _housekeeping(before, state, user_input, fx)
    state = alarm.overlay(outer, state, covered, fx)
    return clamp_page(state), fx


def _housekeeping(before: State, state: State, user_input: bool, fx: list[Effect]) -> State:
    """Timers and indicators that follow from the screen the state is on."""
    cfg = state.cfg
    changed = state.screen is not before.screen
    if changed or user_input:
        if state.screen in (Screen.IDLE, Screen.OFFLINE):
            fx.append(CancelTimer("idle"))
        elif state.screen is Screen.DONE:
            fx.append(StartTimer("idle", cfg.kiosk.done_timeout))
        elif state.screen in CUSTOMER or (state.screen is Screen.STAFF_LOGIN and state.staff is None):
            fx.append(StartTimer("idle", cfg.kiosk.idle_timeout))
        else:
            fx.append(CancelTimer("idle"))
    if state.staff is not None and (changed or user_input):
        fx.append(StartTimer("staff", cfg.kiosk.staff_timeout))
    elif state.staff is None and before.staff is not None:
        fx.append(CancelTimer("staff"))
    if before.staff is not None and (state.staff is None or state.staff.token != before.staff.token):
        staff.logout_sent(before.staff, fx)  # however the session ended, its token is given back
    if state.message is not None and state.message is not before.message:
        fx.append(StartTimer("message", cfg.kiosk.message_timeout))
    if state.online != before.online:
        fx.append(StartTimer("probe", cfg.probe_online if state.online else cfg.probe_offline))
        fx.append(Log("backend_up" if state.online else "backend_down"))
    if state.pending is not None and before.pending is None:
        fx.append(Indicate("busy"))
    elif state.pending is None and before.pending is not None and not any(isinstance(f, Indicate) for f in fx):
        fx.append(Indicate("ready"))
    if changed and state.screen is Screen.IDLE and not any(isinstance(f, Indicate) for f in fx):
        fx.append(Indicate("ready"))
    if changed:
        fx.append(Log("screen", (("screen", state.screen.value),)))
    return state


# start, timers, backend state ------------------------------------------------------------------


def _probe(state: State, fx: list[Effect]) -> State:
    """Re-read the settings: how the kiosk notices the backend going away and coming back."""
    state, token = next_token(state)
    fx.append(Call(LoadSettings(), token))
    return state.with_backend(probing=token)


def _on_start(state: State, event: Start, fx: list[Effect]) -> State:
    fx.append(Indicate("ready"))
    return _probe(state, fx)


def _on_timer(state: State, event: TimerFired, fx: list[Effect]) -> State:
    name = event.name
    if name == "message":
        return replace(state, message=None)
    if name == "idle":
        return _idle_timeout(state, fx)
    if name == "staff":
        if state.staff is not None:
            return staff.end_session(state, fx, "inactivity")
        return state
    if name == "duty":
        return staff.duty_over(state, fx)
    if name in on.timer:
        return on.timer[name](state, fx)
    if name == "probe":
        if state.backend.probing:
            fx.append(StartTimer("probe", state.cfg.probe_offline))
            return state
        return _probe(state, fx)
    return state


def _idle_timeout(state: State, fx: list[Effect]) -> State:
    screen = state.screen
    if screen is Screen.DOOR_OPEN and any(s.state is DoorSlotState.OPEN for s in state.customer.doors):
        # someone is at an open door: the session lasts until it is closed (or its alarm)
        fx.append(StartTimer("idle", state.cfg.kiosk.idle_timeout))
        return state
    if state.staff is not None and screen in CUSTOMER and screen is not Screen.ERROR:
        # a hand-over on a customer's behalf went quiet: back to the staff menu, still logged in
        state = customer_reset(state).with_staff(detail=None, handover=None)
        return replace(state, screen=Screen.STAFF_MENU).with_backend(pending=None)
    if screen is Screen.STAFF_LOGIN and state.staff is None:
        fx.append(Log("idle_return", (("from", screen.value),)))
        return to_idle(state, fx)
    if screen in CUSTOMER and screen not in (Screen.IDLE, Screen.OFFLINE):
        if screen is Screen.ERROR and state.error_back in STAFF and state.staff is not None:
            return replace(state, screen=state.error_back, message=None)
        fx.append(Log("idle_return", (("from", screen.value),)))
        return to_idle(state, fx)
    return state


def _on_backend_state(state: State, event: BackendState, fx: list[Effect]) -> State:
    if event.state == "up":
        return went_online(state)
    if event.state == "down":
        return went_offline(state)
    return state


def _on_outbox(state: State, event: OutboxChanged, fx: list[Effect]) -> State:
    if event.attention > state.backend.attention:
        fx.append(Indicate("attention"))
        if not (event.order_ref or "").startswith("events:"):  # a parked event is not reported again
            alarm.kiosk_event(state, fx, "outbox_attention")
    state = state.with_backend(outbox_depth=event.depth, attention=event.attention)
    if event.delivered:
        state = went_online(state)
    return state


def _on_camera(state: State, event: CameraState, fx: list[Effect]) -> State:
    ok = event.state == "ok"
    if ok != state.camera_ok:
        alarm.kiosk_event(state, fx, "camera_back" if ok else "camera_lost")
    return replace(state, camera_ok=ok)


# scans, presses and typing ---------------------------------------------------------------------


def _on_scan(state: State, event: Scan, fx: list[Effect]) -> State:
    code = clean(event.text)
    if code is None:
        return refuse(state, fx, "msg.code_unreadable")
    if state.busy:
        return state  # one question at a time; the scanner's hold-off lets it come again
    return on.scan.get(state.screen, wrong_code)(state, code, fx)


def _on_press(state: State, event: Press, fx: list[Effect]) -> State:
    b = event.button
    if b == "lang":
        return replace(state, lang="en" if state.lang == "zh-TW" else "zh-TW")
    if b == "help":
        return help_screen.open_help(state, fx)
    if b.startswith("key:"):
        name = b[4:]
        if name in ("backspace", "clear"):
            return _erase(state, name == "clear")
        char = event.key_char
        return _type(state, char, fx) if char is not None else state
    if b == "logout" and state.staff is not None:
        return staff.end_session(state, fx, "button")
    if b in ("cancel", "back") and staff.handing_over(state) and state.screen in staff.IDENTIFY:
        return staff.handover_back(state)
    if state.busy and b not in ("cancel", "back"):
        return state
    handler = on.press.get(state.screen)
    return handler(state, b, fx) if handler else state


_PHONE_CHARS = set("0123456789+-() ")


def _type(state: State, text: str, fx: list[Effect]) -> State:
    if state.screen in on.type:
        return on.type[state.screen](state, text, fx)
    c = state.customer
    if state.screen is Screen.STAFF_LOGIN:
        digits = "".join(ch for ch in text if ch.isdigit())
        return state.with_customer(pin=(c.pin + digits)[:16]) if digits else state
    if state.screen is Screen.MEMBER_ENTRY and c.entry_kind:
        if c.entry_kind == "phone":
            text = "".join(ch for ch in text if ch in _PHONE_CHARS)
        else:
            text = "".join(ch for ch in text if ch.isprintable() and not ch.isspace())
        return state.with_customer(entry_text=(c.entry_text + text)[:64]) if text else state
    return state


def _erase(state: State, everything: bool) -> State:
    if state.screen in on.erase:
        return on.erase[state.screen](state, everything)
    c = state.customer
    if state.screen is Screen.STAFF_LOGIN:
        return state.with_customer(pin="" if everything else c.pin[:-1])
    if state.screen is Screen.MEMBER_ENTRY:
        return state.with_customer(entry_text="" if everything else c.entry_text[:-1])
    return state


def _on_typed(state: State, event: Typed, fx: list[Effect]) -> State:
    """Characters; an Enter (CR or LF) among them confirms what was typed before it."""
    text = event.text.replace("\r\n", "\n").replace("\r", "\n")
    parts = text.split("\n")
    for i, part in enumerate(parts):
        if part:
            state = _type(state, part, fx)
        if i < len(parts) - 1:
            state = _on_press(state, Press("confirm"), fx)
    return state


def _on_erase(state: State, event: Erase, fx: list[Effect]) -> State:
    return _erase(state, event.all)


# the backend's answers ---------------------------------------------------------------------------


def _on_result(state: State, event: ApiResult, fx: list[Effect]) -> State:
    if event.request in staff.SIDE:
        return staff.result_side(state, event, fx)
    if event.request == LoadSettings.name and event.token == state.backend.probing:
        return _on_settings(state.with_backend(probing=0), event, fx)
    pending = state.backend.pending
    if pending is None or pending[1] != event.token:
        fx.append(Log("stale_answer", (("request", event.request),)))
        return state
    state = state.with_backend(pending=None)
    if not event.ok and isinstance(event.error, BackendUnavailable):
        return _unreachable(state, event, fx)
    state = _lockout_event(state, event, fx)
    if event.request == LookupMember.name and staff.handing_over(state):
        return staff.result_handover_lookup(state, event, fx)
    handler = on.result.get(event.request)
    if handler is None:
        return state
    if event.ok:
        state = went_online(state)
    return handler(state, event, fx)


def _lockout_event(state: State, event: ApiResult, fx: list[Effect]) -> State:
    """``locked_out`` goes to the backend on the first 429 of a lockout (a later success ends it)."""
    if event.ok:
        return state.with_backend(lockout_reported=False) if state.backend.lockout_reported else state
    if refusal_code(event) == "locked_out" and not state.backend.lockout_reported:
        alarm.kiosk_event(state, fx, "locked_out", detail=event.request)
        return state.with_backend(lockout_reported=True)
    return state


def _on_settings(state: State, event: ApiResult, fx: list[Effect]) -> State:
    cfg = state.cfg
    if not event.ok:
        if isinstance(event.error, BackendUnavailable):
            state = went_offline(state)
        fx.append(StartTimer("probe", cfg.probe_offline if not state.online else cfg.probe_online))
        return state
    s = event.value
    state = state.with_backend(
        settings_loaded=True,
        patterns=CodePatterns.from_settings(s, dict(cfg.pattern_overrides)),
        member_code_only=s.member_code_only,
        commission_enabled=s.commission_enabled,
        contact_lookup=s.contact_lookup,
    )
    was_online = state.online
    state = went_online(state)
    if was_online:
        fx.append(StartTimer("probe", cfg.probe_online))
    return state


def _unreachable(state: State, event: ApiResult, fx: list[Effect]) -> State:
    fx.append(Log("backend_unreachable", (("request", event.request),)))
    state = state.with_backend(online=False)
    if event.request == GetParcel.name and state.staff is not None and state.lockers.arrival is not None:
        return staff.arrival_offline(state, fx)
    fx.append(Indicate("error"))
    if staff_task(state):
        return replace(state, message=Message.of("msg.offline", "warn"))
    return replace(customer_reset(state), screen=Screen.OFFLINE)


_HANDLERS = {
    Start: _on_start,
    TimerFired: _on_timer,
    PageRows: on_page_rows,
    BackendState: _on_backend_state,
    OutboxChanged: _on_outbox,
    CameraState: _on_camera,
    Scan: _on_scan,
    Press: _on_press,
    Typed: _on_typed,
    Erase: _on_erase,
    ApiResult: _on_result,
    DoorEvent: alarm.on_door,
}
