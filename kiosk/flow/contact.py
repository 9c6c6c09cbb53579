"""Looking a customer up by phone or email: ``member_entry`` and (r2) ``pickup_code``.

Rules (docs/design.md, "Flow rules added in r2"):
- ``member_entry``: the phone or email is checked on the spot; with ``confirm`` it goes to
  ``pickup_code``, unless the backend's ``contact_lookup`` is ``"open"`` at a counter (then it is
  looked up alone, as revision 1 did; a backend that still asks for the code,
  403 ``pickup_code_required``, gets the ``pickup_code`` screen).
- ``pickup_code``: six digits, sent with ``confirm`` together with the contact. Anything but a
  digit is refused with a message; a wrong pair (404) stays here with a message and the field
  emptied; ``back`` returns to ``member_entry`` with the contact typed, ``cancel`` ends it all.
- With ``member_code_only`` neither screen looks anything up (its buttons are gone).
The contact and the code live in :class:`~kiosk.flow.state.Customer` only: forgotten with it.
"""

from __future__ import annotations

from dataclasses import replace

from kiosk.api.requests import LookupMember
from kiosk.codes import clean
from kiosk.events import ApiResult
from kiosk.flow.common import call, customer_reset, error, locked_out, msg, on, refusal_code, refuse, to_idle
from kiosk.flow.customer import BACK, entry_kind
from kiosk.flow.state import Effect, Indicate, Log, Screen, StartTimer, State
from kiosk.screens.view import PICKUP_CODE_LENGTH

LOOKUP_BUTTONS = ("lookup_phone", "lookup_email")


def valid_contact(kind: str, text: str) -> bool:
    """A phone of at least 8 digits, or an email that looks like one (no control characters)."""
    if clean(text) is None:
        return False
    if kind == "phone":
        return len([ch for ch in text if ch.isdigit()]) >= 8
    local, at, domain = text.partition("@")
    return bool(local and at and "." in domain)


def needs_pickup_code(state: State) -> bool:
    """docs/api.md r2: a phone or email goes alone only to a counter while ``contact_lookup`` is open."""
    return state.cfg.locker or state.backend.contact_lookup != "open"


def ask_pickup_code(state: State, kind: str, text: str) -> State:
    state = state.with_customer(contact_kind=kind, contact=text, entry_kind="pickup_code", entry_text="")
    return replace(state, screen=Screen.PICKUP_CODE, message=None)


def still_locked(state: State, fx: list[Effect]) -> bool:
    """The lockout counting down on this screen: no look-up is sent before it ends (the
    backend would refuse it); the banner already says how long."""
    if state.backend.locked_for > 0 and state.backend.locked_on is state.screen:
        fx.append(Indicate("error"))
        return True
    return False


def contact_request(kind: str, text: str, pickup_code: str | None = None) -> LookupMember:
    if kind == "phone":
        return LookupMember(phone=text, pickup_code=pickup_code)
    return LookupMember(email=text, pickup_code=pickup_code)


# member_entry ------------------------------------------------------------------------------------


@on.press(Screen.MEMBER_ENTRY)
def press_member_entry(state: State, b: str, fx: list[Effect]) -> State:
    if b in LOOKUP_BUTTONS and not state.backend.member_code_only:
        return replace(state.with_customer(entry_kind=entry_kind(b), entry_text=""), message=None)
    if b in BACK:
        return to_idle(state, fx)
    if b != "confirm" or state.backend.member_code_only:
        return state
    kind = state.customer.entry_kind
    if kind not in ("phone", "email"):
        return state
    text = state.customer.entry_text.strip()
    if not valid_contact(kind, text):
        return refuse(state, fx, f"msg.{kind}_invalid")
    if needs_pickup_code(state):
        return ask_pickup_code(state, kind, text)
    if still_locked(state, fx):
        return state
    state = state.with_customer(contact_kind=kind, contact=text)
    return call(replace(state, message=None), fx, contact_request(kind, text))


# pickup_code -------------------------------------------------------------------------------------


@on.press(Screen.PICKUP_CODE)
def press_pickup_code(state: State, b: str, fx: list[Effect]) -> State:
    c = state.customer
    if b == "back":  # to the phone or email typed, to correct it
        state = state.with_customer(entry_kind=c.contact_kind, entry_text=c.contact, contact_kind="", contact="")
        return replace(state, screen=Screen.MEMBER_ENTRY, message=None)
    if b == "cancel":
        return to_idle(state, fx)
    if b != "confirm" or state.backend.member_code_only:
        return state
    code = c.entry_text
    if len(code) != PICKUP_CODE_LENGTH or not (code.isascii() and code.isdigit()):
        return refuse(state, fx, "msg.pickup_code_invalid")
    if c.contact_kind not in ("phone", "email") or not c.contact:
        return to_idle(state, fx)  # nothing to send it with (cannot happen through the screens)
    if still_locked(state, fx):
        return state
    return call(replace(state, message=None), fx, contact_request(c.contact_kind, c.contact, code))


