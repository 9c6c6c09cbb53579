"""``pickup-kiosk selftest [--config FILE] [--doors]``: is this kiosk ready to serve?

For a technician after installing, or an admin after a change. Checks, in order:

* config   the file loads (else: the file, key and reason, exit 2)
* font     a CJK font (``display.font`` or fontconfig's) renders Traditional Chinese
* camera   a frame arrives from ``camera.source`` within a few seconds
* decoder  the kiosk's decoder reads codes generated here (a QR, a Code128)
* gpio     every configured pin can be claimed with ``gpio.pin_factory`` (relays stay off)
* backend  ``GET /health`` answers and ``GET /settings`` accepts the kiosk token
* outbox   ``kiosk.state_dir`` holds a writable SQLite file (checked as the folder's owner)
* doors    with ``--doors``: every door's relay pulses once, one after another

It prints one row per check and exits 0 only when every check passed. The service must be
stopped first (``systemctl stop pickup-kiosk``): the camera and the pins cannot be held twice.
Run it as root (sudo): it reads the token from the credential file the unit loads,
/etc/pickup-kiosk/kiosk-token, when neither ``$CREDENTIALS_DIRECTORY`` nor ``backend.token_file``
provides one, and checks the outbox folder as the user that owns it.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from kiosk import __version__
from kiosk import config as cfg
from kiosk.errors import ConfigError, KioskError
from kiosk.journal import log_event

logger = logging.getLogger(__name__)

CREDENTIAL_FILE = "/etc/pickup-kiosk/kiosk-token"  # LoadCredential= source in pickup-kiosk.service
OUTBOX_FILE = "outbox.db"  # kiosk.app.main_run: state_dir / "outbox.db"
CAMERA_TIMEOUT = 5.0
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".pgm", ".ppm")
CJK_SAMPLE = "取件櫃門請掃描會員條碼"


@dataclass
class Result:
    """One row of the table: ``ok`` True (passed), False (failed) or None (skipped)."""

    name: str
    ok: bool | None
    detail: str = ""

    @property
    def word(self) -> str:
        return {True: "ok", False: "FAIL", None: "skip"}[self.ok]


def _check(name: str, fn: Callable[[], str | tuple[bool | None, str]]) -> Result:
    """Run one check: a returned string is a pass with that detail; an exception a failure."""
    try:
        out = fn()
    except (KioskError, OSError, ValueError, RuntimeError, ImportError, sqlite3.Error) as exc:
        return Result(name, False, _one_line(str(exc)) or type(exc).__name__)
    if isinstance(out, tuple):
        return Result(name, out[0], _one_line(out[1]))
    return Result(name, True, _one_line(out))


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


# -- font -----------------------------------------------------------------------------------------


def check_font(config: cfg.Config) -> str:
    from kiosk.screens.fonts import find_font_files

    files = find_font_files(config.display.font)
    face = files.regular
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame.freetype

    pygame.freetype.init()
    font = pygame.freetype.Font(face.path, 32, font_index=face.index)
    metrics = font.get_metrics(CJK_SAMPLE)
    missing = [ch for ch, m in zip(CJK_SAMPLE, metrics, strict=True) if m is None]
    if missing:
        raise RuntimeError(f"{face.path} has no glyph for {''.join(missing)}")
    surface, _rect = font.render(CJK_SAMPLE, (0, 0, 0), (255, 255, 255))
    if surface.get_width() <= 0:
        raise RuntimeError(f"{face.path} renders nothing")
    return face.path + (f" (face {face.index})" if face.index else "")


# -- camera ---------------------------------------------------------------------------------------


def _frame_from_capture(target: Any, camera: cfg.CameraSection, timeout: float) -> Any:
    import cv2

    cap = cv2.VideoCapture(target)
    try:
        if not cap.isOpened():
            raise RuntimeError(f"camera {camera.source!r} cannot be opened (busy, absent or no permission)")
        if isinstance(target, int) or str(target).startswith("/dev/"):
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, camera.width)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, camera.height)
            cap.set(cv2.CAP_PROP_FPS, camera.fps)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ok, frame = cap.read()
            if ok and frame is not None and frame.size:
                return frame
            time.sleep(0.05)
        raise RuntimeError(f"camera {camera.source!r}: no frame within {timeout:g} s")
    finally:
        cap.release()


def read_one_frame(camera: cfg.CameraSection, timeout: float = CAMERA_TIMEOUT) -> Any:
    """One frame from the configured source, opened the way the kiosk opens it (None: no camera)."""
    source = camera.source.strip()
    if source in ("none", ""):
        return None
    if source == "synthetic":
        import numpy as np

        return np.full((camera.height, camera.width, 3), 200, dtype=np.uint8)
    try:
        from kiosk.camera.sources import open_source
    except ImportError:  # an older tree without the camera package's sources
        return _read_one_frame_cv(camera, timeout)
    src = open_source(camera)
    if src is None:
        return None
    with src:
        deadline = time.monotonic() + timeout
        while True:
            frame = src.read()
            if frame is not None and getattr(frame, "size", 0):
                return frame
            if time.monotonic() >= deadline:
                raise RuntimeError(f"camera {source!r}: no frame within {timeout:g} s")
            time.sleep(0.05)


def _read_one_frame_cv(camera: cfg.CameraSection, timeout: float) -> Any:
    source = camera.source.strip()
    if source == "picamera2":
        from picamera2 import Picamera2  # optional; only on a Pi

        cam = Picamera2()
        try:
            cam.configure(cam.create_still_configuration(main={"size": (camera.width, camera.height)}))
            cam.start()
            return cam.capture_array()
        finally:
            cam.close()
    if source.isdigit():
        return _frame_from_capture(int(source), camera, timeout)
    if "://" in source or source.startswith("/dev/"):
        return _frame_from_capture(source, camera, timeout)
    path = Path(source).expanduser()
    if path.is_dir():
        images = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not images:
            raise RuntimeError(f"camera folder {path} holds no image")
        path = images[0]
    if not path.exists():
        raise RuntimeError(f"camera source {path} does not exist")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        import cv2

        frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if frame is None:
            raise RuntimeError(f"camera image {path} cannot be read")
        return frame
    return _frame_from_capture(str(path), camera, timeout)


def check_camera(config: cfg.Config, timeout: float = CAMERA_TIMEOUT) -> str | tuple[bool | None, str]:
    frame = read_one_frame(config.camera, timeout)
    if frame is None:
        return None, "camera.source = none (USB scanner only)"
    height, width = frame.shape[:2]
    return f"{width}x{height} frame from {config.camera.source}"


# -- decoder --------------------------------------------------------------------------------------


def check_decoder(config: cfg.Config) -> str:
    from kiosk.camera.decoder import Decoder
    from kiosk.camera.synth import camera_frame

    decoder = Decoder(engine=config.scanner.engine, symbologies=config.scanner.symbologies)
    wanted = [s for s in ("QRCODE", "CODE128") if s in config.scanner.symbologies]
    if not wanted:
        wanted = [config.scanner.symbologies[0]]
    read = []
    for symbology in wanted:
        text = "SELFTEST-" + secrets.token_hex(4).upper()
        if symbology in ("EAN13", "EAN8", "UPCA", "UPCE", "I25"):
            text = "".join(str(secrets.randbelow(10)) for _ in range(12))
        # the code as the camera would show it: a 1280x720 frame, slightly turned, with noise
        frame = camera_frame(text, symbology, size=(1280, 720))
        found = [d.text for d in decoder.decode(frame)]
        if not any(t == text or t.startswith(text) for t in found):
            raise RuntimeError(f"{symbology} generated here was not read (got {len(found)} codes)")
        read.append(symbology)
    return f"read {', '.join(read)} in generated camera frames (engine {config.scanner.engine})"


# -- gpio -----------------------------------------------------------------------------------------


def check_gpio(config: cfg.Config, pin_factory: Any = None) -> str:
    from kiosk.gpio.selftest import check_pins, describe_pins

    pins = describe_pins(config)
    if not pins:
        return "no pins configured"
    problems = check_pins(config, pin_factory=pin_factory)
    if problems:
        raise RuntimeError("; ".join(problems))
    factory = config.gpio.pin_factory or "default"
    return f"{len(pins)} pins claimed and released ({factory} pin factory)"


def pulse_doors(config: cfg.Config, pin_factory: Any = None, out: TextIO | None = None) -> Result:
    """``--doors``: every door's relay once, one after another; the technician watches the bank."""
    from kiosk.clock import Clock
    from kiosk.gpio.lockers import LockerBank
    from kiosk.gpio.pins import make_pin_factory
    from kiosk.gpio.selftest import pulse_all_doors

    if not config.locker.door:
        return Result("doors", None, "no [[locker.door]] configured")
    clock = Clock()
    try:
        factory = pin_factory or make_pin_factory(config.gpio.pin_factory, clock)
        bank = LockerBank(config.locker, clock=clock, pin_factory=factory)
    except KioskError as exc:
        return Result("doors", False, _one_line(str(exc)))
    try:
        if out is not None:
            print(f"pulsing {len(config.locker.door)} doors, one after another ...", file=out, flush=True)
        pulsed = pulse_all_doors(bank)
    except KioskError as exc:
        return Result("doors", False, _one_line(str(exc)))
    finally:
        bank.close()
        clock.close()
    return Result("doors", True, "pulsed " + ", ".join(str(n) for n in pulsed) + " (check each door opened)")


