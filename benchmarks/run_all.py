"""All of the kiosk's numbers in one table: ``benchmarks/run`` (issue 7).

    benchmarks/run [--full] [--runs 20] [--idle-seconds 15] [--skip NAME ...]

Reuses the benchmark modules beside it, each also runnable on its own with more detail:
``latency.py`` (scan → ``orders`` drawn; parcel scan and pickup press → relay energised),
``idle_cost.py`` (CPU share of one core and RSS of ``pickup-kiosk demo --headless`` left idle),
``startup.py`` (process start → READY=1 on a real notify socket), ``decode.py`` (``Decoder``
frames per second beside plain pyzbar), ``server_bench.py`` (reference server p50/p99 at 1 and 8
clients). ``--full`` samples idle cost for a whole minute and runs longer decode/server sets.
Exit status 1 when a number misses its goal.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

PARTS = ("latency", "idle", "startup", "decode", "server")


def _ms(seconds: float) -> str:
    return "n/a" if seconds != seconds else f"{seconds * 1000:.0f} ms"


def _check(value: float, goal: float | None, below: bool = True) -> str:
    if goal is None:
        return ""
    if value != value or math.isinf(value):
        return "MISSED"
    return "ok" if (value < goal if below else value >= goal) else "MISSED"


def latency_rows(runs: int) -> list[tuple]:
    import latency

    rows = []
    for name, fn, goal in (
        ("scan -> orders drawn (counter)", latency.scan_to_screen, latency.SCAN_GOAL),
        ("parcel scan -> relay on (locker arrival)", latency.arrival_to_relay, None),
        ("pickup press -> relay on (locker)", latency.press_to_relay, None),
    ):
        values = fn(runs)
        med, p95, _ = latency.summary(values)
        shown = f"median {_ms(med)}, p95 {_ms(p95)} ({len(values)}/{runs} runs)"
        ok = _check(p95, goal) if len(values) == runs else "MISSED"
        rows.append((name, shown, f"< {goal * 1000:.0f} ms" if goal else "-", ok if goal or ok == "MISSED" else ""))
    return rows


def idle_rows(seconds: float) -> list[tuple]:
    import idle_cost

    m = idle_cost.measure(seconds=seconds, settle=3.0)
    return [
        (
            f"idle CPU, demo --headless ({m['wall']:.0f} s)",
            f"{m['cpu']:.1f} % of one core",
            f"< {idle_cost.CPU_GOAL:.0f} %",
            _check(m["cpu"], idle_cost.CPU_GOAL),
        ),
        (
            "idle RSS, demo --headless (peak)",
            f"{m['rss_peak']:.0f} MiB",
            f"< {idle_cost.RSS_GOAL:.0f} MiB",
            _check(m["rss_peak"], idle_cost.RSS_GOAL),
        ),
    ]


def startup_rows(runs: int) -> list[tuple]:
    import startup

    rows = []
    for name, (readies, stops, notes) in startup.startup_times(runs).items():
        med = statistics.median(readies) if readies else float("nan")
        stop = statistics.median(stops) if stops else float("nan")
        shown = f"{med:.2f} s to READY (median of {len(readies)}), SIGTERM->exit {stop:.2f} s"
        if notes:
            shown += " [" + "; ".join(sorted(notes)) + "]"
        rows.append((f"start-up: {name}", shown, "-", "" if readies else "MISSED"))
    return rows


def decode_rows(frames: int, seconds: float) -> list[tuple]:
    import cv2
    import decode

    cv2.setNumThreads(1)
    result = decode.speed(frames, seconds, zxing=False)
    codes, empty = result["QR + Code128"], result["empty"]
    k_codes, z_codes = codes["Decoder.decode"][0], codes["pyzbar.decode"][0]
    k_empty, z_empty = empty["Decoder.decode"][0], empty["pyzbar.decode"][0]
    # the scanner's own pacing of live frames: effort "normal" on one frame in three, else "fast"
    dec, turn = decode.Decoder(), [0]

    def live(frame):
        turn[0] += 1
        return {(d.symbology, d.text) for d in dec.decode(frame, effort="normal" if turn[0] % 3 == 0 else "fast")}

    k_live = decode.timed(live, decode.empty_frames(frames), seconds)[0]
    return [
        (
            "decoder fps, 1280x720 QR + Code128",
            f"{k_codes:.0f} fps (read {codes['Decoder.decode'][2]:.0%})",
            ">= 60",
            _check(k_codes, 60, below=False),
        ),
        ("decoder fps, 1280x720 empty", f"{k_empty:.0f} fps", ">= 300", _check(k_empty, 300, below=False)),
        ("decoder fps, empty, the scanner's live pacing", f"{k_live:.0f} fps", "-", ""),
        ("plain pyzbar fps (codes / empty)", f"{z_codes:.0f} / {z_empty:.0f} fps", "-", ""),
        (
            "decoder vs plain pyzbar (codes / empty)",
            f"{k_codes / z_codes:.1f}x / {k_empty / z_empty:.1f}x",
            ">= 8x",
            _check(min(k_codes / z_codes, k_empty / z_empty), 8, below=False),
        ),
    ]


def server_rows(requests: int) -> list[tuple]:
    import server_bench

    rows = []
    for call, clients, wall, lat, bad in server_bench.measure(requests, (1, 8)):
        p50, p99 = statistics.median(lat), server_bench.pct(lat, 0.99)
        goal = 0.020 if call == "members/lookup" and clients == 8 else None
        shown = f"p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, {len(lat) / wall:.0f} req/s"
        if bad:
            shown += f", {bad} non-200"
        ok = _check(p99, goal) if goal else ("MISSED" if bad else "")
        rows.append(
            (f"server {call}, {clients} client{'s' if clients > 1 else ''}", shown, "p99 < 20 ms" if goal else "-", ok)
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="idle cost over a full minute, longer sets")
    parser.add_argument("--runs", type=int, default=20, help="latency runs per row (default 20)")
    parser.add_argument("--idle-seconds", type=float, help="idle sampling (default 15, 60 with --full)")
    parser.add_argument("--skip", nargs="*", choices=PARTS, default=[], help="parts to leave out")
    args = parser.parse_args(argv)
    idle_seconds = args.idle_seconds or (60.0 if args.full else 15.0)
    parts = {
        "latency": lambda: latency_rows(args.runs),
        "idle": lambda: idle_rows(idle_seconds),
        "startup": lambda: startup_rows(3),
        "decode": lambda: decode_rows(40 if args.full else 20, 3.0 if args.full else 1.5),
        "server": lambda: server_rows(1200 if args.full else 600),
    }
    rows: list[tuple] = []
    began = time.monotonic()
    for name, part in parts.items():
        if name in args.skip:
            continue
        print(f"... {name}", file=sys.stderr, flush=True)
        try:
            rows.extend(part())
        except Exception as exc:  # one broken part still leaves the others' numbers
            rows.append((name, f"failed: {type(exc).__name__}: {exc}", "-", "MISSED"))
    header = ("measure", "value", "goal", "")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(4)]
    print(f"pickup-kiosk numbers (this machine, {time.monotonic() - began:.0f} s to measure)")
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return 1 if any(r[3] == "MISSED" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
