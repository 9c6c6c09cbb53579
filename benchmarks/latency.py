"""Scan-to-screen and scan/press-to-relay latency of the whole kiosk, in real time.

    .venv/bin/python benchmarks/latency.py [--runs 20]

The kiosk as the scenario runner builds it (``kiosk.scenario.World``): the reference server on
loopback (its own thread, a fresh SQLite file), the real API client and worker, the synthetic
camera with the real scanner thread and decoder, simulated GPIO, the app loop. This thread turns
the loop the way ``App.run`` does (``pump``; ``wait(next wake)``) and only looks, after each
turn, for what is being timed. Nothing is woken by hand: the scanner finds the new frame at its
own pace, as it would a camera's.

- scan → ``orders`` drawn: a member code is shown to the camera at ``idle``; until the ``orders``
  screen has been drawn (decode, classification, the look-up over HTTP, the flow, the redraw).
- parcel scan → relay energised (locker, staff arrival): a parcel code shown on ``arrival``;
  until the relay of the door the kiosk chose is energised (the parcel call, the free-door choice).
- pickup press → relay energised (locker): ``order:A1002`` pressed on ``orders``; until the relay
  of door 2 is energised.

Camera frames are 1280x720 (the ``[camera]`` default), not the runner's 640x480.
Goal (issue 7): scan → screen under 0.4 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kiosk import scenario as scenario_mod  # noqa: E402
from kiosk.screens.view import Press, Typed  # noqa: E402

SCAN_GOAL = 0.4
FRAME = (1280, 720)  # camera frames, as [camera] width/height default to
LIMIT = 10.0  # real seconds before a run counts as lost


def _world(mode: str, out: Path) -> scenario_mod.World:
    import kiosk.camera.sources as sources

    text = f'[setup]\nmode = "{mode}"\nseed = "seed_locker.json"\n[[step]]\nwait = 0\n'
    played = scenario_mod.parse(text, ROOT / "scenarios" / "latency.toml")
    real = sources.SyntheticSource
    # frames the size of a real camera's (config default 1280x720), not the runner's 640x480
    sources.SyntheticSource = lambda width, height: real(*FRAME)
    try:
        world = scenario_mod.World(played, out)
    finally:
        sources.SyntheticSource = real
    world.start()
    return world


def _until(world: scenario_mod.World, done: Callable[[], bool]) -> float | None:
    """Turn the loop like ``App.run`` until ``done()``; the real seconds it took (None: lost)."""
    app = world.app
    start = time.perf_counter()
    while True:
        app.pump()
        if done():
            return time.perf_counter() - start
        if time.perf_counter() - start > LIMIT:
            return None
        app.wait(min(app._next_wake(), 0.002))  # a short wait: the relay changes on another thread


def _press(world: scenario_mod.World, button: str) -> None:
    world.settle()
    world.app.post(Press(button))
    world.settle()


def _scan_to_orders(world: scenario_mod.World, code: str) -> float | None:
    world.settle()
    app = world.app
    world.source.show(code)
    return _until(world, lambda: app.drawn_view is not None and app.drawn_view.screen == "orders")


def scan_to_screen(runs: int = 20) -> list[float]:
    """Seconds from a member code shown at ``idle`` to ``orders`` drawn, ``runs`` times (counter)."""
    out = Path(tempfile.mkdtemp(prefix="bench-latency-"))
    world = _world("counter", out)
    times = []
    try:
        for _ in range(runs):
            took = _scan_to_orders(world, "MEMBER-0000001")
            if took is not None:
                times.append(took)
            _press(world, "cancel")
            world.advance(3.0)  # past the scanner's hold-off: the same code is a new scan
    finally:
        world.close()
    return times


def arrival_to_relay(runs: int = 20) -> list[float]:
    """Seconds from a shipped parcel's code shown on ``arrival`` (locker) to its door's relay on."""
    out = Path(tempfile.mkdtemp(prefix="bench-latency-"))
    world = _world("locker", out)
    bank = world.gpio.bank
    times = []
    try:
        world.source.show("STAFF-0001")
        world.settle()
        world.app.post(Typed("2468\n"))
        world.settle()
        _press(world, "arrival")
        for _ in range(runs):
            world.settle()
            world.source.show("PKG1001")
            took = _until(world, lambda: any(bank.relay_on(d) for d in bank.doors))
            if took is not None:
                times.append(took)
            world.settle()
            world.advance(1.0)  # the pulse ends
            _press(world, "cancel")  # nothing is written: the same parcel again next time
            world.advance(25.0)  # the door times out, locked again
    finally:
        world.close()
    return times


def press_to_relay(runs: int = 20) -> list[float]:
    """Seconds from ``order:A1002`` pressed on ``orders`` (locker) to door 2's relay on."""
    out = Path(tempfile.mkdtemp(prefix="bench-latency-"))
    world = _world("locker", out)
    bank = world.gpio.bank
    times = []
    try:
        for _ in range(runs):
            if _scan_to_orders(world, "MEMBER-0000001") is None:
                continue
            world.settle()
            world.app.post(Press("order:A1002"))
            took = _until(world, lambda: bank.relay_on(2))
            if took is not None:
                times.append(took)
            world.settle()
            world.advance(21.0)  # not opened: retry offered
            _press(world, "retry")
            world.advance(21.0)  # still not opened: back to idle, the parcel stays
            world.advance(3.0)
    finally:
        world.close()
    return times


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def summary(values: list[float]) -> tuple[float, float, float]:
    """(median, p95, max) in seconds (nan when nothing was measured)."""
    if not values:
        return float("nan"), float("nan"), float("nan")
    return statistics.median(values), pct(values, 0.95), max(values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args(argv)
    rows = [
        ("scan -> orders drawn", scan_to_screen(args.runs)),
        ("parcel scan -> relay on", arrival_to_relay(args.runs)),
        ("pickup press -> relay on", press_to_relay(args.runs)),
    ]
    print(f"{'what':<26} {'runs':>4} {'median ms':>10} {'p95 ms':>8} {'max ms':>8}")
    for name, values in rows:
        med, p95, top = summary(values)
        print(f"{name:<26} {len(values):>4} {med * 1000:>10.1f} {p95 * 1000:>8.1f} {top * 1000:>8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
