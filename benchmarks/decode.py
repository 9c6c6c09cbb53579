"""Decode benchmark: ``Decoder.decode`` beside plain pyzbar (and plain zxing-cpp) on the same frames.

    .venv/bin/python benchmarks/decode.py [--frames 40] [--per-case 20] [--seconds 3]

Part 1, speed on 1280x720 BGR frames: frames with a QR and a Code128 in view (placed,
perspective, noise like a camera frame) and empty frames (a counter, objects, some with printed
text). Goals on the 2-core dev machine: >= 60 fps with codes, >= 300 fps empty, >= 8x plain
pyzbar.

Part 2 (``--eval`` runs only this), decode rate on the generated evaluation sets: the live-frame
hard cases (``decode_sets.evaluation_set``) and the real-photo-like stills
(``decode_sets.photo_set``: 3-12 MP phone photos, curved, crumpled, blurred, dim, glare, steep,
ITF-14, long Code39, far QR, coloured print, screens, JPEG 30-60), one by one, for the kiosk
decoder at its default effort (``normal``), at still-image effort (``full``, what
``pickup-kiosk decode`` uses), and plain pyzbar / zxing-cpp; with the wrong reads per engine and
the codes a plain engine read that the kiosk missed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import decode_sets

from kiosk.camera import synth
from kiosk.camera.decoder import Decoder

try:
    import zxingcpp
except ImportError:  # pragma: no cover
    zxingcpp = None
from pyzbar import pyzbar


def code_frames(n: int, seed: int = 11) -> list[tuple[np.ndarray, set]]:
    out = []
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        codes = [
            ("QRCODE", decode_sets.random_text("QRCODE", rng)),
            ("CODE128", decode_sets.random_text("CODE128", rng)),
        ]
        frame = synth.background(1280, 720, rng, busy=i % 3 == 0)
        for (sym, text), cx in zip(codes, (0.25, 0.68), strict=True):
            module = 4 if sym == "QRCODE" else 2
            code = synth.render_code(text, sym, module=module)
            p = synth.Placement(
                center=(cx + rng.uniform(-0.05, 0.05), rng.uniform(0.4, 0.6)),
                scale=rng.uniform(0.9, 1.2),
                angle=rng.uniform(-10, 10),
                perspective=0.04,
                paper=int(rng.uniform(215, 245)),
                ink=int(rng.uniform(15, 45)),
            )
            frame = synth.place(frame, code, p, rng)
        out.append((synth.finish(frame, rng, noise=2.0, blur=0.5), set(codes)))
    return out


def empty_frames(n: int, seed: int = 12) -> list[tuple[np.ndarray, set]]:
    out = []
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        out.append((synth.finish(synth.background(1280, 720, rng, busy=i % 2 == 0), rng, noise=2.0), set()))
    return out


def plain_pyzbar(frame: np.ndarray) -> set:
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    return {(d.type, d.data.decode("utf-8", "replace")) for d in pyzbar.decode(gray)}


def plain_zxing(frame: np.ndarray) -> set:
    names = {"QRCode": "QRCODE", "Code128": "CODE128", "Code39": "CODE39", "EAN13": "EAN13", "ITF": "I25"}
    return {(names.get(b.format.name, b.format.name), b.text) for b in zxingcpp.read_barcodes(frame)}


def timed(fn, frames, seconds: float) -> tuple[float, float, float]:
    """(frames per second wall, per CPU second, share of expected codes read) over >= ``seconds``."""
    hits = total = 0
    for frame, expected in frames:  # one pass for the rate (and to warm up)
        got = fn(frame)
        hits += len(expected & got)
        total += len(expected)
    n = 0
    start, cpu = time.perf_counter(), time.process_time()
    while True:
        for frame, _ in frames:
            fn(frame)
            n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            used = max(1e-9, time.process_time() - cpu)
            return n / elapsed, n / used, (hits / total if total else float("nan"))


def speed(n: int, seconds: float, zxing: bool = True) -> dict[str, dict[str, tuple[float, float, float]]]:
    """``{frame set: {engine: (fps, CPU fps, share of codes read)}}`` for the kiosk decoder and
    plain pyzbar (and plain zxing-cpp) on the same frames."""
    dec = Decoder()
    sets = {"QR + Code128": code_frames(n), "empty": empty_frames(n)}
    engines = [
        ("Decoder.decode", lambda f: {(d.symbology, d.text) for d in dec.decode(f)}),
        ("pyzbar.decode", plain_pyzbar),
    ]
    if zxing and zxingcpp is not None:
        engines.append(("zxingcpp.read_barcodes", plain_zxing))
    return {label: {name: timed(fn, frames, seconds) for name, fn in engines} for label, frames in sets.items()}


def speed_table(n: int, seconds: float) -> None:
    print(f"## Speed, 1280x720 BGR frames ({n} distinct frames per set, >= {seconds:g} s each)\n")
    print("fps: wall clock; CPU fps: per CPU second of this process (steadier on a shared machine)\n")
    print("| frames | engine | fps | ms/frame | CPU fps | codes read | x pyzbar | x pyzbar (CPU) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for label, results in speed(n, seconds).items():
        base, base_cpu = results["pyzbar.decode"][:2]
        for name, (fps, cpu_fps, rate) in results.items():
            read = "-" if rate != rate else f"{rate:.0%}"
            print(
                f"| {label} | {name} | {fps:.0f} | {1000 / fps:.1f} | {cpu_fps:.0f} | {read} "
                f"| {fps / base:.1f}x | {cpu_fps / base_cpu:.1f}x |"
            )
    print()


def engines_for_rate() -> dict:
    normal, full = Decoder(), Decoder(effort="full")
    engines = {
        "kiosk (normal)": lambda f: {(d.symbology, d.text) for d in normal.decode(f)},
        "kiosk (full)": lambda f: {(d.symbology, d.text) for d in full.decode(f)},
        "pyzbar": plain_pyzbar,
    }
    if zxingcpp is not None:
        engines["zxing-cpp"] = plain_zxing
    return engines


def rate_table(samples: list, title: str, engines: dict | None = None) -> dict:
    """Per case: share of codes read per engine, wrong reads, and what the kiosk missed that a
    plain engine read (the misses that must not happen). Returns the raw table."""
    engines = engines or engines_for_rate()
    cases = list(dict.fromkeys(s.case for s in samples))
    table = {c: {e: [0, 0, 0.0, 0] for e in engines} for c in cases}
    behind = {c: [0, 0] for c in cases}  # kiosk normal / full missed a code a plain engine read
    for s in samples:
        exp = set(s.expected)
        got_by = {}
        for name, fn in engines.items():
            t = time.perf_counter()
            got = fn(s.image)
            got_by[name] = got
            row = table[s.case][name]
            row[0] += len(exp & got)
            row[1] += len(exp)
            row[2] += time.perf_counter() - t
            row[3] += len(got - exp)
        plain = (got_by.get("pyzbar", set()) | got_by.get("zxing-cpp", set())) & exp
        for i, k in enumerate(("kiosk (normal)", "kiosk (full)")):
            if k in got_by:
                behind[s.case][i] += len(plain - got_by[k])
    n = max(len([s for s in samples if s.case == c]) for c in cases)
    print(f"## {title} ({n} images per case)\n")
    print("| case | " + " | ".join(engines) + " | wrong | behind plain (normal/full) | ms normal | ms full |")
    print("|---|" + "---:|" * (len(engines) + 4))
    totals = {e: [0, 0] for e in engines}
    for c in cases:
        cells = []
        for e in engines:
            hit, tot, _, _ = table[c][e]
            totals[e][0] += hit
            totals[e][1] += tot
            cells.append(f"{hit / tot:.0%}")
        count = len([s for s in samples if s.case == c])
        wrong = "/".join(str(table[c][e][3]) for e in engines)
        ms = [table[c].get(k, [0, 0, 0.0])[2] / count * 1000 for k in ("kiosk (normal)", "kiosk (full)")]
        print(
            f"| {c} | "
            + " | ".join(cells)
            + f" | {wrong} | {behind[c][0]}/{behind[c][1]} | {ms[0]:.0f} | {ms[1]:.0f} |"
        )
    print("| **all** | " + " | ".join(f"**{h / t:.1%}**" for h, t in totals.values()) + " | | | | |")
    wrong = {e: sum(table[c][e][3] for c in cases) for e in engines}
    print("\nwrong or partial reads (codes not in the image): " + ", ".join(f"{e} {n}" for e, n in wrong.items()))
    print(
        "codes a plain engine read that the kiosk missed: normal "
        f"{sum(b[0] for b in behind.values())}, full {sum(b[1] for b in behind.values())}\n"
    )
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=40, help="distinct frames per speed set")
    parser.add_argument("--seconds", type=float, default=3.0, help="minimum timing per engine and set")
    parser.add_argument("--per-case", type=int, default=20, help="evaluation frames per hard case")
    parser.add_argument("--skip-rate", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument(
        "--eval", action="store_true", help="only the decode-rate tables (live-frame cases and photo-like stills)"
    )
    parser.add_argument("--photos", type=int, default=6, help="photo-like stills per case (3-12 MP)")
    args = parser.parse_args()
    if args.eval:
        args.skip_speed = True
    cv2.setNumThreads(1)
    if not args.skip_speed:
        speed_table(args.frames, args.seconds)
    if not args.skip_rate:
        samples = decode_sets.evaluation_set(per_case=args.per_case, seed=2024)
        rate_table(samples, "Decode rate, generated live-frame cases (1280x720; photo 5 MP, far 8 MP)")
        if args.photos:
            photos = decode_sets.photo_set(per_case=args.photos, seed=2024)
            rate_table(photos, "Decode rate, real-photo-like stills (3-12 MP)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
