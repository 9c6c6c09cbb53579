"""Back-office accounts: sign-in, admin tokens, the pages' session and CSRF tokens.

- ``POST /admin/login`` gives an admin token (8 hours), kept hashed in ``admin_tokens`` so every
  worker process and a restart see it. Failures are locked out per username (lower-cased),
  known or not alike, with the database-backed lockout of :mod:`kiosk.server.security`.
- The pages' session cookie carries the same kind of token (``HttpOnly``, ``SameSite=Strict``,
  ``Secure`` over HTTPS).
- A form's CSRF token is an HMAC of the session token: a page of another site can neither read
  the cookie nor compute the token. The sign-in form, which has no session yet, uses a random
  token kept in a cookie of its own (double submit).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from typing import Any

from sqlalchemy import Column, Float, Index, String, Table, delete, insert, select, update

from kiosk.journal import log_event
from kiosk.server import db
from kiosk.server.common import ApiError, is_bad_text
from kiosk.server.security import DUMMY_HASH, hash_secret, new_token, token_hash, verify_secret
from kiosk.server.settings import lockout_limits

logger = logging.getLogger(__name__)

ADMIN_TOKEN_SECONDS = 28800
SESSION_COOKIE = "pk_admin"
LOGIN_CSRF_COOKIE = "pk_admin_login"
MAX_USERNAME = 128
MAX_PASSWORD = 1024

admin_tokens = Table(
    "admin_tokens",
    db.metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("username", String(128), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Index("ix_admin_tokens_username", "username"),
)


def ensure_tables(store: Any) -> None:
    db.metadata.create_all(store.engine, tables=[admin_tokens])


def _check_text(value: Any, what: str, limit: int) -> str:
    if not isinstance(value, str) or not value or is_bad_text(value, limit):
        raise ApiError(400, "bad_input", f"{what} is empty, too long or holds a control character")
    return value


def login(store: Any, username: Any, password: Any) -> dict[str, Any]:
    """``{"admin_token","expires_in"}``; 401 ``bad_credentials``; 429 ``locked_out``."""
    username = _check_text(username, "username", MAX_USERNAME)
    password = _check_text(password, "password", MAX_PASSWORD)
    with store.lockout.attempt("admin_login", username.lower(), *lockout_limits(store.settings)) as slot:
        with store.read() as conn:
            row = conn.execute(
                select(db.admins.c.username, db.admins.c.password_hash).where(db.admins.c.username == username)
            ).first()
        ok = verify_secret(password, row.password_hash if row is not None else DUMMY_HASH)
        if row is None or not ok:
            slot.fail()
            log_event(logger, "admin_login_failed", logging.WARNING)
            raise ApiError(401, "bad_credentials", "unknown username or wrong password")
    with store.write() as conn:
        now = store.now()
        conn.execute(delete(admin_tokens).where(admin_tokens.c.expires_at <= now))
        token = new_token(conn, admin_tokens, now + ADMIN_TOKEN_SECONDS, username=row.username, created_at=now)
    log_event(logger, "admin_login")
    return {"admin_token": token, "expires_in": ADMIN_TOKEN_SECONDS}


def admin_for_token(store: Any, token: str | None) -> str | None:
    """The username of a valid admin token (a kiosk or staff token is none), else None."""
    if not token or is_bad_text(token, 256):
        return None
    with store.read() as conn:
        row = conn.execute(
            select(admin_tokens.c.username, admin_tokens.c.expires_at)
            .join(db.admins, db.admins.c.username == admin_tokens.c.username)
            .where(admin_tokens.c.token_hash == token_hash(token))
        ).first()
    if row is None or row.expires_at <= store.now():
        return None
    return row.username


def logout(store: Any, token: str) -> None:
    with store.write() as conn:
        conn.execute(delete(admin_tokens).where(admin_tokens.c.token_hash == token_hash(token)))


def set_admin(store: Any, username: str, password: str) -> bool:
    """Create the account, or give an existing one a new password (its sessions end).
    True when it was created."""
    username = _check_text(username, "username", MAX_USERNAME)
    password = _check_text(password, "password", MAX_PASSWORD)
    hashed = hash_secret(password)
    with store.write() as conn:
        res = conn.execute(update(db.admins).where(db.admins.c.username == username).values(password_hash=hashed))
        created = res.rowcount == 0
        if created:
            conn.execute(insert(db.admins).values(username=username, password_hash=hashed, created_at=store.now()))
        else:
            conn.execute(delete(admin_tokens).where(admin_tokens.c.username == username))
    log_event(logger, "admin_created" if created else "admin_password_set")
    return created


# ---------------------------------------------------------------- CSRF


def csrf_for(session_token: str) -> str:
    """The CSRF token of a session: HMAC-SHA256 of the session token (never the token itself)."""
    return hmac.new(session_token.encode("utf-8"), b"pickup-kiosk admin csrf", hashlib.sha256).hexdigest()[:40]


def csrf_ok(expected: str | None, given: Any) -> bool:
    return bool(expected) and isinstance(given, str) and hmac.compare_digest(expected, given)


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)