@on.type(Screen.PICKUP_CODE)
def type_pickup_code(state: State, text: str, fx: list[Effect]) -> State:
    """Digits go into the code (six at most); a letter or any other character is refused
    (spaces and dashes, as in "480 213", are passed over)."""
    text = "".join(ch for ch in text if ch not in " -")
    digits = "".join(ch for ch in text if ch.isascii() and ch.isdigit())
    if len(digits) != len(text):
        return refuse(state, fx, "msg.pickup_code_invalid")
    code = (state.customer.entry_text + digits)[:PICKUP_CODE_LENGTH]
    return state.with_customer(entry_text=code)


@on.erase(Screen.PICKUP_CODE)
def erase_pickup_code(state: State, everything: bool) -> State:
    return state.with_customer(entry_text="" if everything else state.customer.entry_text[:-1])


def wrong_pair(state: State, fx: list[Effect]) -> State:
    """404 to a phone/email with a pickup code: no hint which part was wrong; try again."""
    state = state.with_customer(entry_text="")
    return refuse(replace(state, screen=Screen.PICKUP_CODE), fx, "msg.pickup_code_wrong")


def ask_again(state: State, code: str, fx: list[Effect]) -> State | None:
    """A refused phone/email look-up the customer can mend on ``pickup_code`` (also during a
    staff hand-over): a wrong contact/code pair, or the backend wanting a code after all.
    None for any other refusal."""
    c = state.customer
    if state.screen is Screen.PICKUP_CODE and code == "member_not_found":
        return wrong_pair(state, fx)
    if code == "pickup_code_required" and c.contact_kind in ("phone", "email") and c.contact:
        # the backend wants the code after all (a locker, or contact_lookup changed): ask for it
        state = ask_pickup_code(state, c.contact_kind, c.contact)
        return replace(state, message=msg("err.pickup_code_required", "warn"))
    return None


# the look-up's answer (member code, phone or email) ------------------------------------------------


@on.result(LookupMember.name)
def result_lookup(state: State, event: ApiResult, fx: list[Effect]) -> State:
    if not event.ok:
        return lookup_refused(state, event, fx)
    lookup = event.value
    orders = tuple(lookup.orders)
    fx.append(Indicate("success"))
    fx.append(Log("lookup_ok", (("orders", len(orders)),)))
    state = state.with_customer(
        member_id=lookup.member.id,
        lookup_id=lookup.lookup_id,
        lookup_expires_in=lookup.expires_in,
        lookup_expired=False,
        member_masked=lookup.member.display_name_masked,
        orders=orders,
        picked=(),
        entry_text="",
        entry_kind="",
        contact_kind="",
        contact="",
    )
    if lookup.expires_in > 0:  # after it, no door opens for this look-up (kiosk clock)
        fx.append(StartTimer("lookup", float(lookup.expires_in)))
    return replace(state.with_page(0), screen=Screen.ORDERS, message=None if orders else msg("msg.no_orders"))


def lookup_refused(state: State, event: ApiResult, fx: list[Effect]) -> State:
    code = refusal_code(event)
    fx.append(Log("lookup_refused", (("code", code),)))
    locked = locked_out(state, event, fx)
    if locked is not None:  # 429: the seconds left show where it happened, counting down
        if locked.screen in (Screen.MEMBER_ENTRY, Screen.PICKUP_CODE):
            return locked.with_customer(entry_text="") if locked.screen is Screen.PICKUP_CODE else locked
        # a code scanned: the error screen says "too many tries" (as in revision 1), with the count
        locked = error(replace(customer_reset(locked), screen=Screen.IDLE), fx, code, Screen.IDLE)
        return locked.with_backend(locked_on=Screen.ERROR)
    again = ask_again(state, code, fx)
    if again is not None:
        return again
    if code == "member_code_only":
        state = state.with_backend(member_code_only=True)
    # 409 code_used (a rotating code shown again): err.code_used says to show the new code
    return error(replace(customer_reset(state), screen=Screen.IDLE), fx, code, Screen.IDLE)


@on.timer("lookup")
def on_lookup_expired(state: State, fx: list[Effect]) -> State:
    """The look-up's ``expires_in`` passed: its parcels are no longer the kiosk's to open."""
    if not state.customer.lookup_id:
        return state
    fx.append(Log("lookup_expired"))
    return state.with_customer(lookup_expired=True)
