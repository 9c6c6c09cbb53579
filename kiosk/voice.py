"""Spoken guidance for customers who cannot read the screen (issue 12).

Short prompts in zh-TW and English, rendered ahead of time with Debian's ``espeak-ng`` into WAV
clips (``pickup-kiosk voice --build [DIR]``, run by ``scripts/setup`` and ``scripts/install-pi``)
and played with ``pygame.mixer``. Nothing is rendered while the kiosk runs.

- :func:`prompt_for` (pure) maps a :class:`kiosk.screens.view.View` to the clips to say:
  welcome on ``idle``, the pickup code on ``pickup_code``, "door N is open" per door on
  ``door_open``, "please close door N" on ``door_alarm`` (forced: "staff have been alerted"),
  "parcel collected" on ``done``, "please wait for staff" on ``scan_package`` at a counter and
  after ``call_staff`` (the banner :data:`STAFF_CALLED`). Staff screens say nothing.
- :class:`Voice` follows the app's views (:meth:`Voice.on_view`, called where the app notices a new
  View): a prompt plays once when the screen, the language or the prompt changes, never on a
  redraw of the same screen. A screen change stops what was playing.
- A prompt is a short sequence of clips (``door_3`` + ``is_open``) joined into one
  ``pygame.mixer.Sound`` and played on one channel: non-blocking, no thread, no polling.
- A kiosk without audio (mixer init fails, no clips rendered) works on silently after one warning.

Clips live in ``DIR/<lang>/<name>.wav`` with ``DIR/voice.json`` (what text and voice each was
rendered from), so building again renders only what changed. ``DIR`` is ``[voice] dir``, by
default ``<kiosk.state_dir>/voice``.
"""

from __future__ import annotations

import array
import collections
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import time
import wave
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.errors import KioskError
from kiosk.journal import log_event

logger = logging.getLogger(__name__)

ESPEAK = "espeak-ng"
# espeak-ng voices per kiosk language. Debian's "cmn" voice reads Chinese characters as pinyin
# with tone digits spoken in English ("qing three"); "cmn-latn-pinyin" reads the same Traditional
# characters as Mandarin (checked with `espeak-ng -x`).
VOICES = {"zh-TW": "cmn-latn-pinyin", "en": "en-us"}
SPEED = 150  # words per minute (espeak-ng's default 175 is hurried for instructions)
DOORS_DEFAULT = range(1, 100)  # "door N" clips when no doors are configured
MANIFEST = "voice.json"
CLIP_KEY = re.compile(r"(?:zh-TW|en)/[a-z0-9_]+")

# clip name -> text per language. A prompt is a sequence of these; ``door_<n>`` clips come from
# DOOR_TEXT and fall back to ``door`` when that number was not rendered.
PHRASES: dict[str, dict[str, str]] = {
    "welcome": {
        "zh-TW": "歡迎使用自助取件。請掃描會員條碼。",
        "en": "Welcome. Please scan your member code to collect your parcels.",
    },
    "pickup_code": {"zh-TW": "請輸入六位數取件碼。", "en": "Please enter your six digit pickup code."},
    "door": {"zh-TW": "櫃門", "en": "The door"},
    "is_open": {"zh-TW": "已經打開，請取出包裹。", "en": "is open. Please take your parcel."},
    "please_close": {"zh-TW": "請關上", "en": "Please close"},
    "staff_alerted": {"zh-TW": "已通知店員。", "en": "Staff have been alerted."},
    "done": {"zh-TW": "包裹已領取，謝謝。", "en": "Parcel collected. Thank you."},
    "wait_staff": {"zh-TW": "請稍候，店員馬上來。", "en": "Please wait. Staff are coming."},
}
DOOR_TEXT = {"zh-TW": "{n}號櫃門", "en": "Door {n}"}
# banner keys that mean "staff have been called" (the flow's answer to `call_staff`)
STAFF_CALLED = frozenset({"msg.staff_called"})


class VoiceError(KioskError):
    """The clips cannot be rendered (espeak-ng missing or failing, folder not writable)."""


@dataclass(frozen=True)
class Prompt:
    """What to say: the language and the clip names, in order."""

    lang: str
    clips: tuple[str, ...]


def door_clip(number: int) -> str:
    return f"door_{int(number)}"


def _door_numbers(view: Any) -> tuple[int, ...]:
    return tuple(dict.fromkeys(int(d.number) for d in getattr(view, "doors", ()) or ()))


