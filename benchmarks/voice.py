"""Spoken prompts (kiosk/voice.py): render time and size on disk of every clip, the cost of
``Voice.on_view`` per redraw and per screen change, and the CPU an idle open mixer takes.

    SDL_AUDIODRIVER=dummy .venv/bin/python benchmarks/voice.py [--doors 99] [--seconds 10]

Idle CPU is measured in a child process (pygame.mixer open, the welcome played out, then nothing:
an idle kiosk does not refresh its View) against one without the mixer. Under SDL's dummy audio
driver; on a Pi the ALSA driver's thread wakes as often (every 2048 samples) to mix silence.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

IDLE_CHILD = r"""
import resource, sys, time
from kiosk import voice
from kiosk.screens.view import View
folder, with_voice, seconds = sys.argv[1], sys.argv[2] == "1", float(sys.argv[3])
v = voice.Voice(folder, voice.MixerPlayer()).open() if with_voice else None
view = View(screen="idle", mode="locker")
if v is not None:
    v.on_view(view)
    time.sleep(5)  # the welcome has played out
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
c0, t0 = cpu(), time.monotonic()
time.sleep(seconds)  # an idle kiosk does not refresh its View: only the mixer's thread runs
print(100 * (cpu() - c0) / (time.monotonic() - t0))
"""


def idle_cpu(folder: Path, with_voice: bool, seconds: float) -> float:
    env = dict(os.environ, SDL_AUDIODRIVER=os.environ.get("SDL_AUDIODRIVER", "dummy"), PYGAME_HIDE_SUPPORT_PROMPT="1")
    out = subprocess.run(
        [sys.executable, "-c", IDLE_CHILD, str(folder), "1" if with_voice else "0", str(seconds)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=env,
    )
    return float(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--doors", type=int, default=99, help="render door 1..N (default 99)")
    parser.add_argument("--seconds", type=float, default=10.0, help="idle CPU sample length")
    args = parser.parse_args(argv)
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    from kiosk import voice
    from kiosk.screens.view import DoorRow, View

    with tempfile.TemporaryDirectory(prefix="voice-bench-") as tmp:
        folder = Path(tmp)
        first = voice.build(folder, range(1, args.doors + 1))
        again = voice.build(folder, range(1, args.doors + 1))
        four = voice.build(Path(tmp) / "four", range(1, 5))

        v = voice.Voice(folder, voice.MixerPlayer()).open()
        same = View(screen="idle", mode="locker")
        v.on_view(same)
        n = 10000
        t = time.perf_counter()
        for _ in range(n):
            v.on_view(same)
        per_redraw = (time.perf_counter() - t) / n * 1e6
        views = [
            View(screen="door_open", mode="locker", doors=(DoorRow(7), DoorRow(12))),
            View(screen="done", mode="locker"),
        ]
        t = time.perf_counter()
        rounds = 200
        for _ in range(rounds):
            for view in views:
                v.on_view(view)
        per_change = (time.perf_counter() - t) / (rounds * len(views)) * 1e3
        v.close()

        cpu_without = idle_cpu(folder, False, args.seconds)
        cpu_with = idle_cpu(folder, True, args.seconds)

    rows = [
        (f"render all prompts, doors 1..{args.doors}, zh-TW + en", f"{first.rendered} clips in {first.seconds:.1f} s"),
        ("size on disk", f"{first.bytes / 2**20:.1f} MiB"),
        ("render again (idempotent)", f"{again.rendered} clips in {again.seconds * 1000:.0f} ms"),
        ("a 4-door locker", f"{four.rendered} clips in {four.seconds:.1f} s, {four.bytes / 2**20:.1f} MiB"),
        ("on_view, same screen (a redraw)", f"{per_redraw:.1f} us"),
        ("on_view, new screen (join clips + play)", f"{per_change:.2f} ms"),
        (f"idle CPU, no voice ({args.seconds:.0f} s)", f"{cpu_without:.3f} % of one core"),
        (f"idle CPU, mixer open ({args.seconds:.0f} s)", f"{cpu_with:.3f} % of one core"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"spoken prompts (espeak-ng, SDL_AUDIODRIVER={os.environ['SDL_AUDIODRIVER']})")
    for name, value in rows:
        print(f"  {name.ljust(width)}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
