"""Barcode decoding: a function of an image, like pyzbar.decode (docs/design.md, Architecture).

``Decoder().decode(frame)`` takes a grayscale or BGR ``numpy`` image and returns a list of
frozen :class:`Detection` records with ``.symbology`` (pyzbar's names: ``QRCODE``,
``CODE128``, ``CODE39``, ``EAN13``, ``I25``, ``DATAMATRIX``...) and ``.text`` (str, exactly as
encoded).

How a frame is read:

1. **Cheap rejection.** Per 8x8 block the mean absolute gradient is measured at full
   resolution (two ``absdiff`` and one area resize: ~1 ms for 1280x720). A code is a dense patch of
   strong edges; a camera's empty view is not. No patch, no decoder call: empty frames cost
   about a millisecond.
2. **Candidates at full resolution.** Each patch (closed, merged, with a margin for the quiet
   zone) is cropped from the full-resolution frame and decoded with zxing-cpp, told exactly which
   formats to look for, then with zbar if zxing found nothing.
3. **Fallbacks** for a candidate neither engine read (``effort="normal"`` and up): upscaling,
   sharpening, contrast stretch, binarisation, a white border, deskewing to the patch's angle,
   inversion (light-on-dark phone screens), downscaling. If still nothing was read, a sizeable
   unread patch gets one look at the whole frame, and three or more small ones (a faint code
   found only in pieces) one look at the whole frame at half size.
4. ``effort="full"`` (still images, ``pickup-kiosk decode``) also reads the whole image with
   both engines and runs the fallbacks on it when nothing was found, then, as a last resort,
   local contrast (CLAHE) at a few smaller sizes (glare stripes, strong defocus).
5. ``decode(frame)`` with no effort named, by a decoder whose effort is ``normal``, on a picture
   whose long side is over 1920 px (a phone photo: no kiosk camera frame is that big, and the
   scanner always names its effort) uses ``full``. Smaller pictures keep ``normal``, so the live
   speed goals hold for any caller.

Never a wrong read (a wrong parcel code is worse than none): an ITF reading is dropped when bars
run on within a few modules past either end, on its scan line or a parallel one (ITF has no check
digit, so a part of it decodes validly); EAN/UPC check digits and ITF digit pairs are checked;
when the two engines read one 1D code as different texts, neither is returned. A dark frame round
a code (ITF-14's bearer bars, which stop both engines) is painted over in a fallback. A dim, noisy
picture is localised at half or quarter size.

Text: zxing-cpp's text is used where it read the code (it handles ECI, Shift_JIS, Latin-1 via
FNC4 in Code128 and Code39 full ASCII). zbar's bytes are interpreted per symbology: QR text as
zbar transcoded it (with its Shift_JIS-for-UTF-8 mistake undone), 1D codes as Latin-1, Code39 full
ASCII expanded when every escape is valid (as zxing-cpp does).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from kiosk.errors import CameraError

logger = logging.getLogger(__name__)

try:  # zxing-cpp is optional: the kiosk works with zbar alone
    import zxingcpp
except ImportError:  # pragma: no cover - depends on the installation
    zxingcpp = None

DEFAULT_SYMBOLOGIES = ("QRCODE", "CODE128", "CODE39", "EAN13", "UPCA", "I25", "DATAMATRIX")
EFFORTS = ("fast", "normal", "full")
ENGINES = ("auto", "zbar", "zxing")

# our (pyzbar's) names -> zxing-cpp format names
_ZX_FORMATS = {
    "QRCODE": ("QRCode",),
    "CODE128": ("Code128",),
    "CODE39": ("Code39",),
    "CODE93": ("Code93",),
    "EAN13": ("EAN13",),
    "UPCA": ("UPCA",),
    "EAN8": ("EAN8",),
    "UPCE": ("UPCE",),
    "I25": ("ITF",),
    "CODABAR": ("Codabar",),
    "DATAMATRIX": ("DataMatrix",),
    "PDF417": ("PDF417",),
}
_ZBAR_NAMES = ("QRCODE", "CODE128", "CODE39", "CODE93", "EAN13", "UPCA", "EAN8", "UPCE", "I25", "CODABAR", "PDF417")
KNOWN_SYMBOLOGIES = tuple(_ZX_FORMATS)


@dataclass(frozen=True)
class Detection:
    """One code read from a frame. ``rect`` is (x, y, w, h) in frame pixels, roughly."""

    symbology: str
    text: str
    rect: tuple[int, int, int, int] = field(default=(0, 0, 0, 0), compare=False)
    engine: str = field(default="", compare=False)

    @property
    def type(self) -> str:  # pyzbar's name for it
        return self.symbology

    @property
    def data(self) -> bytes:  # pyzbar's name for it
        return self.text.encode("utf-8")

    def __repr__(self) -> str:  # a code never goes into a log line or a traceback
        return (
            f"Detection(symbology={self.symbology!r}, len={len(self.text)}, rect={self.rect}, engine={self.engine!r})"
        )


@dataclass(frozen=True)
class Region:
    """A candidate patch: bounding box in frame pixels, angle of its long side, score."""

    x: int
    y: int
    w: int
    h: int
    angle: float = 0.0  # direction of the long side, degrees in [0, 180), y down
    score: float = 0.0
    elong: float = 1.0  # long side / short side of the patch's rotated rectangle
    fill: float = 1.0  # share of its bounding box the patch fills (an object's corner fills little)


# --- text ---------------------------------------------------------------------------------

_C39_SHIFT = {
    "$": {chr(c): chr(c - 64) for c in range(65, 91)},
    "%": {
        **{chr(65 + i): chr(c) for i, c in enumerate([27, 28, 29, 30, 31, 59, 60, 61, 62, 63])},
        **{chr(75 + i): chr(c) for i, c in enumerate([91, 92, 93, 94, 95])},
        **{chr(80 + i): chr(c) for i, c in enumerate([123, 124, 125, 126, 127])},
        "U": "\x00",
        "V": "@",
        "W": "`",
        "X": "\x7f",
        "Y": "\x7f",
        "Z": "\x7f",
    },
    "/": {**{chr(65 + i): chr(33 + i) for i in range(15)}, "Z": ":"},
    "+": {chr(c): chr(c + 32) for c in range(65, 91)},
}


def code39_full_ascii(text: str) -> str:
    """Code39 full ASCII expanded (``+A`` -> ``a``), or the text unchanged if an escape is invalid."""
    if not any(c in text for c in "$%/+"):
        return text
    out = []
    i = 0
    while i < len(text):
        c = text[i]
        if c in _C39_SHIFT:
            if i + 1 >= len(text) or text[i + 1] not in _C39_SHIFT[c]:
                return text
            out.append(_C39_SHIFT[c][text[i + 1]])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _zbar_text(symbology: str, data: bytes) -> str:
    if symbology == "QRCODE":
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("latin-1")
        return _undo_sjis_guess(text)
    text = data.decode("latin-1")
    if symbology == "CODE39":
        text = code39_full_ascii(text)
    return text


def _undo_sjis_guess(text: str) -> str:
    """zbar reads UTF-8 QR bytes without an ECI as Shift_JIS; undo that when it is clearly so."""
    if text.isascii():
        return text
    try:
        raw = text.encode("shift_jis")
        fixed = raw.decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text
    return fixed if not fixed.isascii() else text


# --- image helpers ----------------------------------------------------------------------------


def to_gray(frame: object) -> np.ndarray:
    """A contiguous 2D uint8 image from a grayscale, BGR or BGRA array (clear errors otherwise)."""
    if not isinstance(frame, np.ndarray):
        raise TypeError(f"a frame must be a numpy array, not {type(frame).__name__}")
    img = frame
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.ndim == 3:
        if img.shape[2] not in (3, 4):
            raise ValueError(f"a colour frame must have 3 (BGR) or 4 (BGRA) channels, not {img.shape[2]}")
    elif img.ndim != 2:
        raise ValueError(f"a frame must be 2D (grayscale) or 3D (BGR), not {img.ndim}D")
    if img.size == 0:
        raise ValueError("the frame is empty")
    if img.dtype != np.uint8:
        if img.dtype == bool:
            img = img.astype(np.uint8) * 255
        elif np.issubdtype(img.dtype, np.floating) and img.max() <= 1.0:
            img = np.clip(img * 255.0, 0, 255).astype(np.uint8)
        else:
            img = np.clip(img, 0, 255).astype(np.uint8)
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY if img.shape[2] == 3 else cv2.COLOR_BGRA2GRAY)
    return np.ascontiguousarray(img)


BLOCK = 8
NOISY = 8.0  # median block edge level of a picture too noisy to localise at full resolution
STILL_SIZE = 1920  # a frame with a longer side is a photo: decode(frame) gives it every fallback
LOCATE_MAX = 1600  # bigger images are localised at this width (a photo's modules are big)
ROOM = 56  # px: a patch with a square this big left beside the codes read in it may hold another


def locate(gray: np.ndarray, max_regions: int = 8, _noisy: int = 0) -> list[Region]:
    """Candidate code patches: dense strong edges in 8x8 blocks, measured at full resolution.

    A dim, noisy picture (every block has edges) is looked at again at half size (and again): the
    noise halves, a code's edges stay.
    """
    h, w = gray.shape
    scale = 1.0
    work = gray
    if max(h, w) > LOCATE_MAX:
        scale = max(h, w) / LOCATE_MAX
        work = cv2.resize(gray, (round(w / scale), round(h / scale)), interpolation=cv2.INTER_AREA)
    wh, ww = work.shape
    bh, bw = (wh - 1) // BLOCK, (ww - 1) // BLOCK
    if bh < 2 or bw < 2:
        return [Region(0, 0, w, h, 0.0, 1.0)]
    gx = cv2.absdiff(work[: bh * BLOCK, 1 : bw * BLOCK + 1], work[: bh * BLOCK, : bw * BLOCK])
    gy = cv2.absdiff(work[1 : bh * BLOCK + 1, : bw * BLOCK], work[: bh * BLOCK, : bw * BLOCK])
    # |dx| + |dy| per pixel (saturating), averaged per block: one area resize
    energy = cv2.resize(cv2.add(gx, gy), (bw, bh), interpolation=cv2.INTER_AREA)
    flat = energy.ravel()
    # the background's level of edges: the median block, unless the code itself fills half the
    # frame (a close-up photo, a cropped code), then the quieter quarter says more
    part = np.partition(flat, (flat.size // 4, flat.size // 2))
    floor = min(float(part[flat.size // 2]), float(part[flat.size // 4]) + 6.0)
    if floor >= NOISY and _noisy < 2 and min(wh, ww) >= 240:
        half = cv2.resize(work, (ww // 2, wh // 2), interpolation=cv2.INTER_AREA)
        f = w / half.shape[1]
        return [
            Region(int(r.x * f), int(r.y * f), int(r.w * f), int(r.h * f), r.angle, r.score, r.elong, r.fill)
            for r in locate(half, max_regions, _noisy=_noisy + 1)
        ]
    thr = max(9.0, 2.0 * floor + 4.0)
    mask = (energy >= thr).astype(np.uint8)
    # coarse level: large modules leave gaps inside a code; 4x4 blocks bridge them
    coarse = cv2.resize(energy, (max(1, bw // 4), max(1, bh // 4)), interpolation=cv2.INTER_AREA)
    cmask = (coarse >= max(6.0, 2.0 * floor + 2.0)).astype(np.uint8)
    if cmask.any():
        big = cv2.resize(cmask, (bw, bh), interpolation=cv2.INTER_NEAREST)
        big = cv2.bitwise_and(big, cv2.dilate(mask, np.ones((3, 3), np.uint8), iterations=2))
        mask = cv2.bitwise_or(mask, cv2.morphologyEx(big, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8)))
    if not mask.any():
        return []
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    comps = []
    for i in range(1, n):
        x, y, bw_, bh_, area = (int(v) for v in stats[i])
        if area < 5 or bw_ < 2 or bh_ < 2:
            continue
        comps.append((float(area) * float(energy[y : y + bh_, x : x + bw_].mean()), i, x, y, bw_, bh_, area))
    comps.sort(reverse=True)
    regions = []
    f = BLOCK * scale
    for score, i, x, y, bw_, bh_, area in comps[: 2 * max_regions]:  # the strongest patches only
        pts = np.column_stack(np.nonzero(labels[y : y + bh_, x : x + bw_] == i)[::-1]).astype(np.float32)
        ang, elong = _orientation(pts)
        fill = area / (bw_ * bh_)
        regions.append(
            Region(int(x * f), int(y * f), int(bw_ * f) + BLOCK, int(bh_ * f) + BLOCK, ang, score, elong, fill)
        )
    return _merge(regions)[:max_regions]


def _orientation(pts: np.ndarray) -> tuple[float, float]:
    """Angle of the long side (degrees, [0, 180)) and elongation of the points' rotated rectangle."""
    if len(pts) < 3:
        return 0.0, 1.0
    box = cv2.boxPoints(cv2.minAreaRect(pts + 0.5))
    e1, e2 = box[1] - box[0], box[2] - box[1]
    l1, l2 = float(np.hypot(*e1)) + 1.0, float(np.hypot(*e2)) + 1.0  # +1: a block has a size
    long_ = e1 if l1 >= l2 else e2
    angle = float(np.degrees(np.arctan2(long_[1], long_[0]))) % 180.0
    return angle, max(l1, l2) / min(l1, l2)


