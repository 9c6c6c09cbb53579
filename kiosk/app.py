"""The kiosk's one loop: events in, flow decides, effects out, screen drawn when it changed.

Threads (api worker, outbox, camera scanner, locker bank, clock timers, heartbeat) only produce
events: they call :meth:`App.post`, which puts the event on a queue and wakes the loop. Only the
loop's thread touches pygame and the flow's state (docs/design.md, "one loop").

Each turn of the loop (:meth:`App.pump`): translate pygame input, feed every queued event to
:func:`kiosk.flow.step`, carry out the effects (backend calls on the worker, outbox writes,
door unlocks, indicator patterns, named timers on the injected clock), and redraw only when the
view changed or the progress animation is due. Between turns the loop blocks on pygame's event
queue with a timeout (threads wake it with a user event), so an idle kiosk costs little CPU.

``main_run(args)`` is ``pickup-kiosk run --config FILE``: real hardware as configured; a bad
config exits 2 with file, key and reason (kiosk.cli); SIGTERM sends ``STOPPING=1``, drives every
relay off, closes the outbox and exits 0.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from kiosk import flow
from kiosk.api.requests import ParcelInfo, stamped
from kiosk.clock import Clock
from kiosk.config import Config
from kiosk.errors import KioskError
from kiosk.events import CameraState, EventQueue
from kiosk.journal import log_event
from kiosk.screens.view import Focus, View

logger = logging.getLogger(__name__)
flow_logger = logging.getLogger("kiosk.flow")  # the flow's decisions (it logs nothing itself: it is pure)

IDLE_WAIT = 1.0  # seconds the loop may sleep when nothing is due (real time)
COUNTDOWN_FROM = 10.0  # the last seconds before a customer screen returns to idle are counted down


@dataclass(frozen=True)
class _TimerFired:
    name: str
    gen: int


class Backend(Protocol):
    """The backend client the worker runs requests on (:class:`kiosk.api.client.BackendClient`)."""

    def settings(self) -> Any: ...


class DurableWrites(Protocol):
    """The outbox (:class:`kiosk.api.outbox.Outbox`): writes that must not be lost."""

    def enqueue(self, request: Any) -> str: ...
    def kick(self) -> None: ...
    def start(self) -> None: ...
    def close(self, timeout: float = ...) -> None: ...


class Doors(Protocol):
    """The locker bank (:class:`kiosk.gpio.lockers.LockerBank`)."""

    doors: Any

    def unlock(self, door: int) -> Any: ...
    def all_off(self) -> None: ...
    def door(self, number: int) -> Any: ...
    def is_sensorless(self, number: int) -> bool: ...


class Lights(Protocol):
    """LEDs and buzzer (:class:`kiosk.gpio.indicators.Indicators`)."""

    def show(self, pattern: str) -> Any: ...


class CameraPart(Protocol):
    """The scanner thread and its source (:class:`kiosk.assembly.Camera`)."""

    def start(self) -> None: ...
    def close(self) -> None: ...
    def quiet(self) -> bool: ...
    def set_patterns(self, patterns: Any) -> None: ...
    def latest_frame(self) -> Any: ...


class Service(Protocol):
    """A background part the app starts and stops (the heartbeat)."""

    def start(self) -> Any: ...
    def stop(self, timeout: float = ...) -> None: ...


class Speaker(Protocol):
    """Spoken prompts (:class:`kiosk.voice.Voice`): told every view, it says each new screen's prompt."""

    def on_view(self, view: View) -> None: ...
    def close(self) -> None: ...


class Supervisor(Protocol):
    """systemd (:class:`kiosk.systemd.Systemd`): READY after the first draw, WATCHDOG per turn."""

    def ready(self, status: str | None = ...) -> None: ...
    def status(self, line: str) -> None: ...
    def watchdog(self) -> None: ...
    def watchdog_interval(self) -> float | None: ...


class Renderer(Protocol):
    def draw(self, surface: Any, view: View, **kw: Any) -> list: ...
    def draw_preview(self, surface: Any, frame: Any) -> Any: ...


@dataclass(frozen=True)
class Hardware:
    """The GPIO parts: the locker bank (None at a counter), LEDs and buzzer, and a simulation
    whose snapshot is drawn in a strip (:class:`kiosk.gpio.sim.SimulatedGpio`, demo and runner)."""

    bank: Doors | None = None
    indicators: Lights | None = None
    sim: Any = None


