"""The CJK font: found through fontconfig (or a configured path), loaded once, text cached.

``find_font_files(configured)`` returns the regular and bold faces (file + face index inside a
``.ttc`` collection, so Noto Sans CJK draws Traditional Chinese glyph shapes, not the Japanese
face that sits first in the collection). No usable font → :class:`kiosk.errors.FontError` with
what was tried. :class:`Fonts` renders text with ``pygame.freetype`` and keeps a small LRU cache
of rendered strings, so a full redraw costs little.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from ..errors import FontError

logger = logging.getLogger(__name__)

# fontconfig patterns, best first: Traditional Chinese faces of Noto Sans CJK, then any zh-TW font
_PATTERNS_REGULAR = ("Noto Sans CJK TC:style=Regular", "Noto Sans TC:style=Regular")
_PATTERNS_BOLD = ("Noto Sans CJK TC:style=Bold", "Noto Sans TC:style=Bold")
_SAMPLE = "取件櫃門"  # glyphs every catalogue needs
FC_TIMEOUT = 5.0


@dataclass(frozen=True)
class FontFace:
    path: str
    index: int = 0


@dataclass(frozen=True)
class FontFiles:
    regular: FontFace
    bold: FontFace | None = None  # None: regular drawn with synthetic emboldening


def _fc(args: list[str]) -> str:
    exe = shutil.which(args[0])
    if exe is None:
        return ""
    try:
        out = subprocess.run([exe, *args[1:]], capture_output=True, text=True, timeout=FC_TIMEOUT, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        logger.warning("event=fontconfig_failed error=%s", type(exc).__name__)
        return ""
    return out.stdout if out.returncode == 0 else ""


def _fc_match(pattern: str) -> FontFace | None:
    """fc-match's answer for ``pattern`` if it really is the family asked for (fc-match always
    answers something, e.g. DejaVu, when the family is absent)."""
    family = pattern.split(":", 1)[0]
    out = _fc(["fc-match", "-f", "%{file}\n%{index}\n%{family}\n", pattern]).splitlines()
    if len(out) < 3 or family.lower() not in out[2].lower():
        return None
    try:
        return FontFace(out[0], int(out[1] or 0))
    except ValueError:
        return None


def _fc_any_zh_tw(bold: bool) -> FontFace | None:
    """Any font fontconfig says covers zh-TW (sans and regular/bold preferred)."""
    out = _fc(["fc-list", ":lang=zh-tw", "-f", "%{file}\t%{index}\t%{family}\t%{style}\n"])
    best: tuple[int, FontFace] | None = None
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) < 4:
            continue
        path, index, family, style = parts[0], parts[1], parts[2].lower(), parts[3].lower()
        score = 0
        score += 4 if "sans" in family and "mono" not in family else 0
        score += 2 if ("tc" in family.split() or "tw" in family) else 0
        score += 2 if (("bold" in style) == bold) else 0
        try:
            face = FontFace(path, int(index or 0))
        except ValueError:
            continue
        if best is None or score > best[0]:
            best = (score, face)
    return best[1] if best else None


def _face_in_collection(path: str) -> int:
    """For a configured ``.ttc``, the index of its Traditional Chinese face (0 if unknown)."""
    out = _fc(["fc-query", "-f", "%{index}\t%{family}\n", path])
    for line in out.splitlines():
        index, _, family = line.partition("\t")
        if " TC" in family or family.endswith("TC"):
            try:
                return int(index)
            except ValueError:
                return 0
    return 0


def find_font_files(configured: str = "") -> FontFiles:
    """The font to use: ``configured`` (config ``display.font``) when set, else fontconfig's.

    Raises FontError naming the path (configured) or saying that fontconfig knows no zh-TW font.
    """
    if configured:
        path = Path(configured).expanduser()
        if not path.is_file():
            raise FontError(f"display.font: {configured}: no such font file")
        index = _face_in_collection(str(path)) if path.suffix.lower() in (".ttc", ".otc") else 0
        return FontFiles(FontFace(str(path), index), None)
    regular = next((f for f in map(_fc_match, _PATTERNS_REGULAR) if f), None) or _fc_any_zh_tw(bold=False)
    if regular is None:
        raise FontError(
            "no CJK font found through fontconfig (install fonts-noto-cjk, or set display.font to a font file)"
        )
    bold = next((f for f in map(_fc_match, _PATTERNS_BOLD) if f), None)
    return FontFiles(regular, bold)


class Fonts:
    """Rendered text in the kiosk's font: ``fonts.text("確認", 40, (255, 255, 255), bold=True)``.

    Keeps one ``pygame.freetype.Font`` per face and an LRU cache of rendered surfaces.
    """

    CACHE_SIZE = 600

    def __init__(self, files: FontFiles):
        import pygame.freetype

        if not pygame.freetype.get_init():
            pygame.freetype.init()
        self.files = files
        self._faces = {}
        for bold, face in ((False, files.regular), (True, files.bold or files.regular)):
            try:
                font = pygame.freetype.Font(face.path, 0, font_index=face.index)
            except (OSError, ValueError) as exc:  # pygame raises OSError for unreadable files
                raise FontError(f"{face.path}: cannot load font: {exc}") from None
            font.pad = True  # same line box whatever the glyphs: rows line up
            font.antialiased = True
            if bold and files.bold is None:
                font.strong = True
            self._faces[bold] = font
        missing = [ch for ch in _SAMPLE if self._faces[False].get_metrics(ch, size=24)[0] is None]
        if missing:
            raise FontError(f"{files.regular.path}: the font has no Chinese glyphs")
        self._cache: OrderedDict[tuple, object] = OrderedDict()
        self._sizes: dict[tuple, tuple[int, int]] = {}

    @classmethod
    def find(cls, configured: str = "") -> Fonts:
        return cls(find_font_files(configured))

    def face(self, bold: bool = False):
        return self._faces[bool(bold)]

    def size(self, text: str, size: int, bold: bool = False) -> tuple[int, int]:
        """Width and height of ``text`` drawn at ``size`` pixels."""
        key = (text, size, bool(bold))
        got = self._sizes.get(key)
        if got is None:
            if not text:
                got = (0, self.line_height(size, bold))
            else:
                rect = self.face(bold).get_rect(text, size=size)
                got = (rect.width, max(rect.height, self.line_height(size, bold)))
            if len(self._sizes) > 4 * self.CACHE_SIZE:
                self._sizes.clear()
            self._sizes[key] = got
        return got

    def line_height(self, size: int, bold: bool = False) -> int:
        return self.face(bold).get_sized_height(size)

    def text(self, text: str, size: int, color: tuple[int, int, int], bold: bool = False):
        """A surface with ``text`` rendered (cached)."""
        key = (text, size, color, bool(bold))
        surf = self._cache.get(key)
        if surf is not None:
            self._cache.move_to_end(key)
            return surf
        surf, _rect = self.face(bold).render(text or " ", color, size=size)
        self._cache[key] = surf
        if len(self._cache) > self.CACHE_SIZE:
            self._cache.popitem(last=False)
        return surf

    def fit(self, text: str, max_width: int, size: int, bold: bool = False, min_size: int = 12) -> int:
        """The largest size ≤ ``size`` at which ``text`` is at most ``max_width`` wide."""
        while size > min_size and self.size(text, size, bold)[0] > max_width:
            size = max(min_size, int(size * 0.9))
        return size
