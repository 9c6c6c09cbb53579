"""The kiosk assembled in one place, for ``run``, the demo and the scenario runner alike.

The event queue comes first and is handed to every producer (backend client, outbox, locker
bank, camera scanner, api worker, timers); the hardware is real or simulated, chosen in
:func:`gpio`; every part is made before the :class:`~kiosk.app.App` that is handed them, and
nothing is wired afterwards. ``main_run`` is ``pickup-kiosk run --config FILE``: real hardware as
configured; a bad config exits 2 with file, key and reason (kiosk.cli); SIGTERM sends
``STOPPING=1``, drives every relay off, closes the outbox and exits 0.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.app import App, Display, Hardware
from kiosk.clock import Clock
from kiosk.config import Config
from kiosk.events import EventQueue
from kiosk.journal import log_event

logger = logging.getLogger(__name__)
WAKE_EVENT_OFFSET = 7  # pygame.USEREVENT + 7 wakes a loop blocked on the display's events


def import_pygame() -> Any:
    """``import pygame`` without setuptools' ``pkg_resources``: ``pygame.pkgdata`` imports it only
    to find pygame's own data files, which it then finds beside its modules anyway; loading it
    would cost the kiosk and the idle demo some 5 MiB of RSS (benchmarks/idle_cost.py) and a
    tenth of a second at start."""
    block = "pkg_resources" not in sys.modules
    if block:
        sys.modules["pkg_resources"] = None  # type: ignore[assignment]  # its import raises ImportError
    try:
        import pygame
    finally:
        if block and "pkg_resources" in sys.modules and sys.modules["pkg_resources"] is None:
            del sys.modules["pkg_resources"]  # later imports of it work as before
    return pygame


def event_queue(window: bool) -> EventQueue:
    """The loop's queue, first of all parts (a window's loop is woken through pygame's queue)."""
    if not window:
        return EventQueue()
    import pygame

    return EventQueue(pygame_wake=pygame.USEREVENT + WAKE_EVENT_OFFSET)


class PreviewTap:
    """A frame source that keeps the last frame the scanner read, for the camera preview.

    Everything else goes to the wrapped source; only the scanner's thread reads from it.
    """

    def __init__(self, source: Any):
        self._source = source
        self.last: Any = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._source, name)

    @property
    def pending(self) -> bool:
        return bool(self._source.pending)

    @property
    def frame_id(self) -> Any:
        return self._source.frame_id

    def grab(self) -> tuple[Any, Any]:
        frame, fid = self._source.grab()
        if frame is not None:
            self.last = frame
        return frame, fid

    def read(self) -> Any:
        return self.grab()[0]


class Camera:
    """The scanner thread and its source, as the app sees them (start, close, quiet, preview)."""

    def __init__(self, scanner: Any, tap: PreviewTap | None = None):
        self.scanner = scanner
        self.tap = tap
        self._holder: list[PreviewTap] = []  # the tap of a source opened later by the scanner

    @classmethod
    def build(cls, config: Config, post: Callable[[object], None], clock: Clock, source: Any = None) -> Camera:
        """A scanner on ``source`` (or on the ``[camera]`` source, opened now or when it appears)."""
        from kiosk.camera.scanner import Scanner
        from kiosk.camera.sources import open_source

        holder: list[PreviewTap] = []

        def factory() -> Any:
            opened = open_source(config.camera)
            if opened is None:
                return None
            tap = PreviewTap(opened)
            holder[:] = [tap]
            return tap

        tap = PreviewTap(source) if source is not None else None
        scanner = Scanner.from_config(config, post, clock=clock, source=tap, source_factory=factory)
        camera = cls(scanner, tap)
        camera._holder = holder
        return camera

    def start(self) -> None:
        self.scanner.start()

    def close(self) -> None:
        self.scanner.stop(timeout=3.0)

    def quiet(self) -> bool:
        # Scanner.quiet: the frame in view was looked at (the empty view after a code too, so the
        # same code shown again is a new scan); a camera that is away is quiet, one just reopened
        # or about to be found stalled is not
        return self.scanner.quiet()

    def set_patterns(self, patterns: Any) -> None:
        self.scanner.set_patterns(patterns)

    def latest_frame(self) -> Any:
        tap = self.tap or (self._holder[0] if self._holder else None)
        return tap.last if tap is not None else None


@dataclass
class Base:
    """What every kiosk has before its app: the config it runs with (a simulation brings its own
    pins), the clock, the event queue, the GPIO parts, and what to close at the end."""

    config: Config
    clock: Clock
    events: EventQueue
    hardware: Hardware
    closers: list[Callable[[], Any]] = field(default_factory=list)


def gpio(config: Config, clock: Clock, events: EventQueue, *, simulate: dict | None = None) -> Base:
    """Real GPIO as configured, or (``simulate``: SimulatedGpio's keyword arguments) gpiozero's
    mock pins drawn in a strip. The one place where real or simulated hardware is chosen."""
    locker = config.kiosk.mode == "locker"
    if simulate is not None:
        from kiosk.gpio.sim import SimulatedGpio

        sim = SimulatedGpio(clock, post=events.post, **simulate)
        config = config.replace(gpio=sim.gpio_config, locker=sim.locker_config)
        hardware = Hardware(sim.bank if locker else None, sim.indicators, sim)
        return Base(config, clock, events, hardware, [sim.close])
    from kiosk.gpio.indicators import Indicators
    from kiosk.gpio.pins import make_pin_factory

    factory = make_pin_factory(config.gpio.pin_factory, clock) if config.gpio.pin_factory else None
    parts = Base(config, clock, events, Hardware())
    indicators = Indicators(config.gpio, clock=clock, pin_factory=factory)
    parts.closers.append(indicators.close)
    bank = None
    if locker:
        from kiosk.gpio.lockers import LockerBank

        bank = LockerBank(config.locker, clock=clock, pin_factory=factory, post=events.post)
        parts.closers.append(bank.close)
    parts.hardware = Hardware(bank, indicators)
    return parts


