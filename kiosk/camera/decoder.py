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

The parts, along their seams: :mod:`kiosk.camera.locate` (candidate patches),
:mod:`kiosk.camera.engines` (zxing-cpp and zbar, and their text), :mod:`kiosk.camera.guards`
(the wrong-read guards), :mod:`kiosk.camera.passes` (the named passes of each effort).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from kiosk.camera.detection import Detection, Region
from kiosk.camera.engines import (
    DEFAULT_SYMBOLOGIES,
    ENGINES,
    KNOWN_SYMBOLOGIES,
    Engines,
    _zbar_text,
    code39_full_ascii,
    zxingcpp,
)
from kiosk.camera.guards import _drop_partials, _itf_complete, _merge_detections, _plausible
from kiosk.camera.locate import _luminance, locate, to_gray
from kiosk.camera.passes import PASSES, Look

__all__ = [
    "DEFAULT_SYMBOLOGIES",
    "EFFORTS",
    "ENGINES",
    "KNOWN_SYMBOLOGIES",
    "PASSES",
    "STILL_SIZE",
    "Decoder",
    "Detection",
    "Region",
    "_itf_complete",
    "_merge_detections",
    "_plausible",
    "_zbar_text",
    "code39_full_ascii",
    "locate",
    "to_gray",
    "zxingcpp",
]

EFFORTS = tuple(PASSES)  # fast, normal, full
STILL_SIZE = 1920  # a frame with a longer side is a photo: decode(frame) gives it every fallback


class Decoder(Engines):
    """Reads barcodes from frames.

    ``engine``: ``"auto"`` (zxing-cpp and zbar, when zxing-cpp is installed), ``"zbar"`` or
    ``"zxing"``. ``symbologies``: pyzbar names to look for (a symbology an engine cannot read is
    skipped by that engine). ``effort``: ``"fast"`` (candidates only, no fallbacks), ``"normal"``
    (fallbacks for candidates not read; the default), ``"full"`` (also whole-image passes: still
    images); :data:`~kiosk.camera.passes.PASSES` names each effort's passes. ``decode(photo)``
    without an effort on a picture over 1920 px uses ``"full"``.
    """

    def __init__(
        self,
        engine: str = "auto",
        symbologies: Iterable[str] = DEFAULT_SYMBOLOGIES,
        effort: str = "normal",
        max_candidates: int = 6,
    ) -> None:
        if engine in ENGINES and effort not in EFFORTS:
            raise ValueError(f"effort must be one of {', '.join(EFFORTS)}, not {effort!r}")
        super().__init__(engine, symbologies)
        self.effort = effort
        self.max_candidates = max_candidates

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
        look = Look(frame, lum, effort, self.max_candidates)
        for run in PASSES[effort]:
            run(self, look)
        return _drop_partials(look.found)
