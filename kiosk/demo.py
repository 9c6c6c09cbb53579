"""``pickup-kiosk demo``: the whole kiosk on one machine.

The reference server runs on loopback with the demo data (``kiosk/demo_data/seed.json``), the
camera is synthetic (F-keys show demo codes to it), the GPIO is simulated with gpiozero's mock
pins and drawn in a strip at the bottom of the screen (Ctrl+F-keys open and close the doors'
sensors). Typed digits and letters always go to the keypad. ``--headless`` runs without a
window (SDL's dummy driver); ``--scenario FILE --out DIR`` plays a scenario and exits
(:mod:`kiosk.scenario`).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from kiosk.journal import log_event

logger = logging.getLogger(__name__)

# F-key -> (code, symbology, what it is). Codes of kiosk/demo_data/seed.json.
DEMO_CODES: dict[int, tuple[str, str, str]] = {
    1: ("MEMBER-0000001", "QRCODE", "member 王小明 (2 parcels: A1002 door 2, A1003)"),
    2: ("MEMBER-0000002", "QRCODE", "member 李美華 (A1004 door 5, overdue A1012 door 9)"),
    3: ("MEMBER-0000004", "QRCODE", "member Emily Chen (A1008 door 7)"),
    4: ("STAFF-0001", "CODE128", "staff badge 陳小華 (PIN 2468)"),
    5: ("STAFF-0002", "CODE128", "staff badge 林美玲 (PIN 1357)"),
    6: ("PKG1001", "CODE128", "parcel of A1001 (shipped: arrival)"),
    7: ("PKG1002", "CODE128", "parcel of A1002"),
    8: ("PKG1003", "CODE128", "parcel of A1003"),
    9: ("PKG1005", "CODE128", "parcel of A1005 (shipped: arrival)"),
    10: ("PKG1012", "CODE128", "parcel of A1012 (overdue)"),
    11: ("MEMBER-9999999", "QRCODE", "an unknown member code"),
}
CAMERA_KEY = 12  # F12: unplug / plug the camera


def key_help() -> str:
    lines = ["Demo keys:"]
    for n, (_code, sym, what) in DEMO_CODES.items():
        lines.append(f"  F{n:<3} show a {sym} code to the camera: {what}")
    lines.append(f"  F{CAMERA_KEY:<3} unplug / plug the camera")
    lines.append("  Ctrl+F1..F12  open / close door 1..12 (the door sensor)")
    lines.append("  digits, letters: the keypad / keyboard; Enter = confirm, Esc = back; arrows move the focus")
    return "\n".join(lines)


def _size(text: str | None, default: tuple[int, int] = (800, 480)) -> tuple[int, int]:
    if not text:
        return default
    w, _, h = text.lower().partition("x")
    if not (w.isdigit() and h.isdigit()) or int(w) < 320 or int(h) < 240:
        from kiosk.errors import ConfigError

        raise ConfigError(f"--size must look like 800x480, not {text!r}", key="--size")
    return int(w), int(h)


def main(args: Any) -> int:
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    if getattr(args, "headless", False) or getattr(args, "scenario", None):
        os.environ["SDL_VIDEODRIVER"] = "dummy"
        os.environ["SDL_AUDIODRIVER"] = "dummy"
    if getattr(args, "scenario", None):
        from kiosk.scenario import run_file

        out = args.out or "scenario-out"
        return run_file(args.scenario, out, size=args.size, lang=args.lang)
    return run_demo(args)


def run_demo(args: Any) -> int:
    """The interactive demo (or a headless one that runs until SIGTERM/SIGINT)."""
    from kiosk.assembly import import_pygame

    pygame = import_pygame()

    from kiosk import config as config_mod
    from kiosk.api.client import BackendClient
    from kiosk.app import App, Display
    from kiosk.assembly import build, event_queue, gpio, stopper
    from kiosk.camera.sources import SyntheticSource
    from kiosk.clock import Clock
    from kiosk.config import Config
    from kiosk.journal import setup_logging
    from kiosk.screens.render import Renderer, window_size
    from kiosk.server.harness import DEMO_SEED, ServerThread
    from kiosk.systemd import Systemd, on_sigterm

    config = config_mod.load(args.config) if getattr(args, "config", None) else Config()
    setup_logging(config.logging.level)
    headless = bool(getattr(args, "headless", False))
    mode = getattr(args, "mode", None) or config.kiosk.mode
    size = _size(getattr(args, "size", None), (config.display.width or 800, config.display.height or 480))
    tmp = Path(tempfile.mkdtemp(prefix="kiosk-demo-"))
    systemd = Systemd()
    clock = Clock()
    events = event_queue(window=True)
    closers: list = []
    app: App | None = None
    try:
        server = ServerThread(seed=DEMO_SEED)
        closers.append(server.close)
        server.start()
        kiosk_id, token = server.kiosk_id or "k_1", server.kiosk_token or ""
        config = replace(config, kiosk=replace(config.kiosk, id=kiosk_id, mode=mode, state_dir=str(tmp)))
        simulate = {
            "gpio": config.gpio if config.gpio.led_green is not None else None,
            "locker": config.locker if config.locker.door else None,
        }
        parts = gpio(config, clock, events, simulate=simulate)
        closers.extend(parts.closers)
        config = parts.config
        client = BackendClient(
            server.base_url, token, connect_timeout=2.0, read_timeout=5.0, on_state=events.backend_state
        )
        closers.append(client.close)
        # the simulated GPIO strip goes below the kiosk's screen, which keeps its full size
        surface = _open_window(window_size(size), headless)
        driver = pygame.display.get_driver()
        if driver in ("dummy", "offscreen") and not headless:
            headless = True
            print(
                "pickup-kiosk demo: no display here, running headless (Ctrl+C stops it); to watch a\n"
                "flow play, try: pickup-kiosk demo --headless --scenario scenarios/locker_pickup_one.toml"
                " --out /tmp/demo-run",
                file=sys.stderr,
                flush=True,
            )
        pygame.display.set_caption("pickup-kiosk demo — F1-F11 codes, F12 camera, Ctrl+F1-F12 doors")
        source = SyntheticSource(640, 480)
        renderer = Renderer(font_path=config.display.font)
        display = Display(surface, renderer, window=True, preview=not headless, kiosk_size=size)
        from kiosk.voice import Voice, cache_dir

        # spoken prompts from the clips scripts/setup rendered (the demo's state folder is new)
        voice_dir = config.voice.dir or str(cache_dir())
        voice = Voice.from_config(replace(config, voice=replace(config.voice, dir=voice_dir)))
        closers.append(voice.close)
        app = build(
            parts,
            client,
            display,
            source=source,
            systemd=systemd,
            lang=getattr(args, "lang", None),
            key_hook=lambda events, camera: _keys(events, camera, source, parts.hardware.sim),
            voice=voice,
        )
        stop = stopper(app)
        on_sigterm(systemd, stop)
        signal.signal(signal.SIGINT, lambda *_: stop())
        if not headless:
            print(key_help(), flush=True)
        log_event(logger, "demo_start", mode=mode, size=f"{size[0]}x{size[1]}", headless=headless, video=driver)
        app.start()
        return app.run()
    finally:
        if app is not None:
            app.close()
        for closer in reversed(closers):
            try:
                closer()
            except Exception:
                logger.exception("event=demo_close_failed")
        clock.close()
        systemd.close()
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            import pygame

            pygame.quit()
        except Exception:  # noqa: S110 - best effort at exit
            pass


def _open_window(size: tuple[int, int], headless: bool) -> Any:
    """A window of ``size``; without a display (a server, SSH) SDL's dummy driver instead."""
    import pygame

    try:
        pygame.display.init()
        pygame.font.init()
        return pygame.display.set_mode(size)
    except pygame.error as exc:
        if headless:
            raise
        log_event(logger, "demo_no_display", logging.WARNING, why=str(exc))
        pygame.display.quit()
        os.environ["SDL_VIDEODRIVER"] = "dummy"
        pygame.display.init()
        return pygame.display.set_mode(size)


def _keys(events: Any, camera: Any, source: Any, gpio: Any):
    """The demo's F-keys (codes, camera) and Ctrl+F-keys (doors)."""
    import pygame

    fkeys = {getattr(pygame, f"K_F{n}"): n for n in range(1, 13)}

    def hook(ev: Any) -> bool:
        n = fkeys.get(ev.key)
        if n is None:
            return False
        if ev.mod & pygame.KMOD_CTRL:
            try:
                door = gpio.toggle_door(n)
                log_event(logger, "demo_door_toggled", door=door)
            except Exception as exc:
                log_event(logger, "demo_door_key_ignored", door=n, why=type(exc).__name__)
            events.post(None)
            return True
        if n == CAMERA_KEY:
            if source.plugged:
                source.unplug()
            else:
                source.plug()
            log_event(logger, "demo_camera", plugged=source.plugged)
            return True
        code, symbology, _what = DEMO_CODES[n]
        source.show(code, symbology)
        camera.scanner.wake()
        return True

    return hook


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(None))
