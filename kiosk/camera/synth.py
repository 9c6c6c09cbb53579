"""Generated barcode images and camera-like frames, with known answers.

Used by the synthetic camera source (demo, scenario runner) and the tests; the decode benchmark's
hard cases and photo-like stills are built on these in ``benchmarks/decode_sets.py``.

QR codes come from ``segno`` (always a full QR, never Micro QR),
1D codes from ``python-barcode``; what python-barcode cannot encode (Latin-1 in Code128, Code39
full ASCII, Data Matrix) comes from zxing-cpp's writer when it is installed.

Everything here is deterministic for a given ``numpy.random.Generator``.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import cv2
import numpy as np

ONE_D = {"CODE128": "code128", "CODE39": "code39", "EAN13": "ean13", "I25": "itf", "EAN8": "ean8", "UPCA": "upca"}


def code_modules(text: str, symbology: str = "QRCODE") -> np.ndarray:
    """The code's modules as a boolean array (True = dark): rows x cols; a 1D code has one row."""
    symbology = symbology.upper()
    if symbology == "QRCODE":
        import segno

        qr = segno.make_qr(text)  # make_qr never picks Micro QR
        return np.array(qr.matrix, dtype=bool)
    if symbology in ONE_D:
        import barcode

        cls = barcode.get_barcode_class(ONE_D[symbology])
        kwargs = {"add_checksum": False} if symbology == "CODE39" else {}
        try:
            code = cls(text, **kwargs)
            if symbology == "CODE39" and code.get_fullcode() != text:
                raise ValueError("python-barcode upper-cases Code39")
            pattern = code.build()[0]
            return np.array([[c == "1" for c in pattern]], dtype=bool)
        except Exception:
            return _zxing_modules(text, symbology)
    return _zxing_modules(text, symbology)


def _zxing_modules(text: str, symbology: str) -> np.ndarray:
    import zxingcpp

    fmt = {
        "CODE128": "Code128",
        "CODE39": "Code39Ext",
        "EAN13": "EAN13",
        "I25": "ITF",
        "DATAMATRIX": "DataMatrix",
        "EAN8": "EAN8",
        "UPCA": "UPCA",
    }[symbology]
    bc = zxingcpp.create_barcode(text, getattr(zxingcpp.BarcodeFormat, fmt))
    img = np.asarray(bc.to_image(scale=1, add_quiet_zones=False))
    if img.ndim == 3:
        img = img[..., 0]
    mods = img < 128
    if symbology != "DATAMATRIX":
        mods = mods[:1]
    return mods


def render_code(
    text: str,
    symbology: str = "QRCODE",
    module: int = 4,
    quiet: int | None = None,
    bar_height: int | None = None,
) -> np.ndarray:
    """A clean grayscale image of the code: ``module`` pixels per module, ``quiet`` modules of margin."""
    mods = code_modules(text, symbology)
    if mods.shape[0] == 1:  # 1D: stretch the single row into bars
        width = mods.shape[1] * module
        height = bar_height or max(int(width * 0.3), 20 * module)
        img = np.where(mods[0], 0, 255).astype(np.uint8)
        img = np.repeat(img, module)[None, :].repeat(height, axis=0)
        q = 10 if quiet is None else quiet
    else:
        img = np.where(mods, 0, 255).astype(np.uint8)
        img = np.kron(img, np.ones((module, module), dtype=np.uint8))
        q = 4 if quiet is None else quiet
    pad = q * module
    if pad:
        img = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=255)
    return np.ascontiguousarray(img)


# --- scenes -------------------------------------------------------------------------------


