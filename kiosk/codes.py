"""What a scanned code is: member code, parcel code, staff badge, or unknown. Pure.

Patterns are Python ``re`` full-match expressions from the backend's ``/settings`` (docs/api.md),
with local overrides from ``[scanner]`` in the config. Junk (control characters, empty, longer
than 128 characters after trimming) is refused before any pattern is tried, so it never reaches
the backend.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass

MAX_CODE_LENGTH = 128

DEFAULT_MEMBER_PATTERN = r"[0-9A-Za-z:_.-]{6,72}"  # docs/api.md r2: rotating codes end in ".<6 digits>"
DEFAULT_PARCEL_PATTERN = r"[0-9A-Za-z-]{6,40}"
DEFAULT_STAFF_PATTERN = r"STAFF-[0-9A-Z]{4,16}"


class CodeKind(enum.Enum):
    MEMBER = "member"
    PARCEL = "parcel"
    STAFF = "staff"
    UNKNOWN = "unknown"
    JUNK = "junk"


def clean(text: str) -> str | None:
    """The code as it will be used (outer spaces trimmed), or None when it is junk.

    Junk: empty, longer than :data:`MAX_CODE_LENGTH`, or holding any control character
    (Unicode category Cc, tab and newline included; docs/api.md calls these bad input).
    """
    text = text.strip(" ")
    if not text or len(text) > MAX_CODE_LENGTH:
        return None
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        return None
    return text


@dataclass(frozen=True)
class CodePatterns:
    """The three patterns, compiled; ``classify`` tries staff, then parcel/member by the screen."""

    member: str = DEFAULT_MEMBER_PATTERN
    parcel: str = DEFAULT_PARCEL_PATTERN
    staff: str = DEFAULT_STAFF_PATTERN

    def __post_init__(self) -> None:
        for name in ("member", "parcel", "staff"):
            re.compile(getattr(self, name))  # raises re.error early

    @classmethod
    def from_settings(cls, settings: object | None = None, overrides: object | None = None) -> CodePatterns:
        """Backend settings (attributes or a dict ``*_pattern``) overridden by non-empty local ones."""

        def pick(name: str, default: str) -> str:
            for src in (overrides, settings):
                if src is None:
                    continue
                value = src.get(name) if isinstance(src, dict) else getattr(src, name, None)
                if value:
                    return value
            return default

        return cls(
            member=pick("member_code_pattern", DEFAULT_MEMBER_PATTERN),
            parcel=pick("parcel_code_pattern", DEFAULT_PARCEL_PATTERN),
            staff=pick("staff_badge_pattern", DEFAULT_STAFF_PATTERN),
        )

    def is_member(self, text: str) -> bool:
        return _full(self.member, text)

    def is_parcel(self, text: str) -> bool:
        return _full(self.parcel, text)

    def is_staff(self, text: str) -> bool:
        return _full(self.staff, text)

    def classify(self, text: str) -> CodeKind:
        """The most specific kind: staff badge first, then member, then parcel."""
        code = clean(text)
        if code is None:
            return CodeKind.JUNK
        if self.is_staff(code):
            return CodeKind.STAFF
        if self.is_member(code):
            return CodeKind.MEMBER
        if self.is_parcel(code):
            return CodeKind.PARCEL
        return CodeKind.UNKNOWN


_compiled: dict[str, re.Pattern] = {}


def _full(pattern: str, text: str) -> bool:
    rx = _compiled.get(pattern)
    if rx is None:
        rx = _compiled[pattern] = re.compile(pattern)
    return rx.fullmatch(text) is not None
