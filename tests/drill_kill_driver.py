"""The kiosk as a process for the kill -9 drill (tests/test_drill_kill.py); not a test module.

    python tests/drill_kill_driver.py BASE_URL TOKEN KIOSK_ID STATE_DIR CSV_PATH CODES

Builds the whole kiosk in locker mode (the app, the outbox in ``STATE_DIR``, a synthetic camera,
simulated GPIO recording ``CSV_PATH``, a simulated clock) against a reference server running in
ANOTHER process, so the server survives when this one is killed. The relay pins start energised
(as a killed run may have left them): the locker bank must release every one at start.

Then it plays the people in front of it, through the kiosk's own screens (codes shown to the
camera, presses, the door sensor), for each ``PKG:MEMBER:NUMBER`` in ``CODES`` (comma separated):
a staff member receives the parcel (arrival, door assigned and loaded), then the member takes it
from its door. Orders already done on the server are skipped, so a restarted run carries on where
the killed one stopped (what the killed run had acknowledged is delivered by the outbox first).

Lines on stdout (flushed at once):
``ACK arrive NUMBER`` after the arrival's outbox write returned (the kiosk's acknowledgement),
``ACK pickup NUMBER`` after the pickup's outbox write returned (the door was opened),
``READY`` once the kiosk is idle, ``DONE`` when every order is received and the outbox is empty.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

from kiosk import scenario as sc
from kiosk.scenario import Step, World

STAFF = ("STAFF-0001", "2468")


class KioskProcess(World):
    """A :class:`kiosk.scenario.World` without its own server: the backend is another process."""

    def __init__(self, base_url: str, token: str, kiosk_id: str, state_dir: Path, csv_path: Path):
        import pygame

        from kiosk.api.client import BackendClient
        from kiosk.api.outbox import Outbox
        from kiosk.app import App, Display
        from kiosk.assembly import Camera, event_queue, gpio
        from kiosk.camera.sources import SyntheticSource
        from kiosk.clock import SimClock
        from kiosk.config import Config, KioskSection
        from kiosk.screens.render import Renderer

        self.scenario = None
        self.out = csv_path.parent
        self._tmp = Path(tempfile.mkdtemp(prefix="kiosk-kill-"))
        self._closers = []
        self.server = None
        self.clock = SimClock()
        self._closers.append(self.clock.close)
        self.events = event_queue(window=False)
        config = Config(kiosk=KioskSection(id=kiosk_id, mode="locker", state_dir=str(state_dir)))
        simulate = {"doors": 12, "csv_path": csv_path, "relays_left_energised": True}
        parts = gpio(config, self.clock, self.events, simulate=simulate)
        self._closers.extend(parts.closers)
        self.gpio = parts.hardware.sim
        self.source = SyntheticSource(640, 480)
        self.client = BackendClient(
            base_url, token, connect_timeout=2.0, read_timeout=3.0, retries=0, on_state=self.events.backend_state
        )
        self._closers.append(self.client.close)
        pygame.font.init()
        self.surface = pygame.Surface((800, 480))
        self.camera = Camera.build(parts.config, self.events.post, self.clock, source=self.source)
        self.app = App(
            parts.config,
            clock=self.clock,
            events=self.events,
            client=self.client,
            outbox=Outbox(state_dir / "outbox.db", self.client, self.clock, on_change=self.events.post),
            hardware=parts.hardware,
            camera=self.camera,
            display=Display(self.surface, Renderer(sc._fonts())),
        )
        self._closers.append(self.app.close)


def main(argv: list[str]) -> int:
    base_url, token, kiosk_id, state_dir, csv_path, codes = argv
    orders = [tuple(item.split(":")) for item in codes.split(",")]
    world = KioskProcess(base_url, token, kiosk_id, Path(state_dir), Path(csv_path))
    n = 0

    def do(action: str, value, symbology: str = "QRCODE") -> None:
        nonlocal n
        n += 1
        try:
            sc._do(world, Step(n, action, value, symbology))
        except sc._StepFailed as exc:
            raise SystemExit(f"step {action} failed: {exc}") from None

    def drain() -> None:
        """Let the outbox deliver what it holds (its backoff runs on the kiosk clock)."""
        for _ in range(200):
            world.settle()
            if world.app.outbox.depth() == 0 and not world.app.outbox.busy():
                return
            world.advance(2.0)
            time.sleep(0.005)
        raise SystemExit("the outbox did not drain")

    statuses: dict[str, str] = {}

    def status(number: str) -> str:
        if not statuses:
            statuses.update(_statuses(base_url, token))
        return statuses.get(number, "missing")

    try:
        world.start()
        print("READY", flush=True)
        drain()  # what a killed run acknowledged goes first
        # arrivals: a staff member scans each parcel in; the kiosk opens a free door for it
        todo = [o for o in orders if status(o[2]) == "shipped"]
        if todo:
            do("scan", STAFF[0])
            do("type", STAFF[1])
            do("press", "confirm")
            do("expect_screen", "staff_menu")
            do("press", "arrival")
            for pkg, _member, number in todo:
                do("scan", pkg, "CODE128")
                do("expect_screen", "arrival_confirm")
                door = world.gpio.bank.last_unlocked
                do("open_door", door)
                do("close_door", door)
                do("press", "confirm")
                print(f"ACK arrive {number}", flush=True)  # enqueue() returned: it is stored
                do("expect_screen", "arrival")
            do("press", "logout")
            do("expect_screen", "idle")
        drain()
        statuses.clear()
        # pickups: each member scans the app's code, takes the parcel from its door
        for _pkg, member, number in orders:
            if status(number) not in ("arrived", "overdue"):
                continue
            do("scan", member)
            do("expect_screen", "orders")
            do("press", f"order:{number}")
            do("expect_door", {"door": "last", "state": "unlocked"})
            do("open_door", "last")
            do("expect_door", {"door": "last", "state": "open"})
            if not world.until(lambda number=number: number in world.app.state.customer.picked):
                raise SystemExit("the pickup was not written")
            print(f"ACK pickup {number}", flush=True)  # the door opened: the pickup is stored
            do("close_door", "last")
            do("expect_screen", "done")
            do("wait", 8)
            do("expect_screen", "idle")
        drain()
        print("DONE", flush=True)
        return 0
    finally:
        world.close()


def _statuses(base_url: str, token: str) -> dict[str, str]:
    """Every order's status, asked the way staff would (a login, then the order list)."""
    from kiosk.api.client import BackendClient

    with BackendClient(base_url, token, retries=2) as client:
        session = client.staff_login(*STAFF)
        found = client.orders("shipped,arrived,overdue,received", session.token)
    return {order.number: order.status for order in found}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
