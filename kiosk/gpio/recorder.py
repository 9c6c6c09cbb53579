"""``gpio.csv``: every simulated pin change, and a checker for the locker's safety rules.

Format (docs/design.md, scenario rule 9)::

    time,pin,name,level,active
    0.000,0,relay:1,1,0
    3.250,0,relay:1,0,1

``time`` is kiosk-clock seconds since the recorder started (3 decimals), ``pin`` the BCM number,
``name`` one of ``relay:<door>``, ``sensor:<door>``, ``led:<colour>``, ``buzzer``, ``level`` the
physical level and ``active`` whether that level means the thing is on (relay energised, LED lit,
buzzer sounding, sensor reporting the door open). Rows are written in the order the changes
happen, so a relay's release always comes before the next relay's energise.
"""

from __future__ import annotations

import csv
import io
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from kiosk.clock import Clock

HEADER = ("time", "pin", "name", "level", "active")


@dataclass(frozen=True)
class PinRole:
    """What a pin is: its csv name and the level at which it counts as active."""

    name: str
    active_level: int


@dataclass(frozen=True)
class Row:
    time: float
    pin: int
    name: str
    level: int
    active: int


def pin_roles(gpio, locker) -> dict[int, PinRole]:
    """Name every configured pin (``[gpio]`` and ``[[locker.door]]``) as gpio.csv names it."""
    roles: dict[int, PinRole] = {}
    led_level = 1 if gpio.led_active_high else 0
    if gpio.rgb_led:
        for channel, pin in zip(("red", "green", "blue"), gpio.rgb_led, strict=False):
            roles[pin] = PinRole(f"led:{channel}", led_level)
    else:
        for colour in ("green", "amber", "red"):
            pin = getattr(gpio, f"led_{colour}")
            if pin is not None:
                roles[pin] = PinRole(f"led:{colour}", led_level)
    if gpio.buzzer is not None:
        roles[gpio.buzzer] = PinRole("buzzer", 1 if gpio.buzzer_active_high else 0)
    for door in locker.door:
        if door.relay_pin is not None:
            roles[door.relay_pin] = PinRole(f"relay:{door.number}", 1 if door.active_high else 0)
        if door.sensor_pin is not None and not door.sensorless:
            # pull-up and a reed switch to ground: the open door lets the pin float high
            roles[door.sensor_pin] = PinRole(f"sensor:{door.number}", 1 if door.sensor_pull_up else 0)
    return roles


class GpioRecorder:
    """Writes one csv row per pin change; hook :meth:`on_change` into a ClockedMockFactory."""

    def __init__(self, path: str | os.PathLike | None, clock: Clock, roles: dict[int, PinRole] | None = None):
        self.clock = clock
        self.epoch = clock.monotonic()
        self.roles: dict[int, PinRole] = dict(roles or {})
        self.rows: list[Row] = []
        self._lock = threading.Lock()
        self._file: io.TextIOBase | None = None
        self.path = Path(path) if path is not None else None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed in close()
            self._writer = csv.writer(self._file, lineterminator="\n")
            self._writer.writerow(HEADER)
            self._file.flush()

    def name(self, pin: int, name: str, active_level: int) -> None:
        self.roles[pin] = PinRole(name, 1 if active_level else 0)

    def on_change(self, pin, level: int, t: float) -> None:
        bcm = pin.bcm if hasattr(pin, "bcm") else int(pin)
        role = self.roles.get(bcm, PinRole(f"gpio:{bcm}", 1))
        row = Row(round(t - self.epoch, 6), bcm, role.name, level, int(level == role.active_level))
        with self._lock:
            self.rows.append(row)
            if self._file is not None and not self._file.closed:
                self._writer.writerow((f"{row.time:.3f}", row.pin, row.name, row.level, row.active))
                self._file.flush()

    def close(self) -> None:
        with self._lock:
            if self._file is not None and not self._file.closed:
                self._file.close()


def read_gpio_csv(path: str | os.PathLike) -> list[Row]:
    """Read a ``gpio.csv``; raises ValueError naming the line for anything malformed."""
    rows = []
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if tuple(header or ()) != HEADER:
            raise ValueError(f"{path}: header must be {','.join(HEADER)}, not {header!r}")
        for lineno, rec in enumerate(reader, start=2):
            if len(rec) != len(HEADER):
                raise ValueError(f"{path}:{lineno}: expected {len(HEADER)} fields, got {len(rec)}")
            try:
                row = Row(float(rec[0]), int(rec[1]), rec[2], int(rec[3]), int(rec[4]))
            except ValueError as exc:
                raise ValueError(f"{path}:{lineno}: {exc}") from None
            if row.level not in (0, 1) or row.active not in (0, 1):
                raise ValueError(f"{path}:{lineno}: level and active must be 0 or 1")
            rows.append(row)
    return rows


def relay_pulses(rows: list[Row]) -> list[tuple[str, float, float | None]]:
    """``(name, energised_at, released_at or None)`` for every relay pulse, in order."""
    started: dict[str, float] = {}
    pulses: list[tuple[str, float, float | None]] = []
    for row in rows:
        if not row.name.startswith("relay:"):
            continue
        if row.active and row.name not in started:
            started[row.name] = row.time
        elif not row.active and row.name in started:
            pulses.append((row.name, started.pop(row.name), row.time))
    pulses += [(name, t, None) for name, t in started.items()]
    return sorted(pulses, key=lambda p: p[1])


def check_gpio_csv(path: str | os.PathLike, pulse: float = 0.5, *, slack: float = 0.0015) -> list[str]:
    """Check a ``gpio.csv`` against the locker rules; return the problems (empty: all held).

    * the header and every row are well formed, times never go back;
    * every relay pulse lasts at most ``pulse`` seconds (plus ``slack`` for the 3-decimal times);
    * never two relays energised at once (a release row comes before the next energise row);
    * no relay is left energised at the end of the file.
    """
    try:
        rows = read_gpio_csv(path)
    except (OSError, ValueError) as exc:
        return [str(exc)]
    problems: list[str] = []
    last = None
    energised: dict[str, float] = {}
    for i, row in enumerate(rows, start=2):
        if last is not None and row.time < last:
            problems.append(f"line {i}: time {row.time:.3f} goes back from {last:.3f}")
        last = row.time
        if not row.name.startswith("relay:"):
            continue
        if row.active:
            if row.name in energised:
                continue  # no change of the active state
            others = sorted(energised)
            if others:
                problems.append(
                    f"line {i}: {row.name} energised at {row.time:.3f} while {', '.join(others)} still energised"
                )
            energised[row.name] = row.time
        elif row.name in energised:
            start = energised.pop(row.name)
            length = row.time - start
            if length > pulse + slack:
                problems.append(
                    f"line {i}: {row.name} pulse {length:.3f} s from {start:.3f} is longer than {pulse:.3f} s"
                )
    for name, start in sorted(energised.items()):
        problems.append(f"{name} left energised since {start:.3f}")
    return problems