def _luminance(frame: object) -> np.ndarray:
    """The image to localise on: BGR's green channel (no colour conversion), else :func:`to_gray`."""
    if (
        isinstance(frame, np.ndarray)
        and frame.dtype == np.uint8
        and frame.ndim == 3
        and frame.shape[2] in (3, 4)
        and frame.size
    ):
        return cv2.extractChannel(frame, 1)
    return to_gray(frame)


def _kind(lum: np.ndarray, r: Region) -> tuple[str, float]:
    """What a patch looks like: ``1d`` (parallel bars), ``2d`` (squarish), ``text`` (a long line).

    The structure tensor of the patch (gradients over its own box) gives how much the edges
    share one direction (coherence) and that direction, which is across a 1D code's bars.
    """
    box = lum[r.y : r.y + r.h, r.x : r.x + r.w]
    if box.size < 16:
        return "2d", 0.0
    step = 2 if box.size > 250_000 else 1
    box = np.ascontiguousarray(box[::step, ::step]) if step > 1 else box
    dx = cv2.Sobel(box, cv2.CV_32F, 1, 0, ksize=3)
    dy = cv2.Sobel(box, cv2.CV_32F, 0, 1, ksize=3)
    jxx, jyy, jxy = float(cv2.sumElems(dx * dx)[0]), float(cv2.sumElems(dy * dy)[0]), float(cv2.sumElems(dx * dy)[0])
    total = jxx + jyy
    if total <= 0:
        return "2d", 0.0
    coherence = ((jxx - jyy) ** 2 + 4 * jxy * jxy) ** 0.5 / total
    angle = float(np.degrees(0.5 * np.arctan2(2 * jxy, jxx - jyy))) % 180.0
    if coherence >= 0.6 and r.elong <= 8.0 and max(r.w, r.h) >= 56:
        return "1d", angle  # (longer and thinner: a rule or an edge; shorter: no 1D code is that small)
    if r.elong >= 1.8 or r.fill < 0.55:
        return "text", angle  # print, or an object's corner: not a matrix code
    return "2d", angle


