"""Masking and hashing of personal data, for screens, the backend's answers and every log line.

Pure functions, used by the kiosk and the reference server alike (API.md, "Masking").
"""

from __future__ import annotations

import hashlib

_SALT = b"pickup-kiosk/log/v1"


def mask_name(name: str) -> str:
    """Keep the first and last character: ``王小明`` → ``王*明``, ``王明`` → ``王*``."""
    name = name.strip()
    if len(name) <= 1:
        return name + "*" if name else ""
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_phone(phone: str) -> str:
    """Keep the first 4 and last 3 digits: ``0912345678`` → ``0912***678``."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) <= 7:
        return "*" * len(digits)
    return digits[:4] + "*" * (len(digits) - 7) + digits[-3:]


def mask_email(email: str) -> str:
    """Keep the first character and the domain: ``ming@example.org`` → ``m***@example.org``."""
    local, at, domain = email.strip().partition("@")
    if not at:
        return "***"
    return (local[:1] or "") + "***@" + domain


def code_ref(code: str | None) -> str:
    """A stable, non-reversible reference to a code (member code, badge, phone) for log lines.

    The same code gives the same reference in every line, so an admin can follow one customer's
    session in the journal without the journal holding the code.
    """
    if not code:
        return "-"
    return "h:" + hashlib.blake2b(code.encode("utf-8", "surrogatepass"), key=_SALT, digest_size=5).hexdigest()
