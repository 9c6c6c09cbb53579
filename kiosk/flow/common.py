"""Small steps every screen's rules share: asking the backend, messages, resets, going home."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from kiosk.api.requests import Request
from kiosk.errors import Rejected
from kiosk.events import ApiResult
from kiosk.flow.state import (
    STAFF,
    Call,
    Customer,
    Effect,
    Indicate,
    Log,
    Message,
    Screen,
    StartTimer,
    State,
)

K = TypeVar("K")
R = TypeVar("R", bound=Callable)


class Rules(dict[K, R]):
    """One kind of rule, by key (a screen, or the name of the answer or timer awaited). Called,
    a decorator that registers the function under every key given: ``@on.press(Screen.IDLE)``.
    A key has one rule: a second one for it is an error at import, not a silent replacement."""

    def __call__(self, *keys: K) -> Callable[[R], R]:
        def register(fn: R) -> R:
            taken = [key for key in keys if key in self]
            if taken:
                there = self[taken[0]]
                raise ValueError(f"{taken[0]!r} has a rule already: {getattr(there, '__qualname__', there)!r}")
            self.update(dict.fromkeys(keys, fn))
            return fn

        return register


@dataclass(frozen=True, eq=False)
class Rulebook:
    """Each screen's rules, registered next to their code; the machine looks them up here."""

    # a code read on that screen
    scan: Rules[Screen, Callable[[State, str, list[Effect]], State]] = field(default_factory=Rules)
    # a button pressed on it
    press: Rules[Screen, Callable[[State, str, list[Effect]], State]] = field(default_factory=Rules)
    # the answer awaited, by the request's name
    result: Rules[str, Callable[[State, ApiResult, list[Effect]], State]] = field(default_factory=Rules)
    # characters typed on it
    type: Rules[Screen, Callable[[State, str, list[Effect]], State]] = field(default_factory=Rules)
    # backspace (False) / clear (True) on it
    erase: Rules[Screen, Callable[[State, bool], State]] = field(default_factory=Rules)
    # a named timer of a screen's rules fired
    timer: Rules[str, Callable[[State, list[Effect]], State]] = field(default_factory=Rules)


on = Rulebook()


def next_token(state: State) -> tuple[State, int]:
    token = state.backend.seq + 1
    return state.with_backend(seq=token), token


def call(state: State, fx: list[Effect], request: Request) -> State:
    """Ask the backend an interactive question: the answer is the one the flow now waits for."""
    state, token = next_token(state)
    fx.append(Call(request, token))
    return state.with_backend(pending=(request.name, token))


def side_call(state: State, fx: list[Effect], request: Request) -> State:
    """A read for the staff session that nobody waits for (its token is remembered)."""
    state, token = next_token(state)
    fx.append(Call(request, token))
    return state.with_staff(side_calls=state.staff.side_calls | {token})


def msg(key: str, level: str = "info", **params: Any) -> Message:
    return Message.of(key, level, **params)


def refuse(state: State, fx: list[Effect], key: str, **params: Any) -> State:
    fx.append(Indicate("error"))
    return replace(state, message=msg(key, "error", **params))


def customer_reset(state: State) -> State:
    """Forget everything the customer session showed."""
    return replace(state, customer=Customer(), message=None, paging=replace(state.paging, page=0))


def staff_reset(state: State) -> State:
    """Log the staff member out: their session, the arrival in hand, the badge and PIN typed."""
    return replace(
        state,
        staff=None,
        lockers=replace(state.lockers, arrival=None),
        customer=replace(state.customer, badge="", pin=""),
        paging=replace(state.paging, page=0),
    )


def to_idle(state: State, fx: list[Effect]) -> State:
    """The session is over: forget it, and greet the next person in the kiosk's own language."""
    state = staff_reset(customer_reset(state))
    screen = Screen.IDLE if state.online else Screen.OFFLINE
    return replace(state, screen=screen, lang=state.cfg.kiosk.language).with_backend(pending=None)


def home(state: State) -> Screen:
    """Where a finished task goes back to: the staff menu while staff is logged in."""
    return Screen.STAFF_MENU if state.staff is not None else Screen.IDLE


def error(state: State, fx: list[Effect], code: str, back: Screen | None = None) -> State:
    fx.append(Indicate("error"))
    state = replace(
        state,
        screen=Screen.ERROR,
        message=msg(f"err.{code}", "error"),
        error_back=back if back is not None else home(state),
    )
    return state.with_backend(pending=None)


def went_online(state: State) -> State:
    if state.online:
        return state
    state = state.with_backend(online=True)
    if state.screen is Screen.OFFLINE:
        state = replace(state, screen=Screen.IDLE, message=None)
    return state


def went_offline(state: State) -> State:
    if not state.online:
        return state
    state = state.with_backend(online=False)
    if state.screen is Screen.IDLE:
        state = replace(state, screen=Screen.OFFLINE)
    return state


def refusal_code(event: ApiResult) -> str:
    err = event.error
    if isinstance(err, Rejected):
        return err.code
    return "unknown"


def staff_task(state: State) -> bool:
    """A staff screen, or staff logged in (a hand-over or return on a customer screen)."""
    return state.screen in STAFF or state.staff is not None


# r2: a lockout (429) shows on the screen where it happened, counting down on the kiosk clock ----


def locked_out(state: State, event: ApiResult, fx: list[Effect]) -> State | None:
    """A 429 that says how long it lasts: the seconds left go on the current screen (View
    ``locked_for``) and count down; None when the refusal is no such lockout."""
    err = event.error
    if not isinstance(err, Rejected) or err.status != 429 or getattr(err, "retry_after", 0) < 1:
        return None
    fx.append(Indicate("error"))
    fx.append(Log("locked_out", (("request", event.request), ("seconds", err.retry_after))))
    fx.append(StartTimer("lockout", 1.0))
    state = state.with_backend(locked_for=int(err.retry_after), locked_on=state.screen, pending=None)
    # the same words whichever code, badge or PIN was tried; the countdown banner shows over it
    return replace(state, message=LOCKED)


LOCKED = msg("err.locked_out", "error")


@on.timer("lockout")
def lockout_tick(state: State, fx: list[Effect]) -> State:
    left = state.backend.locked_for - 1
    if left > 0:
        fx.append(StartTimer("lockout", 1.0))
        return state.with_backend(locked_for=left)
    if state.message == LOCKED:  # over: no "too many tries" left behind
        state = replace(state, message=None)
    return state.with_backend(locked_for=0, locked_on=None)
