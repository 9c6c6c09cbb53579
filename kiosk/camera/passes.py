"""How hard a frame is read: a named list of passes per effort (:data:`PASSES`).

1. ``candidates``: each candidate patch (:func:`~kiosk.camera.locate.locate`) is cropped from the
   full-resolution frame and read with zxing-cpp, told the formats of the kind the patch looks
   like, then zbar if zxing-cpp found nothing. A patch much larger than the code read in it gets a
   look for the other kind too (a QR code merged with a label). Print gets one cheap look for a
   matrix code while nothing was read.
2. ``candidate_fallbacks`` for the first two candidates nobody read: upscaling, sharpening,
   contrast stretch, a white border, deskewing to the patch's angle, inversion (light-on-dark
   phone screens), a dark frame round the code painted over (ITF-14's bearer bars), binarisation,
   downscaling. Live frames try the likeliest few, and only while nothing was read (with a code
   read, the patches left are print); stills try every one.
3. Live frames where nothing was read: ``whole_frame_look`` (a sizeable unread patch: one look at
   the whole frame) or ``pieces_look`` (three or more small ones, a faint code found only in
   pieces: one look at the whole frame at half size).
4. Stills: ``whole_image`` (both engines on the whole image; zbar also smaller), then, while
   nothing was read, ``whole_fallbacks`` (the fallbacks and a few rotations on the whole image)
   and ``local_contrast`` (CLAHE at a few smaller sizes: glare stripes, strong defocus).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np

from kiosk.camera.detection import Detection, Region, _rect, _shift
from kiosk.camera.engines import Engines
from kiosk.camera.guards import _bar_span, _inside, _merge_detections, _room_left, _width
from kiosk.camera.locate import _expand, _kind, locate, to_gray

logger = logging.getLogger("kiosk.camera.decoder")


@dataclass
class Look:
    """One frame being read: its images, what was read so far, the candidates nobody read."""

    frame: np.ndarray
    lum: np.ndarray  # what candidates are found and first read in (BGR's green channel)
    effort: str
    max_candidates: int
    found: list[Detection] = field(default_factory=list)
    pending: list[tuple[Region, float, tuple[int, int, int, int]]] = field(default_factory=list)
    _gray: np.ndarray | None = None

    @property
    def gray(self) -> np.ndarray:
        """The frame in true grayscale (for the fallbacks), made once when first needed."""
        if self._gray is None:
            colour = self.lum is not self.frame and self.frame.ndim == 3
            self._gray = to_gray(self.frame) if colour else self.lum
        return self._gray


def candidates(eng: Engines, look: Look) -> None:
    lum, found, effort = look.lum, look.found, look.effort
    h, w = lum.shape
    texts = 0
    for r in locate(lum, look.max_candidates + 2)[: look.max_candidates]:
        if any(_inside(d, r) for d in found):
            continue
        kind, angle = _kind(lum, r)
        x0, y0, x1, y1 = _expand(r, w, h, kind, angle)
        crop = lum[y0:y1, x0:x1]  # green is luminance enough for a first read
        # a big patch of print may be a label with a code merged in: that gets a full look
        if kind == "text" and effort != "full" and r.w * r.h < 0.04 * w * h:
            # print, or a matrix code merged with print: one cheap look for a matrix code
            texts += 1
            if eng._zx_matrix is not None and not found and texts <= 2:
                fmts = eng._zx_qr or eng._zx_matrix
                got = eng._zxing(crop, x0, y0, quick=True, rotate=False, invert=True, formats=fmts)
                found = _merge_detections(found, got)
            continue
        small = max(x1 - x0, y1 - y0) < 224  # about 25 modules of 3 px or less, with the margin
        got = quick(eng, crop, kind, angle, x0, y0, effort, zbar=kind == "1d" or not found, small=small)
        # a patch much larger than the code read in it may hold another one beside it (a QR
        # code and a label merged into one patch): the formats of the other kind get a look
        if got and kind == "1d" and _width(got) < 0.6 * r.w:
            got = _merge_detections(got, others(eng, crop, got, x0, y0, invert=True))
        elif got and (room := _room_left(got, r)) is not None:
            rx0, ry0, rx1, ry1 = max(0, room[0]), max(0, room[1]), min(w, room[2]), min(h, room[3])
            got = _merge_detections(got, others(eng, lum[ry0:ry1, rx0:rx1], got, rx0, ry0))
        if got:
            found = _merge_detections(found, got)
        else:
            look.pending.append((r, angle, (x0, y0, x1, y1)))
    look.found = found


def candidate_fallbacks(eng: Engines, look: Look) -> None:
    if look.effort != "full" and (not look.pending or look.found):
        return  # (with a code read on a live frame, the patches left are print, not codes)
    gray = look.gray
    for r, angle, (x0, y0, x1, y1) in look.pending[:2]:
        if any(_inside(d, r) for d in look.found):
            continue
        # live frames: the likeliest few variants (fewer for a small patch); stills: all
        limit = None if look.effort == "full" else (5 if max(r.w, r.h) >= 96 else 2)
        got = fallbacks(eng, gray[y0:y1, x0:x1], angle, x0, y0, limit=limit)
        look.found = _merge_detections(look.found, got)


def whole_frame_look(eng: Engines, look: Look) -> None:
    """A sizeable code-like patch nobody could read: one look at the whole frame."""
    if look.found or not any(max(p[0].w, p[0].h) >= 96 for p in look.pending):
        return
    gray = look.gray
    if eng.use_zxing:
        look.found = eng._zxing(gray, 0, 0)
    if not look.found and eng.use_zbar:
        f = min(1.0, 1280 / max(gray.shape))
        small = gray if f == 1 else cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
        look.found = eng._zbar(small, 0, 0, f)


def pieces_look(eng: Engines, look: Look) -> None:
    """Several small unread patches: a faint code found only in pieces (its middle, often); one
    quick look at the whole frame at half size (at full size it would cost an empty view with
    clutter too much). Not after a sizeable patch had its whole-frame look."""
    if look.found or len(look.pending) < 3 or any(max(p[0].w, p[0].h) >= 96 for p in look.pending):
        return
    h, w = look.lum.shape
    half = cv2.resize(look.gray, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    look.found = eng._read(half, 0, 0, scale=0.5)


def whole_image(eng: Engines, look: Look) -> None:
    """Both engines on the whole still; zbar reads big blurry photos better smaller (and faster)."""
    gray = look.gray
    if eng.use_zxing:
        look.found = _merge_detections(look.found, eng._zxing(gray, 0, 0))
    if eng.use_zbar:
        big = max(gray.shape)
        for size in (big, 1600, 800) if big > 1600 else (big,):
            if size > 2000:
                continue
            f = size / big
            small = gray if f == 1 else cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
            look.found = _merge_detections(look.found, eng._zbar(small, 0, 0, f))


def whole_fallbacks(eng: Engines, look: Look) -> None:
    if not look.found:
        look.found = fallbacks(eng, look.gray, look.pending[0][1] if look.pending else 0.0, 0, 0, whole=True)


def local_contrast(eng: Engines, look: Look) -> None:
    if not look.found:
        look.found = local_contrast_read(eng, look.gray)


Pass = Callable[[Engines, Look], None]
PASSES: dict[str, tuple[Pass, ...]] = {
    "fast": (candidates,),
    "normal": (candidates, candidate_fallbacks, whole_frame_look, pieces_look),
    "full": (candidates, candidate_fallbacks, whole_image, whole_fallbacks, local_contrast),
}


# --- the reads a pass makes -----------------------------------------------------------------------


def quick(
    eng: Engines,
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
    if eng.use_zxing:
        # told what to look for, zxing-cpp is several times faster
        fmts = {"1d": eng._zx_linear, "2d": eng._zx_matrix}.get(kind) or eng._zx_formats
        if kind == "2d" and eng._zx_qr is not None and fmts is eng._zx_matrix:  # QR first: most codes are
            got = eng._zxing(img, 0, 0, sc, quick=True, rotate=False, invert=False, formats=eng._zx_qr)
        if not got:
            got = eng._zxing(img, 0, 0, sc, quick=True, rotate=kind != "1d", invert=kind != "1d", formats=fmts)
        if not got and kind == "1d":
            got = eng._zxing(255 - img, 0, 0, quick=True, rotate=False, formats=fmts)
    if not got and eng.use_zbar and (zbar or not eng.use_zxing):
        got = eng._zbar(img, 0, 0, sc)
    if any(d.symbology == "I25" for d in got):
        # ITF is often read in part (a valid shorter code inside): ask every engine, keep the longest
        if eng.use_zbar:
            got = _merge_detections(got, eng._zbar(img, 0, 0))
        if eng.use_zxing:
            got = _merge_detections(got, eng._zxing(img, 0, 0, rotate=kind != "1d"))
        if kind == "1d":  # zxing-cpp's position is exact: a reading much shorter than the bars is a part
            span = _bar_span(img)
            got = [d for d in got if d.symbology != "I25" or d.engine != "zxing" or d.rect[2] >= 0.7 * span]
    if turned:  # the reading's box, turned back into the crop
        return [
            _shift(Detection(d.symbology, d.text, _unturn(d.rect, crop.shape, angle), d.engine), ox, oy) for d in got
        ]
    return [_shift(d, ox, oy) for d in got]


def others(
    eng: Engines, crop: np.ndarray, got: list[Detection], ox: int, oy: int, invert: bool = False
) -> list[Detection]:
    """The codes of the other kind in a crop where ``got`` was read (matrix beside 1D, or 1D
    beside a matrix code): the first read looked only for the kind the patch resembled."""
    if not eng.use_zxing:
        return []  # zbar looked for every symbology at once
    matrix = any(d.symbology in ("QRCODE", "DATAMATRIX") for d in got)
    linear = any(d.symbology not in ("QRCODE", "DATAMATRIX") for d in got)
    if matrix and linear:
        return []
    formats = eng._zx_matrix if linear else eng._zx_linear
    if formats is None:
        return []
    return eng._zxing(crop, ox, oy, quick=True, invert=invert and linear, formats=formats)


def fallbacks(
    eng: Engines, img: np.ndarray, angle: float, ox: int, oy: int, whole: bool = False, limit: int | None = None
) -> list[Detection]:
    h, w = img.shape
    if max(h, w) > 1600:  # a photo's modules are big: fallbacks at a size they finish quickly
        f = 1600 / max(h, w)
        img, whole = cv2.resize(img, None, fx=f, fy=f, interpolation=cv2.INTER_AREA), True
    for i, (name, variant, scale) in enumerate(_variants(img, angle)):
        if limit is not None and i >= limit:
            break
        got = eng._read(variant, 0, 0)
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
            got = eng._read(_rotate(img, a), 0, 0)
            if got:
                return [Detection(d.symbology, d.text, (ox, oy, w, h), d.engine) for d in got]
    return []


def local_contrast_read(eng: Engines, gray: np.ndarray) -> list[Detection]:
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
        got = eng._read(clahe.apply(small), 0, 0, scale=f)
        if got:
            logger.debug("event=decoded_by_fallback variant=clahe-%s", f)
            return got
    return []


# --- images -------------------------------------------------------------------------------------


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