# -- backend --------------------------------------------------------------------------------------


def read_token(config: cfg.Config, environ: Mapping[str, str] | None = None) -> str:
    """As the service reads it; outside systemd also from the credential's source file."""
    try:
        return cfg.read_token(config, environ)
    except ConfigError:
        path = Path(CREDENTIAL_FILE)
        try:
            token = path.read_text(encoding="utf-8").strip()
        except OSError:
            raise ConfigError(
                f"no kiosk token: set backend.token_file or run as root to read {CREDENTIAL_FILE}",
                path=config.path,
                key="backend.token_file",
            ) from None
        if not token:
            raise ConfigError(f"{CREDENTIAL_FILE} is empty", path=config.path, key="backend.token_file") from None
        return token


def check_backend(config: cfg.Config, environ: Mapping[str, str] | None = None) -> str:
    from kiosk.api.client import BackendClient
    from kiosk.errors import Rejected

    if not config.backend.url:
        raise ConfigError("the backend's URL is not set", path=config.path, key="backend.url")
    token = read_token(config, environ)
    with BackendClient(
        config.backend.url,
        token,
        ca_bundle=config.backend.ca_bundle or None,
        connect_timeout=config.backend.connect_timeout,
        read_timeout=config.backend.read_timeout,
        retries=0,
    ) as client:
        health = client.health()
        try:
            client.settings()
        except Rejected as exc:
            if exc.status == 401:
                raise RuntimeError(
                    f"{client.base_url} is up (version {health.version}) but refuses the token"
                ) from None
            raise
    return f"{client.base_url} version {health.version}, token accepted"


