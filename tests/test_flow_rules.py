"""The flow's rulebook: each screen's rules register in ``kiosk.flow.common.on``, one per key."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kiosk.flow import machine  # noqa: F401 - importing it registers every screen's rules
from kiosk.flow.common import Rules, on
from kiosk.flow.customer import press_idle
from kiosk.flow.state import Screen


def test_a_rule_registers_under_every_key_and_is_returned_unchanged():
    rules: Rules[str, Callable[..., object]] = Rules()

    def fire(state, fx):
        return state

    assert rules("a", "b")(fire) is fire
    assert rules == {"a": fire, "b": fire}


def test_a_second_rule_for_a_key_is_refused_and_the_first_stays():
    rules: Rules[str, Callable[..., object]] = Rules()

    def first(state, fx):
        return state

    def second(state, fx):
        return state

    rules("lookup")(first)
    with pytest.raises(ValueError, match=r"'lookup' has a rule already: '.*<locals>\.first'$"):
        rules("other", "lookup")(second)
    assert rules == {"lookup": first}  # nothing of the refused rule was registered


def test_the_loaded_screens_registered_their_rules_in_the_rulebook():
    """Every rule the screen modules declare is in the book: a decorator lost in an edit shows here."""
    s = Screen
    assert set(on.scan) == {
        *(s.IDLE, s.OFFLINE, s.DONE, s.ERROR, s.ORDERS, s.MEMBER_ENTRY, s.PICKUP_CODE, s.HELP),
        *(s.SCAN_PACKAGE, s.STAFF_LOGIN, s.ARRIVAL, s.ARRIVAL_CONFIRM),
    }
    assert set(on.press) == {
        *(s.IDLE, s.OFFLINE, s.DONE, s.ERROR, s.ORDERS, s.MEMBER_ENTRY, s.PICKUP_CODE, s.HELP),
        *(s.SCAN_PACKAGE, s.DOOR_OPEN, s.STAFF_LOGIN, s.STAFF_MENU, s.ARRIVAL, s.ARRIVAL_CONFIRM),
        *(s.OVERDUE, s.RETURNS, s.ORDER_DETAIL),
    }
    assert set(on.result) == {
        "login", "lookup", "overdue", "parcel", "pickup", "return", "return_complete", "returns"
    }  # fmt: skip
    assert set(on.type) == set(on.erase) == {s.PICKUP_CODE}
    assert set(on.timer) == {"lookup", "lockout"}
    assert on.press[s.IDLE] is press_idle
    with pytest.raises(ValueError, match="has a rule already"):
        on.press(s.IDLE)(press_idle)
