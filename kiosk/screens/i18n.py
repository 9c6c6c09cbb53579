"""Message catalogues: standard gettext ``.po`` files, read at run time with ``polib``.

``kiosk/locale/<ll_CC>/LC_MESSAGES/kiosk.po`` holds one catalogue per language (``zh_TW`` is the
default, ``en`` the alternative). Every ``msgid`` is a symbolic key (``btn.confirm``,
``msg.parcel_mismatch``, ``err.<api error code>``...), every ``msgstr`` the text, with ``str.format``
parameters in braces. The ``.po`` is the one source of truth: there is no compiled ``.mo`` to
forget to rebuild, and the files ship as package data in a wheel and are read in place by an
editable install. Translation tools edit them as they are.

A key missing from a catalogue shows the key itself (never crashes a screen) and is remembered in
:attr:`Catalogue.missing`, which the tests check stays empty.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path
from typing import Any

import polib

from ..errors import KioskError

logger = logging.getLogger(__name__)

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "kiosk"
DEFAULT_LANG = "zh-TW"
_DIRS = {"zh-TW": "zh_TW", "en": "en"}


class CatalogueError(KioskError, ValueError):
    """A ``.po`` file that cannot be used: names the file (and the entry or line)."""


def parse_po(text: str, path: str = "<po>") -> dict[str, str]:
    """Parse gettext ``.po`` text into ``{msgid: msgstr}`` (the header entry and fuzzy ones skipped).

    Stricter than gettext itself, because a screen must never lose a text silently: an entry
    without its text (no ``msgstr``, an empty one, an unterminated string), a ``msgid`` given
    twice, plural forms and contexts (the kiosk uses none) are refused.
    """
    try:
        po = polib.pofile(text, check_for_duplicates=True, encoding="utf-8")
    except (OSError, ValueError) as exc:
        raise CatalogueError(f"{path}: {exc}") from None
    entries: dict[str, str] = {}
    for entry in po:
        if entry.obsolete or not entry.msgid or entry.fuzzy:
            continue
        where = f"{path}:{entry.linenum}: msgid {entry.msgid!r}"
        if entry.msgid_plural or entry.msgctxt is not None:
            raise CatalogueError(f"{where}: plural forms and contexts are not used by the kiosk")
        if not entry.msgstr:
            raise CatalogueError(f"{where}: no text (msgstr missing, empty or unterminated)")
        entries[entry.msgid] = entry.msgstr
    return entries


class _Params(dict):
    """Format parameters; one the producer did not give shows as nothing, not as ``{name}``."""

    def __missing__(self, key: str) -> str:
        return ""


class Catalogue:
    """One language's texts: ``cat("orders.count", n=3)``."""

    def __init__(self, lang: str, messages: dict[str, str]):
        self.lang = lang
        self.messages = messages
        self.missing: set[str] = set()

    def __call__(self, key: str, **params: Any) -> str:
        text = self.messages.get(key)
        if text is None and key.startswith("err."):
            text = self.messages.get("err.unknown")  # a refusal code this catalogue does not know
        if text is None:
            if key not in self.missing:
                logger.warning("event=catalogue_missing lang=%s key=%s", self.lang, key)
                self.missing.add(key)
            text = key
        try:
            return text.format_map(_Params(params))
        except (IndexError, ValueError, AttributeError):
            logger.warning("event=catalogue_format lang=%s key=%s", self.lang, key)
            return text

    def __contains__(self, key: str) -> bool:
        return key in self.messages


def load_catalogue(lang: str, locale_dir: Path | str | None = None) -> Catalogue:
    """Read the catalogue of ``lang`` ("zh-TW" or "en") from ``locale_dir`` (the package's own by default)."""
    if lang not in _DIRS:
        raise CatalogueError(f"no catalogue for language {lang!r}")
    base = Path(locale_dir) if locale_dir else LOCALE_DIR
    path = base / _DIRS[lang] / "LC_MESSAGES" / f"{DOMAIN}.po"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogueError(f"{path}: {exc.strerror or exc}") from None
    return Catalogue(lang, parse_po(text, str(path)))


@cache
def catalogue(lang: str) -> Catalogue:
    """The package's catalogue for ``lang``, read once."""
    return load_catalogue(lang)


def translate(lang: str, key: str, **params: Any) -> str:
    return catalogue(lang)(key, **params)