def prompt_for(view: Any) -> Prompt | None:
    """The prompt for ``view`` (None: nothing to say). Pure: decides from the View alone."""
    screen, lang = view.screen, view.lang
    if lang not in VOICES:
        return None
    message = getattr(view, "message", None)
    clips: tuple[str, ...] = ()
    if message is not None and message.key in STAFF_CALLED:
        clips = ("wait_staff",)
    elif getattr(view, "is_staff", False):
        return None
    elif screen == "idle":
        clips = ("welcome",)
    elif screen == "pickup_code":
        clips = ("pickup_code",)
    elif screen == "door_open":
        for n in _door_numbers(view):
            clips += (door_clip(n), "is_open")
    elif screen == "door_alarm":
        door = getattr(view, "alarm_door", None)
        doors = (int(door),) if door is not None else _door_numbers(view)[:1]
        clips = ("please_close", door_clip(doors[0]) if doors else "door")
        if getattr(view, "alarm_kind", "") == "door_forced":
            clips += ("staff_alerted",)
    elif screen == "done":
        clips = ("done",)
    elif screen == "scan_package" and view.mode == "counter":
        clips = ("wait_staff",)
    return Prompt(lang, clips) if clips else None


def enabled_for(config: Any) -> bool:
    """``[voice] enabled``; left out: on in locker mode, off at a counter."""
    section = getattr(config, "voice", None)
    value = getattr(section, "enabled", None)
    return config.kiosk.mode == "locker" if value is None else bool(value)


def clip_dir(config: Any) -> Path:
    """``[voice] dir``, or ``<kiosk.state_dir>/voice``."""
    section = getattr(config, "voice", None)
    return Path(getattr(section, "dir", "") or Path(config.kiosk.state_dir) / "voice")


