"""Secrets of the reference server: PIN and password hashes, tokens, and the lockout.

The lockout (docs/api.md r2, "Lockout") lives in the database so that a restart or a second server
process sees every failure, and it is race-free: :meth:`Lockout.attempt` inserts a *pending*
row before the attempt is checked, counting pending rows with the failures, so a burst of
parallel attempts never gets more than ``attempts`` failure answers. The back office locks admin
logins per username with the same primitive::

    with store.lockout.attempt("admin_login", username.lower(), attempts, window) as slot:
        if not verify_secret(password, stored_hash or DUMMY_HASH):
            slot.fail()          # settled as a failure when the block ends
            raise ApiError(401, "bad_credentials", "...")
    # no fail(): the slot is released; entering raises ApiError 429 locked_out (retry_after)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import math
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Table, bindparam, delete, func, insert, select, text, update
from sqlalchemy.engine import Connection

from kiosk.journal import log_event
from kiosk.server.common import ApiError
from kiosk.server.db import lockout_attempts

logger = logging.getLogger(__name__)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_token(conn: Connection, table: Table, expires_at: float, **owner: Any) -> str:
    """A new bearer token (32 random bytes, URL-safe), kept in ``table`` only as its hash with
    ``owner``'s columns and ``expires_at`` (in ``conn``): the token itself is answered once."""
    token = secrets.token_urlsafe(32)
    conn.execute(insert(table).values(token_hash=token_hash(token), **owner, expires_at=expires_at))
    return token


# PINs and admin passwords: PBKDF2-HMAC-SHA256 with a random salt; the parameters travel with the hash
PIN_ITERATIONS = 120_000


def kdf(secret: str, salt: bytes, iterations: int = PIN_ITERATIONS) -> bytes:
    """The slow hash of a PIN or password (PBKDF2-SHA256)."""
    return hashlib.pbkdf2_hmac("sha256", secret.encode("utf-8", "surrogatepass"), salt, iterations)


