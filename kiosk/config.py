"""The kiosk's configuration: one frozen dataclass tree read from TOML.

Every key has a default except the backend's URL and token for ``run``. A bad file is refused
with the file, the key and the reason (:class:`kiosk.errors.ConfigError`). ``systemd/kiosk.toml``
is the commented example of every key.

Each section is a frozen dataclass; a field's type is checked on load, and a
``metadata={"check": fn}`` validator may refuse a value by returning a reason.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.errors import ConfigError

SYMBOLOGIES = ("QRCODE", "CODE128", "CODE39", "EAN13", "UPCA", "I25", "EAN8", "UPCE", "DATAMATRIX")


def _positive(v):
    return None if v > 0 else "must be greater than 0"


def _non_negative(v):
    return None if v >= 0 else "must not be negative"


def _one_of(*choices):
    def check(v):
        return None if v in choices else "must be one of " + ", ".join(repr(c) for c in choices)

    return check


def _regex(v):
    if not v:
        return None
    try:
        re.compile(v)
    except re.error as exc:
        return f"is not a valid regular expression ({exc})"
    return None


def _pulse(v):
    if v <= 0:
        return "must be greater than 0"
    if v > 3.0:
        return "must be at most 3 seconds (a relay held longer can burn out a door lock)"
    return None


def _symbologies(v):
    bad = [s for s in v if s not in SYMBOLOGIES]
    return ("unknown symbology " + ", ".join(bad) + "; known: " + ", ".join(SYMBOLOGIES)) if bad else None


def _bcm(v):
    if v is None:
        return None
    return None if 0 <= v <= 27 else "must be a BCM pin number from 0 to 27"


def _rgb(v):
    if not v:
        return None
    if len(v) != 3:
        return "must be three BCM pins: red, green, blue"
    bad = [p for p in v if not 0 <= p <= 27]
    return f"BCM pin numbers go from 0 to 27, not {bad[0]}" if bad else None


@dataclass(frozen=True)
class KioskSection:
    id: str = "k_1"
    mode: str = field(default="counter", metadata={"check": _one_of("counter", "locker")})
    language: str = field(default="zh-TW", metadata={"check": _one_of("zh-TW", "en")})
    idle_timeout: float = field(default=60.0, metadata={"check": _positive})
    done_timeout: float = field(default=8.0, metadata={"check": _positive})
    staff_timeout: float = field(default=120.0, metadata={"check": _positive})
    message_timeout: float = field(default=4.0, metadata={"check": _positive})
    state_dir: str = "/var/lib/pickup-kiosk"


@dataclass(frozen=True)
class BackendSection:
    url: str = ""
    token_file: str = ""
    ca_bundle: str = ""
    connect_timeout: float = field(default=2.0, metadata={"check": _positive})
    read_timeout: float = field(default=5.0, metadata={"check": _positive})
    retries: int = field(default=2, metadata={"check": _non_negative})
    heartbeat_interval: float = field(default=30.0, metadata={"check": _positive})
    outbox_backoff_max: float = field(default=60.0, metadata={"check": _positive})


@dataclass(frozen=True)
class CameraSection:
    # device index ("0"), device path ("/dev/video0"), file/folder/video path, URL,
    # "picamera2", "synthetic" or "none"
    source: str = "0"
    width: int = field(default=1280, metadata={"check": _positive})
    height: int = field(default=720, metadata={"check": _positive})
    fps: int = field(default=30, metadata={"check": _positive})
    stall_timeout: float = field(default=3.0, metadata={"check": _positive})
    reopen_backoff_max: float = field(default=30.0, metadata={"check": _positive})


@dataclass(frozen=True)
class ScannerSection:
    engine: str = field(default="auto", metadata={"check": _one_of("auto", "zbar", "zxing")})
    symbologies: tuple[str, ...] = field(
        default=("QRCODE", "CODE128", "CODE39", "EAN13", "UPCA", "I25", "DATAMATRIX"),
        metadata={"check": _symbologies},
    )
    hold_off: float = field(default=3.0, metadata={"check": _non_negative})
    # live frames: "fast" (no fallbacks), "normal" (fallbacks every third frame while a code-like
    # patch is not read), "full" (every fallback on every frame: slow)
    effort: str = field(default="normal", metadata={"check": _one_of("fast", "normal", "full")})
    # local overrides of the backend's /settings patterns; empty: use the backend's
    member_code_pattern: str = field(default="", metadata={"check": _regex})
    parcel_code_pattern: str = field(default="", metadata={"check": _regex})
    staff_badge_pattern: str = field(default="", metadata={"check": _regex})
    usb_scanner: bool = True


@dataclass(frozen=True)
class GpioSection:
    # "" = gpiozero's default choice, or "lgpio", "rpigpio", "native", "mock"
    pin_factory: str = field(default="", metadata={"check": _one_of("", "lgpio", "rpigpio", "native", "mock")})
    led_green: int | None = field(default=None, metadata={"check": _bcm})
    led_amber: int | None = field(default=None, metadata={"check": _bcm})
    led_red: int | None = field(default=None, metadata={"check": _bcm})
    led_active_high: bool = True
    # a single RGB LED instead of three: red, green, blue pins
    rgb_led: tuple[int, ...] = field(default=(), metadata={"check": _rgb})
    buzzer: int | None = field(default=None, metadata={"check": _bcm})
    buzzer_active_high: bool = True


@dataclass(frozen=True)
class DoorSection:
    number: int = field(default=0, metadata={"check": _positive})
    relay_pin: int | None = field(default=None, metadata={"check": _bcm})  # required for every door
    active_high: bool = False  # most relay boards for the Pi are active-low
    sensor_pin: int | None = field(default=None, metadata={"check": _bcm})
    sensor_pull_up: bool = True  # reed switch to ground, closed door = low
    size: str = "M"
    sensorless: bool = False
    in_service: bool = True


@dataclass(frozen=True)
class LockerSection:
    pulse: float = field(default=0.5, metadata={"check": _pulse})
    open_timeout: float = field(default=20.0, metadata={"check": _positive})
    left_open: float = field(default=60.0, metadata={"check": _positive})
    door: tuple[DoorSection, ...] = ()


@dataclass(frozen=True)
class DisplaySection:
    width: int = field(default=0, metadata={"check": _non_negative})  # 0: the screen's own size
    height: int = field(default=0, metadata={"check": _non_negative})
    fullscreen: bool = True
    font: str = ""  # path to a CJK font; empty: found through fontconfig
    fps: int = field(default=30, metadata={"check": _positive})


@dataclass(frozen=True)
class LoggingSection:
    level: str = field(default="INFO", metadata={"check": _one_of("DEBUG", "INFO", "WARNING", "ERROR")})


@dataclass(frozen=True)
class VoiceSection:  # spoken prompts (kiosk.voice); enabled left out: on at a locker, off at a counter
    enabled: bool | None = None
    volume: float = field(default=0.8, metadata={"check": lambda v: None if 0 <= v <= 1 else "must be from 0 to 1"})
    dir: str = ""  # the rendered clips; "": <kiosk.state_dir>/voice


@dataclass(frozen=True)
class Config:
    kiosk: KioskSection = field(default_factory=KioskSection)
    backend: BackendSection = field(default_factory=BackendSection)
    camera: CameraSection = field(default_factory=CameraSection)
    scanner: ScannerSection = field(default_factory=ScannerSection)
    gpio: GpioSection = field(default_factory=GpioSection)
    locker: LockerSection = field(default_factory=LockerSection)
    display: DisplaySection = field(default_factory=DisplaySection)
    logging: LoggingSection = field(default_factory=LoggingSection)
    voice: VoiceSection = field(default_factory=VoiceSection)
    path: str = ""  # the file it came from, for messages

    def replace(self, **sections: Any) -> Config:
        return dataclasses.replace(self, **sections)


def _convert(tp: Any, value: Any, key: str, path: str) -> Any:
    """Check ``value`` against the annotation ``tp``; return it in the dataclass's shape."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(arg, value, key, path)
            except ConfigError as exc:
                errors.append(exc.reason)
        raise ConfigError(errors[0] if errors else "has the wrong type", path=path, key=key)
    if origin is tuple:
        (item_tp, *_rest) = typing.get_args(tp)
        if not isinstance(value, list):
            raise ConfigError(f"must be a list, not {type(value).__name__}", path=path, key=key)
        return tuple(_convert(item_tp, v, f"{key}[{i}]", path) for i, v in enumerate(value))
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"must be a table, not {type(value).__name__}", path=path, key=key)
        return _build(tp, value, key, path)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"must be a number, not {type(value).__name__}", path=path, key=key)
        if not math.isfinite(value):
            raise ConfigError(f"must be a finite number, not {value}", path=path, key=key)
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"must be an integer, not {type(value).__name__}", path=path, key=key)
        return value
    if tp is str:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)  # camera.source = 0
        if not isinstance(value, str):
            raise ConfigError(f"must be a string, not {type(value).__name__}", path=path, key=key)
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"must be true or false, not {value!r}", path=path, key=key)
        return value
    raise ConfigError(f"unsupported type {tp!r}", path=path, key=key)  # pragma: no cover


