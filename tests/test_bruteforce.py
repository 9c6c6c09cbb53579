"""Brute force (issue 7): wrong member codes and wrong PINs run into the backend's lockout, the
screen says so, and no message tells which part was wrong.

Plays the shipped ``scenarios/bruteforce_*_counter.toml`` step by step (their pass/fail, logs and
gpio.csv are checked with every other scenario in ``test_scenarios.py``) and records what the
kiosk drew at each ``expect_screen``: the screen, the message banner's catalogue key, the PIN
field. The texts are compared in both languages through the real catalogues.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk import scenario as scenario_mod
from kiosk.screens.i18n import translate

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
LANGS = ("zh-TW", "en")


def _record(name: str, out: Path) -> list[tuple[str, str | None, int]]:
    """(screen, message key, PIN length) as drawn at every expect_screen step of the scenario."""
    played = scenario_mod.load(SCENARIOS / f"{name}.toml")
    world = scenario_mod.World(played, out)
    seen = []
    try:
        world.start()
        for step in played.steps:
            scenario_mod._do(world, step)
            if step.action == "expect_screen":
                world.settle()  # the answer to the step before has come back and been drawn
                drawn = world.app.drawn_view
                key = drawn.message.key if drawn.message is not None else None
                seen.append((drawn.screen, key, drawn.pin_length))
    finally:
        world.close()
    return seen


def _texts(key: str) -> tuple[str, ...]:
    return tuple(translate(lang, key) for lang in LANGS)


def test_wrong_member_codes_hit_the_lockout_and_the_screen_says_so(tmp_path):
    seen = _record("bruteforce_member_codes_counter", tmp_path)
    nf, locked = "err.member_not_found", "err.locked_out"
    assert seen == [
        ("error", nf, 0),
        ("idle", None, 0),
        ("error", nf, 0),
        ("error", nf, 0),
        ("idle", None, 0),
        ("error", locked, 0),  # a fourth unknown code: locked out
        ("error", locked, 0),  # a real member's code: the very same screen and words
        ("idle", None, 0),  # the error screen goes back to idle by itself
    ]
    for text, key_text in zip(_texts(locked), LANGS, strict=True):
        assert text, key_text
        assert text != locked, key_text
    assert set(_texts(locked)).isdisjoint(_texts(nf))


def test_wrong_pins_and_unknown_badges_read_the_same_and_lock_out(tmp_path):
    seen = _record("bruteforce_pins_counter", tmp_path)
    bad, locked = "err.bad_credentials", "err.locked_out"
    assert seen == [
        ("staff_login", bad, 0),  # a real badge, a wrong PIN
        ("staff_login", bad, 0),  # a badge the backend does not know: the same words
        ("staff_login", bad, 0),
        ("staff_login", locked, 0),  # locked out after three failures
        ("staff_login", locked, 0),  # another badge with its right PIN: the same words
        ("idle", None, 0),
    ]
    for lang in LANGS:
        text = translate(lang, bad)
        assert text
        assert text != bad
        assert translate(lang, locked) not in (text, locked)


@pytest.mark.parametrize("lang", LANGS)
def test_the_refusal_text_names_both_parts(lang):
    """One text for an unknown badge and a wrong PIN: it names both (it cannot tell which)."""
    text = translate(lang, "err.bad_credentials").lower()
    both = ("badge", "pin") if lang == "en" else ("員工證", "密碼")
    for part in both:
        assert part in text
