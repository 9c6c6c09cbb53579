"""The decoder's records: a code read (:class:`Detection`) and a candidate patch (:class:`Region`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


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


def _rect(xs: Sequence[float], ys: Sequence[float], ox: int, oy: int, scale: float) -> tuple[int, int, int, int]:
    x0, x1 = min(xs) / scale, max(xs) / scale
    y0, y1 = min(ys) / scale, max(ys) / scale
    return (int(x0) + ox, int(y0) + oy, max(1, int(x1 - x0)), max(1, int(y1 - y0)))


def _shift(d: Detection, ox: int, oy: int) -> Detection:
    x, y, w, h = d.rect
    return Detection(d.symbology, d.text, (x + ox, y + oy, w, h), d.engine)