def _build(cls: type, table: dict, prefix: str, path: str) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "path"}
    values = {}
    for name, value in table.items():
        key = f"{prefix}.{name}" if prefix else name
        if name not in fields:
            known = ", ".join(sorted(fields))
            raise ConfigError(f"unknown key (known here: {known})", path=path, key=key)
        converted = _convert(hints[name], value, key, path)
        check = fields[name].metadata.get("check")
        if check is not None and converted is not None:
            reason = check(converted)
            if reason:
                raise ConfigError(reason, path=path, key=key)
        values[name] = converted
    return cls(**values)


def parse(text: str, path: str = "<config>") -> Config:
    """Parse TOML text into a :class:`Config`; raises :class:`ConfigError`."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML ({exc})", path=path) from None
    config = _build(Config, data, "", path)
    config = dataclasses.replace(config, path=path)
    _check_whole(config)
    return config


def _check_whole(config: Config) -> None:
    path = config.path
    numbers = [d.number for d in config.locker.door]
    if len(numbers) != len(set(numbers)):
        raise ConfigError("door numbers must be unique", path=path, key="locker.door")
    for i, door in enumerate(config.locker.door):
        if door.number <= 0:
            raise ConfigError("every door needs a number greater than 0", path=path, key=f"locker.door[{i}].number")
        if door.relay_pin is None:
            raise ConfigError(
                "every door needs its relay_pin (BCM)", path=path, key=f"locker.door[{door.number}].relay_pin"
            )
    pins: dict[int, str] = {}
    named = [
        ("gpio.led_green", config.gpio.led_green),
        ("gpio.led_amber", config.gpio.led_amber),
        ("gpio.led_red", config.gpio.led_red),
        ("gpio.buzzer", config.gpio.buzzer),
    ]
    named += [(f"gpio.rgb_led[{i}]", p) for i, p in enumerate(config.gpio.rgb_led)]
    for door in config.locker.door:
        named.append((f"locker.door[{door.number}].relay_pin", door.relay_pin))
        named.append((f"locker.door[{door.number}].sensor_pin", door.sensor_pin))
    for key, pin in named:
        if pin is None:
            continue
        if pin in pins:
            raise ConfigError(f"BCM pin {pin} is already used by {pins[pin]}", path=path, key=key)
        pins[pin] = key


def load(path: str | os.PathLike) -> Config:
    """Read and parse a config file; raises :class:`ConfigError` naming the file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", path=str(p)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot be read ({exc})", path=str(p)) from None
    return parse(text, str(p))


def read_token(config: Config, environ: typing.Mapping[str, str] | None = None) -> str:
    """The kiosk token: from the systemd credential ``kiosk-token`` or ``backend.token_file``.

    Never from the command line (it would show in ``ps`` and the journal).
    """
    environ = os.environ if environ is None else environ
    candidates = []
    cred_dir = environ.get("CREDENTIALS_DIRECTORY")
    if cred_dir:
        candidates.append(Path(cred_dir) / "kiosk-token")
    if config.backend.token_file:
        candidates.append(Path(config.backend.token_file))
    for candidate in candidates:
        try:
            token = candidate.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise ConfigError(
                f"token file cannot be read ({exc})", path=config.path, key="backend.token_file"
            ) from None
        if not token:
            raise ConfigError(f"token file {candidate} is empty", path=config.path, key="backend.token_file")
        return token
    raise ConfigError(
        "no kiosk token: set backend.token_file or pass the credential kiosk-token (LoadCredential=)",
        path=config.path,
        key="backend.token_file",
    )