@dataclass(frozen=True)
class Display:
    """Where the loop draws: ``surface`` (the pygame display when ``window``: flip after drawing,
    read its events), the ``renderer``, and whether the camera preview is shown."""

    surface: Any
    renderer: Renderer
    window: bool = False
    preview: bool = True
    # the demo's window holds the kiosk's screen at this size and the simulated GPIO strip below
    # it (kiosk.screens.render.window_size); None: the kiosk takes the whole surface
    kiosk_size: tuple[int, int] | None = None


def flow_config(config: Config, bank: Any = None) -> flow.FlowConfig:
    """The flow's settings from the kiosk config (doors from the locker bank when there is one)."""
    doors: tuple[flow.DoorInfo, ...] = ()
    if bank is not None:
        infos = []
        for number in bank.doors:
            cfg = bank.door(number)
            infos.append(
                flow.DoorInfo(
                    number=number,
                    size=cfg.size,
                    sensorless=bank.is_sensorless(number),
                    in_service=cfg.in_service,
                )
            )
        doors = tuple(infos)
    else:
        doors = tuple(
            flow.DoorInfo(d.number, d.size, d.sensorless or d.sensor_pin is None, d.in_service)
            for d in config.locker.door
        )
    sc = config.scanner
    overrides = tuple(
        (name, getattr(sc, name))
        for name in ("member_code_pattern", "parcel_code_pattern", "staff_badge_pattern")
        if getattr(sc, name)
    )
    return flow.FlowConfig(kiosk=config.kiosk, doors=doors, pattern_overrides=overrides)


