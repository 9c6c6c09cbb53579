"""The decode benchmark's generated sets, with known answers (moved out of the package: only the
benchmark and the decoder's tests use them).

* :func:`evaluation_set`: live-frame hard cases (:data:`CASES`: rotation, perspective, blur, low
  contrast, glare, JPEG, small modules, no quiet zone, moire, inverted, several codes, dim, a 5 MP
  photo, a far 8 MP one);
* :func:`photo_set`: real-photo-like stills (:data:`PHOTO_CASES`, 3-12 MP).

Built on :mod:`kiosk.camera.synth` (codes, backgrounds, placement, camera artefacts); everything
is deterministic for a given seed. The tests import it with ``benchmarks/`` on ``sys.path``.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from kiosk.camera.synth import Placement, background, code_modules, finish, place, render_code

# --- evaluation set -------------------------------------------------------------------------


def random_text(symbology: str, rng: np.random.Generator) -> str:
    """A plausible code of that symbology (member/parcel-like ids, valid check digits)."""
    digits = string.digits
    if symbology == "QRCODE":
        return "MEMBER-" + "".join(rng.choice(list(digits + string.ascii_uppercase), 12))
    if symbology == "CODE128":
        return "PKG-" + "".join(rng.choice(list(digits + string.ascii_uppercase), 10))
    if symbology == "CODE39":
        return "".join(rng.choice(list(digits + string.ascii_uppercase), 8))
    if symbology == "EAN13":
        body = "".join(rng.choice(list(digits), 12))
        body = str(int(rng.integers(1, 10))) + body[1:]
        return body + _ean_check(body)
    if symbology == "I25":
        return "".join(rng.choice(list(digits), 2 * int(rng.integers(4, 8))))
    raise ValueError(symbology)


def _ean_check(body: str) -> str:
    s = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return str((10 - s % 10) % 10)


@dataclass(frozen=True)
class Sample:
    case: str
    image: np.ndarray
    expected: tuple[tuple[str, str], ...]  # (symbology, text)


def _scene(
    rng: np.random.Generator,
    codes: Sequence[tuple[str, str]],
    *,
    size: tuple[int, int] = (1280, 720),
    module: float = 3.0,
    angle: float | None = None,
    perspective: float = 0.03,
    paper: int = 235,
    ink: int = 25,
    quiet: int | None = None,
    card_margin: float = 0.08,
    invert: bool = False,
    **artefacts,
) -> np.ndarray:
    w, h = size
    frame = background(w, h, rng, busy=bool(rng.random() < 0.3))
    n = len(codes)
    for i, (sym, text) in enumerate(codes):
        if n > 1:  # a grid: two on top, the rest below
            center = ((i % 2 + 0.5) / 2 if i < 2 else 0.5, 0.27 if i < 2 else 0.75)
        else:
            center = (rng.uniform(0.35, 0.65), rng.uniform(0.4, 0.6))
        p = Placement(
            center=center,
            scale=module,
            angle=rng.uniform(-8, 8) if angle is None else angle,
            perspective=perspective,
            paper=paper,
            ink=ink,
            card_margin=card_margin,
        )
        # big modules are rendered big (no blurry upscale), small ones are resampled
        m = max(1, int(module))
        code = render_code(text, sym, module=m, quiet=quiet)
        p.scale = module / m
        fit = 0.8 * min(w / (code.shape[1] * (1 + 2 * card_margin)), h / (code.shape[0] * (1 + 2 * card_margin)))
        if n == 1 and p.scale > fit:  # the whole code in view
            p.scale = fit
        if invert:  # light on dark, like a phone screen in dark mode
            p.paper, p.ink = ink, paper
        frame = place(frame, code, p, rng)
    return finish(frame, rng, **artefacts)


def _moire(rng: np.random.Generator, codes: Sequence[tuple[str, str]]) -> np.ndarray:
    """A phone screen filmed: subpixel grid, resampled at a slight angle, dark mode sometimes."""
    frame = _scene(rng, codes, module=4.0, noise=0.0, perspective=0.04, paper=245, ink=20)
    h, w = frame.shape[:2]
    grid = np.ones((h, w), np.float32)
    pitch = rng.uniform(2.5, 3.5)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    a = np.deg2rad(rng.uniform(2, 8))
    u = xx * np.cos(a) + yy * np.sin(a)
    v = -xx * np.sin(a) + yy * np.cos(a)
    grid = 0.75 + 0.25 * np.cos(2 * np.pi * u / pitch) * np.cos(2 * np.pi * v / pitch)
    out = frame.astype(np.float32) * grid[..., None]
    return finish(np.clip(out, 0, 255).astype(np.uint8), rng, noise=2.0, blur=0.6)


SYMBOLOGIES_1D = ("CODE128", "CODE39", "EAN13", "I25")
ALL = ("QRCODE", *SYMBOLOGIES_1D)

# case name -> function(rng, codes) -> frame
CASES: dict[str, Callable[[np.random.Generator, Sequence[tuple[str, str]]], np.ndarray]] = {
    "clean": lambda r, c: _scene(r, c),
    "rotation": lambda r, c: _scene(r, c, angle=float(r.uniform(0, 360))),
    "perspective": lambda r, c: _scene(r, c, perspective=0.18, module=3.5),
    "blur": lambda r, c: _scene(r, c, module=4.0, blur=float(r.uniform(1.2, 2.0))),
    "low_contrast": lambda r, c: _scene(r, c, paper=150, ink=int(r.uniform(100, 115)), noise=1.5),
    "glare": lambda r, c: _scene(r, c, module=3.5, glare=float(r.uniform(0.5, 0.8))),
    "jpeg": lambda r, c: _scene(r, c, jpeg=int(r.uniform(12, 25))),
    "small_modules": lambda r, c: _scene(r, c, module=float(r.uniform(1.2, 2.0)), perspective=0.01, angle=0.0),
    "no_quiet_zone": lambda r, c: _scene(r, c, quiet=0, card_margin=0.0),
    "moire": _moire,
    "inverted": lambda r, c: _scene(r, c, invert=True),
    "several": lambda r, c: _scene(r, c, module=2.0, angle=0.0),
    # a dim counter: little light, a noisy sensor, JPEG
    "dim": lambda r, c: _scene(r, c, module=3.0, paper=95, ink=35, noise=7.0, blur=0.8, jpeg=70),
    # a phone photo: 5 MP, big modules, focus blur, some tilt, JPEG
    "photo": lambda r, c: _scene(
        r,
        c,
        size=(2592, 1944),
        module=float(r.uniform(6, 11)),
        perspective=0.08,
        blur=float(r.uniform(1.0, 4.0)),
        noise=3.0,
        jpeg=85,
    ),
    # a photo taken from afar: the code small in a big picture
    "far": lambda r, c: _scene(r, c, size=(3264, 2448), module=float(r.uniform(2.5, 4.0)), noise=3.0, jpeg=85),
}


def evaluation_set(per_case: int = 10, seed: int = 1, cases: Sequence[str] | None = None) -> list[Sample]:
    """``per_case`` frames for each hard case, symbologies in turn; ``several`` holds three codes."""
    out = []
    for name in cases or CASES:
        rng = np.random.default_rng([seed, sum(map(ord, name))])
        for i in range(per_case):
            n = 3 if name == "several" else 1
            syms = [ALL[(i + k) % len(ALL)] for k in range(n)]
            codes = [(s, random_text(s, rng)) for s in syms]
            img = CASES[name](rng, codes)
            out.append(Sample(name, img, tuple(codes)))
    return out


# --- real-photo-like stills -----------------------------------------------------------------
#
# What a phone photo of a code looks like, as far as generated images can: 3-12 MP, the code
# filling 5-60% of the frame, curved and crumpled labels, strong defocus and motion blur, a dim
# noisy sensor, specular glare stripes, steep perspective (30-60 degrees), ITF-14 with bearer bars,
# long Code39, small QR far away, coloured/textured print, screens with moire, JPEG 30-60.

PHOTO_SIZES = ((2048, 1536), (2592, 1944), (3264, 2448), (4032, 3024))  # 3, 5, 8, 12 MP


def itf14(rng: np.random.Generator) -> str:
    """A GTIN-14 (ITF-14's content) with its check digit."""
    body = "".join(rng.choice(list(string.digits), 13))
    return body + _gtin_check(body)


def _gtin_check(body: str) -> str:
    s = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str((10 - s % 10) % 10)


def _bearer(code: np.ndarray, module: int) -> np.ndarray:
    """ITF-14's bearer bars: a thick dark frame around the symbol (quiet zones inside it)."""
    t = 4 * module
    out = cv2.copyMakeBorder(code, t, t, t, t, cv2.BORDER_CONSTANT, value=0)
    return out


def _cylinder(code: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The code wrapped round a can or bottle, seen from the front: squeezed and shaded at the sides."""
    h, w = code.shape
    span = np.deg2rad(rng.uniform(70, 140))  # how much of the cylinder the code covers
    r = w / span
    out_w = int(2 * r * np.sin(span / 2))
    x = np.arange(out_w, dtype=np.float32) - out_w / 2
    theta = np.arcsin(np.clip(x / r, -1, 1))
    src_x = (theta * r + w / 2).astype(np.float32)
    map_x = np.repeat(src_x[None, :], h, axis=0)
    map_y = np.repeat(np.arange(h, dtype=np.float32)[:, None], out_w, axis=1)
    warped = cv2.remap(code, map_x, map_y, cv2.INTER_LINEAR, borderValue=255).astype(np.float32)
    shade = 0.55 + 0.45 * np.cos(theta) ** 0.7 + rng.uniform(0, 0.15) * np.exp(-(((theta - 0.3) / 0.15) ** 2))
    return np.clip(warped * shade[None, :], 0, 255).astype(np.uint8)


def _crumple(code: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    """A wrinkled label: smooth random displacement (``amount`` pixels) and shading folds."""
    h, w = code.shape
    gh, gw = max(3, round(6 * h / max(h, w))), max(3, round(6 * w / max(h, w)))  # a few wrinkles across
    dx = cv2.resize(rng.normal(0, 1, (gh, gw)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    dy = cv2.resize(rng.normal(0, 1, (gh, gw)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    mag = amount
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    warped = cv2.remap(code, xx + mag * dx, yy + mag * dy, cv2.INTER_LINEAR, borderValue=255).astype(np.float32)
    # folds: brightness follows the slope of the displacement
    shade = 1.0 + 0.3 * (dx - dy) / 3
    return np.clip(warped * np.clip(shade, 0.6, 1.15), 0, 255).astype(np.uint8)


def _screen(code: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A code shown on a phone screen: a pixel grid between pixels (filmed, it beats into moire)."""
    h, w = code.shape
    pitch = int(rng.integers(3, 5))
    yy, xx = np.mgrid[0:h, 0:w]
    grid = np.where((xx % pitch == 0) | (yy % pitch == 0), 0.55, 1.0).astype(np.float32)
    return np.clip(code.astype(np.float32) * grid + 20, 0, 255).astype(np.uint8)


def _texture(shape: tuple[int, int], rng: np.random.Generator, amount: float) -> np.ndarray:
    """Cardboard fibres / paper grain: a multiplicative field around 1."""
    h, w = shape
    fine = rng.normal(0, 1, (h, w)).astype(np.float32)
    fibres = cv2.GaussianBlur(fine, (0, 0), sigmaX=6, sigmaY=0.8)
    blotch = cv2.resize(rng.normal(0, 1, (max(2, h // 80), max(2, w // 80))).astype(np.float32), (w, h))
    return 1.0 + amount * (0.5 * fibres / (fibres.std() + 1e-6) + 0.5 * blotch)


def _motion(img: np.ndarray, length: float, angle: float) -> np.ndarray:
    n = max(3, int(length) | 1)
    k = np.zeros((n, n), np.float32)
    k[n // 2, :] = 1.0
    rot = cv2.getRotationMatrix2D((n / 2 - 0.5, n / 2 - 0.5), angle, 1.0)
    k = cv2.warpAffine(k, rot, (n, n))
    return cv2.filter2D(img, -1, k / max(k.sum(), 1e-6))


def _defocus(img: np.ndarray, radius: float) -> np.ndarray:
    n = max(3, int(2 * radius) | 1)
    k = np.zeros((n, n), np.float32)
    cv2.circle(k, (n // 2, n // 2), max(1, int(radius)), 1.0, -1, cv2.LINE_AA)
    return cv2.filter2D(img, -1, k / k.sum())


def _tilt_corners(cw: float, ch: float, tilt: float, axis: float) -> np.ndarray:
    """A card's corners (centred) turned ``tilt`` degrees out of the image plane about an in-plane axis."""
    c = np.float64([[-cw / 2, -ch / 2], [cw / 2, -ch / 2], [cw / 2, ch / 2], [-cw / 2, ch / 2]])
    a = np.deg2rad(axis)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    u = c @ rot  # coordinates along / across the axis
    f = 1.6 * max(cw, ch)  # a phone's wide lens close up
    t = np.deg2rad(tilt)
    z = u[:, 1] * np.sin(t)
    across = u[:, 1] * np.cos(t)
    proj = np.column_stack([u[:, 0], across]) * (f / (f + z))[:, None]
    return proj @ rot.T


def photo(
    rng: np.random.Generator,
    codes: Sequence[tuple[str, str]],
    *,
    sizes: Sequence[tuple[int, int]] | None = None,
    fill: tuple[float, float] = (0.05, 0.6),
    warp: str = "",
    tilt: float = 0.0,
    angle: float | None = None,
    paper: tuple[float, float, float] | None = None,
    ink: tuple[float, float, float] | None = None,
    texture: float = 0.0,
    bearer: bool = False,
    screen: bool = False,
    defocus: float = 0.0,
    motion: float = 0.0,
    blur: float = 0.0,
    noise: float = 3.0,
    dim: float = 1.0,
    stripe: float = 0.0,
    jpeg: int = 85,
) -> np.ndarray:
    """A phone photo (BGR) of one code: sizes (default :data:`PHOTO_SIZES`)/fill choose the scale;
    the rest are what goes wrong.

    ``defocus`` and ``motion`` are in modules (so a blur is as hard on a big photo as on a small one).
    """
    sym, text = codes[0]
    sizes = sizes or PHOTO_SIZES
    w, h = sizes[int(rng.integers(len(sizes)))]
    if rng.random() < 0.3:
        w, h = h, w  # portrait
    frame = background(w, h, rng, busy=bool(rng.random() < 0.5))
    mods = code_modules(text, sym)
    one_d = mods.shape[0] == 1
    mw = mods.shape[1] + (20 if one_d else 8)
    mh = mw * 0.35 if one_d else mw
    share = rng.uniform(*fill)
    module = float(np.sqrt(share * w * h / (mw * mh)))
    module = min(module, 0.85 * w / mw, 0.85 * h / mh)
    m = max(1, int(module))
    code = render_code(text, sym, module=m, bar_height=int(mw * m * 0.35) if one_d else None)
    if bearer:
        code = _bearer(code, m)
    if screen:
        code = _screen(code, rng)
    if warp == "cylinder":
        code = _cylinder(code, rng)
    elif warp == "crumple":
        code = _crumple(code, rng, float(rng.uniform(0.4, 0.9)) * m)
    # the card: coloured paper and ink, texture
    margin = int(0.06 * max(code.shape))
    card = cv2.copyMakeBorder(code, margin, margin, margin, margin, cv2.BORDER_CONSTANT, value=255)
    t = card.astype(np.float32)[..., None] / 255.0
    paper_c = np.float32(paper if paper is not None else [rng.uniform(215, 245)] * 3)
    ink_c = np.float32(ink if ink is not None else [rng.uniform(15, 45)] * 3)
    card_bgr = ink_c + t * (paper_c - ink_c)
    if texture:
        card_bgr *= _texture(card.shape, rng, texture)[..., None]
    ch, cw = card.shape
    sc = module / m
    dst = _tilt_corners(cw * sc, ch * sc, tilt, float(rng.uniform(0, 180))) if tilt else None
    if dst is None:
        dst = np.float64(
            [[-cw / 2, -ch / 2], [cw / 2, -ch / 2], [cw / 2, ch / 2], [-cw / 2, ch / 2]]
        ) * sc + rng.uniform(-0.04, 0.04, (4, 2)) * [cw * sc, ch * sc]
    a = np.deg2rad(rng.uniform(-10, 10) if angle is None else angle)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    dst = dst @ rot.T
    span = dst.max(axis=0) - dst.min(axis=0)
    if span[0] > 0.95 * w or span[1] > 0.95 * h:  # keep the whole code in view
        dst *= 0.95 * min(w / span[0], h / span[1])
        span = dst.max(axis=0) - dst.min(axis=0)
    lo = -dst.min(axis=0)
    hi = np.array([w, h]) - dst.max(axis=0)
    centre = np.array([rng.uniform(lo[0], hi[0]), rng.uniform(lo[1], hi[1])]) if (hi > lo).all() else [w / 2, h / 2]
    dst = np.float32(dst + centre)
    src = np.float32([[0, 0], [cw, 0], [cw, ch], [0, ch]])
    mat = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(card_bgr, mat, (w, h), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.ones((ch, cw), np.float32), mat, (w, h), flags=cv2.INTER_LINEAR)[..., None]
    out = frame.astype(np.float32) * (1 - mask) + warped * mask
    del warped, mask
    px = module  # frame pixels per module
    if defocus:
        out = _defocus(out, defocus * px)
    if motion:
        out = _motion(out, motion * px, float(rng.uniform(0, 180)))
    if blur:
        out = cv2.GaussianBlur(out, (0, 0), blur)
    if stripe:  # a specular stripe: a bright band across the code, burnt out in the middle
        (x0, y0), (x1, y1) = dst.min(axis=0), dst.max(axis=0)
        cx, cy = rng.uniform(x0 + 0.2 * (x1 - x0), x1 - 0.2 * (x1 - x0)), rng.uniform(y0, y1)
        b = np.deg2rad(rng.uniform(0, 180))
        width = rng.uniform(0.03, 0.08) * max(x1 - x0, y1 - y0)
        yy, xx = np.ogrid[0:h, 0:w]
        d = (xx - cx) * np.cos(b) + (yy - cy) * np.sin(b)
        out += (stripe * 255 * np.exp(-((d / width) ** 2)))[..., None].astype(np.float32)
    if dim != 1.0:
        out *= dim
    out = finish(np.clip(out, 0, 255).astype(np.uint8), rng, noise=noise, jpeg=jpeg)
    return out


def _kraft(rng: np.random.Generator) -> dict:
    """Brown cardboard or a coloured label with dark (sometimes coloured) ink."""
    choice = int(rng.integers(3))
    if choice == 0:  # kraft cardboard, black ink
        return {"paper": (110, 150, 185), "ink": (30, 35, 40), "texture": 0.12}
    if choice == 1:  # yellow label, blue ink
        return {"paper": (60, 215, 235), "ink": (120, 40, 20), "texture": 0.05}
    return {"paper": (200, 190, 230), "ink": (60, 20, 110), "texture": 0.08}  # pink label, purple ink


def _mixed(r: np.random.Generator, c: Sequence[tuple[str, str]]) -> np.ndarray:
    """Several moderate troubles at once, as in most real photos."""
    colours = _kraft(r) if r.random() < 0.3 else {}
    return photo(
        r,
        c,
        fill=(0.03, 0.4),
        warp=str(r.choice(["", "", "cylinder", "crumple"])),
        tilt=float(r.uniform(0, 45)),
        angle=float(r.uniform(0, 360)) if r.random() < 0.3 else None,
        defocus=float(r.uniform(0, 0.6)),
        motion=float(r.uniform(0, 0.8)),
        blur=float(r.uniform(0.3, 1.5)),
        stripe=float(r.uniform(0, 0.5)) if r.random() < 0.4 else 0.0,
        dim=float(r.uniform(0.5, 1.0)),
        noise=float(r.uniform(2, 8)),
        jpeg=int(r.uniform(40, 90)),
        **colours,
    )


# still photo cases: name -> (function(rng, codes) -> BGR image, symbologies it is about)
PHOTO_CASES: dict[str, tuple[Callable[[np.random.Generator, Sequence[tuple[str, str]]], np.ndarray], tuple]] = {
    "p_phone": (lambda r, c: photo(r, c, blur=float(r.uniform(0.5, 1.5))), ALL),
    "p_cylinder": (
        lambda r, c: photo(r, c, fill=(0.1, 0.4), warp="cylinder", angle=float(r.uniform(-5, 5))),
        ("EAN13", "EAN13", "CODE128", "QRCODE"),
    ),
    "p_crumpled": (lambda r, c: photo(r, c, fill=(0.1, 0.5), warp="crumple"), ALL),
    "p_defocus": (lambda r, c: photo(r, c, fill=(0.1, 0.5), defocus=float(r.uniform(0.6, 1.2))), ALL),
    "p_motion": (lambda r, c: photo(r, c, fill=(0.1, 0.5), motion=float(r.uniform(0.8, 1.8))), ALL),
    "p_low_light": (
        lambda r, c: photo(r, c, fill=(0.1, 0.5), dim=float(r.uniform(0.25, 0.4)), noise=12.0, jpeg=70, blur=0.8),
        ALL,
    ),
    "p_glare_stripe": (lambda r, c: photo(r, c, fill=(0.1, 0.5), stripe=float(r.uniform(0.6, 1.0))), ALL),
    "p_steep": (lambda r, c: photo(r, c, fill=(0.1, 0.4), tilt=float(r.uniform(30, 60))), ALL),
    "p_itf14": (lambda r, c: photo(r, c, fill=(0.1, 0.5), bearer=True, blur=float(r.uniform(0.5, 1.5))), ("I25",)),
    "p_code39_long": (lambda r, c: photo(r, c, fill=(0.15, 0.6), blur=float(r.uniform(0.5, 1.5))), ("CODE39",)),
    "p_far_qr": (lambda r, c: photo(r, c, sizes=PHOTO_SIZES[2:], fill=(0.002, 0.01), blur=0.7), ("QRCODE",)),
    "p_far_1d": (
        lambda r, c: photo(r, c, sizes=PHOTO_SIZES[2:], fill=(0.006, 0.02), blur=0.7),
        SYMBOLOGIES_1D,
    ),
    "p_textured": (lambda r, c: photo(r, c, fill=(0.1, 0.5), **_kraft(r)), ALL),
    "p_screen": (
        lambda r, c: photo(r, c, fill=(0.05, 0.3), screen=True, tilt=float(r.uniform(0, 25)), blur=0.6),
        ("QRCODE", "QRCODE", "CODE128"),
    ),
    # a close-up or a cropped picture at camera-frame sizes (the live effort's size range): the code
    # fills much of it
    "p_closeup": (
        lambda r, c: photo(
            r, c, sizes=((640, 480), (1280, 960), (1600, 1200)), fill=(0.2, 0.7), blur=float(r.uniform(0.5, 1.5))
        ),
        ALL,
    ),
    "p_mixed": (_mixed, ALL),
    "p_jpeg_low": (lambda r, c: photo(r, c, fill=(0.05, 0.4), jpeg=int(r.uniform(30, 60)), blur=0.8), ALL),
}


def photo_text(symbology: str, case: str, rng: np.random.Generator) -> str:
    if case == "p_itf14":
        return itf14(rng)
    if case == "p_code39_long":
        return "".join(rng.choice(list(string.digits + string.ascii_uppercase + "-."), int(rng.integers(20, 31))))
    return random_text(symbology, rng)


def photo_set(per_case: int = 6, seed: int = 1, cases: Sequence[str] | None = None) -> list[Sample]:
    """``per_case`` real-photo-like stills for each case in :data:`PHOTO_CASES` (big: 3-12 MP)."""
    out = []
    for name in cases or PHOTO_CASES:
        fn, syms = PHOTO_CASES[name]
        rng = np.random.default_rng([seed, sum(map(ord, name))])
        for i in range(per_case):
            sym = syms[i % len(syms)]
            codes = ((sym, photo_text(sym, name, rng)),)
            out.append(Sample(name, fn(rng, codes), codes))
    return out
