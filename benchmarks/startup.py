"""Time from process start to READY=1, and from SIGTERM to exit, through a real NOTIFY_SOCKET.

    .venv/bin/python benchmarks/startup.py [--runs 3]

Measures ``pickup-kiosk demo --headless`` (everything on one machine) and ``pickup-kiosk run``
with SDL's dummy display, mock pins, the synthetic camera and the reference server on loopback,
the way systemd would see them (``Type=notify``: ``systemctl start`` returns at READY=1). Prints a
table; a command that never gets READY (e.g. an older tree without the headless demo) shows n/a.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kiosk.server.harness import DEMO_SEED, ServerThread  # noqa: E402

READY_LIMIT = 60.0


def measure(cmd: list[str], workdir: Path) -> tuple[float | None, float | None, str]:
    """(seconds to READY=1, seconds from SIGTERM to exit, note)."""
    path = workdir / f"notify-{time.monotonic_ns()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(0.5)
    env = dict(os.environ, PYTHONPATH=str(ROOT), NOTIFY_SOCKET=str(path), WATCHDOG_USEC="30000000")
    env.update(SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy", PYGAME_HIDE_SUPPORT_PROMPT="1")
    started = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    ready = stop = None
    note = ""
    try:
        while time.monotonic() - started < READY_LIMIT:
            try:
                msg = sock.recv(4096).decode()
            except TimeoutError:
                if proc.poll() is not None:
                    note = f"exited {proc.returncode} before READY"
                    break
                continue
            if msg.startswith("READY=1"):
                ready = time.monotonic() - started
                break
        else:
            note = "no READY within limit"
        if ready is not None:
            term = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
            stop = time.monotonic() - term
            if proc.returncode != 0:
                note = f"exit {proc.returncode} after SIGTERM"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
        sock.close()
        path.unlink(missing_ok=True)
    return ready, stop, note


def run_config(workdir: Path, server: ServerThread) -> Path:
    (workdir / "token").write_text(server.kiosk_token + "\n")
    config = workdir / "kiosk.toml"
    config.write_text(
        f"""
[kiosk]
id = "{server.kiosk_id}"
mode = "locker"
state_dir = "{workdir / "state"}"
[backend]
url = "{server.base_url}"
token_file = "{workdir / "token"}"
[camera]
source = "synthetic"
[gpio]
pin_factory = "mock"
led_green = 17
led_amber = 27
led_red = 22
buzzer = 18
[[locker.door]]
number = 1
relay_pin = 23
sensor_pin = 24
[[locker.door]]
number = 2
relay_pin = 25
sensor_pin = 8
[display]
fullscreen = false
width = 800
height = 480
"""
    )
    return config


def fmt(values: list[float]) -> str:
    if not values:
        return "n/a"
    return f"{min(values):6.2f} {statistics.median(values):6.2f} {max(values):6.2f}"


def startup_times(runs: int = 3, which: tuple[str, ...] = ("demo", "run")) -> dict[str, tuple[list, list, set]]:
    """``{command label: (seconds to READY=1 per run, SIGTERM-to-exit seconds, notes)}``."""
    py = sys.executable
    results: dict[str, tuple[list, list, set]] = {}
    with tempfile.TemporaryDirectory(prefix="kiosk-startup-") as tmp, ServerThread(seed=DEMO_SEED) as server:
        workdir = Path(tmp)
        config = run_config(workdir, server)
        commands = {
            "demo --headless": [py, "-m", "kiosk", "demo", "--headless"],
            "run (dummy display, mock pins)": [py, "-m", "kiosk", "run", "--config", str(config)],
        }
        for name, cmd in commands.items():
            if name.split()[0] not in which:
                continue
            readies, stops, notes = [], [], set()
            for _ in range(runs):
                ready, stop, note = measure(cmd, workdir)
                if ready is not None:
                    readies.append(ready)
                if stop is not None:
                    stops.append(stop)
                if note:
                    notes.add(note)
            results[name] = (readies, stops, notes)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"{'command':<32} {'to READY=1 s (min med max)':<28} {'SIGTERM to exit s':<22} note")
    for name, (readies, stops, notes) in startup_times(args.runs).items():
        print(f"{name:<32} {fmt(readies):<28} {fmt(stops):<22} {'; '.join(sorted(notes))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
