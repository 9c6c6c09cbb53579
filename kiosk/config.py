"""The kiosk's configuration: one frozen dataclass tree read from TOML.

Every key has a default except the backend's URL and token for ``run``. A bad file is refused
with the file, the key and the reason (:class:`kiosk.errors.ConfigError`). ``systemd/kiosk.toml``
is the commented example of every key.

Each section is a frozen dataclass whose field types say what a file may hold: pydantic checks a
file's tables against them (:func:`parse`), with the annotated validators below refusing a value
with a reason. A section built in code is not checked here (the parts that use it check what they
must: a relay pulse, an RGB LED's pins).
"""

from __future__ import annotations

import ipaddress
import logging
import math
import os
import re
import stat
import tomllib
import typing
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, ConfigDict, TypeAdapter, ValidationError

from kiosk.errors import ConfigError
from kiosk.journal import log_event

logger = logging.getLogger(__name__)

SYMBOLOGIES = ("QRCODE", "CODE128", "CODE39", "EAN13", "UPCA", "I25", "EAN8", "UPCE", "DATAMATRIX")
_FILE = ConfigDict(extra="forbid")  # a key a section does not have is refused, never ignored

# --- what a value may be: TOML's types, strictly (no "5" for 5, no 1 for true) -------------------


def _number(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ValueError(f"must be a number, not {type(v).__name__}")
    if not math.isfinite(v):
        raise ValueError(f"must be a finite number, not {v}")
    return float(v)


def _integer(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError(f"must be an integer, not {type(v).__name__}")
    return v


def _string(v: Any) -> str:
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)  # camera.source = 0
    if not isinstance(v, str):
        raise ValueError(f"must be a string, not {type(v).__name__}")
    return v


def _boolean(v: Any) -> bool:
    if not isinstance(v, bool):
        raise ValueError(f"must be true or false, not {v!r}")
    return v


def _list(v: Any) -> Any:
    if not isinstance(v, list | tuple):
        raise ValueError(f"must be a list, not {type(v).__name__}")
    return v


def _optional(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda v: None if v is None else convert(v)


def _check(reason: Callable[[Any], str | None]) -> AfterValidator:
    """A validator from a function that returns why a value is refused (None: accepted)."""

    def check(v: Any) -> Any:
        why = None if v is None else reason(v)
        if why:
            raise ValueError(why)
        return v

    return AfterValidator(check)


Number = Annotated[float, BeforeValidator(_number)]
Integer = Annotated[int, BeforeValidator(_integer)]
Text = Annotated[str, BeforeValidator(_string)]
Flag = Annotated[bool, BeforeValidator(_boolean)]
Pin = Annotated[int | None, BeforeValidator(_optional(_integer))]


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
    return None if 0 <= v <= 27 else "must be a BCM pin number from 0 to 27"


def _rgb(v):
    if not v:
        return None
    if len(v) != 3:
        return "must be three BCM pins: red, green, blue"
    bad = [p for p in v if not 0 <= p <= 27]
    return f"BCM pin numbers go from 0 to 27, not {bad[0]}" if bad else None


Positive = Annotated[float, BeforeValidator(_number), _check(_positive)]
PositiveInt = Annotated[int, BeforeValidator(_integer), _check(_positive)]
NonNegative = Annotated[float, BeforeValidator(_number), _check(_non_negative)]
Regex = Annotated[str, BeforeValidator(_string), _check(_regex)]
BcmPin = Annotated[int | None, BeforeValidator(_optional(_integer)), _check(_bcm)]


def OneOf(*choices: str) -> Any:
    return Annotated[str, BeforeValidator(_string), _check(_one_of(*choices))]


Mode = OneOf("counter", "locker")
Language = OneOf("zh-TW", "en")
Engine = OneOf("auto", "zbar", "zxing")
Effort = OneOf("fast", "normal", "full")
PinFactory = OneOf("", "lgpio", "rpigpio", "native", "mock")
LogLevel = OneOf("DEBUG", "INFO", "WARNING", "ERROR")
Symbologies = Annotated[tuple[Text, ...], BeforeValidator(_list), _check(_symbologies)]
RgbPins = Annotated[tuple[Integer, ...], BeforeValidator(_list), _check(_rgb)]
Pulse = Annotated[float, BeforeValidator(_number), _check(_pulse)]
Volume = Annotated[float, BeforeValidator(_number), _check(lambda v: None if 0 <= v <= 1 else "must be from 0 to 1")]


@dataclass(frozen=True)
class KioskSection:
    __pydantic_config__ = _FILE

    id: Text = "k_1"
    mode: Mode = "counter"
    language: Language = "zh-TW"
    idle_timeout: Positive = 60.0
    done_timeout: Positive = 8.0
    staff_timeout: Positive = 120.0
    message_timeout: Positive = 4.0
    state_dir: Text = "/var/lib/pickup-kiosk"


@dataclass(frozen=True)
class BackendSection:
    __pydantic_config__ = _FILE

    url: Text = ""
    # plain http:// to a host that is not this machine (the token would cross the network in clear)
    allow_insecure_http: Flag = False
    token_file: Text = ""
    ca_bundle: Text = ""
    connect_timeout: Positive = 2.0
    read_timeout: Positive = 5.0
    retries: Annotated[int, BeforeValidator(_integer), _check(_non_negative)] = 2
    heartbeat_interval: Positive = 30.0
    outbox_backoff_max: Positive = 60.0


@dataclass(frozen=True)
class CameraSection:
    __pydantic_config__ = _FILE

    # device index ("0"), device path ("/dev/video0"), file/folder/video path, URL,
    # "picamera2", "synthetic" or "none"
    source: Text = "0"
    width: PositiveInt = 1280
    height: PositiveInt = 720
    fps: PositiveInt = 30
    stall_timeout: Positive = 3.0
    reopen_backoff_max: Positive = 30.0


@dataclass(frozen=True)
class ScannerSection:
    __pydantic_config__ = _FILE

    engine: Engine = "auto"
    symbologies: Symbologies = ("QRCODE", "CODE128", "CODE39", "EAN13", "UPCA", "I25", "DATAMATRIX")
    hold_off: NonNegative = 3.0
    # live frames: "fast" (no fallbacks), "normal" (fallbacks every third frame while a code-like
    # patch is not read), "full" (every fallback on every frame: slow)
    effort: Effort = "normal"
    # local overrides of the backend's /settings patterns; empty: use the backend's
    member_code_pattern: Regex = ""
    parcel_code_pattern: Regex = ""
    staff_badge_pattern: Regex = ""
    usb_scanner: Flag = True


@dataclass(frozen=True)
class GpioSection:
    __pydantic_config__ = _FILE

    # "" = gpiozero's default choice, or "lgpio", "rpigpio", "native", "mock"
    pin_factory: PinFactory = ""
    led_green: BcmPin = None
    led_amber: BcmPin = None
    led_red: BcmPin = None
    led_active_high: Flag = True
    # a single RGB LED instead of three: red, green, blue pins
    rgb_led: RgbPins = ()
    buzzer: BcmPin = None
    buzzer_active_high: Flag = True


@dataclass(frozen=True)
class DoorSection:
    __pydantic_config__ = _FILE

    number: PositiveInt = 0
    relay_pin: BcmPin = None  # required for every door
    active_high: Flag = False  # most relay boards for the Pi are active-low
    sensor_pin: BcmPin = None
    sensor_pull_up: Flag = True  # reed switch to ground, closed door = low
    size: Text = "M"
    sensorless: Flag = False
    in_service: Flag = True


@dataclass(frozen=True)
class LockerSection:
    __pydantic_config__ = _FILE

    pulse: Pulse = 0.5
    open_timeout: Positive = 20.0
    left_open: Positive = 60.0
    door: Annotated[tuple[DoorSection, ...], BeforeValidator(_list)] = ()


@dataclass(frozen=True)
class DisplaySection:
    __pydantic_config__ = _FILE

    width: Annotated[int, BeforeValidator(_integer), _check(_non_negative)] = 0  # 0: the screen's own size
    height: Annotated[int, BeforeValidator(_integer), _check(_non_negative)] = 0
    fullscreen: Flag = True
    font: Text = ""  # path to a CJK font; empty: found through fontconfig
    fps: PositiveInt = 30


@dataclass(frozen=True)
class LoggingSection:
    __pydantic_config__ = _FILE

    level: LogLevel = "INFO"


@dataclass(frozen=True)
class VoiceSection:  # spoken prompts (kiosk.voice); enabled left out: on at a locker, off at a counter
    __pydantic_config__ = _FILE

    enabled: Annotated[bool | None, BeforeValidator(_optional(_boolean))] = None
    volume: Volume = 0.8
    dir: Text = ""  # the rendered clips; "": <kiosk.state_dir>/voice


@dataclass(frozen=True)
class Config:
    __pydantic_config__ = _FILE

    kiosk: KioskSection = field(default_factory=KioskSection)
    backend: BackendSection = field(default_factory=BackendSection)
    camera: CameraSection = field(default_factory=CameraSection)
    scanner: ScannerSection = field(default_factory=ScannerSection)
    gpio: GpioSection = field(default_factory=GpioSection)
    locker: LockerSection = field(default_factory=LockerSection)
    display: DisplaySection = field(default_factory=DisplaySection)
    logging: LoggingSection = field(default_factory=LoggingSection)
    voice: VoiceSection = field(default_factory=VoiceSection)
    path: str = ""  # the file it came from, for messages (not a key of the file)

    def replace(self, **sections: Any) -> Config:
        return replace(self, **sections)


_ADAPTER = TypeAdapter(Config)
_SECTIONS = {
    "": Config,
    **{f: typing.get_type_hints(Config)[f] for f in typing.get_type_hints(Config) if f != "path"},
    "locker.door": DoorSection,
}


def _key(loc: tuple) -> str:
    """``('locker', 'door', 0, 'number')`` -> ``locker.door[0].number``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _reason(error: dict, data: dict) -> str:
    """The reason for one of pydantic's errors, in the words the kiosk has always used."""
    kind = error["type"]
    if kind == "value_error":
        return str(error["ctx"]["error"])
    if kind in ("unexpected_keyword_argument", "extra_forbidden"):
        table = ".".join(p for p in error["loc"][:-1] if isinstance(p, str))
        cls = _SECTIONS.get(table)
        if cls is not None:
            known = ", ".join(sorted(n for n in typing.get_type_hints(cls) if n != "path"))
            return f"unknown key (known here: {known})"
        return "unknown key"
    if kind in ("dataclass_type", "dataclass_args_type", "dict_type", "model_type"):
        return f"must be a table, not {type(error['input']).__name__}"
    return error["msg"]  # pragma: no cover - every type above has its own validator


def parse(text: str, path: str = "<config>") -> Config:
    """Parse TOML text into a :class:`Config`; raises :class:`ConfigError`."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML ({exc})", path=path) from None
    if "path" in data:  # the field that says where the file is, not a key of it
        known = ", ".join(sorted(n for n in typing.get_type_hints(Config) if n != "path"))
        raise ConfigError(f"unknown key (known here: {known})", path=path, key="path")
    try:
        config = _ADAPTER.validate_python(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        raise ConfigError(_reason(first, data), path=path, key=_key(first["loc"]) or None) from None
    config = replace(config, path=path)
    _check_whole(config)
    return config


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_backend(config: Config) -> None:
    url = config.backend.url
    if not url:
        return
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises for a port that is not a number from 0 to 65535
    except ValueError:
        raise ConfigError(
            "is not a URL: a [ without its ] (IPv6 addresses go in brackets), or a port that is not "
            "a number from 0 to 65535",
            path=config.path,
            key="backend.url",
        ) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            "must be an https:// URL (the backend's root or its /api/v1)", path=config.path, key="backend.url"
        )
    if parts.scheme == "http" and not _is_loopback(parts.hostname) and not config.backend.allow_insecure_http:
        raise ConfigError(
            "plain http:// to another machine would send the kiosk token in clear: use https://, "
            "or set backend.allow_insecure_http = true (a closed test network only)",
            path=config.path,
            key="backend.url",
        )


def _check_whole(config: Config) -> None:
    """The rules that span keys: door numbers, relay pins, pins used twice, the backend's URL."""
    _check_backend(config)
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
        _warn_if_readable(candidate)
        return token
    raise ConfigError(
        "no kiosk token: set backend.token_file or pass the credential kiosk-token (LoadCredential=)",
        path=config.path,
        key="backend.token_file",
    )


def _warn_if_readable(path: Path) -> None:
    """Log a warning (the file and its mode, never its content) when group or others may read the
    token file: anyone who can read it can act as this kiosk."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log_event(
            logger,
            "token_file_readable",
            logging.WARNING,
            path=str(path),
            mode=f"{stat.S_IMODE(mode):04o}",
            fix=f"chmod 600 {path}",
        )