def hash_secret(secret: str, iterations: int = PIN_ITERATIONS) -> str:
    salt = secrets.token_bytes(16)
    digest = kdf(secret, salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def verify_secret(secret: str, stored: str) -> bool:
    try:
        scheme, iterations, salt_hex, digest_hex = stored.split("$")
        if scheme != "pbkdf2_sha256":
            return False
        digest = kdf(secret, bytes.fromhex(salt_hex), int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(digest.hex(), digest_hex)


# revision 1's names
hash_pin = hash_secret
verify_pin = verify_secret

# compared against when the badge or username is unknown, so both cases take the same time
DUMMY_HASH = hash_secret("not-a-pin")

# Seeds are loaded again and again by tests and demos in one process; the KDF (tens of ms per
# PIN) would dominate. One badge + PIN gets one salted hash per process; two staff members with
# the same PIN still get different salts.
_seed_hashes: dict[str, str] = {}


def seed_secret_hash(name: str, secret: str) -> str:
    key = hashlib.sha256(f"{name}\0{secret}".encode("utf-8", "surrogatepass")).hexdigest()
    if key not in _seed_hashes:
        _seed_hashes[key] = hash_secret(secret)
    return _seed_hashes[key]


def equal_codes(a: str, b: str) -> bool:
    """Constant-time comparison of two codes."""
    return hmac.compare_digest(a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass"))


# ---------------------------------------------------------------- lockout


def retry_after(oldest: float, window: float, now: float) -> int:
    """Whole seconds, rounded up, at least 1, until ``oldest`` is ``window`` old."""
    return max(1, math.ceil(oldest + window - now))


class Slot:
    """One attempt's hold on a failure slot; :meth:`fail` makes it count as a failure."""

    def __init__(self, row_id: int):
        self.row_id = row_id
        self.failed = False

    def fail(self) -> None:
        self.failed = True


class Lockout:
    """Failures per (kind, key) within a sliding window, kept in ``lockout_attempts``.

    ``write`` opens a write transaction (the store's: one writer at a time on SQLite, and on
    PostgreSQL an advisory lock per (kind, key) serializes the count and the insert); ``now``
    gives epoch seconds.
    """

    def __init__(self, write: Callable[[], Any], now: Callable[[], float], *, postgres: bool = False):
        self._write = write
        self._now = now
        self._postgres = postgres
        t = lockout_attempts.c
        # built once: the request path only binds values (old rows go in Store.maintain)
        self._q_count = select(func.count(), func.min(t.at)).where(
            t.kind == bindparam("kind"), t.key == bindparam("key"), t.at > bindparam("cut")
        )
        self._q_insert = insert(lockout_attempts)

    def _serialize(self, conn: Connection, kind: str, key: str) -> None:
        if self._postgres:
            h = int.from_bytes(hashlib.sha256(f"{kind}\0{key}".encode("utf-8", "surrogatepass")).digest()[:8], "big")
            conn.execute(text("SELECT pg_advisory_xact_lock(:h)"), {"h": h - (1 << 63)})

    def check(self, conn: Connection, kind: str, key: str, attempts: int, window: float, now: float) -> int | None:
        """Seconds until (kind, key) is free again if it is locked now, else None (in ``conn``)."""
        self._serialize(conn, kind, key)
        count, oldest = conn.execute(self._q_count, {"kind": kind, "key": key, "cut": now - window}).one()
        if count >= attempts:
            return retry_after(float(oldest), window, now)
        return None

    def take(self, conn: Connection, kind: str, key: str, attempts: int, window: float) -> Slot:
        """Hold a slot for an attempt (in ``conn``), or raise 429 ``locked_out``."""
        now = self._now()
        wait = self.check(conn, kind, key, attempts, window, now)
        if wait is not None:
            raise ApiError(429, "locked_out", "too many failed attempts; try again later", retry_after=wait)
        row_id = conn.execute(
            insert(lockout_attempts).values(kind=kind, key=key, state="pending", at=now)
        ).inserted_primary_key[0]
        return Slot(int(row_id))

    def record_failure(self, conn: Connection, kind: str, key: str, now: float) -> None:
        """A failure of (kind, key) at ``now``, in ``conn`` (which already ran :meth:`check`)."""
        conn.execute(self._q_insert, {"kind": kind, "key": key, "state": "fail", "at": now})

    def settle(self, conn: Connection, slot: Slot) -> None:
        """Turn the slot into a failure (at this moment) or give it back (in ``conn``)."""
        t = lockout_attempts.c
        if slot.failed:
            conn.execute(update(lockout_attempts).where(t.id == slot.row_id).values(state="fail", at=self._now()))
        else:
            conn.execute(delete(lockout_attempts).where(t.id == slot.row_id))

    @contextmanager
    def attempt(self, kind: str, key: str, attempts: int, window: float) -> Iterator[Slot]:
        """Hold a slot while the block checks the attempt; settle it when the block ends.

        Raises :class:`ApiError` 429 ``locked_out`` (with ``retry_after``) on entry when
        ``attempts`` failures or held slots of (kind, key) fall within the last ``window``
        seconds. Call ``slot.fail()`` in the block for a failed attempt.
        """
        try:
            with self._write() as conn:
                slot = self.take(conn, kind, key, attempts, window)
        except ApiError:
            log_event(logger, "locked_out", logging.WARNING, kind=kind)
            raise
        try:
            yield slot
        finally:
            with self._write() as conn:
                self.settle(conn, slot)

    def failures(self, kind: str, key: str, window: float) -> int:
        """Failures and held slots of (kind, key) within the last ``window`` seconds (tests)."""
        t = lockout_attempts.c
        with self._write() as conn:
            return int(
                conn.execute(
                    select(func.count()).where(t.kind == kind, t.key == key, t.at > self._now() - window)
                ).scalar_one()
            )


# ---------------------------------------------------------------- codes


def random_pickup_code() -> str:
    """Six digits from a cryptographic source (docs/api.md r2, Pickup code)."""
    return f"{secrets.randbelow(1_000_000):06d}"


def random_totp_secret() -> str:
    """A base32 TOTP secret of 160 bits (RFC 4226's recommended length)."""
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii")


def valid_totp_secret(secret: str) -> bool:
    """Base32 (padding optional, any case) of at least 160 bits."""
    cleaned = secret.strip().upper()
    try:
        raw = base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))
    except (ValueError, TypeError):
        return False
    return len(raw) >= 20