def _merge(regions: list[Region]) -> list[Region]:
    """Merge overlapping or touching boxes (pieces of one code split by a wide bar)."""
    out: list[Region] = []
    for r in regions:
        for i, o in enumerate(out):
            gap = BLOCK * 2
            if r.x <= o.x + o.w + gap and o.x <= r.x + r.w + gap and r.y <= o.y + o.h + gap and o.y <= r.y + r.h + gap:
                x0, y0 = min(r.x, o.x), min(r.y, o.y)
                x1, y1 = max(r.x + r.w, o.x + o.w), max(r.y + r.h, o.y + o.h)
                fill = max(o.fill, r.fill)
                out[i] = Region(x0, y0, x1 - x0, y1 - y0, o.angle, o.score + r.score, o.elong, fill)
                break
        else:
            out.append(r)
    return out


def _expand(r: Region, w: int, h: int, kind: str = "2d", angle: float = 45.0) -> tuple[int, int, int, int]:
    """The crop for a region: a margin for the quiet zone (10 modules of a 1D code).

    A 1D code lying level (or upright) needs its margin only along the scan direction.
    """
    m = int(0.2 * max(r.w, r.h)) + 2 * BLOCK
    mx = my = m
    if kind == "1d":
        m1 = int(0.12 * max(r.w, r.h)) + 2 * BLOCK  # 10 modules of a 1D code's ~100 or more
        if min(angle, 180.0 - angle) <= 12.0:
            mx, my = m1, BLOCK
        elif abs(angle - 90.0) <= 6.0:
            mx, my = BLOCK, m1
    return max(0, r.x - mx), max(0, r.y - my), min(w, r.x + r.w + mx), min(h, r.y + r.h + my)


