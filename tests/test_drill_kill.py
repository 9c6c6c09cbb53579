"""Drill (issue 7): kill -9 at random moments during a run of arrivals and pickups, then restart.

The kiosk runs as a real process (``tests/drill_kill_driver.py``: the app, its outbox in a state
directory, simulated GPIO recording one gpio.csv per run) against the reference server in THIS
process, which survives every kill. The test SIGKILLs the kiosk at random moments several times,
restarts it on the same state directory, and lets the last run finish. Then, on the server:
every event the kiosk acknowledged (an ``ACK`` line: the outbox write returned) was applied,
none twice, every order received exactly once; and in every run's gpio.csv every relay was
forced off at start (the pins start energised, as a killed run may leave them) and no pulse was
longer than configured; the last run ends with every relay released.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from kiosk.gpio.recorder import check_gpio_csv, read_gpio_csv, relay_pulses
from kiosk.server.harness import ServerThread

ROOT = Path(__file__).resolve().parent.parent
DRIVER = Path(__file__).resolve().parent / "drill_kill_driver.py"
N = 6
PULSE = 0.5
KILLS = 5


def _seed() -> dict:
    return {
        "settings": {"overdue_days": 7, "commission_enabled": True},
        "kiosks": [{"id": "k_1", "token": "kill-kiosk-token"}],
        "staff": [{"id": "s_1", "name": "陳小華", "badge_code": "STAFF-0001", "pin": "2468"}],
        "members": [
            {"id": f"m_{i}", "name": f"會員{i}", "phone": f"09120000{i:02d}", "email": f"m{i}@example.com",
             "member_code": f"MEMBER-00000{i:02d}"}
            for i in range(1, N + 1)
        ],
        "orders": [
            {"id": f"o_{i}", "number": f"K{i:03d}", "member_id": f"m_{i}", "package_code": f"PKGK{i:03d}",
             "items_summary": "box", "status": "shipped"}
            for i in range(1, N + 1)
        ],
    }  # fmt: skip


class Run:
    """One kiosk process; its stdout lines are collected by a thread, stderr goes to a file."""

    def __init__(self, server: ServerThread, state: Path, csv: Path, codes: str):
        env = dict(os.environ, PYTHONPATH=str(ROOT), SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
        cmd = [sys.executable, str(DRIVER), server.base_url, "kill-kiosk-token", "k_1", str(state), str(csv), codes]
        self.err_path = csv.with_suffix(".err")
        with open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, env=env)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        with self.proc.stdout:
            for line in self.proc.stdout:
                self.lines.append(line.strip())

    @property
    def err(self) -> str:
        return self.err_path.read_text(encoding="utf-8", errors="replace")[-3000:]

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self._reader.join(5)

    def wait(self, timeout: float) -> int:
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        self._reader.join(5)
        return self.proc.returncode

    def acks(self) -> list[tuple[str, str]]:
        return [tuple(line.split()[1:3]) for line in self.lines if line.startswith("ACK ")]


def test_kill_9_at_random_moments_loses_nothing_applies_nothing_twice(tmp_path):
    rng = random.Random(int(os.environ.get("DRILL_KILL_SEED", "7")))
    codes = ",".join(f"PKGK{i:03d}:MEMBER-00000{i:02d}:K{i:03d}" for i in range(1, N + 1))
    state = tmp_path / "state"
    state.mkdir()
    acked: list[tuple[str, str]] = []
    csvs: list[Path] = []
    with ServerThread(seed=_seed()) as server:
        for k in range(KILLS):
            csv = tmp_path / f"gpio-{k}.csv"
            csvs.append(csv)
            run = Run(server, state, csv, codes)
            deadline = time.monotonic() + 20
            while "READY" not in run.lines and run.proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            assert "READY" in run.lines, run.wait(5) or run.err
            time.sleep(rng.uniform(0.05, 1.5))  # a random moment of the run
            if run.proc.poll() is None:
                run.kill()
            acked += run.acks()
        csv = tmp_path / "gpio-last.csv"
        csvs.append(csv)
        last = Run(server, state, csv, codes)
        rc = last.wait(60)
        assert rc == 0, last.err
        assert last.lines[-1] == "DONE"
        acked += last.acks()
        # on the server: each order arrived once, picked up once; every acknowledged event is there
        for i in range(1, N + 1):
            number = f"K{i:03d}"
            order = server.order_by_number(number)
            assert order["status"] == "received", number
            assert order["received_by"] == "s_1"
            assert order["locker_door"] is not None
            assert server.count_events("arrive", number) == 1, number
            assert server.count_events("pickup", number) == 1, number
        for kind, number in acked:
            assert server.count_events(kind, number) == 1, (kind, number)
        assert server.count_events("arrive") == N
        assert server.count_events("pickup") == N
        doors = [server.order_by_number(f"K{i:03d}")["locker_door"] for i in range(1, N + 1)]
        assert len(set(doors)) == N  # one order per door
    assert {kind for kind, _ in acked} == {"arrive", "pickup"}
    # the gpio record of every run: every relay forced off at start, no pulse beyond the configured one
    for path in csvs:
        rows = read_gpio_csv(path)
        start = {r.name for r in rows if r.name.startswith("relay:") and r.time == 0.0 and not r.active}
        assert start == {f"relay:{d}" for d in range(1, 13)}, path.name
        for name, began, ended in relay_pulses(rows):
            if ended is not None:
                assert ended - began <= PULSE + 0.0015, (path.name, name)
    assert check_gpio_csv(csvs[-1]) == []  # the clean run leaves nothing energised
