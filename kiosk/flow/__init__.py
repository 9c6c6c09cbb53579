"""Every decision of a kiosk session, as a pure state machine: ``step(state, event) -> (state, effects)``.

Nothing here imports pygame, requests, gpiozero or cv2 (docs/design.md, "pure decisions"). The
app loop feeds events in (scans, button presses, typed characters, backend answers, door events,
timer firings, outbox and backend changes) and carries out the :class:`Effect` records that come
back (a backend request record to run on the worker, a write for the outbox, unlock a door, show
an indicator pattern, start/cancel a named timer). :func:`view` turns a state into the screens'
view model.

The package: :mod:`.state` (the records: events, effects, configuration, state),
:mod:`.machine` (``step``: routing, timers, indicators, the backend's answers),
:mod:`.customer` and :mod:`.staff` (each screen's rules, together), :mod:`.contact`
(``member_entry``, ``pickup_code`` and the look-up's answer), :mod:`.help_screen` (``help``,
``call_staff``), :mod:`.alarm` (door alarms:
``door_alarm`` covers the screen underneath, whose rules go on; the kiosk's events to the
backend), :mod:`.common` (the rulebook ``on`` every
screen's rules register in, resets and small shared steps), :mod:`.view`.

Rules kept here (docs/design.md "Flow rules"):
- A scan is read by the screen it arrives on, with the backend's code patterns (local overrides
  win). A code refused on the spot makes no backend call and leaves the screen as it is, with a
  message and the error pattern.
- A door opens only on the backend's yes (the look-up at a locker, the return call for staff).
- Backend answers carry the token of their request; a stale answer (the customer left, a newer
  request replaced it) is dropped.
- Unreachable backend: customers see ``offline`` and nothing opens; staff arrivals go on into the
  outbox. A probe (``settings``) runs every ``probe_online`` seconds while online (an idle kiosk
  notices an outage) and every ``probe_offline`` seconds while offline (it comes back by itself).
"""

from __future__ import annotations

from kiosk.events import ApiResult, BackendState, CameraState, DoorEvent, OutboxChanged, Scan
from kiosk.flow.customer import PAGE_BUTTONS
from kiosk.flow.machine import step
from kiosk.flow.state import (
    CUSTOMER,
    STAFF,
    Alarm,
    Arrival,
    Backend,
    Call,
    CancelTimer,
    Customer,
    DoorInfo,
    DoorSlot,
    DoorSlotState,
    Effect,
    Enqueue,
    FlowConfig,
    Indicate,
    Lockers,
    Log,
    OnDuty,
    PageRows,
    Paging,
    Purpose,
    Screen,
    StaffSession,
    Start,
    StartTimer,
    State,
    TimerFired,
    Unlock,
    free_door,
    initial,
)
from kiosk.flow.view import view
from kiosk.screens.view import Erase, Press, Typed

__all__ = [
    "CUSTOMER",
    "PAGE_BUTTONS",
    "STAFF",
    "Alarm",
    "ApiResult",
    "Arrival",
    "Backend",
    "BackendState",
    "Call",
    "CameraState",
    "CancelTimer",
    "Customer",
    "DoorEvent",
    "DoorInfo",
    "DoorSlot",
    "DoorSlotState",
    "Effect",
    "Enqueue",
    "Erase",
    "FlowConfig",
    "Indicate",
    "Lockers",
    "Log",
    "OnDuty",
    "OutboxChanged",
    "PageRows",
    "Paging",
    "Press",
    "Purpose",
    "Scan",
    "Screen",
    "StaffSession",
    "Start",
    "StartTimer",
    "State",
    "TimerFired",
    "Typed",
    "Unlock",
    "free_door",
    "initial",
    "step",
    "view",
]