def cache_dir() -> Path:
    """Where ``scripts/setup`` renders the clips for a development checkout (the demo's)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pickup-kiosk" / "voice"


def configured_doors(config: Any) -> tuple[int, ...]:
    return tuple(sorted(d.number for d in config.locker.door))


# -- rendering ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildResult:
    rendered: int
    kept: int
    removed: int
    seconds: float
    bytes: int
    folder: Path

    def summary(self) -> str:
        return (
            f"{self.rendered} clips rendered, {self.kept} kept, {self.removed} removed in {self.seconds:.1f} s; "
            f"{self.bytes / 1024:.0f} KiB in {self.folder}"
        )


def texts(doors: Iterable[int], langs: Iterable[str] = tuple(VOICES)) -> dict[str, tuple[str, str]]:
    """Every clip to render: ``"<lang>/<name>"`` -> (language, text)."""
    doors = sorted({int(n) for n in doors})
    out: dict[str, tuple[str, str]] = {}
    for lang in langs:
        for name, by_lang in PHRASES.items():
            out[f"{lang}/{name}"] = (lang, by_lang[lang])
        for n in doors:
            out[f"{lang}/{door_clip(n)}"] = (lang, DOOR_TEXT[lang].format(n=n))
    return out


def _espeak_version(espeak: str) -> str:
    try:
        done = subprocess.run([espeak, "--version"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise VoiceError(f"{espeak} cannot be run ({exc}); install it: apt-get install espeak-ng") from None
    if done.returncode != 0:
        raise VoiceError(f"{espeak} --version failed: {done.stderr.strip()[:200]}")
    return done.stdout.split("Data at")[0].strip()


def _trim(path: Path, keep: float = 0.12, threshold: int = 300) -> None:
    """Cut espeak-ng's trailing silence (about 0.4 s) down to ``keep`` seconds, so that the clips
    of a prompt follow each other like one sentence."""
    with wave.open(str(path), "rb") as w:
        params, frames = w.getparams(), w.readframes(w.getnframes())
    if params.sampwidth != 2 or params.nchannels != 1:
        return
    samples = array.array("h", frames)
    end = len(samples)
    while end > 0 and abs(samples[end - 1]) <= threshold:
        end -= 1
    end = min(len(samples), end + int(keep * params.framerate))
    with wave.open(str(path), "wb") as w:
        w.setparams(params)
        w.writeframes(samples[:end].tobytes())


def _render_one(espeak: str, lang: str, text: str, dest: Path) -> None:
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    cmd = [espeak, "-v", VOICES[lang], "-s", str(SPEED), "-w", str(tmp), "--", text]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)
        if done.returncode != 0 or not tmp.exists() or tmp.stat().st_size <= 44:
            raise VoiceError(f"{espeak} -v {VOICES[lang]} failed for {dest.name}: {done.stderr.strip()[:200]}")
        _trim(tmp)
        os.replace(tmp, dest)
    except subprocess.TimeoutExpired:
        raise VoiceError(f"{espeak} took too long for {dest.name}") from None
    finally:
        tmp.unlink(missing_ok=True)


def build(
    folder: str | os.PathLike,
    doors: Iterable[int] = DOORS_DEFAULT,
    *,
    langs: Iterable[str] = tuple(VOICES),
    espeak: str = ESPEAK,
    workers: int | None = None,
) -> BuildResult:
    """Render every prompt clip into ``folder``; only what is missing or changed (idempotent).

    Raises :class:`VoiceError` when espeak-ng is missing or fails, or the folder is not writable.
    """
    start = time.monotonic()
    root = Path(folder)
    version = _espeak_version(espeak)
    wanted = texts(doors, langs)
    old = _read_manifest(root)
    stamps = {
        key: hashlib.sha256(f"{version}\0{VOICES[lang]}\0{SPEED}\0trim\0{text}".encode()).hexdigest()[:16]
        for key, (lang, text) in wanted.items()
    }
    todo = [k for k in wanted if old.get(k) != stamps[k] or not (root / f"{k}.wav").is_file()]
    try:
        for lang in langs:
            (root / lang).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise VoiceError(f"cannot create {root} ({exc})") from None
    with ThreadPoolExecutor(max_workers=workers or min(4, os.cpu_count() or 1)) as pool:
        jobs = [pool.submit(_render_one, espeak, *wanted[k], root / f"{k}.wav") for k in todo]
        for job in jobs:
            job.result()  # the first failure is raised
    removed = 0
    for key in set(old) - set(wanted):  # clips of doors no longer configured
        if CLIP_KEY.fullmatch(key):  # never a path the manifest file made up
            path = root / f"{key}.wav"
            if path.is_file():
                path.unlink()
                removed += 1
    _write_manifest(root, stamps)
    size = sum((root / f"{k}.wav").stat().st_size for k in wanted)
    return BuildResult(len(todo), len(wanted) - len(todo), removed, time.monotonic() - start, size, root)


def _read_manifest(root: Path) -> dict[str, str]:
    try:
        data = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    clips = data.get("clips") if isinstance(data, dict) else None
    return {str(k): str(v) for k, v in clips.items()} if isinstance(clips, dict) else {}


def _write_manifest(root: Path, stamps: dict[str, str]) -> None:
    tmp = root / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps({"format": 1, "clips": stamps}, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, root / MANIFEST)


# -- playing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Queued:
    """What the player handed the mixer (the seam the tests observe)."""

    prompt: Prompt
    files: tuple[Path, ...]
    seconds: float
    sound: Any


class MixerPlayer:
    """Plays clip sequences on one ``pygame.mixer`` channel, joined into one Sound (non-blocking).

    :meth:`open` returns None or the reason the mixer cannot be used. ``queued`` keeps the last
    few prompts handed to the mixer.
    """

    FREQUENCY = 22050  # espeak-ng writes 22.05 kHz 16-bit mono: no resampling

    def __init__(self, volume: float = 0.8, mixer: Any = None):
        self.volume = max(0.0, min(1.0, float(volume)))
        self._mixer = mixer
        self._channel: Any = None
        self._sounds: dict[Path, Any] = {}
        self.queued: collections.deque[Queued] = collections.deque(maxlen=16)

    def open(self) -> str | None:
        try:
            if self._mixer is None:
                import pygame

                self._mixer = pygame.mixer
            if not self._mixer.get_init():
                self._mixer.init(frequency=self.FREQUENCY, size=-16, channels=1, buffer=2048)  # 93 ms: few wakeups
            self._channel = self._mixer.Channel(0)
            self._mixer.set_reserved(1)  # nothing else takes the voice's channel
        except Exception as exc:  # pygame.error, ImportError, no sound card
            self._channel = None
            return f"{type(exc).__name__}: {exc}"
        return None

    @property
    def ready(self) -> bool:
        return self._channel is not None

    def _sound(self, path: Path) -> Any:
        sound = self._sounds.get(path)
        if sound is None:
            sound = self._sounds[path] = self._mixer.Sound(str(path))
        return sound

    def play(self, prompt: Prompt, files: tuple[Path, ...]) -> None:
        if self._channel is None or not files:
            return
        parts = [self._sound(p) for p in files]
        sound = parts[0] if len(parts) == 1 else self._mixer.Sound(buffer=b"".join(s.get_raw() for s in parts))
        self._channel.set_volume(self.volume)
        self._channel.play(sound)
        self.queued.append(Queued(prompt, files, sound.get_length(), sound))

    def stop(self) -> None:
        if self._channel is not None:
            self._channel.stop()

    @property
    def busy(self) -> bool:
        return self._channel is not None and bool(self._channel.get_busy())

    def close(self) -> None:
        try:
            self.stop()
        except Exception:  # noqa: S110 - the mixer is already gone (quit, sound card lost)
            pass
        self._channel = None
        self._sounds.clear()


class Voice:
    """Says the prompt of each new screen. Build with :meth:`from_config`; call :meth:`on_view`
    with every View the app notices (cheap when nothing changed: a tuple compare)."""

    def __init__(self, folder: str | os.PathLike | None, player: Any = None, *, enabled: bool = True):
        self.folder = Path(folder) if folder is not None else None
        self.player = player
        self.enabled = enabled
        self._last: tuple | None = None
        self._warned = False
        self._available: set[str] = set()

    @classmethod
    def from_config(cls, config: Any, player: Any = None) -> Voice:
        section = getattr(config, "voice", None)
        volume = getattr(section, "volume", 0.8)
        voice = cls(clip_dir(config), player or MixerPlayer(volume), enabled=enabled_for(config))
        return voice.open()

    def open(self) -> Voice:
        """Check the clips and open the mixer; on any problem: one warning, then silence."""
        if not self.enabled:
            log_event(logger, "voice_off")
            return self
        listed = _read_manifest(self.folder) if self.folder is not None else {}
        self._available = {k for k in listed if CLIP_KEY.fullmatch(k) and (self.folder / f"{k}.wav").is_file()}
        if not self._available:
            why = "no clips rendered (pickup-kiosk voice --build)"
            if shutil.which(ESPEAK) is None:
                why += "; espeak-ng is not installed"
            return self._silence(why)
        reason = self.player.open() if self.player is not None else "no player"
        if reason:
            return self._silence(f"no audio ({reason})")
        log_event(logger, "voice_on", clips=len(self._available))
        return self

    def _silence(self, why: str) -> Voice:
        if not self._warned:
            self._warned = True
            log_event(logger, "voice_unavailable", logging.WARNING, why=why)
        self.enabled = False
        if self.player is not None:
            self.player.close()
        return self

    @property
    def active(self) -> bool:
        return self.enabled and self.player is not None

    def files(self, prompt: Prompt) -> tuple[Path, ...] | None:
        """The clip files of ``prompt`` (a door not rendered is said as "the door"); None when a
        clip is missing."""
        out = []
        for name in prompt.clips:
            key = f"{prompt.lang}/{name}"
            if key not in self._available and name.startswith("door_"):
                key = f"{prompt.lang}/door"
            if key not in self._available:
                return None
            out.append(self.folder / f"{key}.wav")
        return tuple(out)

    def on_view(self, view: Any) -> None:
        """The app noticed ``view``: say its prompt if the screen, language or prompt changed."""
        if not self.active:
            return
        prompt = prompt_for(view)
        key = (view.screen, view.lang, prompt)
        if key == self._last:
            return
        screen_changed = self._last is None or self._last[:2] != key[:2]
        self._last = key
        try:
            if screen_changed:
                self.player.stop()
            if prompt is None:
                return
            files = self.files(prompt)
            if files is None:
                log_event(logger, "voice_clip_missing", logging.WARNING, clips=" ".join(prompt.clips))
                return
            self.player.play(prompt, files)
            log_event(logger, "voice_say", lang=prompt.lang, clips=",".join(prompt.clips))
        except Exception as exc:  # a broken mixer must not stop the kiosk: one warning, then silence
            self._silence(f"playing failed ({type(exc).__name__}: {exc})")

    def close(self) -> None:
        if self.player is not None:
            self.player.close()


def main(args: Any) -> int:
    """``pickup-kiosk voice --build [DIR] [--config FILE]``: render the prompt clips."""
    from kiosk import config as config_mod

    config = config_mod.load(args.config) if args.config else None
    folder = args.build or (clip_dir(config) if config is not None else cache_dir())
    doors: Iterable[int] = DOORS_DEFAULT  # no config: every door number a locker may have
    if config is not None:
        # a counter has no doors; a locker its configured ones (all numbers when none are listed)
        doors = (configured_doors(config) or DOORS_DEFAULT) if config.kiosk.mode == "locker" else ()
    result = build(folder, doors)
    print(f"pickup-kiosk voice: {result.summary()}")
    return 0


__all__ = [
    "PHRASES",
    "STAFF_CALLED",
    "VOICES",
    "BuildResult",
    "MixerPlayer",
    "Prompt",
    "Voice",
    "VoiceError",
    "build",
    "prompt_for",
]
