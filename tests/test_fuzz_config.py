"""Fuzzing the config parser (issue 7): any text is a Config or a ConfigError, never another
exception; valid TOML that does not fit is a ConfigError naming the key."""

from __future__ import annotations

import dataclasses
import math
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk import config as config_mod
from kiosk.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parent.parent / "systemd" / "kiosk.toml"
SECTIONS = {f.name: f.type for f in dataclasses.fields(config_mod.Config) if f.name != "path"}
FIELDS = {
    "kiosk": config_mod.KioskSection,
    "backend": config_mod.BackendSection,
    "camera": config_mod.CameraSection,
    "scanner": config_mod.ScannerSection,
    "gpio": config_mod.GpioSection,
    "locker": config_mod.LockerSection,
    "display": config_mod.DisplaySection,
    "logging": config_mod.LoggingSection,
    "voice": config_mod.VoiceSection,
}
DOOR_KEYS = [f.name for f in dataclasses.fields(config_mod.DoorSection)]
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _toml(value) -> str:
    """A TOML value (inline tables and arrays) for ``value``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return '"' + "".join(_char(c) for c in value) + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_toml(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def _char(c: str) -> str:
    if c in '"\\' or ord(c) < 0x20 or ord(c) == 0x7F or 0xD800 <= ord(c) <= 0xDFFF:
        return f"\\u{ord(c):04x}" if not 0xD800 <= ord(c) <= 0xDFFF else "?"
    return c


def _key(k: str) -> str:
    return k if k and all(c in string.ascii_letters + string.digits + "_-" for c in k) else _toml(k)


scalars = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.integers(-3, 40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=12),
    st.sampled_from(["counter", "locker", "zh-TW", "en", "QRCODE", "mock", "auto", "(", "[0-9]+", "0", ""]),
)
values = st.one_of(scalars, st.lists(scalars, max_size=4))
door = st.dictionaries(st.sampled_from([*DOOR_KEYS, "colour"]), scalars, max_size=6)


@st.composite
def section(draw, name: str):
    cls = FIELDS[name]
    keys = [f.name for f in dataclasses.fields(cls)] + ["bogus"]
    table = draw(st.dictionaries(st.sampled_from(keys), values, max_size=5))
    if name == "locker" and draw(st.booleans()):
        table["door"] = draw(st.lists(door, max_size=4))
    return table


@st.composite
def config_data(draw):
    names = draw(st.lists(st.sampled_from([*SECTIONS, "extra"]), unique=True, max_size=5))
    data = {}
    for name in names:
        data[name] = draw(section(name)) if name in FIELDS else draw(values)
    if draw(st.integers(0, 9)) == 0:
        data[draw(st.sampled_from(list(SECTIONS)))] = draw(values)  # a section that is not a table
    return data


def _check_config(config: config_mod.Config) -> None:
    """Whatever parses holds together: every number finite, and the tree, written back out as
    plain tables, passes every field's own check again and comes back equal."""
    for name, cls in FIELDS.items():
        sect = getattr(config, name)
        assert isinstance(sect, cls)
        for f in dataclasses.fields(cls):
            value = getattr(sect, f.name)
            if isinstance(value, float):
                assert math.isfinite(value), f"{name}.{f.name}"
    tables = dataclasses.asdict(config)
    del tables["path"]
    again = config_mod.parse(_as_toml(tables), config.path)
    assert again == config
    assert len({d.number for d in config.locker.door}) == len(config.locker.door)


def _as_toml(tables: dict) -> str:
    """The config's tables as TOML (inline values; doors as an array of inline tables)."""
    lines = []
    for name, table in tables.items():
        lines.append(f"[{name}]")
        for key, value in table.items():
            if value is None:
                continue  # no value: the default (None) again
            if isinstance(value, tuple | list):
                value = [{k: v for k, v in d.items() if v is not None} if isinstance(d, dict) else d for d in value]
            lines.append(f"{_key(key)} = {_toml(value)}")
    return "\n".join(lines) + "\n"


@FUZZ
@given(config_data())
def test_any_valid_toml_structure_is_a_config_or_an_error_naming_the_key(data):
    text = "".join(f"{_key(k)} = {_toml(v)}\n" for k, v in data.items())
    try:
        config = config_mod.parse(text, "fuzz.toml")
    except ConfigError as exc:
        err = exc
    else:
        _check_config(config)
        return
    assert err.path == "fuzz.toml"
    assert err.key, str(err)  # valid TOML: the error names the key
    assert err.key.split(".")[0].split("[")[0] in data, err.key
    assert err.reason


@FUZZ
@given(st.text(max_size=200))
def test_any_text_is_a_config_or_a_config_error(text):
    try:
        config = config_mod.parse(text, "fuzz.toml")
    except ConfigError as exc:
        err = exc
    else:
        _check_config(config)
        return
    assert err.path == "fuzz.toml"


@FUZZ
@given(st.data())
def test_the_example_config_damaged_anywhere(data):
    text = EXAMPLE.read_text(encoding="utf-8")
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(text)))
        cut = data.draw(st.integers(0, 8))
        insert = data.draw(st.text(alphabet='=[]{}"\n .,#-0123456789abcnx\\', max_size=6))
        text = text[:at] + insert + text[at + cut :]
    try:
        config = config_mod.parse(text, "fuzz.toml")
    except ConfigError as exc:
        err = exc
    else:
        _check_config(config)
        return
    assert str(err).startswith("fuzz.toml")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[kiosk]\nidle_timeout = inf\n", "kiosk.idle_timeout"),
        ("[backend]\nread_timeout = nan\n", "backend.read_timeout"),
        ("[scanner]\nhold_off = inf\n", "scanner.hold_off"),
        ("[locker]\nopen_timeout = inf\n", "locker.open_timeout"),
    ],
)
def test_numbers_that_are_not_finite_are_refused(text, key):
    with pytest.raises(ConfigError) as err:
        config_mod.parse(text, "k.toml")
    assert err.value.key == key
    assert "finite" in err.value.reason


def test_the_example_config_parses():
    _check_config(config_mod.parse(EXAMPLE.read_text(encoding="utf-8"), str(EXAMPLE)))
