"""Masking and hashing of personal data, for screens, the backend's answers and every log line.

Pure functions, used by the kiosk and the reference server alike (docs/api.md, "Masking").
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from pathlib import Path

# The key of the log references. Never a constant in the source (a known key lets anyone reverse
# a phone's reference by trying the ~10^8 numbers): random per process until a deployment sets
# its own with set_log_key (the server: load_log_key on first start, kept in its state folder).
_log_key = secrets.token_bytes(32)
LOG_KEY_FILE = "log-ref.key"


def set_log_key(key: bytes) -> None:
    """Key every later :func:`code_ref` with ``key`` (16 to 64 bytes)."""
    global _log_key
    if not 16 <= len(key) <= 64:
        raise ValueError("a log key is 16 to 64 bytes")
    _log_key = bytes(key)


def load_log_key(folder: str | os.PathLike[str]) -> Path:
    """Use the deployment's log key from ``folder`` (created 0600 on first start); its path."""
    path = Path(folder) / LOG_KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(32))
            f.flush()
            os.fsync(f.fileno())
    key = path.read_bytes()
    if len(key) < 16:
        raise ValueError(f"{path} holds no usable log key (remove it to make a new one)")
    set_log_key(key[:64])
    return path


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

    The same code gives the same reference in every line of a deployment (keyed with its secret:
    :func:`load_log_key`), so an admin can follow one customer's session in the journal without
    the journal holding the code.
    """
    if not code:
        return "-"
    return "h:" + hashlib.blake2b(code.encode("utf-8", "surrogatepass"), key=_log_key, digest_size=5).hexdigest()


def _digits_pattern(digits: str) -> str:
    """``0912345678`` also as ``0912-345-678``, ``0912 345 678``, ``(09)12345678``."""
    return r"[\s().-]*".join(re.escape(d) for d in digits)


def find_personal_data(text: str, seed: dict) -> list[str]:
    """Where personal data of a seed (the reference server's seed format) shows in ``text``.

    Looks for members' and staff names, phones (by their digits, with or without separators or a
    country code), emails (any case), member codes, badge codes, PINs (as a token of their own),
    package codes and kiosk tokens. Returns one description per finding, naming the seed entry,
    the field and the line, never the value itself (so a failing test does not print it either);
    an empty list means the text is clean. Masked forms (``王*明``, ``0912***678``) are fine.
    """
    checks: list[tuple[str, re.Pattern[str]]] = []

    def add(where: str, value: object, kind: str) -> None:
        if not isinstance(value, str) or not value.strip():
            return
        value = value.strip()
        if kind == "phone":
            digits = "".join(ch for ch in value if ch.isdigit())
            if len(digits) < 6:
                return
            forms = [_digits_pattern(digits)]
            if digits.startswith("0"):
                forms.append(r"\+\d{1,3}[\s-]*" + _digits_pattern(digits[1:]))
            pattern = r"(?<!\d)(?:" + "|".join(forms) + r")(?!\d)"
            checks.append((where, re.compile(pattern)))
        elif kind == "email":
            checks.append((where, re.compile(re.escape(value), re.IGNORECASE)))
        elif kind == "token":  # PINs, short codes: only as a token of their own
            checks.append((where, re.compile(r"(?<![0-9A-Za-z])" + re.escape(value) + r"(?![0-9A-Za-z])")))
        else:
            checks.append((where, re.compile(re.escape(value))))

    for i, member in enumerate(seed.get("members") or ()):
        ref = f"members[{member.get('id', i)}]"
        add(f"{ref}.name", member.get("name"), "text")
        add(f"{ref}.phone", member.get("phone"), "phone")
        add(f"{ref}.email", member.get("email"), "email")
        add(f"{ref}.member_code", member.get("member_code"), "text")
    for i, staff in enumerate(seed.get("staff") or ()):
        ref = f"staff[{staff.get('id', i)}]"
        add(f"{ref}.name", staff.get("name"), "text")
        add(f"{ref}.badge_code", staff.get("badge_code"), "text")
        add(f"{ref}.pin", staff.get("pin"), "token")
    for i, order in enumerate(seed.get("orders") or ()):
        add(f"orders[{order.get('id', i)}].package_code", order.get("package_code"), "token")
        add(f"orders[{order.get('id', i)}].pickup_code", order.get("pickup_code"), "token")  # docs/api.md r2
    for i, kiosk in enumerate(seed.get("kiosks") or ()):
        add(f"kiosks[{kiosk.get('id', i)}].token", kiosk.get("token"), "text")

    found = []
    for number, line in enumerate(text.splitlines(), 1):
        for where, pattern in checks:
            if pattern.search(line):
                found.append(f"{where} in line {number}")
    return found


def assert_no_personal_data(text: str, seed: dict) -> None:
    """Test helper: raise AssertionError listing where personal data of ``seed`` shows in ``text``."""
    found = find_personal_data(text, seed)
    if found:
        raise AssertionError("personal data in the log: " + ", ".join(found))
