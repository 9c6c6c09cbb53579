"""Never a wrong read: a wrong parcel code is worse than none.

* an ITF reading is dropped when bars run on within a few modules past either end, on its scan
  line or a parallel one (ITF has no check digit, so a part of it decodes validly), or when it is
  much shorter than the bars it was read in;
* EAN/UPC check digits and ITF digit pairs are checked;
* a 1D reading that is part of a longer one of the same symbology is dropped;
* when the two engines read one 1D code as different texts, neither is returned; where a
  character set can differ, zxing-cpp's reading replaces zbar's.

Also here: what the readings of a patch leave of it (:func:`_room_left`: room for another code).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import cv2
import numpy as np

from kiosk.camera.detection import Detection, Region
from kiosk.camera.locate import BLOCK

logger = logging.getLogger("kiosk.camera.decoder")

ROOM = 56  # px: a patch with a square this big left beside the codes read in it may hold another


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


def _inside(d: Detection, r: Region) -> bool:
    """The region lies mostly inside the detection's box (that code is already read)."""
    x, y, w, h = d.rect
    cx, cy = r.x + r.w / 2, r.y + r.h / 2
    return x <= cx <= x + w and y <= cy <= y + h


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
