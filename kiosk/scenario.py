"""The scenario runner: ``pickup-kiosk demo --headless --scenario FILE --out DIR``.

Plays a scenario file (docs/design.md, "Scenario file" and rules 1-10) against the whole kiosk in one
process: the reference server on loopback on a fresh database from the scenario's seed, the
kiosk as the seed's first kiosk, a synthetic camera, simulated GPIO recording ``gpio.csv``, and
a simulated clock that only ``wait`` steps move.

The runner drives the app's loop itself, on this thread: before each action step it turns the
loop until the kiosk is quiet (the previous step's frames decoded, the event queue empty, no
interactive backend call in flight; at most 5 s real time); ``expect_*`` steps turn it until
their condition holds (at most 5 s). ``wait`` advances the clock timer by timer, letting the
kiosk settle after each, so timers fire in order and what they start is scheduled from the time
they fired.

Output: one line per step, ``step N <action> ok|FAIL <why> <seconds> s``, never the step's
value (codes and PINs stay out); exit status 0 when every step held, 1 at the first failure,
2 for a scenario file that cannot be played (with the file, the step and the reason).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import shutil
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from kiosk.api.models import Order
from kiosk.errors import KioskError
from kiosk.journal import JournalFormatter, log_event
from kiosk.scenario_r2 import R2_ACTIONS, R2_EXPECTS, BackOffice, check_seed, check_step, rotating_code
from kiosk.screens.view import SCREENS, Press, Typed

logger = logging.getLogger(__name__)

ACTIONS = (
    "scan",
    "scan_image",
    "press",
    "type",
    "wait",
    "expect_screen",
    "expect_door",
    "open_door",
    "close_door",
    "expect_order",
    "screenshot",
    "backend",
    "camera",
    *R2_ACTIONS,
)
EXPECTS = ("expect_screen", "expect_door", "expect_order", *R2_EXPECTS)
SETUP_KEYS = ("mode", "seed", "doors", "lang", "size")
SYMBOLOGIES = ("QRCODE", "CODE128", "CODE39", "EAN13", "EAN8", "UPCA", "I25", "DATAMATRIX")
DOOR_STATES = ("unlocked", "open", "locked")
# "garbage" is an extension of docs/design.md's faults: every call is answered 200 with a body that is
# not the contract's (not JSON, or JSON of the wrong shape); "up" ends it
BACKEND_FAULTS = ("down", "up", "slow", "garbage")
ORDER_FIELDS = tuple(f.name for f in dataclasses.fields(Order))  # what expect_order may name
# Real-time limits (docs/design.md). The tests lower READ_TIMEOUT and SLOW_ANSWER together, and
# WAIT_LIMIT where an expectation is meant to fail, so as not to wait them out at full length.
WAIT_LIMIT = 5.0  # real seconds for quiet-waiting and expectations (rule 2)
START_LIMIT = 20.0  # real seconds for the kiosk to reach `idle` with settings loaded
MAX_WAIT = 24 * 3600.0
READ_TIMEOUT = 3.0  # the kiosk's read time-out under the runner (a slow backend answers in 5 s)
SLOW_ANSWER = 5.0  # seconds `backend = "slow"` adds before every answer: beyond READ_TIMEOUT


class ScenarioError(KioskError, ValueError):
    """A scenario file that cannot be played: names the file, the step and the reason."""


@dataclass(frozen=True)
class Step:
    number: int
    action: str
    value: Any
    symbology: str = "QRCODE"


@dataclass(frozen=True)
class Scenario:
    path: Path
    mode: str = "counter"
    seed: Path | None = None
    doors: int = 12
    lang: str | None = None
    size: tuple[int, int] | None = None
    steps: tuple[Step, ...] = field(default=())


# ---------------------------------------------------------------------------------------------
# parsing and validation


def load(path: str | Path) -> Scenario:
    """Read and validate a scenario file; raises :class:`ScenarioError`."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{p}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{p}: cannot be read ({exc})") from None
    return parse(text, p)


