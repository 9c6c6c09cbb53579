"""Where the codes may be: candidate patches of dense strong edges, and what each looks like.

Per 8x8 block the mean absolute gradient is measured at full resolution (two ``absdiff`` and one
area resize: ~1 ms for 1280x720). A code is a dense patch of strong edges; a camera's empty view
is not. A dim, noisy picture is localised at half or quarter size. Each patch is then classed as
a 1D code (parallel bars), a matrix code (squarish) or print, and given a crop with room for its
quiet zone.
"""

from __future__ import annotations

import cv2
import numpy as np

from kiosk.camera.detection import Region

BLOCK = 8
NOISY = 8.0  # median block edge level of a picture too noisy to localise at full resolution
LOCATE_MAX = 1600  # bigger images are localised at this width (a photo's modules are big)


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