# -- outbox ---------------------------------------------------------------------------------------

_PROBE = """
import os, sqlite3, sys
path = sys.argv[1]
db = sqlite3.connect(path, timeout=5)
try:
    db.execute("CREATE TABLE probe (x INTEGER)")
    db.execute("INSERT INTO probe VALUES (1)")
    db.commit()
finally:
    db.close()
    for suffix in ("", "-journal", "-wal", "-shm"):
        try:
            os.unlink(path + suffix)
        except FileNotFoundError:
            pass
"""


def check_outbox(config: cfg.Config) -> str:
    """A SQLite file can be created, written and removed in ``state_dir``, by the folder's owner.

    The kiosk's own outbox file is left alone (the kiosk may have events queued in it); as root
    the probe runs as the folder's owner, so no root-owned file is left for the service to trip on.
    """
    folder = Path(config.kiosk.state_dir).expanduser()
    if not folder.is_dir():
        raise RuntimeError(
            f"kiosk.state_dir {folder} does not exist (StateDirectory= creates it when the service starts)"
        )
    probe = folder / f".selftest-{os.getpid()}-{secrets.token_hex(3)}.sqlite"
    st = folder.stat()
    kwargs: dict[str, Any] = {}
    as_owner = os.geteuid() == 0 and st.st_uid != 0
    if as_owner:
        kwargs = {"user": st.st_uid, "group": st.st_gid, "extra_groups": []}
    try:
        result = subprocess.run(
            [sys.executable, "-c", _PROBE, str(probe)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            **kwargs,
        )
    except OSError as exc:
        raise RuntimeError(f"{folder}: cannot run the check as uid {st.st_uid} ({exc.strerror})") from None
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["probe failed"])[-1]
        raise RuntimeError(f"{folder} is not writable for SQLite: {reason}")
    outbox = folder / OUTBOX_FILE
    state = f"{outbox.name} present" if outbox.exists() else f"{outbox.name} not created yet"
    who = f" (as uid {st.st_uid})" if as_owner else ""
    return f"{folder} writable{who}; {state}"


# -- the command ----------------------------------------------------------------------------------


def run_checks(
    config: cfg.Config,
    *,
    pin_factory: Any = None,
    environ: Mapping[str, str] | None = None,
    camera_timeout: float = CAMERA_TIMEOUT,
) -> list[Result]:
    """Every check but ``--doors``, in order; never raises."""
    results = [
        _check("font", lambda: check_font(config)),
        _check("camera", lambda: check_camera(config, camera_timeout)),
        _check("decoder", lambda: check_decoder(config)),
        _check("gpio", lambda: check_gpio(config, pin_factory)),
        _check("backend", lambda: check_backend(config, environ)),
        _check("outbox", lambda: check_outbox(config)),
    ]
    for r in results:
        level = logging.INFO if r.ok is not False else logging.WARNING
        log_event(logger, "selftest", level, check=r.name, result=r.word)
    return results


def format_table(results: list[Result]) -> str:
    width = max(len(r.name) for r in results)
    lines = [f"{'check':<{width}}  result  detail"]
    lines += [f"{r.name:<{width}}  {r.word:<6}  {r.detail}".rstrip() for r in results]
    return "\n".join(lines)


def main(args: argparse.Namespace, *, pin_factory: Any = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    path = getattr(args, "config", None) or "/etc/pickup-kiosk/kiosk.toml"
    print(f"pickup-kiosk {__version__} selftest", file=out)
    try:
        config = cfg.load(path)
    except ConfigError as exc:
        print(format_table([Result("config", False, str(exc))]), file=out)
        return 2
    doors = len(config.locker.door)
    results = [Result("config", True, f"{path} ({config.kiosk.mode}, kiosk {config.kiosk.id}, {doors} doors)")]
    results += run_checks(config, pin_factory=pin_factory)
    if getattr(args, "doors", False):
        gpio_ok = next(r.ok for r in results if r.name == "gpio")
        if gpio_ok is False:
            results.append(Result("doors", None, "skipped: the pins cannot be claimed"))
        else:
            results.append(pulse_doors(config, pin_factory, out))
    print(format_table(results), file=out)
    failed = [r.name for r in results if r.ok is False]
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=out)
        return 1
    print("all checks passed", file=out)
    return 0