def build(
    base: Base,
    client: Any,
    display: Display | None,
    *,
    source: Any = None,
    systemd: Any = None,
    lang: str | None = None,
    key_hook: Callable[[EventQueue, Camera | None], Callable[[Any], bool]] | None = None,
    voice: Any = None,
) -> App:
    """The app and its parts: camera (on ``source``, else the configured one), outbox in
    ``<kiosk.state_dir>/outbox.db``, heartbeat; every producer posts to ``events``.
    ``client`` must have been made with ``on_state=events.backend_state``."""
    from kiosk.api.outbox import Outbox
    from kiosk.heartbeat import Heartbeat

    config, clock, events = base.config, base.clock, base.events
    if source is not None:
        camera: Camera | None = Camera.build(config, events.post, clock, source=source)
    else:
        camera = open_camera(config, events.post, clock)
    outbox = Outbox.from_config(config, client, clock, on_change=events.post)

    def heartbeat(snapshot: Callable[[], dict]) -> Heartbeat:
        return Heartbeat(client, config.kiosk.id, clock, snapshot, interval=config.backend.heartbeat_interval)

    hook = key_hook(events, camera) if key_hook is not None else None
    return App(
        config,
        clock,
        events,
        client,
        hardware=base.hardware,
        outbox=outbox,
        camera=camera,
        key_hook=hook,
        display=display,
        heartbeat=heartbeat,
        systemd=systemd,
        lang=lang,
        voice=voice,
    )


def main_run(args: Any) -> int:
    """``pickup-kiosk run --config FILE``: the kiosk on real hardware, fullscreen."""
    from kiosk import config as config_mod
    from kiosk.journal import setup_logging

    config = config_mod.load(args.config)  # ConfigError -> exit 2 in kiosk.cli
    setup_logging(config.logging.level)
    import_pygame()  # first, before any part imports it
    from kiosk.api.client import BackendClient
    from kiosk.privacy import load_log_key
    from kiosk.systemd import Systemd, on_sigterm

    systemd = Systemd()
    clock = Clock()
    events = event_queue(window=True)
    client = BackendClient.from_config(config, on_state=events.backend_state)
    state_dir = Path(config.kiosk.state_dir)
    try:
        state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        # log references (code_ref) keyed with this deployment's own secret, made 0600 on first
        # start and kept across restarts, so one customer's session can be followed in the
        # journal without a key that anyone reading the source could use to reverse it
        load_log_key(state_dir)
    except OSError as exc:
        from kiosk.errors import ConfigError

        raise ConfigError(
            f"cannot create the state directory ({exc})", path=config.path, key="kiosk.state_dir"
        ) from None
    parts: Base | None = None
    app: App | None = None
    try:
        parts = gpio(config, clock, events)
        surface, renderer = _open_display(config)
        display = Display(surface, renderer, window=True)
        from kiosk.voice import Voice

        voice = Voice.from_config(config)
        parts.closers.append(voice.close)
        app = build(parts, client, display, systemd=systemd, voice=voice)
        on_sigterm(systemd, stopper(app))
        app.start()
        return app.run()
    finally:
        if app is not None:
            app.close()
        for close in reversed(parts.closers if parts is not None else []):
            try:
                close()
            except Exception:
                logger.exception("event=close_failed part=%s", type(getattr(close, "__self__", close)).__name__)
        client.close()
        clock.close()
        systemd.close()


def stopper(app: App) -> Callable[[], None]:
    """For the SIGTERM handler: every relay off at once (no lock taken), then end the loop."""

    def stop() -> None:
        if app.bank is not None:
            app.bank.all_off()
        app.stop()

    return stop


def _open_display(config: Config) -> tuple[Any, Any]:
    import pygame

    from kiosk.errors import HardwareError
    from kiosk.screens.render import Renderer

    d = config.display
    flags = pygame.FULLSCREEN if d.fullscreen else 0
    size = (d.width, d.height) if d.width and d.height else (0, 0)
    try:
        pygame.display.init()
        pygame.font.init()
        surface = pygame.display.set_mode(size, flags)
    except pygame.error as exc:
        driver = os.environ.get("SDL_VIDEODRIVER", "default")
        raise HardwareError(f"the display cannot be opened (SDL video driver {driver}: {exc})") from None
    pygame.display.set_caption("pickup-kiosk")
    pygame.mouse.set_visible(not d.fullscreen)
    return surface, Renderer(font_path=d.font)


def open_camera(config: Config, post: Callable[[object], None], clock: Clock) -> Camera | None:
    """The configured camera and its scanner thread (a camera absent at start is opened when it
    appears); None when the config says there is none."""
    if config.camera.source.strip() in ("", "none"):
        log_event(logger, "camera_none", logging.WARNING)
        return None
    return Camera.build(config, post, clock)
