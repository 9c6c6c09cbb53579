"""Message catalogues: gettext ``.po`` files read at run time by a tiny loader.

``kiosk/locale/<ll_CC>/LC_MESSAGES/kiosk.po`` holds one catalogue per language (``zh_TW`` is the
default, ``en`` the alternative). Every ``msgid`` is a symbolic key (``btn.confirm``,
``msg.parcel_mismatch``, ``err.<api error code>``...), every ``msgstr`` the text, with ``str.format``
parameters in braces. Reading the ``.po`` directly keeps one source of truth (no compiled ``.mo``
to forget to rebuild); the files stay standard gettext, so translation tools can edit them.

A key missing from a catalogue shows the key itself (never crashes a screen) and is remembered in
:attr:`Catalogue.missing`, which the tests check stays empty.
"""

from __future__ import annotations

import ast
import logging
from functools import cache
from pathlib import Path
from typing import Any

from ..errors import KioskError

logger = logging.getLogger(__name__)

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "kiosk"
DEFAULT_LANG = "zh-TW"
_DIRS = {"zh-TW": "zh_TW", "en": "en"}


class CatalogueError(KioskError, ValueError):
    """A ``.po`` file that cannot be read: names the file and line."""


def parse_po(text: str, path: str = "<po>") -> dict[str, str]:
    """Parse gettext ``.po`` text into ``{msgid: msgstr}`` (the header entry and fuzzy ones skipped).

    Handles comments, multi-line strings and C escapes; plural forms and contexts are refused
    (the kiosk does not use them).
    """
    entries: dict[str, str] = {}
    current: dict[str, list[str]] = {}
    field: str | None = None
    fuzzy = False

    def finish() -> None:
        nonlocal current, field, fuzzy
        if "msgid" in current:
            if "msgstr" not in current:
                raise CatalogueError(f"{path}: msgid without msgstr")
            key = "".join(current["msgid"])
            if key and not fuzzy:
                entries[key] = "".join(current["msgstr"])
        current, field, fuzzy = {}, None, False

    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            finish()
            continue
        if line.startswith("#"):
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
            continue
        if line.startswith('"'):
            if field is None:
                raise CatalogueError(f"{path}:{lineno}: string continuation without msgid/msgstr")
            current[field].append(_unquote(line, path, lineno))
            continue
        word, _, rest = line.partition(" ")
        if word in ("msgid", "msgstr"):
            if word == "msgid" and "msgid" in current:
                finish()
            field = word
            current[field] = [_unquote(rest.strip(), path, lineno)]
        else:
            raise CatalogueError(f"{path}:{lineno}: unsupported line {word!r}")
    finish()
    return entries


def _unquote(token: str, path: str, lineno: int) -> str:
    if len(token) < 2 or not (token.startswith('"') and token.endswith('"')):
        raise CatalogueError(f"{path}:{lineno}: expected a quoted string")
    try:
        value = ast.literal_eval(token)
    except (ValueError, SyntaxError) as exc:
        raise CatalogueError(f"{path}:{lineno}: bad string: {exc}") from None
    if not isinstance(value, str):
        raise CatalogueError(f"{path}:{lineno}: expected a string")
    return value


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
