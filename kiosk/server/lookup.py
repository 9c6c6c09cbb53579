"""Look-ups (docs/api.md r2, "Proof of ownership"): a mixin of :class:`~kiosk.server.store.Store`.

A look-up is one short write transaction: it counts the kiosk's (and the contact's) failures
and answers 429, or reads the member and orders and records the answer: a failure (404, 409
``code_used``) or the look-up itself (and the rotating code's value it used up). Writers take
turns (SQLite's write lock, PostgreSQL advisory locks per kiosk and contact), so the count is
race-free without pending slots; logins, whose PIN hash is slow, hold slots instead
(:meth:`kiosk.server.security.Lockout.take`).
"""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any

import pyotp
from sqlalchemy import bindparam, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from kiosk.journal import log_event
from kiosk.privacy import mask_name
from kiosk.server.common import ApiError, check_code, phone_digits
from kiosk.server.db import lookups, members, orders, totp_used
from kiosk.server.settings import lockout_limits

logger = logging.getLogger(__name__)

# per contact: this many wrong pickup codes within this many seconds lock the phone or email
CONTACT_ATTEMPTS = 10
CONTACT_SECONDS = 3600.0
TOTP_STEP = 30
_USED = "this code was used already; show a new one"
_INSERT_LOOKUP = insert(lookups)
LOOKUP_FIELDS = ("member_code", "phone", "email")


def is_pickup_code(value: str) -> bool:
    return len(value) == 6 and value.isascii() and value.isdigit()


def contact_key(field: str, value: str) -> str:
    """The contact lockout's key: a phone by its digits, an email lower-cased."""
    return "phone:" + phone_digits(value) if field == "phone" else "email:" + value.strip().lower()


