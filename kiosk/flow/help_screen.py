"""``help`` (r2): how pickup works at this kiosk and where the pickup code comes from, with
``call_staff``.

``help`` on a customer screen opens it (the customer's session stays as it was); ``back`` (or
``cancel``) returns to that screen. ``call_staff`` shows the attention pattern and sounds the
buzzer, says that staff are on their way, and at a locker (nobody behind a counter sees the
customer) writes an ``event=staff_called`` line to the journal. On staff screens ``help`` keeps
revision 1's banner.
"""

from __future__ import annotations

from dataclasses import replace

from kiosk.flow.common import msg, on, to_idle
from kiosk.flow.state import CUSTOMER, Effect, Indicate, Log, Screen, State

# screens a customer can open help from (door_open goes on following its doors meanwhile)
FROM = frozenset(CUSTOMER) - {Screen.HELP, Screen.SCAN_PACKAGE, Screen.DOOR_ALARM}


def open_help(state: State, fx: list[Effect]) -> State:
    if state.staff is not None or state.screen not in FROM or state.busy:
        return replace(state, message=msg("msg.help"))
    fx.append(Log("help"))
    state = state.with_customer(help_back=state.screen)
    return replace(state, screen=Screen.HELP, message=None)


@on.press(Screen.HELP)
def press_help(state: State, b: str, fx: list[Effect]) -> State:
    if b == "call_staff":
        fx.append(Indicate("attention"))
        if state.cfg.locker:
            fx.append(Log("staff_called", (("screen", "help"),)))
        return replace(state, message=msg("msg.staff_called", "ok"))
    if b in ("back", "cancel", "confirm"):
        back = state.customer.help_back
        if back is None or back in (Screen.IDLE, Screen.OFFLINE):
            return to_idle(state, fx)
        return replace(state.with_customer(help_back=None), screen=back, message=None)
    return state
