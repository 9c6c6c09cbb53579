"""The two engines behind one interface: zxing-cpp, told which formats to look for, and zbar.

Text: zxing-cpp's text is used where it read the code (it handles ECI, Shift_JIS, Latin-1 via
FNC4 in Code128 and Code39 full ASCII). zbar's bytes are interpreted per symbology: QR text as
zbar transcoded it (with its Shift_JIS-for-UTF-8 mistake undone), 1D codes as Latin-1, Code39 full
ASCII expanded when every escape is valid (as zxing-cpp does). Each engine's ITF reading passes
:func:`~kiosk.camera.guards._itf_complete` before it is returned.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np

from kiosk.camera.detection import Detection, _rect
from kiosk.camera.guards import _itf_complete, _merge_detections
from kiosk.camera.locate import to_gray
from kiosk.errors import CameraError

logger = logging.getLogger("kiosk.camera.decoder")

try:  # zxing-cpp is optional: the kiosk works with zbar alone
    import zxingcpp
except ImportError:  # pragma: no cover - depends on the installation
    zxingcpp = None

DEFAULT_SYMBOLOGIES = ("QRCODE", "CODE128", "CODE39", "EAN13", "UPCA", "I25", "DATAMATRIX")
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


class Engines:
    """The engines a decoder reads with, told which symbologies to look for.

    ``engine``: ``"auto"`` (zxing-cpp and zbar, when zxing-cpp is installed), ``"zbar"`` or
    ``"zxing"``. ``symbologies``: pyzbar names to look for (a symbology an engine cannot read is
    skipped by that engine).
    """

    def __init__(
        self,
        engine: str = "auto",
        symbologies: Iterable[str] = DEFAULT_SYMBOLOGIES,
    ) -> None:
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
        syms = tuple(dict.fromkeys(s.upper() for s in symbologies))
        bad = [s for s in syms if s not in KNOWN_SYMBOLOGIES]
        if bad or not syms:
            raise ValueError(
                f"unknown symbology {', '.join(bad) or '(none given)'}; known: {', '.join(KNOWN_SYMBOLOGIES)}"
            )
        if engine == "zxing" and zxingcpp is None:
            raise CameraError("engine 'zxing' needs the zxing-cpp package, which is not installed")
        self.symbologies = syms
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