def _variants(img: np.ndarray, angle: float) -> Iterator[tuple[str, np.ndarray, float]]:
    """Fallback versions of a crop: (name, image, scale relative to the crop)."""
    h, w = img.shape
    small = min(h, w) < 400
    if small:
        up = cv2.resize(img, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
        yield "upscale", up, 2.0
    blur = cv2.GaussianBlur(img, (0, 0), 1.5)
    sharp = cv2.addWeighted(img, 2.0, blur, -1.0, 0)
    yield "sharpen", sharp, 1.0
    norm = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(4, 4)).apply(img)
    yield "clahe", norm, 1.0
    yield "border", cv2.copyMakeBorder(img, 24, 24, 24, 24, cv2.BORDER_CONSTANT, value=255), 1.0
    a = angle % 180.0
    if 8.0 < a < 172.0 and abs(a - 90.0) > 8.0:
        yield "deskew", _rotate(img, a), 1.0
    yield "invert", 255 - img, 1.0
    bars = _bars_only(img)
    if bars is not None:  # ITF-14's bearer bars (a thick frame 10 modules out) stop both engines
        yield "bars-only", bars, 1.0
    _, otsu = cv2.threshold(blur if small else img, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    yield "otsu", otsu, 1.0
    block = max(15, (min(h, w) // 8) | 1)
    yield "adaptive", cv2.adaptiveThreshold(img, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, block, 5), 1.0
    yield "denoise", cv2.GaussianBlur(img, (0, 0), 1.0), 1.0  # sensor noise in a dim photo
    if small:
        yield "upscale-sharpen", cv2.resize(sharp, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC), 2.0
    if min(h, w) > 200:
        yield "downscale", cv2.resize(img, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA), 0.5


def _rotation(w: int, h: int, angle: float) -> tuple[np.ndarray, tuple[int, int]]:
    """The affine matrix turning a w x h image by ``angle`` degrees, and the turned image's size."""
    mat = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    cos, sin = abs(mat[0, 0]), abs(mat[0, 1])
    nw, nh = int(h * sin + w * cos), int(h * cos + w * sin)
    mat[0, 2] += nw / 2 - w / 2
    mat[1, 2] += nh / 2 - h / 2
    return mat, (nw, nh)


def _rotate(img: np.ndarray, angle: float) -> np.ndarray:
    h, w = img.shape
    mat, size = _rotation(w, h, angle)
    return cv2.warpAffine(img, mat, size, flags=cv2.INTER_LINEAR, borderValue=255)


# --- the decoder ----------------------------------------------------------------------------------


class Decoder:
    """Reads barcodes from frames.

    ``engine``: ``"auto"`` (zxing-cpp and zbar, when zxing-cpp is installed), ``"zbar"`` or
    ``"zxing"``. ``symbologies``: pyzbar names to look for (a symbology an engine cannot read is
    skipped by that engine). ``effort``: ``"fast"`` (candidates only, no fallbacks), ``"normal"``
    (fallbacks for candidates not read; the default), ``"full"`` (also whole-image passes: still
    images). ``decode(photo)`` without an effort on a picture over 1920 px uses ``"full"``.
    """

    def __init__(
        self,
        engine: str = "auto",
        symbologies: Iterable[str] = DEFAULT_SYMBOLOGIES,
        effort: str = "normal",
        max_candidates: int = 6,
    ) -> None:
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
        if effort not in EFFORTS:
            raise ValueError(f"effort must be one of {', '.join(EFFORTS)}, not {effort!r}")
        syms = tuple(dict.fromkeys(s.upper() for s in symbologies))
        bad = [s for s in syms if s not in KNOWN_SYMBOLOGIES]
        if bad or not syms:
            raise ValueError(
                f"unknown symbology {', '.join(bad) or '(none given)'}; known: {', '.join(KNOWN_SYMBOLOGIES)}"
            )
        if engine == "zxing" and zxingcpp is None:
            raise CameraError("engine 'zxing' needs the zxing-cpp package, which is not installed")
        self.symbologies = syms
        self.effort = effort
        self.max_candidates = max_candidates
        self.use_zxing = zxingcpp is not None and engine in ("auto", "zxing")
        self.use_zbar = engine in ("auto", "zbar")
        self.engine = engine
        self._zx_formats = None
        self._zx_matrix = None
        self._zx_qr = None
        self._zx_linear = None
        self._zx_names: dict = {}
        if self.use_zxing:
            self._zx_formats = zxingcpp.BarcodeFormats(
                [getattr(zxingcpp.BarcodeFormat, name) for s in syms for name in _ZX_FORMATS[s]]
            )
            matrix = [getattr(zxingcpp.BarcodeFormat, _ZX_FORMATS[s][0]) for s in syms if s in ("QRCODE", "DATAMATRIX")]
            self._zx_matrix = zxingcpp.BarcodeFormats(matrix) if matrix else None
            if "QRCODE" in syms and "DATAMATRIX" in syms:
                self._zx_qr = zxingcpp.BarcodeFormats([zxingcpp.BarcodeFormat.QRCode])
            linear = [
                getattr(zxingcpp.BarcodeFormat, n)
                for s in syms
                if s not in ("QRCODE", "DATAMATRIX", "PDF417")
                for n in _ZX_FORMATS[s]
            ]
            self._zx_linear = zxingcpp.BarcodeFormats(linear) if linear else None
            for name in dir(zxingcpp.BarcodeFormat):
                member = getattr(zxingcpp.BarcodeFormat, name)
                if isinstance(member, zxingcpp.BarcodeFormat):
                    self._zx_names[member] = self._our_name(name)
        self._zbar_symbols = None
        if self.use_zbar:
            from pyzbar import pyzbar

            self._pyzbar = pyzbar
            zs = [getattr(pyzbar.ZBarSymbol, s) for s in syms if s in _ZBAR_NAMES]
            if "EAN13" in syms and "UPCA" not in syms:
                zs.append(pyzbar.ZBarSymbol.UPCA)
            self._zbar_symbols = zs or None
            if not zs and not self.use_zxing:
                raise ValueError("zbar reads none of " + ", ".join(syms))

    @staticmethod
    def _our_name(zx_name: str) -> str:
        table = {
            "QRCode": "QRCODE",
            "QRCodeModel1": "QRCODE",
            "QRCodeModel2": "QRCODE",
            "Code128": "CODE128",
            "Code39": "CODE39",
            "Code39Std": "CODE39",
            "Code39Ext": "CODE39",
            "Code93": "CODE93",
            "EAN13": "EAN13",
            "EAN8": "EAN8",
            "UPCA": "UPCA",
            "UPCE": "UPCE",
            "ITF": "I25",
            "ITF14": "I25",
            "Codabar": "CODABAR",
            "DataMatrix": "DATAMATRIX",
            "PDF417": "PDF417",
        }
        return table.get(zx_name, zx_name.upper())

    @property
    def engines(self) -> tuple[str, ...]:
        return tuple(n for n, on in (("zxing", self.use_zxing), ("zbar", self.use_zbar)) if on)

    # -- public ---------------------------------------------------------------------------------

    def decode(self, frame: np.ndarray, effort: str | None = None) -> list[Detection]:
        """Every code found in the frame, each once; ``effort`` overrides the decoder's.

        A photo (long side over :data:`STILL_SIZE` px) decoded without an ``effort`` by a decoder
        whose effort is ``normal`` gets the still-image effort (``full``): no live camera of the kiosk
        delivers such frames (the scanner always names its effort), a phone photo does.
        """
        if effort is not None and effort not in EFFORTS:
            raise ValueError(f"effort must be one of {', '.join(EFFORTS)}, not {effort!r}")
        lum = _luminance(frame)
        h, w = lum.shape
        if effort is None:
            effort = "full" if self.effort == "normal" and max(h, w) > STILL_SIZE else self.effort
        found: list[Detection] = []
        regions = locate(lum, self.max_candidates + 2)[: self.max_candidates]
        colour = lum is not frame and frame.ndim == 3
        pending = []
        texts = 0
        for r in regions:
            if any(_inside(d, r) for d in found):
                continue
            kind, angle = _kind(lum, r)
            x0, y0, x1, y1 = _expand(r, w, h, kind, angle)
            crop = lum[y0:y1, x0:x1]  # green is luminance enough for a first read
            # a big patch of print may be a label with a code merged in: that gets a full look
            if kind == "text" and effort != "full" and r.w * r.h < 0.04 * w * h:
                # print, or a matrix code merged with print: one cheap look for a matrix code
                texts += 1
                if self._zx_matrix is not None and not found and texts <= 2:
                    fmts = self._zx_qr or self._zx_matrix
                    got = self._zxing(crop, x0, y0, quick=True, rotate=False, invert=True, formats=fmts)
                    found = _merge_detections(found, got)
                continue
            small = max(x1 - x0, y1 - y0) < 224  # about 25 modules of 3 px or less, with the margin
            got = self._quick(crop, kind, angle, x0, y0, effort, zbar=kind == "1d" or not found, small=small)
            # a patch much larger than the code read in it may hold another one beside it (a QR
            # code and a label merged into one patch): the formats of the other kind get a look
            if got and kind == "1d" and _width(got) < 0.6 * r.w:
                got = _merge_detections(got, self._others(crop, got, x0, y0, invert=True))
            elif got and (room := _room_left(got, r)) is not None:
                rx0, ry0, rx1, ry1 = max(0, room[0]), max(0, room[1]), min(w, room[2]), min(h, room[3])
                got = _merge_detections(got, self._others(lum[ry0:ry1, rx0:rx1], got, rx0, ry0))
            if got:
                found = _merge_detections(found, got)
            else:
                pending.append((r, angle, (x0, y0, x1, y1)))
        if effort == "full" or (effort == "normal" and pending and not found):
            # (with a code read on a live frame, the patches left are print, not codes)
            gray = to_gray(frame) if colour else lum
            for r, angle, (x0, y0, x1, y1) in pending[:2]:
                if any(_inside(d, r) for d in found):
                    continue
                # live frames: the likeliest few variants (fewer for a small patch); stills: all
                limit = None if effort == "full" else (5 if max(r.w, r.h) >= 96 else 2)
                got = self._fallbacks(gray[y0:y1, x0:x1], angle, x0, y0, limit=limit)
                found = _merge_detections(found, got)
            if effort == "full":
                if self.use_zxing:
                    found = _merge_detections(found, self._zxing(gray, 0, 0))
                if self.use_zbar:  # zbar reads big blurry photos better smaller (and faster)
                    big = max(gray.shape)
                    for size in (big, 1600, 800) if big > 1600 else (big,):
                        if size > 2000:
                            continue
                        f = size / big
                        small = gray if f == 1 else cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
                        found = _merge_detections(found, self._zbar(small, 0, 0, f))
            elif not found and any(max(p[0].w, p[0].h) >= 96 for p in pending):
                # a sizeable code-like patch nobody could read: one look at the whole frame
                if self.use_zxing:
                    found = self._zxing(gray, 0, 0)
                if not found and self.use_zbar:
                    f = min(1.0, 1280 / max(gray.shape))
                    small = gray if f == 1 else cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
                    found = self._zbar(small, 0, 0, f)
            elif not found and len(pending) >= 3:
                # several small unread patches: a faint code found only in pieces (its middle, often);
                # one quick look at the whole frame at half size (at full size it would cost an empty
                # view with clutter too much)
                half = cv2.resize(gray, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
                found = self._read(half, 0, 0, scale=0.5)
            if effort == "full" and not found:
                found = self._fallbacks(gray, pending[0][1] if pending else 0.0, 0, 0, whole=True)
            if effort == "full" and not found:
                found = self._local_contrast(gray)
        return _drop_partials(found)

    def _quick(
        self,
        crop: np.ndarray,
        kind: str,
        angle: float,
        ox: int,
        oy: int,
        effort: str,
        zbar: bool = True,
        small: bool = False,
    ) -> list[Detection]:
        """The first read of a candidate: a 1D code turned so its bars stand upright, light options."""
        img, turned = crop, False
        if kind == "1d":
            if abs(angle - 90.0) < 6.0:
                img, turned = cv2.rotate(crop, cv2.ROTATE_90_CLOCKWISE), True
            elif min(angle, 180.0 - angle) > 12.0:  # less skew: horizontal scans still cross every bar
                img, turned = _rotate(crop, angle), True
        sc = 1.0
        if kind == "2d" and small:  # a small matrix code: zxing-cpp wants bigger modules
            img, sc = cv2.resize(crop, None, fx=2, fy=2, interpolation=cv2.INTER_LINEAR), 2.0
        img = np.ascontiguousarray(img)
        got: list[Detection] = []
        if self.use_zxing:
            # told what to look for, zxing-cpp is several times faster
            fmts = {"1d": self._zx_linear, "2d": self._zx_matrix}.get(kind) or self._zx_formats
            if kind == "2d" and self._zx_qr is not None and fmts is self._zx_matrix:  # QR first: most codes are
                got = self._zxing(img, 0, 0, sc, quick=True, rotate=False, invert=False, formats=self._zx_qr)
            if not got:
                got = self._zxing(img, 0, 0, sc, quick=True, rotate=kind != "1d", invert=kind != "1d", formats=fmts)
            if not got and kind == "1d":
                got = self._zxing(255 - img, 0, 0, quick=True, rotate=False, formats=fmts)
        if not got and self.use_zbar and (zbar or not self.use_zxing):
            got = self._zbar(img, 0, 0, sc)
        if any(d.symbology == "I25" for d in got):
            # ITF is often read in part (a valid shorter code inside): ask every engine, keep the longest
            if self.use_zbar:
                got = _merge_detections(got, self._zbar(img, 0, 0))
            if self.use_zxing:
                got = _merge_detections(got, self._zxing(img, 0, 0, rotate=kind != "1d"))
            if kind == "1d":  # zxing-cpp's position is exact: a reading much shorter than the bars is a part
                span = _bar_span(img)
                got = [d for d in got if d.symbology != "I25" or d.engine != "zxing" or d.rect[2] >= 0.7 * span]
        if turned:  # the reading's box, turned back into the crop
            return [
                _shift(Detection(d.symbology, d.text, _unturn(d.rect, crop.shape, angle), d.engine), ox, oy)
                for d in got
            ]
        return [_shift(d, ox, oy) for d in got]

    def _others(
        self, crop: np.ndarray, got: list[Detection], ox: int, oy: int, invert: bool = False
    ) -> list[Detection]:
        """The codes of the other kind in a crop where ``got`` was read (matrix beside 1D, or 1D
        beside a matrix code): the first read looked only for the kind the patch resembled."""
        if not self.use_zxing:
            return []  # zbar looked for every symbology at once
        matrix = any(d.symbology in ("QRCODE", "DATAMATRIX") for d in got)
        linear = any(d.symbology not in ("QRCODE", "DATAMATRIX") for d in got)
        if matrix and linear:
            return []
        formats = self._zx_matrix if linear else self._zx_linear
        if formats is None:
            return []
        return self._zxing(crop, ox, oy, quick=True, invert=invert and linear, formats=formats)

    # -- engines --------------------------------------------------------------------------------

    def _read(self, img: np.ndarray, ox: int, oy: int, both: bool = False, scale: float = 1.0) -> list[Detection]:
        out: list[Detection] = []
        if self.use_zxing:
            out = self._zxing(img, ox, oy, scale)
            if out and not both:
                return out
        if self.use_zbar:
            out = _merge_detections(out, self._zbar(img, ox, oy, scale))
        return out

    def _zxing(
        self,
        img: np.ndarray,
        ox: int,
        oy: int,
        scale: float = 1.0,
        quick: bool = False,
        rotate: bool = True,
        invert: bool | None = None,
        formats: object = None,
    ) -> list[Detection]:
        try:
            results = zxingcpp.read_barcodes(
                img,
                formats=formats or self._zx_formats,
                text_mode=zxingcpp.TextMode.Plain,
                try_rotate=rotate,
                try_downscale=not quick,
                try_invert=(not quick) if invert is None else invert,
            )
        except Exception:  # a broken image must not stop the scanner
            logger.exception("event=zxing_failed")
            return []
        out = []
        for b in results:
            sym = self._zx_names.get(b.format, str(b.format))
            text = b.text
            if sym == "UPCA" and "EAN13" in self.symbologies:
                sym, text = "EAN13", "0" + text
            if sym not in self.symbologies and not (sym == "UPCA" and "EAN13" in self.symbologies):
                continue
            p = b.position
            xs = [p.top_left.x, p.top_right.x, p.bottom_right.x, p.bottom_left.x]
            ys = [p.top_left.y, p.top_right.y, p.bottom_right.y, p.bottom_left.y]
            if sym == "I25":
                a = ((xs[0] + xs[3]) / 2, (ys[0] + ys[3]) / 2)
                z = ((xs[1] + xs[2]) / 2, (ys[1] + ys[2]) / 2)
                if not _itf_complete(img if img.ndim == 2 else to_gray(img), a, z, len(text)):
                    logger.debug("event=partial_itf_dropped engine=zxing")
                    continue
            rect = _rect(xs, ys, ox, oy, scale)
            out.append(Detection(sym, text, rect, "zxing"))
        return out

    def _zbar(self, img: np.ndarray, ox: int, oy: int, scale: float = 1.0) -> list[Detection]:
        try:
            results = self._pyzbar.decode(img, symbols=self._zbar_symbols)
        except Exception:
            logger.exception("event=zbar_failed")
            return []
        out = []
        # zbar reads parts of an ITF on scan lines that cross it only partly; those agree with few
        # other lines (quality is the number of scan lines that read the same)
        best_i25 = max((d.quality for d in results if d.type == "I25"), default=0)
        for d in results:
            sym = d.type
            data = d.data
            if sym == "I25" and (d.quality < 3 or d.quality < 0.2 * best_i25):
                continue
            if sym == "UPCA" and "EAN13" in self.symbologies:  # as zbar does by default
                sym, data = "EAN13", b"0" + data
            if sym not in self.symbologies:
                continue
            text = _zbar_text(sym, data)
            r = d.rect
            if sym == "I25":
                if r.height > r.width:  # scanned along y
                    a, z = (r.left + r.width / 2, r.top), (r.left + r.width / 2, r.top + r.height)
                else:
                    a, z = (r.left, r.top + r.height / 2), (r.left + r.width, r.top + r.height / 2)
                if not _itf_complete(img if img.ndim == 2 else to_gray(img), a, z, len(text)):
                    logger.debug("event=partial_itf_dropped engine=zbar")
                    continue
            rect = _rect([r.left, r.left + r.width], [r.top, r.top + r.height], ox, oy, scale)
            out.append(Detection(sym, text, rect, "zbar"))
        return out

    def _local_contrast(self, gray: np.ndarray) -> list[Detection]:
        """Last resort on a still: local contrast (CLAHE) at a few smaller sizes.

        A glare stripe or a strong defocus leaves the code's contrast uneven; equalised per tile and
        made smaller (blur shrinks with it), zbar still reads some of those photos.
        """
        h, w = gray.shape
        clahe = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8))
        for f in (0.5, 0.35, 0.25):
            if min(h, w) * f < 160:
                break
            small = cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
            got = self._read(clahe.apply(small), 0, 0, scale=f)
            if got:
                logger.debug("event=decoded_by_fallback variant=clahe-%s", f)
                return got
        return []

    def _fallbacks(
        self, img: np.ndarray, angle: float, ox: int, oy: int, whole: bool = False, limit: int | None = None
    ) -> list[Detection]:
        h, w = img.shape
        if max(h, w) > 1600:  # a photo's modules are big: fallbacks at a size they finish quickly
            f = 1600 / max(h, w)
            img, whole = cv2.resize(img, None, fx=f, fy=f, interpolation=cv2.INTER_AREA), True
        for i, (name, variant, scale) in enumerate(_variants(img, angle)):
            if limit is not None and i >= limit:
                break
            got = self._read(variant, 0, 0)
            level = min(angle % 180.0, 180.0 - angle % 180.0) <= 12.0 and name != "deskew"
            if got and level and not whole and any(d.symbology == "I25" and d.engine == "zxing" for d in got):
                span = _bar_span(variant)  # drop a reading of a part of the bars
                got = [d for d in got if d.symbology != "I25" or d.engine != "zxing" or d.rect[2] >= 0.7 * span]
            if got:
                logger.debug("event=decoded_by_fallback variant=%s", name)
                if name in ("deskew", "border") or whole:
                    return [Detection(d.symbology, d.text, (ox, oy, w, h), d.engine) for d in got]
                return [
                    Detection(
                        d.symbology,
                        d.text,
                        _rect([d.rect[0], d.rect[0] + d.rect[2]], [d.rect[1], d.rect[1] + d.rect[3]], ox, oy, scale),
                        d.engine,
                    )
                    for d in got
                ]
        if whole and limit is None:
            for a in (30.0, 60.0, 120.0, 150.0, 45.0, 135.0):
                got = self._read(_rotate(img, a), 0, 0)
                if got:
                    return [Detection(d.symbology, d.text, (ox, oy, w, h), d.engine) for d in got]
        return []


def _rect(xs: Sequence[float], ys: Sequence[float], ox: int, oy: int, scale: float) -> tuple[int, int, int, int]:
    x0, x1 = min(xs) / scale, max(xs) / scale
    y0, y1 = min(ys) / scale, max(ys) / scale
    return (int(x0) + ox, int(y0) + oy, max(1, int(x1 - x0)), max(1, int(y1 - y0)))


def _bar_span(img: np.ndarray) -> float:
    """Length of the densest run of vertical edges across the middle rows (the bars of a level 1D code)."""
    h, w = img.shape
    band = img[h // 3 : max(h // 3 + 1, 2 * h // 3)].astype(np.int16)
    if band.shape[1] < 8:
        return 0.0
    profile = np.abs(np.diff(band, axis=1)).mean(axis=0).astype(np.float32)
    k = max(5, w // 60)
    dense = cv2.blur(profile.reshape(1, -1), (k, 1)).ravel()
    peak = float(dense.max())
    if peak <= 0:
        return 0.0
    cols = np.nonzero(dense >= 0.3 * peak)[0]
    return float(cols[-1] - cols[0]) if len(cols) else 0.0


def _itf_complete(img: np.ndarray, p0: Sequence[float], p1: Sequence[float], digits: int) -> bool:
    """False when bars go on right past an end of an ITF reading (a part of a longer code was read).

    ITF has no check digit of its own, so any run of whole digit pairs inside the bars is a valid
    reading. A complete code has a quiet zone (10 modules) past both ends; a part has the next bars
    within a few modules. The intensity profile along the scan line is cut at mid-grey (with
    hysteresis) and the crossings within 7 modules past each end are counted.
    """
    (x0, y0), (x1, y1) = p0, p1
    length = float(np.hypot(x1 - x0, y1 - y0))
    if length < 3.0 * digits:  # no ITF is this short (zbar's box of a few scan lines): unverifiable
        return False
    module = length / (8.0 * digits + 8.0)  # a digit is 7-9 modules, start + stop about 8
    ux, uy = (x1 - x0) / length, (y1 - y0) / length
    reach = 8.0 * module + 2.0
    n = int(length + 2 * reach) + 1
    t = np.linspace(-reach, length + reach, n, dtype=np.float32)
    gap = 1.5 * module  # the reading's own last edge, blurred
    after = (t > length + gap) & (t <= length + 7 * module)
    before = (t < -gap) & (t >= -7 * module)
    # the scan line itself and two parallel lines 4 modules off it: a line crossing a tilted code's
    # bars only partly ends in white, but a line beside it then runs on into more bars
    for shift in (0.0, -4.0 * module, 4.0 * module):
        xs = (x0 - uy * shift + ux * t).astype(np.float32)[None, :]
        ys = (y0 + ux * shift + uy * t).astype(np.float32)[None, :]
        off = np.float32([-1.5, 0.0, 1.5])[:, None]  # three lines a little apart, averaged (noise)
        prof = cv2.remap(img, xs - uy * off, ys + ux * off, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        prof = prof.astype(np.float32).mean(axis=0)
        if shift == 0.0:
            inside = prof[(t >= 0) & (t <= length)]
            lo, hi = float(np.percentile(inside, 10)), float(np.percentile(inside, 90))
            if hi - lo < 8:
                return True  # no contrast to judge by
            mid, hyst = (lo + hi) / 2, 0.2 * (hi - lo)
        if _crossings(prof[after], mid, hyst) >= 2 or _crossings(prof[before][::-1], mid, hyst) >= 2:
            return False
    return True


def _crossings(seg: np.ndarray, mid: float, hyst: float) -> int:
    """Dark/light changes along a profile, with hysteresis (noise does not count)."""
    state, count = 0, 0
    for v in seg.tolist():
        s = 1 if v > mid + hyst else (-1 if v < mid - hyst else 0)
        if s and state and s != state:
            count += 1
        if s:
            state = s
    return count


def _bars_only(img: np.ndarray) -> np.ndarray | None:
    """The crop with a dark frame round the code (ITF-14's bearer bars) painted over, or None.

    The frame is a dark connected component whose box spans most of the crop but which fills
    little of its box; bars are compact.
    """
    h, w = img.shape
    if w < 40 or h < 20:
        return None
    f = min(1.0, 800 / max(h, w))  # found at a low resolution, painted at full
    small = cv2.resize(img, None, fx=f, fy=f, interpolation=cv2.INTER_AREA) if f < 1 else img
    _, dark = cv2.threshold(cv2.GaussianBlur(small, (0, 0), 1.0), 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=8)
    sh, sw = small.shape
    frame = np.zeros_like(dark)
    for i in range(1, n):
        _x, _y, bw, bh, area = (int(v) for v in stats[i])
        if bw >= 0.4 * sw and bh >= 0.25 * sh and area < 0.3 * bw * bh:
            frame[labels == i] = 255
    if not frame.any():
        return None
    frame = cv2.dilate(frame, np.ones((5, 5), np.uint8))
    if f < 1:
        frame = cv2.resize(frame, (w, h), interpolation=cv2.INTER_NEAREST)
    out = img.copy()
    out[frame > 0] = int(np.percentile(img, 90))
    return out


def _width(found: list[Detection]) -> int:
    return max(d.rect[2] for d in found)


def _room_left(found: list[Detection], r: Region) -> tuple[int, int, int, int] | None:
    """The part of the region's box outside the readings' boxes (each with a quiet zone's margin)
    where another code fits (a square of :data:`ROOM` px), as (x0, y0, x1, y1) in the frame; None
    when only a code's human-readable line or a margin is left."""
    q = 4  # measured at a quarter size: a code is much bigger than that
    rw, rh = max(1, r.w // q), max(1, r.h // q)
    free = np.ones((rh + 2, rw + 2), np.uint8)
    free[0, :] = free[-1, :] = free[:, 0] = free[:, -1] = 0  # outside the region
    for d in found:
        x, y, w, h = d.rect
        m = BLOCK + int(0.1 * max(w, h))
        x0, y0 = max(0, (x - m - r.x) // q + 1), max(0, (y - m - r.y) // q + 1)
        x1, y1 = (x + w + m - r.x) // q + 1, (y + h + m - r.y) // q + 1
        if x1 > x0 and y1 > y0:
            free[y0:y1, x0:x1] = 0
    dist = cv2.distanceTransform(free, cv2.DIST_C, 3)
    if 2 * q * float(dist.max()) < ROOM:
        return None
    _n, labels = cv2.connectedComponents(free, connectivity=4)
    cy, cx = np.unravel_index(int(np.argmax(dist)), dist.shape)
    ys, xs = np.nonzero(labels == labels[cy, cx])
    m = 2 * BLOCK  # the margins given to the readings may hold the new code's edge
    return (
        r.x + (int(xs.min()) - 1) * q - m,
        r.y + (int(ys.min()) - 1) * q - m,
        r.x + int(xs.max()) * q + m,
        r.y + int(ys.max()) * q + m,
    )


def _unturn(rect: tuple[int, int, int, int], shape: tuple[int, ...], angle: float) -> tuple[int, int, int, int]:
    """A box read in a crop turned by :meth:`Decoder._quick`, as a box in the crop itself."""
    h, w = shape[:2]
    x, y, bw, bh = rect
    corners = np.float32([[x, y], [x + bw, y], [x + bw, y + bh], [x, y + bh]])
    if abs(angle - 90.0) < 6.0:  # turned a quarter clockwise: (x', y') came from (y', h - x')
        pts = np.column_stack([corners[:, 1], h - corners[:, 0]])
    else:
        mat, _size = _rotation(w, h, angle)
        pts = cv2.transform(corners[None], cv2.invertAffineTransform(mat))[0]
    x0, y0 = np.clip(pts.min(axis=0), 0, (w, h))
    x1, y1 = np.clip(pts.max(axis=0), 0, (w, h))
    return (int(x0), int(y0), max(1, int(x1 - x0)), max(1, int(y1 - y0)))


def _shift(d: Detection, ox: int, oy: int) -> Detection:
    x, y, w, h = d.rect
    return Detection(d.symbology, d.text, (x + ox, y + oy, w, h), d.engine)


def _plausible(d: Detection) -> bool:
    """Digits-only symbologies hold digits only, EAN-13/UPC-A with a correct check digit, ITF pairs."""
    t = d.text
    if d.symbology in ("EAN13", "UPCA", "EAN8"):
        if not (t.isascii() and t.isdigit() and len(t) == {"EAN13": 13, "UPCA": 12, "EAN8": 8}[d.symbology]):
            return False
        weighted = sum(int(c) * (1 if i % 2 else 3) for i, c in enumerate(reversed(t[:-1])))  # GTIN: 3,1,3...
        return (weighted + int(t[-1])) % 10 == 0
    if d.symbology == "I25":
        return t.isascii() and t.isdigit() and len(t) % 2 == 0 and len(t) >= 4
    return True


def _drop_partials(found: list[Detection]) -> list[Detection]:
    """Drop an implausible reading (a bad check digit) and a 1D reading that is part of a longer one
    of the same symbology (ITF reads partly)."""
    found = [d for d in found if _plausible(d)]
    if len(found) < 2:
        return found
    return [
        d
        for d in found
        if d.symbology in ("QRCODE", "DATAMATRIX")
        or not any(o.symbology == d.symbology and o.text != d.text and d.text in o.text for o in found)
    ]


def _inside(d: Detection, r: Region) -> bool:
    """The region lies mostly inside the detection's box (that code is already read)."""
    x, y, w, h = d.rect
    cx, cy = r.x + r.w / 2, r.y + r.h / 2
    return x <= cx <= x + w and y <= cy <= y + h


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    return inter > 0.3 * min(aw * ah, bw * bh)


def _iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    inter = max(0, min(ax + aw, bx + bw) - max(ax, bx)) * max(0, min(ay + ah, by + bh) - max(ay, by))
    return inter / max(1, aw * ah + bw * bh - inter)


def _merge_detections(found: list[Detection], new: list[Detection]) -> list[Detection]:
    """Add new detections unless the same code is already there (same text, or same place)."""
    out = list(found)
    for d in new:
        if any(o.symbology == d.symbology and o.text == d.text for o in out):
            continue
        # the same code read by both engines with different text: zxing-cpp's reading wins
        same_place = [o for o in out if o.symbology == d.symbology and _overlap(o.rect, d.rect)]
        if d.symbology not in ("QRCODE", "DATAMATRIX"):
            if any(d.text in o.text for o in same_place):
                continue  # a part of a code already read
            partial = [o for o in same_place if o.text in d.text]
            if partial:  # the longer reading of a code read in part
                out = [o for o in out if not any(o is p for p in partial)]
                same_place = [o for o in same_place if not any(o is p for p in partial)]
        if d.symbology not in ("QRCODE", "DATAMATRIX") and d.text.isascii():
            # the two engines disagree about one 1D code (not a character set, not a part): one of
            # them misread it, and a wrong parcel code is worse than none: neither is kept
            clash = [o for o in same_place if o.engine != d.engine and o.text.isascii() and _iou(o.rect, d.rect) >= 0.5]
            if clash:
                logger.info("event=engines_disagree symbology=%s", d.symbology)
                out = [o for o in out if not any(o is c for c in clash)]
                continue
        if same_place:
            # (digits-only symbologies have no character set to get wrong: the first reading stays)
            charset = d.symbology in ("QRCODE", "CODE128", "CODE39", "CODE93", "DATAMATRIX", "PDF417")
            if charset and d.engine == "zxing" and all(o.engine == "zbar" for o in same_place):
                out = [o for o in out if not any(o is p for p in same_place)]
                out.append(d)
            continue
        out.append(d)
    return out


def _dominant_angle(regions: list[Region]) -> float:
    return regions[0].angle if regions else 0.0