def background(width: int, height: int, rng: np.random.Generator, busy: bool = False) -> np.ndarray:
    """A camera's empty view: a lit counter top, soft shapes, sensor noise (BGR)."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = rng.uniform(90, 170)
    light = base + 40 * (xx / width - 0.5) * rng.uniform(-1, 1) + 30 * (yy / height - 0.5) * rng.uniform(-1, 1)
    img = np.dstack([light * rng.uniform(0.85, 1.0), light * rng.uniform(0.9, 1.05), light]).astype(np.float32)
    for _ in range(rng.integers(2, 6)):  # objects: soft-edged rectangles and ellipses
        colour = rng.uniform(30, 220, 3)
        x0, y0 = int(rng.uniform(0, width)), int(rng.uniform(0, height))
        w, h = int(rng.uniform(40, width / 2)), int(rng.uniform(40, height / 2))
        if rng.random() < 0.5:
            cv2.rectangle(img, (x0, y0), (x0 + w, y0 + h), colour.tolist(), -1)
        else:
            cv2.ellipse(img, (x0, y0), (w // 2, h // 2), float(rng.uniform(0, 180)), 0, 360, colour.tolist(), -1)
    img = np.clip(img, 0, 255).astype(np.uint8)
    if busy:  # printed text next to the code: what a parcel label looks like
        for _ in range(6):
            org = (int(rng.uniform(0, width - 200)), int(rng.uniform(20, height)))
            words = "".join(rng.choice(list(string.ascii_letters + "  "), 18))
            cv2.putText(img, words, org, cv2.FONT_HERSHEY_SIMPLEX, rng.uniform(0.5, 1.0), (40, 40, 40), 1, cv2.LINE_AA)
    return cv2.GaussianBlur(img, (0, 0), 1.0 if busy else 2.0)


@dataclass
class Placement:
    """How a code image is put into a scene."""

    center: tuple[float, float] = (0.5, 0.5)  # fraction of the frame
    scale: float = 1.0  # code pixels -> frame pixels
    angle: float = 0.0  # degrees
    perspective: float = 0.0  # corner jitter, fraction of the code's size
    paper: int = 255  # card brightness
    ink: int = 0
    card_margin: float = 0.08  # extra card around the code, fraction of its size


def place(frame: np.ndarray, code: np.ndarray, p: Placement, rng: np.random.Generator) -> np.ndarray:
    """Warp a grayscale code image (on its card) into the BGR ``frame``; returns the frame."""
    h, w = code.shape
    m = int(max(h, w) * p.card_margin)
    card = cv2.copyMakeBorder(code, m, m, m, m, cv2.BORDER_CONSTANT, value=255).astype(np.float32)
    card = p.ink + (card / 255.0) * (p.paper - p.ink)
    ch, cw = card.shape
    src = np.float32([[0, 0], [cw, 0], [cw, ch], [0, ch]])
    c = src - [cw / 2, ch / 2]
    jitter = rng.uniform(-p.perspective, p.perspective, (4, 2)) * [cw, ch]
    c = (c + jitter) * p.scale
    a = np.deg2rad(p.angle)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    c = c @ rot.T
    fh, fw = frame.shape[:2]
    dst = np.float32(c + np.array([p.center[0] * fw, p.center[1] * fh]))
    mat = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(card, mat, (fw, fh), flags=cv2.INTER_AREA if p.scale < 1 else cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.ones_like(card), mat, (fw, fh), flags=cv2.INTER_LINEAR)
    out = frame.astype(np.float32)
    tint = np.array([0.97, 1.0, 1.0], np.float32)
    out = out * (1 - mask[..., None]) + (warped[..., None] * tint) * mask[..., None]
    return np.clip(out, 0, 255).astype(np.uint8)


def finish(
    frame: np.ndarray,
    rng: np.random.Generator,
    noise: float = 2.0,
    blur: float = 0.0,
    glare: float = 0.0,
    jpeg: int = 0,
) -> np.ndarray:
    """Camera artefacts: defocus blur, glare, sensor noise, JPEG compression."""
    out = frame.astype(np.float32)
    if blur > 0:
        out = cv2.GaussianBlur(out, (0, 0), blur)
    if glare > 0:
        h, w = out.shape[:2]
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        cx, cy = rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h
        r = rng.uniform(0.08, 0.15) * w
        spot = np.exp(-(((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r)))
        out = out + glare * 255 * spot[..., None]
    if noise > 0:
        out = out + rng.normal(0, noise, out.shape).astype(np.float32)
    out = np.clip(out, 0, 255).astype(np.uint8)
    if jpeg:
        _ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(jpeg)])
        out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return out


def camera_frame(
    text: str,
    symbology: str = "QRCODE",
    size: tuple[int, int] = (1280, 720),
    rng: np.random.Generator | None = None,
    module: int | None = None,
) -> np.ndarray:
    """A realistic but reliably decodable camera frame showing one code (the synthetic camera's view)."""
    rng = rng or np.random.default_rng(0)
    w, h = size
    img = render_code(text, symbology, module=1)
    # about a third of the frame's height for a QR, half its width for a 1D code
    if module is None:
        target = h * 0.45 if img.shape[0] >= img.shape[1] * 0.5 else w * 0.5
        module = max(2, int(target / max(img.shape)))
    code = render_code(text, symbology, module=module)
    frame = background(w, h, rng)
    p = Placement(
        center=(rng.uniform(0.45, 0.55), rng.uniform(0.45, 0.55)),
        angle=rng.uniform(-4, 4),
        perspective=0.02,
        paper=int(rng.uniform(225, 250)),
        ink=int(rng.uniform(15, 40)),
    )
    scale = min(1.0, 0.9 * min(w / code.shape[1], h / code.shape[0]))
    p.scale = scale
    frame = place(frame, code, p, rng)
    return finish(frame, rng, noise=1.5)