def parse(text: str, path: str | Path = "<scenario>") -> Scenario:
    p = Path(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{p}: not valid TOML ({exc})") from None
    unknown = sorted(set(data) - {"setup", "step"})
    if unknown:
        raise ScenarioError(f"{p}: unknown top-level key {unknown[0]!r} (known: setup, step)")
    setup = data.get("setup", {})
    if not isinstance(setup, dict):
        raise ScenarioError(f"{p}: [setup] must be a table")
    bad = sorted(set(setup) - set(SETUP_KEYS))
    if bad:
        raise ScenarioError(f"{p}: setup: unknown key {bad[0]!r} (known: {', '.join(SETUP_KEYS)})")
    mode = setup.get("mode", "counter")
    if mode not in ("counter", "locker"):
        raise ScenarioError(f"{p}: setup.mode must be 'counter' or 'locker'")
    seed = None
    if "seed" in setup:
        if not isinstance(setup["seed"], str) or not setup["seed"]:
            raise ScenarioError(f"{p}: setup.seed must be a file name")
        seed = _file(p.parent, setup["seed"])
        if seed is None:
            raise ScenarioError(f"{p}: setup.seed: file not found ({Path(setup['seed']).name[:80]})")
    doors = setup.get("doors", 12)
    if isinstance(doors, bool) or not isinstance(doors, int) or not 1 <= doors <= 21:
        raise ScenarioError(f"{p}: setup.doors must be a whole number from 1 to 21")
    lang = setup.get("lang")
    if lang is not None and lang not in ("zh-TW", "en"):
        raise ScenarioError(f"{p}: setup.lang must be 'zh-TW' or 'en'")
    size = None
    if "size" in setup:
        size = _size(setup["size"], f"{p}: setup.size")
    raw_steps = data.get("step", [])
    if not isinstance(raw_steps, list) or not all(isinstance(s, dict) for s in raw_steps):
        raise ScenarioError(f"{p}: steps must be [[step]] tables")
    steps = tuple(_step(p, i + 1, raw) for i, raw in enumerate(raw_steps))
    if not steps:
        raise ScenarioError(f"{p}: no [[step]] in the scenario")
    first_scan = next((s.number for s in steps if s.action in ("scan", "scan_totp")), None)
    for s in steps:
        if s.action == "scan_last" and (first_scan is None or first_scan > s.number):
            raise ScenarioError(f"{p}: step {s.number}: scan_last needs a scan or scan_totp before it")
    if seed is not None:
        why = check_seed(seed, steps, str(p))
        if why:
            raise ScenarioError(why)
    return Scenario(path=p, mode=mode, seed=seed, doors=doors, lang=lang, size=size, steps=steps)


def _file(folder: Path, name: str) -> Path | None:
    """``name`` relative to ``folder`` when it is an existing file; None otherwise (also for names
    no file can have: too long, a NUL byte)."""
    try:
        path = (folder / name).resolve()
        return path if path.is_file() else None
    except (OSError, ValueError):
        return None


def _size(value: Any, where: str) -> tuple[int, int]:
    if isinstance(value, str) and "x" in value:
        w, _, h = value.partition("x")
        if w.isdigit() and h.isdigit() and int(w) > 0 and int(h) > 0:
            return int(w), int(h)
    raise ScenarioError(f"{where} must look like '800x480'")


def _step(p: Path, n: int, raw: dict) -> Step:
    where = f"{p}: step {n}"
    unknown = sorted(set(raw) - set(ACTIONS) - {"symbology"})
    if unknown:
        raise ScenarioError(f"{where}: unknown key {unknown[0]!r} (actions: {', '.join(ACTIONS)})")
    actions = [k for k in raw if k in ACTIONS]
    if not actions:
        raise ScenarioError(f"{where}: no action (one of {', '.join(ACTIONS)})")
    if len(actions) > 1:
        raise ScenarioError(
            f"{where}: two actions in one step ({actions[0]}, {actions[1]}); give each its own [[step]]"
        )
    action = actions[0]
    value = raw[action]
    symbology = "QRCODE"
    if "symbology" in raw:
        if action != "scan":
            raise ScenarioError(f"{where}: symbology only goes with scan")
        symbology = raw["symbology"]
        if not isinstance(symbology, str) or symbology.upper() not in SYMBOLOGIES:
            raise ScenarioError(f"{where}: symbology must be one of {', '.join(SYMBOLOGIES)}")
        symbology = symbology.upper()

    def need(ok: bool, what: str) -> None:
        if not ok:
            raise ScenarioError(f"{where}: {action} {what}")

    if action in ("scan", "press", "type"):
        need(isinstance(value, str) and (value != "" or action == "scan"), "must be a non-empty string")
    elif action in ("scan_image", "screenshot"):
        need(isinstance(value, str) and value.strip() != "", "must be a file name")
        if action == "scan_image":
            image = _file(p.parent, value)
            need(image is not None, "file not found")
            value = str(image)
        else:
            rel = Path(value)
            need(not rel.is_absolute() and ".." not in rel.parts, "must be a file name inside --out")
            need("\x00" not in value and len(value) <= 200, "must be a file name inside --out")
            need(rel.suffix.lower() in (".png", ".bmp", ".tga", ".jpg", ".jpeg"), "must end in .png")
    elif action == "wait":
        need(isinstance(value, int | float) and not isinstance(value, bool), "must be a number of seconds")
        need(0 <= value <= MAX_WAIT, "must be from 0 to 86400 seconds")
        value = float(value)
    elif action == "expect_screen":
        need(isinstance(value, str) and value in SCREENS, "must be one of " + ", ".join(SCREENS))
    elif action == "expect_door":
        need(isinstance(value, dict), 'must be a table like {door = 2, state = "unlocked"}')
        extra = sorted(set(value) - {"door", "state"})
        need(not extra, f"has an unknown key {extra[0]!r}" if extra else "")
        need(_door_ok(value.get("door")), 'door must be a door number or "last"')
        need(value.get("state") in DOOR_STATES, "state must be one of " + ", ".join(DOOR_STATES))
    elif action in ("open_door", "close_door"):
        need(_door_ok(value), 'must be a door number or "last"')
    elif action == "expect_order":
        need(isinstance(value, dict), 'must be a table like {number = "A1002", status = "received"}')
        need(isinstance(value.get("number"), str) and value.get("number") != "", "needs number (a string)")
        extra = sorted(set(value) - set(ORDER_FIELDS))
        need(not extra, f"has an unknown field {extra[0]!r}" if extra else "")
    elif action == "backend":
        need(value in BACKEND_FAULTS, "must be 'down', 'up' or 'slow' (or the extension 'garbage')")
    elif action == "camera":
        need(value in ("unplugged", "plugged"), "must be 'unplugged' or 'plugged'")
    elif action in R2_ACTIONS:
        value = check_step(action, value, need)
    return Step(n, action, value, symbology)


def _door_ok(value: Any) -> bool:
    if value == "last":
        return True
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


# ---------------------------------------------------------------------------------------------
# the world a scenario runs in


class _StepFailed(Exception):
    pass


_FONTS: Any = None


def _fonts() -> Any:
    global _FONTS
    if _FONTS is None:
        from kiosk.screens.fonts import Fonts

        _FONTS = Fonts.find("")
    return _FONTS


class World:
    """Server, clock, simulated GPIO and camera, client, outbox and app for one scenario run."""

    def __init__(self, scenario: Scenario, out: Path, *, size: tuple[int, int] = (800, 480), lang: str | None = None):
        import pygame

        from kiosk.api.client import BackendClient
        from kiosk.app import Display
        from kiosk.assembly import build, event_queue, gpio
        from kiosk.camera.sources import SyntheticSource
        from kiosk.clock import SimClock
        from kiosk.config import Config, KioskSection, ScannerSection
        from kiosk.screens.render import Renderer
        from kiosk.server.harness import DEMO_SEED, ServerThread

        self.scenario = scenario
        self.out = out
        self._tmp = Path(tempfile.mkdtemp(prefix="kiosk-scenario-"))
        self._closers: list[Callable[[], Any]] = []
        try:
            seed_path = scenario.seed or DEMO_SEED
            self.server = ServerThread(seed=seed_path)
            self._closers.append(self.server.close)
            self.server.start()
            seed = json.loads(Path(seed_path).read_text(encoding="utf-8"))
            kiosks = seed.get("kiosks") or []
            if not kiosks:
                raise ScenarioError(f"{scenario.path}: the seed has no kiosk to play")
            kiosk_id, token = kiosks[0]["id"], kiosks[0]["token"]
            self.seed, self.kiosk_id = seed, kiosk_id
            self.last_scan: tuple[str, str] | None = None  # (code, symbology) shown last: scan_last
            self._backoffice: BackOffice | None = None
            self.clock = SimClock()
            self._closers.append(self.clock.close)
            self.events = event_queue(window=False)
            config = Config(
                kiosk=KioskSection(id=kiosk_id, mode=scenario.mode, state_dir=str(self._tmp)),
                # rule 4: a code shown in any symbology a step may name is decoded
                scanner=ScannerSection(symbologies=SYMBOLOGIES),
            )
            parts = gpio(
                config, self.clock, self.events, simulate={"doors": scenario.doors, "csv_path": out / "gpio.csv"}
            )
            self._closers.extend(parts.closers)
            self.gpio = parts.hardware.sim
            self.source = SyntheticSource(640, 480)
            # 3 s to read an answer: a `backend = "slow"` answer (5 s) is beyond the kiosk's patience
            # and an expectation (5 s) sees the outcome; refused connections give up at once
            self.client = BackendClient(
                self.server.base_url,
                token,
                connect_timeout=2.0,
                read_timeout=READ_TIMEOUT,
                retries=0,
                on_state=self.events.backend_state,
            )
            self._closers.append(self.client.close)
            pygame.font.init()
            self.surface = pygame.Surface(size)
            display = Display(self.surface, Renderer(_fonts()))
            self.app = build(parts, self.client, display, source=self.source, lang=lang or scenario.lang)
            self._closers.append(self.app.close)
            self.camera = self.app.camera
        except BaseException:
            self.close()
            raise

    def start(self) -> None:
        self.app.start()
        deadline = time.monotonic() + START_LIMIT
        while True:
            self.app.pump()
            s = self.app.state
            drawn = self.app.drawn_view
            at_idle = (
                s.backend.settings_loaded and s.screen.value == "idle" and drawn is not None and drawn.screen == "idle"
            )
            if at_idle and self.app.quiet():
                return
            if time.monotonic() > deadline:
                raise _StepFailed("the kiosk did not reach idle with the backend's settings")
            self.app.wait(0.02)

    @property
    def backoffice(self) -> BackOffice:
        """The runner as an admin of its fresh database (made on first use)."""
        if self._backoffice is None:
            self._backoffice = BackOffice(self.server)
            self._closers.append(self._backoffice.close)
        return self._backoffice

    def close(self) -> None:
        for closer in reversed(self._closers):
            try:
                closer()
            except Exception:
                logger.exception("event=scenario_close_failed")
        self._closers.clear()
        shutil.rmtree(self._tmp, ignore_errors=True)

    # -- turning the loop -----------------------------------------------------------------------

    def settle(self, limit: float | None = None) -> bool:
        """Turn the loop until the kiosk is quiet (True) or ``limit`` (WAIT_LIMIT) real seconds passed."""
        deadline = time.monotonic() + (WAIT_LIMIT if limit is None else limit)
        while True:
            self.app.pump()
            if self.app.quiet():
                self.app.pump()
                if self.app.quiet():
                    return True
            if time.monotonic() > deadline:
                return False
            self.app.wait(0.005)

    def until(self, cond: Callable[[], bool], limit: float | None = None) -> bool:
        deadline = time.monotonic() + (WAIT_LIMIT if limit is None else limit)
        while True:
            self.app.pump()
            if cond():
                return True
            if time.monotonic() > deadline:
                return False
            self.app.wait(0.01)

    def advance(self, seconds: float) -> None:
        """Move the kiosk clock, timer by timer, letting the kiosk settle after each."""
        clock = self.clock
        remaining = seconds
        instant = 0  # timers firing without time passing, in a row (a runaway would loop forever)
        while True:
            due = clock.next_due()
            if due is None or due > remaining or instant > 10_000:
                clock.advance(remaining)
                break
            due = max(0.0, due)
            instant = instant + 1 if due == 0 else 0
            clock.advance(due)
            remaining -= due
            self.settle()
        self.settle()


# ---------------------------------------------------------------------------------------------
# playing


def _do(world: World, step: Step) -> None:
    app = world.app
    a, v = step.action, step.value
    if a not in EXPECTS:
        world.settle()
    if a in ("scan", "scan_totp", "scan_last"):
        if a == "scan_last":
            code, symbology = world.last_scan
        else:
            code = rotating_code(world.seed, v) if a == "scan_totp" else v
            symbology = "QRCODE" if a == "scan_totp" else step.symbology
        world.last_scan = (code, symbology)
        world.source.show(code, symbology)
        world.camera.scanner.wake()
        if not world.until(lambda: not world.source.pending):
            raise _StepFailed("the code was not decoded")
    elif a == "scan_image":
        world.source.show_image(v)
        world.camera.scanner.wake()
        if not world.until(lambda: not world.source.pending):
            raise _StepFailed("the image was not decoded")
    elif a == "press":
        app.pump()
        ids = {b.id for b in app.buttons}
        if v not in ids:
            raise _StepFailed(f"no such button on screen {app.view.screen}")
        app.post(Press(v))
        app.pump()
    elif a == "type":
        app.post(Typed(v))
        app.pump()
    elif a == "wait":
        world.advance(v)
    elif a == "expect_screen":
        if not world.until(lambda: app.state.screen.value == v and app.drawn_view and app.drawn_view.screen == v):
            raise _StepFailed(f"screen is {app.state.screen.value}")
    elif a == "expect_door":
        _expect_door(world, v)
    elif a in ("open_door", "close_door"):
        door = _door(world, v)
        (world.gpio.open_door if a == "open_door" else world.gpio.close_door)(door)
        app.post(None)
        app.pump()
    elif a == "expect_order":
        _expect_order(world, v)
    elif a == "expect_absent":
        world.settle()  # absent from what the kiosk shows once quiet, not from a frame in between
        if not world.until(lambda: v not in {b.id for b in app.buttons}):
            raise _StepFailed(f"the button is on screen {app.view.screen}")
    elif a == "expect_event":
        _expect_event(world, v)
    elif a == "settings":
        world.backoffice.settings(v)
    elif a == "screenshot":
        app.screenshot(world.out / v)
    elif a == "backend":
        world.server.garbage = False
        if v == "down":
            world.server.delay = 0.0
            world.server.stop()
        elif v == "up":
            world.server.delay = 0.0
            world.server.start()
        elif v == "garbage":
            world.server.delay = 0.0
            world.server.start()
            world.server.garbage = True
        else:
            world.server.delay = SLOW_ANSWER
    elif a == "camera":
        if v == "unplugged":
            world.source.unplug()
        else:
            world.source.plug()


def _door(world: World, value: Any) -> int:
    bank = world.gpio.bank
    if value == "last":
        if not world.until(lambda: bank.last_unlocked is not None):
            raise _StepFailed("no door has been unlocked")
        return bank.last_unlocked
    if value not in bank.doors:
        raise _StepFailed("no such door")
    return value


def _expect_door(world: World, want: dict) -> None:
    bank = world.gpio.bank
    door = _door(world, want["door"])
    if not world.until(lambda: bank.state(door) == want["state"]):
        raise _StepFailed(f"door is {bank.state(door)}")


def _expect_event(world: World, want: dict) -> None:
    def check() -> bool:
        try:
            return world.backoffice.has_event(world.kiosk_id, want)
        except (OSError, RuntimeError, ValueError):  # the server is down for a drill
            return False

    if not world.until(check):
        raise _StepFailed("the backend has no such event of this kiosk")


def _same(want: Any, got: Any) -> bool:
    if want == got:
        return True
    if isinstance(want, str) and got is not None and not isinstance(got, bool):
        return want == str(got)
    return False


def _expect_order(world: World, want: dict) -> None:
    number = want["number"]
    last: list[str] = []

    def check() -> bool:
        order = world.server.order_by_number(number)
        if order is None:
            last[:] = ["order not found"]
            return False
        wrong = [k for k, val in want.items() if not _same(val, order.get(k))]
        if wrong:
            last[:] = [f"field {wrong[0]} is {order.get(wrong[0])}"]
            return False
        return True

    if not world.until(check):
        raise _StepFailed(last[0] if last else "order differs")


SERVER_LOGGERS = ("uvicorn", "kiosk.server")


def _kiosk_only(record: logging.LogRecord) -> bool:
    """log.txt is the kiosk's log: the reference server's own lines (same process) stay out."""
    return not any(record.name == n or record.name.startswith(n + ".") for n in SERVER_LOGGERS)


def play(
    scenario: Scenario,
    out: Path,
    stream: TextIO | None = None,
    *,
    size: tuple[int, int] | None = None,
    lang: str | None = None,
) -> int:
    """Play ``scenario``, writing into ``out``; 0 when every step held, 1 at the first failure."""
    stream = stream or sys.stdout
    out.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(out / "log.txt", mode="w", encoding="utf-8")
    handler.setFormatter(JournalFormatter(prefix=False, timestamps=True))
    handler.addFilter(_kiosk_only)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    world: World | None = None
    try:
        log_event(logger, "scenario_start", file=scenario.path.name, mode=scenario.mode, steps=len(scenario.steps))
        try:
            world = World(scenario, out, size=size or scenario.size or (800, 480), lang=lang)
        except (KioskError, ValueError) as exc:  # e.g. a seed the reference server refuses
            print(f"pickup-kiosk: scenario error: {scenario.path}: setup: {exc}", file=sys.stderr, flush=True)
            return 2
        try:
            world.start()
        except _StepFailed as exc:
            print(f"step 0 start FAIL {exc} 0.00 s", file=stream, flush=True)
            return 1
        for step in scenario.steps:
            began = time.monotonic()
            try:
                try:
                    _do(world, step)
                except _StepFailed:
                    raise
                except Exception as exc:  # a code that cannot be drawn, a sensorless door, ...
                    logger.warning("event=scenario_step_error n=%d error=%s", step.number, type(exc).__name__)
                    raise _StepFailed(f"could not be done ({type(exc).__name__})") from None
            except _StepFailed as exc:
                took = time.monotonic() - began
                print(f"step {step.number} {step.action} FAIL {exc} {took:.2f} s", file=stream, flush=True)
                log_event(logger, "scenario_step", logging.WARNING, n=step.number, action=step.action, ok=False)
                return 1
            took = time.monotonic() - began
            print(f"step {step.number} {step.action} ok {took:.2f} s", file=stream, flush=True)
            log_event(logger, "scenario_step", n=step.number, action=step.action, ok=True)
        world.settle(1.0)
        return 0
    finally:
        if world is not None:
            world.close()
        log_event(logger, "scenario_end", file=scenario.path.name)
        root.removeHandler(handler)
        handler.close()
        root.setLevel(old_level)


def run_file(
    path: str | Path, out: str | Path, stream: TextIO | None = None, *, size: Any = None, lang: str | None = None
) -> int:
    """Load and play a scenario file; 2 (with a message on stderr) when the file is refused."""
    try:
        scenario = load(path)
    except ScenarioError as exc:
        print(f"pickup-kiosk: scenario error: {exc}", file=sys.stderr)
        return 2
    if isinstance(size, str):
        try:
            size = _size(size, "--size")
        except ScenarioError as exc:
            print(f"pickup-kiosk: {exc}", file=sys.stderr)
            return 2
    with contextlib.suppress(KeyboardInterrupt):
        return play(scenario, Path(out), stream, size=size, lang=lang)
    return 130
