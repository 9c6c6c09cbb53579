"""Door alarms (the ``door_alarm`` screen) and the kiosk's events to the backend (docs/design.md r2).

- A door held open past the left-open time (the bank's ``left_open``) or opened while locked
  (``forced``) raises an alarm: the alarm pattern, a ``door_left_open`` / ``door_forced`` event
  through the outbox, and ``door_alarm`` over customer screens and ``idle`` (staff screens show a
  banner instead). A door with an open alarm raises no second one (a forced door left open).
- ``door_alarm`` covers the screen underneath (``State.alarm_back``): events other than a
  person's input go on as if that screen were shown, so a customer session lives on under the
  alarm (or times out under it). A scan or a press there opens nothing: "close the door first".
- Closing a door with an open alarm sends ``door_closed``; once no alarm is open, the screen
  underneath shows again (``orders`` or ``done`` when the customer session whose door it was is
  alive, else ``idle``).
- Other events: ``door_not_opened`` (the kiosk gave up on a door), ``camera_lost`` /
  ``camera_back``, ``outbox_attention``, ``locked_out``: see :func:`kiosk_event`.

Every event goes through the outbox as a :class:`~kiosk.api.requests.KioskEvent`; its ``at``
is left empty here (the flow has no wall clock) and stamped by the app as it is queued.
"""

from __future__ import annotations

from dataclasses import replace

from kiosk.api.requests import KioskEvent
from kiosk.events import DoorEvent, Scan
from kiosk.flow import customer
from kiosk.flow.common import msg, staff_task
from kiosk.flow.state import (
    Alarm,
    DoorSlotState,
    Effect,
    Enqueue,
    Indicate,
    Log,
    Screen,
    State,
)
from kiosk.screens.view import Erase, Press, Typed

ALARM_PATTERN = "alarm"


def kiosk_event(state: State, fx: list[Effect], kind: str, door: int | None = None, detail: str | None = None) -> None:
    """Queue an event for ``POST /kiosks/{id}/events`` (nothing when the kiosk has no id)."""
    if not state.cfg.kiosk.id:
        return
    fx.append(Enqueue(KioskEvent(kiosk_id=state.cfg.kiosk.id, event=kind, at="", door=door, detail=detail)))


def alarm_for(state: State, door: int) -> Alarm | None:
    return next((a for a in state.alarms if a.door == door), None)


def on_door(state: State, event: DoorEvent, fx: list[Effect]) -> State:
    """A door event: alarms here, the customer's doors in :func:`kiosk.flow.customer.on_door`."""
    kind = event.kind
    if kind in ("forced", "left_open"):
        if alarm_for(state, event.door) is not None:
            return state  # a forced door left open: no second alarm
        alarm = Alarm(door=event.door, kind="door_forced" if kind == "forced" else "door_left_open")
        fx.append(Log("door_alarm", (("door", alarm.door), ("kind", alarm.kind))))
        kiosk_event(state, fx, alarm.kind, alarm.door)
        return replace(state, alarms=(*state.alarms, alarm))
    given_up = _gives_up(state, event)
    state = customer.on_door(state, event, fx)
    if given_up:
        kiosk_event(state, fx, "door_not_opened", event.door)
    if kind == "closed":
        alarm = alarm_for(state, event.door)
        if alarm is not None:
            fx.append(Log("door_alarm_closed", (("door", alarm.door), ("kind", alarm.kind))))
            kiosk_event(state, fx, "door_closed", alarm.door)
            state = replace(state, alarms=tuple(a for a in state.alarms if a is not alarm))
    return state


def _gives_up(state: State, event: DoorEvent) -> bool:
    """A ``not_opened`` the kiosk will not retry: a customer's door after its retry, or a door
    unlocked for something else (an arrival)."""
    if event.kind != "not_opened":
        return False
    slot = next((s for s in state.customer.doors if s.number == event.door), None)
    if slot is None:
        return True
    return state.screen is Screen.DOOR_OPEN and slot.state is DoorSlotState.UNLOCKED and slot.retried


def blocked(state: State, event: object) -> bool:
    """A person's input on ``door_alarm`` (``lang`` aside): it opens nothing."""
    if state.screen is not Screen.DOOR_ALARM:
        return False
    if isinstance(event, Press):
        return event.button != "lang"
    return isinstance(event, Scan | Typed | Erase)


def refuse_input(state: State, event: object, fx: list[Effect]) -> State:
    """Input on ``door_alarm``: nothing opens; the message says to close the door first."""
    door = state.alarms[0].door if state.alarms else None
    if isinstance(event, Typed | Erase):
        return state
    fx.append(Log("alarm_input_refused", (("input", type(event).__name__.lower()),)))
    return replace(state, message=msg("msg.close_door_first", "error", door=door if door is not None else "-"))


def cover(state: State) -> State:
    """While the alarm screen is up, the rules see the screen underneath."""
    if state.screen is Screen.DOOR_ALARM:
        return replace(state, screen=state.alarm_back)
    return state


def overlay(before: State, state: State, covered: bool, fx: list[Effect]) -> State:
    """After a step: ``door_alarm`` over customer screens while an alarm is open; the alarm
    pattern while one is open (other patterns wait), ``ready`` again when the last one closes."""
    shown = bool(state.alarms) and not staff_task(state)
    if state.alarms:
        fx[:] = [f for f in fx if not (isinstance(f, Indicate) and f.pattern != ALARM_PATTERN)]
        if len(state.alarms) > len(before.alarms):
            fx.append(Indicate(ALARM_PATTERN))
    elif before.alarms:
        fx.append(Indicate("ready"))
    if shown:
        if not covered:
            fx.append(Log("screen", (("screen", Screen.DOOR_ALARM.value),)))
        return replace(state, alarm_back=state.screen, screen=Screen.DOOR_ALARM)
    if covered:
        if state.message is not None and state.message.key == "msg.close_door_first":
            state = replace(state, message=None)
        fx.append(Log("screen", (("screen", state.screen.value),)))
    return state


def banner(state: State):
    """The staff screens' banner for an open alarm (None: no alarm, or the alarm screen)."""
    if not state.alarms or state.screen is Screen.DOOR_ALARM:
        return None
    alarm = state.alarms[0]
    return msg(
        "msg.door_alarm_banner" if alarm.kind == "door_left_open" else "msg.door_forced_banner",
        "error",
        door=alarm.door,
    )
