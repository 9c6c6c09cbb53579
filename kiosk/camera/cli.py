"""``pickup-kiosk decode [--json] [--engine E] IMAGE…``: the kiosk's decoder on still images.

Still images get every fallback (``effort="full"``). With ``--json`` one line per image:
``{"path": "...", "codes": [{"symbology": "QRCODE", "text": "..."}]}``. An image that cannot
be read is reported on stderr (with its path and why); the others are still decoded, and the
exit status is 2. Exit status 0 when every image was read (codes found or not).

Images: whatever OpenCV reads (PNG, JPEG, WebP, BMP, TIFF...; 16-bit and grayscale are made
8-bit BGR; a JPEG's EXIF orientation is applied), transparent images are put on white, and a
photo of any size is decoded (big ones are localised and read downscaled where that suffices).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from kiosk.camera.decoder import Decoder
from kiosk.camera.sources import load_image
from kiosk.errors import CameraError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pickup-kiosk decode", description="decode still images")
    parser.add_argument("--json", action="store_true", help="one JSON line per image")
    parser.add_argument("--engine", choices=("auto", "zbar", "zxing"), default="auto")
    parser.add_argument("images", nargs="+", metavar="IMAGE")
    return parser


def main(args: argparse.Namespace | Sequence[str] | None = None) -> int:
    if args is None or isinstance(args, (list, tuple)):
        args = build_parser().parse_args(args)
    out, err = sys.stdout, sys.stderr
    try:
        decoder = Decoder(engine=getattr(args, "engine", "auto") or "auto", effort="full")
    except (CameraError, ValueError) as exc:
        print(f"decode: {exc}", file=err)
        return 2
    status = 0
    for path in args.images:
        try:
            image = _flatten_alpha(path, load_image(path))
        except CameraError as exc:
            print(f"decode: {exc}", file=err)
            status = 2
            continue
        codes = [{"symbology": d.symbology, "text": d.text} for d in decoder.decode(image)]
        if args.json:
            out.write(json.dumps({"path": str(path), "codes": codes}) + "\n")
        elif codes:
            for c in codes:
                out.write(_safe(f"{path}: {c['symbology']} {c['text']}") + "\n")
        else:
            out.write(_safe(f"{path}: no code found") + "\n")
        out.flush()
    return status


def _flatten_alpha(path: str, image: np.ndarray) -> np.ndarray:
    """A transparent PNG/WebP/TIFF put on white paper (OpenCV's BGR reading makes transparent black:
    a code of black modules on a transparent background would vanish)."""
    if Path(path).suffix.lower() not in (".png", ".webp", ".tif", ".tiff"):
        return image
    raw = cv2.imdecode(np.fromfile(str(path), dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if raw is None or raw.ndim != 3 or raw.shape[2] != 4 or raw.shape[:2] != image.shape[:2]:
        return image
    if raw.dtype != np.uint8:  # 16-bit: to 8
        raw = (raw / 257).astype(np.uint8)
    alpha = raw[..., 3:4].astype(np.float32) / 255.0
    return (raw[..., :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)


def _safe(line: str) -> str:
    """A line the terminal can print: control characters escaped, whatever the encoding."""
    enc = getattr(sys.stdout, "encoding", None) or "utf-8"
    line = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in line)
    return line.encode(enc, "backslashreplace").decode(enc)