class LookupRules:
    """``POST /members/lookup``; mixed into the Store."""

    def lookup(self, kiosk_id: str, body: dict[str, Any], *, nowait: bool = False) -> dict[str, Any]:
        """Answer a look-up body (already typed by the app) in the contract's precedence order.

        ``nowait``: raise :class:`~kiosk.server.store.WouldBlock` rather than wait for another
        writer (the app then answers from its threadpool)."""
        # 400: bad contents
        for name in (*LOOKUP_FIELDS, "pickup_code"):
            if body.get(name) is not None:
                check_code(body[name], name)
        pickup_code = body.get("pickup_code")
        if pickup_code is not None and not is_pickup_code(pickup_code):
            raise ApiError(400, "bad_input", "pickup_code is six digits")
        if body.get("phone") is not None and not phone_digits(body["phone"]):
            raise ApiError(400, "bad_input", "phone holds no digits")
        # 422: the shape
        given = [name for name in LOOKUP_FIELDS if body.get(name) is not None]
        if len(given) != 1:
            raise ApiError(422, "validation_error", "give exactly one of member_code, phone, email")
        field = given[0]
        value = body[field]
        if pickup_code is not None and field == "member_code":
            raise ApiError(422, "validation_error", "pickup_code goes only with a phone or an email")
        # 403s
        cfg = self.settings
        if field != "member_code":
            if cfg["member_code_only"]:
                raise ApiError(403, "member_code_only", "this store looks members up by member code only")
            if pickup_code is None and not (cfg["contact_lookup"] == "open" and self.kiosk_mode(kiosk_id) == "counter"):
                raise ApiError(403, "pickup_code_required", "a phone or email look-up needs the pickup code")
        # 429, then the answer: one write transaction (one writer at a time on SQLite, an advisory
        # lock per kiosk and contact on PostgreSQL) counts the failures, reads, and records the
        # failure or the look-up, so parallel guesses never get more failure answers than allowed
        contact = contact_key(field, value) if field != "member_code" else None
        attempts, window = lockout_limits(cfg)
        now = self.now()
        refusal: ApiError | None = None
        with self.write(durable=False, nowait=nowait) as conn:
            wait = self.lockout.check(conn, "lookup", kiosk_id, attempts, window, now)
            if wait is None and contact is not None:
                wait = self.lockout.check(conn, "contact", contact, CONTACT_ATTEMPTS, CONTACT_SECONDS, now)
            if wait is not None:
                raise ApiError(429, "locked_out", "too many failed attempts; try again later", retry_after=wait)
            try:
                answer = self._answer(conn, kiosk_id, field, value, pickup_code, now, cfg)
            except ApiError as exc:  # 404 member_not_found, 409 code_used: failures, recorded
                refusal = exc
                self.lockout.record_failure(conn, "lookup", kiosk_id, now)
                if contact is not None and pickup_code is not None:
                    self.lockout.record_failure(conn, "contact", contact, now)
            self.maintain(conn, now)
        if refusal is not None:
            log_event(logger, "lookup_refused", kiosk=kiosk_id, by=field, code=refusal.code)
            raise refusal
        return answer

    def _answer(
        self,
        conn: Connection,
        kiosk_id: str,
        field: str,
        value: str,
        pickup_code: str | None,
        now: float,
        cfg: dict[str, Any],
    ) -> dict[str, Any]:
        """The 200 answer (the look-up stored in ``conn``), or ApiError 404 / 409 ``code_used``."""
        step: int | None = None
        if field == "member_code":
            found, step = self._by_member_code(conn, value, now, totp=bool(cfg["member_code_totp"]))
        elif pickup_code is not None:
            found = self._by_pickup_code(conn, field, value, pickup_code)
        else:
            key = phone_digits(value) if field == "phone" else value.strip().lower()
            column = "phone_digits" if field == "phone" else "email_lower"
            found = conn.execute(self._q_member[column], {"v": key}).all()
        if not found:
            raise ApiError(404, "member_not_found", "no member or order matches")
        member = found[0]
        rows = [r for r in found if r.m_id == member.m_id and r.id is not None]
        if step is not None:
            try:
                with conn.begin_nested():
                    conn.execute(insert(totp_used).values(member_id=member.m_id, step=step, used_at=now))
            except IntegrityError:  # PostgreSQL: a parallel look-up used the same value first
                raise ApiError(409, "code_used", _USED) from None
        lookup_id = "lk_" + secrets.token_urlsafe(18)
        ttl = cfg["lookup_ttl_seconds"]
        row = {
            "id": lookup_id,
            "kiosk_id": kiosk_id,
            "member_id": member.m_id,
            "order_ids": json.dumps([r.id for r in rows]),
            "created_at": now,
            "ttl": float(ttl),
        }
        conn.execute(_INSERT_LOOKUP, row)
        log_event(logger, "lookup", logging.DEBUG, kiosk=kiosk_id, member=member.m_id, orders=len(rows))
        return {
            "lookup_id": lookup_id,
            "expires_in": int(ttl) if float(ttl).is_integer() else ttl,
            "member": {"id": member.m_id, "display_name_masked": mask_name(member.m_name)},
            "orders": [self.order_view(r, now) for r in rows],
        }

    def _by_member_code(self, conn: Connection, value: str, now: float, *, totp: bool) -> tuple[list[Any], int | None]:
        """Rows of the member (and waiting orders) a member code names, and the TOTP step it used."""
        if not totp:
            return conn.execute(self._q_member["member_code"], {"v": value}).all(), None
        base, dot, digits = value.rpartition(".")
        if not dot or not base or not is_pickup_code(digits):
            return [], None  # a bare member code is 404 while rotating codes are on
        member = conn.execute(select(members.c.id, members.c.totp_secret).where(members.c.member_code == base)).first()
        if member is None or not member.totp_secret:
            return [], None
        otp = pyotp.TOTP(member.totp_secret, digits=6, interval=TOTP_STEP)
        current = int(now // TOTP_STEP)
        for step in (current, current - 1):
            if secrets.compare_digest(otp.generate_otp(step), digits):
                used = conn.execute(
                    select(totp_used.c.step).where(totp_used.c.member_id == member.id, totp_used.c.step == step)
                ).first()
                if used is not None:
                    raise ApiError(409, "code_used", _USED)
                return conn.execute(self._q_member["member_code"], {"v": base}).all(), step
        return [], None

    def _by_pickup_code(self, conn: Connection, field: str, value: str, pickup_code: str) -> list[Any]:
        """The member and the one waiting order with this pickup code, if the contact is theirs."""
        column = "phone_digits" if field == "phone" else "email_lower"
        key = phone_digits(value) if field == "phone" else value.strip().lower()
        return conn.execute(self._q_by_pickup[column], {"v": key, "code": pickup_code}).all()

    def lookup_queries(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The look-up's statements (built once by the store), by column name: a member and their
        waiting orders in one statement (rows of one member only: see :meth:`_answer`), and for
        :meth:`_by_pickup_code` the member and the one waiting order with a pickup code."""
        cols = (
            members.c.id.label("m_id"),
            members.c.name.label("m_name"),
            *self._order_cols[:-2],  # the order's own columns (the last two are the member's)
            members.c.name.label("member_name"),
            members.c.phone.label("member_phone"),
            self._member_email,
        )
        by_member = {
            col.name: select(*cols)
            .select_from(
                members.outerjoin(orders, (orders.c.member_id == members.c.id) & (orders.c.status == "arrived"))
            )
            .where(col == bindparam("v"))
            .order_by(members.c.id, orders.c.arrived_at, orders.c.number)
            for col in (members.c.member_code, members.c.phone_digits, members.c.email_lower)
        }
        by_pickup = {
            col.name: select(*cols)
            .select_from(members.join(orders, orders.c.member_id == members.c.id))
            .where(col == bindparam("v"), orders.c.status == "arrived", orders.c.pickup_code == bindparam("code"))
            .limit(1)
            for col in (members.c.phone_digits, members.c.email_lower)
        }
        return by_member, by_pickup


def current_member_code(member_code: str, secret: str, now: float) -> str:
    """What the app shows now: ``<member code>.<6 digits>`` (``pickup-kiosk member-code``)."""
    return f"{member_code}.{pyotp.TOTP(secret, digits=6, interval=TOTP_STEP).at(now)}"