class App:
    """The loop. Its parts are made beforehand (kiosk.assembly) and handed in, typed by the small
    protocols above; ``events`` is the queue every producer already posts to.

    ``client``: the backend (the worker runs request records on it); ``outbox``: durable writes;
    ``hardware``: locker bank, indicators, simulation; ``camera``; ``display``: where to draw
    (None: no drawing); ``systemd``; ``heartbeat``: started by :meth:`start`, stopped by
    :meth:`close`; ``key_hook``: the demo's F-keys and door keys; ``voice``: spoken prompts.
    """

    def __init__(
        self,
        config: Config,
        clock: Clock,
        events: EventQueue,
        client: Backend | None,
        *,
        outbox: DurableWrites | None = None,
        hardware: Hardware = Hardware(),
        camera: CameraPart | None = None,
        display: Display | None = None,
        systemd: Supervisor | None = None,
        heartbeat: Callable[[Callable[[], dict]], Service] | None = None,
        key_hook: Callable[[Any], bool] | None = None,
        voice: Speaker | None = None,
        lang: str | None = None,
    ):
        from kiosk.api.worker import ApiWorker

        self.config = config
        self.clock = clock
        self.events = events
        self.client = client
        self.outbox = outbox
        self.bank = hardware.bank
        self.indicators = hardware.indicators
        self.sim = hardware.sim
        self.camera = camera
        self.surface = display.surface if display is not None else None
        self.renderer = display.renderer if display is not None else None
        self.display = display is not None and display.window
        self.preview = display.preview if display is not None else True
        self.kiosk_size = display.kiosk_size if display is not None else None
        self.systemd = systemd
        self.key_hook = key_hook
        self.voice = voice
        self.worker = ApiWorker(events.post, client=client)
        # the heartbeat reads the loop's snapshot: made here, from the factory handed in
        self.heartbeat: Service | None = heartbeat(self.snapshot) if heartbeat is not None else None
        cfg = flow_config(config, self.bank)
        if lang:
            cfg = dataclasses.replace(cfg, kiosk=dataclasses.replace(cfg.kiosk, language=lang))
        self.state = flow.initial(cfg)
        self.view: View = flow.view(self.state)
        self.buttons: list = []
        self.drawn_view: View | None = None
        self._sim_drawn: Any = None
        self._last_draw = 0.0
        self._timers: dict[str, tuple[int, Any]] = {}
        self._timer_gen = 0
        self._stop = threading.Event()
        self._preview_drawn: Any = None
        self._held: Any = None  # a pygame event taken by wait(), handled by the next pump()
        self._handling = 0
        self._ready_sent = False
        self._status = ""
        self._wake_type: int | None = None
        self._pygame: Any = None
        self._translate: Callable | None = None
        self._translator: Any = None  # with the USB keyboard wedge
        self._focus: str | None = None
        self.on_draw: Callable[[App], None] | None = None
        if self.display:
            import pygame

            self._pygame = pygame
            self._wake_type = events.pygame_wake
            from kiosk.screens.inputs import EventTranslator, translate

            self._translator = EventTranslator() if config.scanner.usb_scanner else None
            self._translate = translate

    # -- threads' side --------------------------------------------------------------------------

    def post(self, event: object) -> None:
        """Thread-safe: queue an event for the loop and wake it (the events queue's ``post``)."""
        self.events.post(event)

    def stop(self) -> None:
        """Ask the loop to end (safe from a signal handler or another thread)."""
        self._stop.set()
        self.post(None)

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    # -- start, loop, close -------------------------------------------------------------------

    def start(self) -> App:
        log_event(logger, "kiosk_start", mode=self.state.cfg.kiosk.mode, kiosk=self.config.kiosk.id)
        if self.outbox is not None:
            self.outbox.start()
        if self.camera is not None:
            self.camera.start()
        self.handle(flow.Start())
        self.redraw(force=True)
        if self.heartbeat is not None:
            self.heartbeat.start()
        return self

    def run(self) -> int:
        """Turn the loop until :meth:`stop`; returns the exit status."""
        while not self._stop.is_set():
            self.pump()
            self.wait(self._next_wake())
        return 0

    def close(self) -> None:
        """Relays off first, then every thread, the outbox last (its file is flushed)."""
        for name in list(self._timers):
            self._cancel_timer(name)
        if self.bank is not None:
            try:
                self.bank.all_off()
            except Exception:
                logger.exception("event=relays_off_failed")
        for stop in (self.heartbeat and self.heartbeat.stop, self.camera and self.camera.close):
            if not stop:
                continue
            try:
                stop()
            except Exception:
                logger.exception("event=close_failed part=%s", type(stop.__self__).__name__)
        self.worker.close(timeout=3.0)
        if self.outbox is not None:
            try:
                self.outbox.close(timeout=3.0)
            except Exception:
                logger.exception("event=outbox_close_failed")
        log_event(logger, "kiosk_stop")

    def wait(self, timeout: float) -> None:
        """Block until an event arrives or ``timeout`` real seconds pass."""
        if self._pygame is not None:
            if not self.events.empty() or self._held is not None:
                return
            pg = self._pygame
            ev = pg.event.wait(max(1, int(timeout * 1000)))
            if ev.type != pg.NOEVENT:
                self._held = ev  # pump() handles it first, before the rest of pygame's queue
            return
        self.events.wait(timeout)

    def _refresh_view(self) -> None:
        """The flow's view plus what only the loop knows: keyboard focus, the idle countdown."""
        view = flow.view(self.state)
        changes: dict[str, Any] = {}
        if self._focus is not None:
            changes["focus"] = self._focus
        left = self._idle_left()
        if left is not None and (view.screen == "done" or left <= COUNTDOWN_FROM):
            changes["countdown"] = max(0, math.ceil(left))
        self.view = dataclasses.replace(view, **changes) if changes else view
        if self.voice is not None:
            self.voice.on_view(self.view)

    def _idle_left(self) -> float | None:
        """Seconds of kiosk time until this customer screen returns to idle (None: no such timer)."""
        timer = self._timers.get("idle")
        if timer is None or self.state.screen in (flow.Screen.IDLE, flow.Screen.OFFLINE):
            return None
        return timer[1].due - self.clock.monotonic()

    def _next_wake(self) -> float:
        wait = IDLE_WAIT
        if self.view.countdown is not None:
            left = self._idle_left()
            if left is not None:
                wait = min(wait, max(0.02, left - math.floor(left) + 0.01))
        if self.view.busy:
            wait = min(wait, 1.0 / 12)
        scanning = self.view.screen in ("idle", "scan_package", "arrival")
        if scanning and self.preview and self.display and self.camera is not None:
            wait = min(wait, 0.1)
        if self._translator is not None and self._translator.deadline() is not None:
            wait = min(wait, max(0.0, self._translator.deadline() - time.monotonic()) + 0.001)
        if self.systemd is not None:
            interval = self.systemd.watchdog_interval()
            if interval:
                wait = min(wait, interval / 2)
        return wait

    def pump(self, limit: int = 1000) -> int:
        """One turn: pygame input, queued events, effects, redraw. Returns the events handled."""
        n = 0
        if self._pygame is not None:
            n += self._pygame_events()
        while n < limit:
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                break
            if event is None:
                continue
            self._handling += 1
            try:
                self._dispatch(event)
            finally:
                self._handling -= 1
            n += 1
        if self.view.countdown is not None or self._idle_left() is not None:
            self._refresh_view()
        self.redraw()
        if self.systemd is not None:
            self.systemd.watchdog()
        return n

    def quiet(self) -> bool:
        """Nothing left to do: no queued event, no interactive call in flight, frames decoded."""
        if not self.events.empty() or self._handling or self.worker.busy():
            return False
        if self.camera is not None and not self.camera.quiet():
            return False
        return self.events.empty()

    # -- events -------------------------------------------------------------------------------

    def _dispatch(self, event: object) -> None:
        if isinstance(event, _TimerFired):
            current = self._timers.get(event.name)
            if current is None or current[0] != event.gen:
                return  # cancelled or restarted after it fired
            del self._timers[event.name]
            self.handle(flow.TimerFired(event.name))
            return
        if isinstance(event, Focus):
            self._focus = event.button
            self._refresh_view()
            return
        if isinstance(event, CameraState) and self.camera is not None:
            log_event(logger, "camera_state", state=event.state)
        self.handle(event)

    def handle(self, event: object) -> None:
        """Feed one event to the flow and carry out what it asks for."""
        before = self.state.screen
        was_online = self.state.online
        try:
            self.state, effects = flow.step(self.state, event)
        except Exception:
            logger.exception("event=flow_failed event_type=%s", type(event).__name__)
            return
        for effect in effects:
            try:
                self._effect(effect)
            except Exception:
                logger.exception("event=effect_failed effect=%s", type(effect).__name__)
        if self.state.screen is not before and self.camera is not None:
            try:
                self.camera.set_patterns(self.state.backend.patterns)
            except Exception:
                logger.exception("event=set_patterns_failed")
        if self.state.online and not was_online and self.outbox is not None:
            self.outbox.kick()  # the backend answers again: what waits in the outbox goes now
        if self.state.screen is not before:
            self._focus = None  # the focused button belonged to the screen that is gone
        self._refresh_view()
        self._update_status()

    def _effect(self, effect: flow.Effect) -> None:
        if isinstance(effect, flow.Call):
            self._submit(effect)
        elif isinstance(effect, flow.Enqueue):
            self._enqueue(effect)
        elif isinstance(effect, flow.Unlock):
            if self.bank is None:
                log_event(logger, "unlock_without_bank", logging.ERROR, door=effect.door)
            else:
                log_event(logger, "door_unlock", door=effect.door)
                self.bank.unlock(effect.door)
        elif isinstance(effect, flow.Indicate):
            if self.indicators is not None:
                self.indicators.show(effect.pattern)
        elif isinstance(effect, flow.StartTimer):
            self._start_timer(effect.name, effect.seconds)
        elif isinstance(effect, flow.CancelTimer):
            self._cancel_timer(effect.name)
        elif isinstance(effect, flow.Log):
            log_event(flow_logger, effect.event, **dict(effect.fields))

    def _start_timer(self, name: str, seconds: float) -> None:
        self._cancel_timer(name)
        self._timer_gen += 1
        gen = self._timer_gen
        handle = self.clock.call_later(seconds, self.post, _TimerFired(name, gen))
        self._timers[name] = (gen, handle)

    def _cancel_timer(self, name: str) -> None:
        current = self._timers.pop(name, None)
        if current is not None:
            current[1].cancel()

    def _enqueue(self, effect: flow.Enqueue) -> None:
        kind = effect.request.kind
        if self.outbox is None:
            log_event(logger, "outbox_missing", logging.ERROR, kind=kind, order=effect.number or "-")
            return
        try:
            self.outbox.enqueue(stamped(effect.request))
        except (KioskError, ValueError) as exc:
            # the door may already be open: a person must see to it (the journal says which order)
            log_event(
                logger,
                "outbox_enqueue_failed",
                logging.ERROR,
                kind=kind,
                order=effect.number or "-",
                why=type(exc).__name__,
            )
            if self.indicators is not None:
                self.indicators.show("attention")

    # -- backend calls on the worker --------------------------------------------------------

    def _submit(self, call: flow.Call) -> None:
        self.worker.ask(call.request, token=call.token)

    # -- status for systemd and the heartbeat ------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Plain values for the heartbeat thread (no device or pygame access)."""
        return {
            "state": self.state.screen.value,
            "camera": "ok" if self.state.camera_ok else "lost",
            "gpio": "alarm" if self.state.alarms else "ok",
            "outbox": self.state.backend.outbox_depth,
        }

    def _update_status(self) -> None:
        from kiosk.systemd import status_line

        line = status_line(
            self.state.screen.value,
            "ok" if self.state.camera_ok else "lost",
            "up" if self.state.online else "down",
            self.state.backend.outbox_depth,
        )
        if line != self._status:
            self._status = line
            if self.systemd is not None and self._ready_sent:
                self.systemd.status(line)

    # -- drawing --------------------------------------------------------------------------------

    def _sim_snapshot(self) -> dict | None:
        if self.sim is None:
            return None
        snap = self.sim.snapshot()
        return {
            "leds": snap.get("leds", {}),
            "buzzer": snap.get("buzzer", False),
            "doors": {d["number"]: d["state"] for d in snap.get("doors", [])} if self.state.cfg.locker else {},
        }

    def redraw(self, force: bool = False) -> bool:
        """Draw the view if it changed (or the progress animation is due); True if drawn."""
        if self.surface is None or self.renderer is None:
            if self.drawn_view != self.view:
                self.drawn_view = self.view
            return False
        from kiosk.screens.render import needs_redraw

        now = time.monotonic()
        sim = self._sim_snapshot()
        if not force and not needs_redraw(self.drawn_view, self.view, now, self._last_draw) and sim == self._sim_drawn:
            self._refresh_preview()
            return False
        frame = self._preview_frame()
        self._preview_drawn = frame
        self.buttons = self.renderer.draw(
            self.surface, self.view, now=now, preview=frame, sim=sim, kiosk_size=self.kiosk_size
        )
        self.drawn_view = self.view
        self._sim_drawn = sim
        self._last_draw = now
        if self._report_page_rows():
            return self.redraw()  # the page index was put back within the pages there are
        if self.display:
            self._pygame.display.flip()
        if not self._ready_sent:
            self._ready_sent = True
            if self.systemd is not None:
                self.systemd.ready(self._status or None)
            log_event(logger, "first_screen", screen=self.view.screen)
        if self.on_draw is not None:
            self.on_draw(self)
        return True

    def _report_page_rows(self) -> bool:
        """Tell the flow how many rows a page of the drawn list holds (the screens decide it from
        the surface size); True when that changed what is to be drawn."""
        rows = getattr(self.renderer, "last_page_rows", None)
        screen = self.drawn_view.screen if self.drawn_view is not None else ""
        if not rows or self.state.paging.rows == (screen, rows):
            return False
        self.handle(flow.PageRows(screen, rows))
        return self.view != self.drawn_view

    def _preview_frame(self) -> Any:
        if not self.preview or self.camera is None or not self.state.camera_ok:
            return None  # a camera that is away shows no picture, not its last (stale) frame
        try:
            return self.camera.latest_frame()
        except Exception:
            return None

    def _refresh_preview(self) -> None:
        if not (self.display and self.preview and self.renderer is not None):
            return
        frame = self._preview_frame()
        if frame is None or frame is self._preview_drawn:
            return
        self._preview_drawn = frame
        rect = self.renderer.draw_preview(self.surface, frame)
        if rect is not None:
            self._pygame.display.update(rect)

    def screenshot(self, path: str | os.PathLike) -> None:
        """Save what is on screen now as a PNG."""
        import pygame

        self.redraw(force=True)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        pygame.image.save(self.surface, str(path))

    # -- pygame input ---------------------------------------------------------------------------

    def _pygame_events(self) -> int:
        pg = self._pygame
        n = 0
        if self._translator is not None:
            for item in self._translator.poll():
                self._dispatch(item)
                n += 1
        held, self._held = self._held, None
        for ev in [held, *pg.event.get()] if held is not None else pg.event.get():
            if ev.type == self._wake_type:
                continue
            if ev.type == pg.QUIT:
                self.stop()
                continue
            if self.key_hook is not None and ev.type == pg.KEYDOWN and self.key_hook(ev):
                continue
            for item in self._inputs(ev):
                self._dispatch(item)
                n += 1
        return n

    def _inputs(self, ev: Any) -> list:
        if self._translator is not None:
            return list(self._translator.handle(ev, self.buttons, self._focus))
        got = self._translate(ev, self.buttons, self._focus)
        return [] if got is None else [got]


def main_run(args: Any) -> int:
    """``pickup-kiosk run --config FILE``: the kiosk on real hardware, fullscreen (kiosk.assembly)."""
    from kiosk.assembly import main_run as run

    return run(args)


__all__ = ["App", "Display", "Hardware", "ParcelInfo", "flow_config", "main_run"]
