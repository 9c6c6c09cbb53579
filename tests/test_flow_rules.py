"""The flow's rulebook: each screen's rules register in ``kiosk.flow.common.on``, one per key."""

from __future__ import annotations

import pytest

from kiosk.flow import machine  # noqa: F401 - importing it registers every screen's rules
from kiosk.flow.common import Rules, on
from kiosk.flow.customer import press_idle
from kiosk.flow.state import Screen


def test_a_rule_registers_under_every_key_and_is_returned_unchanged():
    rules: Rules[str, object] = Rules()

    def fire(state, fx):
        return state

    assert rules("a", "b")(fire) is fire
    assert rules == {"a": fire, "b": fire}


def test_a_second_rule_for_a_key_is_refused_and_the_first_stays():
    rules: Rules[str, object] = Rules()

    def first(state, fx):
        return state

    def second(state, fx):
        return state

    rules("lookup")(first)
    with pytest.raises(ValueError, match=r"'lookup' has a rule already: .*first"):
        rules("other", "lookup")(second)
    assert rules == {"lookup": first}  # nothing of the refused rule was registered


def test_the_loaded_screens_registered_their_rules_in_the_rulebook():
    assert on.press[Screen.IDLE] is press_idle
    assert {"lookup", "lockout"} <= set(on.timer)
    with pytest.raises(ValueError, match="has a rule already"):
        on.press(Screen.IDLE)(press_idle)
