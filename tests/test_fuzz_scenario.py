"""Fuzzing scenario files (issue 7), beside ``test_scenarios.py``'s step-table check: random text,
random ``[setup]`` tables and steps with odd values (nested tables, lists, NUL bytes, very long
names) give a Scenario or a ScenarioError naming the file, never another exception; a refused
file makes the runner and the CLI exit 2 with the reason and no traceback, before anything runs."""

from __future__ import annotations

import io
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk import scenario as scenario_mod

ROOT = Path(__file__).resolve().parent.parent
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DIR = Path(tempfile.mkdtemp(prefix="fuzz-scenario-"))
(DIR / "seed.json").write_text((ROOT / "scenarios" / "seed.json").read_text(encoding="utf-8"), encoding="utf-8")


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return '"' + "".join(c if c.isalnum() or c in " ./-_:" else f"\\u{ord(c):04x}" for c in value) + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return "{" + ", ".join(f'"{k}" = {_toml(v)}' for k, v in value.items()) + "}"


scalars = st.one_of(
    st.text(max_size=10).filter(lambda t: not any(0xD800 <= ord(c) <= 0xDFFF for c in t)),
    st.sampled_from(["seed.json", "../seed.json", "x" * 300, "a\x00b", "800x480", "0x0", "last", "locker", "idle"]),
    st.integers(-3, 30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["door", "state", "number", "x"]), inner, max_size=3)
    ),
    max_leaves=6,
)
setup = st.dictionaries(st.sampled_from([*scenario_mod.SETUP_KEYS, "bogus"]), values, max_size=4)
step = st.dictionaries(st.sampled_from([*scenario_mod.ACTIONS, "symbology", "x"]), values, min_size=1, max_size=2)


def _refused_cleanly(path: Path) -> None:
    """A refused file: run_file says why on stderr, exits 2, and creates nothing."""
    err = io.StringIO()
    out = DIR / "never"
    old, sys.stderr = sys.stderr, err
    try:
        rc = scenario_mod.run_file(path, out, io.StringIO())
    finally:
        sys.stderr = old
    assert rc == 2
    assert "scenario error" in err.getvalue()
    assert "Traceback" not in err.getvalue()
    assert not out.exists()


def _check(text: str) -> None:
    path = DIR / "s.toml"
    path.write_text(text, encoding="utf-8")
    try:
        played = scenario_mod.load(path)
    except scenario_mod.ScenarioError as exc:
        reason = str(exc)
    else:
        assert played.steps
        assert played.mode in ("counter", "locker")
        assert all(s.action in scenario_mod.ACTIONS for s in played.steps)
        return
    assert reason.startswith(str(path))
    _refused_cleanly(path)


@FUZZ
@given(st.text(max_size=200).filter(lambda t: not any(0xD800 <= ord(c) <= 0xDFFF for c in t)))
def test_any_text_is_a_scenario_or_a_clear_error(text):
    _check(text)


@FUZZ
@given(st.one_of(setup, values), st.lists(step, max_size=3), st.booleans())
def test_any_toml_structure_is_a_scenario_or_a_clear_error(setup_table, steps, as_table):
    text = f"setup = {_toml(setup_table)}\n" if as_table else ""
    text += "".join("[[step]]\n" + "".join(f'"{k}" = {_toml(v)}\n' for k, v in s.items()) for s in steps)
    _check(text)


def test_names_no_file_can_have_are_refused():
    for text in (
        '[setup]\nseed = "' + "a" * 5000 + '"\n[[step]]\nwait = 1\n',
        '[setup]\nseed = "a\\u0000b"\n[[step]]\nwait = 1\n',
        '[[step]]\nscan_image = "' + "a/" * 3000 + '"\n',
        '[[step]]\nscreenshot = "a\\u0000.png"\n',
    ):
        _check(text)
        path = DIR / "s.toml"
        path.write_text(text, encoding="utf-8")
        try:
            scenario_mod.load(path)
        except scenario_mod.ScenarioError:
            continue
        raise AssertionError("accepted: " + text[:40])


def test_the_cli_exits_2_on_a_refused_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[[step]]\nexpect_door = {door = [1], state = {x = 1}}\n", encoding="utf-8")
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
    proc = subprocess.run(
        [sys.executable, "-m", "kiosk", "demo", "--headless", "--scenario", str(path), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=ROOT,
    )
    assert proc.returncode == 2, proc.stderr
    assert str(path) in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    assert not (tmp_path / "o").exists()
