"""Customer notices (docs/api.md, "Notices"): an arrival notice and a reminder before overdue, by e-mail.

A notice is a row of the ``notices`` table, made in the same transaction as the change that
calls for it (:func:`queue_arrival`, called by the arrival), so a restart loses none. A
:class:`NoticeSender` thread in each server process sends what waits:

- it claims a notice with a conditional UPDATE (a lease), so two worker processes never send the
  same notice at once; a process that dies mid-send leaves the lease to expire and the notice is
  tried again (the one way a notice goes out twice: a death between the mail server's yes and
  our commit);
- a refusal that may pass (connection refused, 4xx) is retried with exponential backoff capped
  at 10 minutes; a permanent refusal (5xx) marks the notice ``failed``;
- its first pass after a start ignores the backoff and tries every waiting notice at once;
- it also makes the reminders: ``reminder_days`` before an order that was announced becomes
  overdue (seed orders, which send no notices, get none).

Without ``--smtp`` no sender runs and notices stay ``unsent``. States: ``unsent`` (waiting,
retried), ``sent``, ``failed`` (refused for good), ``cancelled`` (a reminder for an order that
stopped waiting before it went out).

The body is plain text in the member's ``lang`` (``zh-TW`` default, or ``en``): the store's
name, the order number, the items, the deadline in the store's ``timezone`` and the pickup code
on a line of its own. Log lines name the notice id and the order number, never an address.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Column, Float, Index, Integer, String, Table, Text, and_, func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from kiosk.journal import log_event
from kiosk.lifecycle import Worker
from kiosk.server import db
from kiosk.server.common import utc_iso

logger = logging.getLogger(__name__)

DAY = 86400.0
BACKOFF_FIRST = 5.0  # seconds before the first retry; doubles per attempt
BACKOFF_CAP = 600.0  # docs/api.md: retries are capped at 10 minutes apart
LEASE_SECONDS = 120.0  # a claimed notice another process may take over after this
KINDS = ("arrival", "reminder")
STATES = ("unsent", "sent", "failed", "cancelled")
DEFAULT_STORE_NAME = "門市"
DEFAULT_TIMEZONE = "Asia/Taipei"
WAITING = ("arrived",)  # stored statuses of an order that waits (overdue is arrived, computed)

notices = Table(
    "notices",
    db.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("state", String(16), nullable=False, default="unsent"),
    # one arrival notice per arrival and one reminder per arrival (resends carry no key)
    Column("dedupe", String(200), unique=True),
    Column("created_at", Float, nullable=False),
    Column("next_try_at", Float, nullable=False),
    Column("lease_until", Float),
    Column("attempts", Integer, nullable=False, default=0),
    Column("sent_at", Float),
    Column("last_error", Text),  # the mail server's code and class of error; never an address
    Index("ix_notices_state_next", "state", "next_try_at"),
    Index("ix_notices_order", "order_id"),
)


def ensure_tables(engine: Engine) -> None:
    db.metadata.create_all(engine, tables=[notices])


# ---------------------------------------------------------------- making notices


def _insert(conn: Connection, order_id: str, kind: str, now: float, dedupe: str | None) -> bool:
    """Insert one notice; False when ``dedupe`` already names one (made by another process)."""
    values = {"order_id": order_id, "kind": kind, "state": "unsent", "dedupe": dedupe}
    values.update(created_at=now, next_try_at=now, attempts=0)
    if dedupe is None:
        conn.execute(insert(notices).values(**values))
        return True
    if conn.execute(select(notices.c.id).where(notices.c.dedupe == dedupe)).first() is not None:
        return False
    try:
        with conn.begin_nested():
            conn.execute(insert(notices).values(**values))
    except IntegrityError:
        return False
    return True


def _member_email(conn: Connection, order_id: str) -> tuple[str | None, float | None]:
    row = conn.execute(
        select(db.members.c.email, db.orders.c.arrived_at)
        .select_from(db.orders.join(db.members, db.members.c.id == db.orders.c.member_id))
        .where(db.orders.c.id == order_id)
    ).first()
    if row is None:
        return None, None
    return (row.email or None), row.arrived_at


def queue_arrival(conn: Connection, order_id: str, now: float) -> bool:
    """In the arrival's transaction: an arrival notice for ``order_id`` if its member has an
    e-mail address. True when a notice was made."""
    email, arrived_at = _member_email(conn, order_id)
    if not email:
        return False
    return _insert(conn, order_id, "arrival", now, f"arrival:{order_id}:{arrived_at or now:.3f}")


def queue_resend(conn: Connection, order_id: str, now: float) -> bool:
    """The admin's "send the notice again": a new arrival notice (False: no e-mail address)."""
    email, _arrived_at = _member_email(conn, order_id)
    if not email:
        return False
    _insert(conn, order_id, "arrival", now, None)
    return True


def notices_of(conn: Connection, order_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """``{order_id: [{"kind","state","sent_at"}…]}`` oldest first (docs/api.md AdminOrder)."""
    out: dict[str, list[dict[str, Any]]] = {oid: [] for oid in order_ids}
    if not order_ids:
        return out
    rows = conn.execute(
        select(notices.c.order_id, notices.c.kind, notices.c.state, notices.c.sent_at, notices.c.created_at)
        .where(notices.c.order_id.in_(order_ids))
        .order_by(notices.c.id)
    ).all()
    for r in rows:
        out[r.order_id].append(
            {"kind": r.kind, "state": r.state, "sent_at": utc_iso(r.sent_at), "created_at": utc_iso(r.created_at)}
        )
    return out


def count_unsent(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(notices).where(notices.c.state == "unsent")).scalar_one())


def read_settings(conn: Connection) -> dict[str, Any]:
    """The settings table as a dict (JSON values)."""
    out: dict[str, Any] = {}
    for key, value in conn.execute(select(db.settings.c.key, db.settings.c.value)):
        try:
            out[key] = json.loads(value)
        except ValueError:
            continue
    return out


def queue_reminders(conn: Connection, now: float) -> int:
    """Reminders due now: orders waiting, announced by an arrival notice, within ``reminder_days``
    of their overdue time and not overdue yet. Returns how many were made."""
    cfg = read_settings(conn)
    reminder_days = float(cfg.get("reminder_days", 2))
    overdue_days = float(cfg.get("overdue_days", 7))
    if reminder_days <= 0:
        return 0
    o = db.orders
    announced = select(notices.c.order_id).where(notices.c.kind == "arrival").scalar_subquery()
    due_from = now - overdue_days * DAY  # arrived after this: not overdue yet
    due_to = now - (overdue_days - reminder_days) * DAY  # arrived before this: reminder due
    rows = conn.execute(
        select(o.c.id, o.c.arrived_at).where(
            and_(
                o.c.status.in_(WAITING),
                o.c.arrived_at > due_from,
                o.c.arrived_at <= due_to,
                o.c.id.in_(announced),
            )
        )
    ).all()
    made = 0
    for r in rows:
        if _insert(conn, r.id, "reminder", now, f"reminder:{r.id}:{r.arrived_at:.3f}"):
            made += 1
    return made


# ---------------------------------------------------------------- writing a notice


@dataclass(frozen=True)
class Mail:
    """One composed notice. ``__repr__`` hides the address and the body (personal data)."""

    to: str
    subject: str
    body: str

    def __repr__(self) -> str:
        return f"Mail(subject_len={len(self.subject)}, body_len={len(self.body)})"


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


# the notice's text per language: (subject, opening) per kind, then the lines of the body
_TEXT: dict[str, dict[str, Any]] = {
    "en": {
        "reminder": (
            "Reminder: order {number} is waiting at {store}",
            "Your order {number} is still waiting for you at {store}.",
        ),
        "arrival": (
            "Order {number} has arrived at {store}",
            "Your order {number} has arrived at {store} and is ready for pickup.",
        ),
        "lines": (
            "Store: {store}",
            "Order: {number}",
            "Items: {items}",
            "Pick it up by: {deadline} ({timezone})",
            "Pickup code: {code}",
            "At the kiosk, choose phone or e-mail and enter this code.",
        ),
    },
    "zh-TW": {
        "reminder": ("提醒：訂單 {number} 仍在{store}等您取件", "您的訂單 {number} 仍在{store}等您取件。"),
        "arrival": ("訂單 {number} 已到{store}", "您的訂單 {number} 已到{store}，可以取件了。"),
        "lines": (
            "門市：{store}",
            "訂單編號：{number}",
            "商品：{items}",
            "取件期限：{deadline}（{timezone}）",
            "取件碼：{code}",
            "請在取件機選擇手機或電子郵件，再輸入取件碼。",
        ),
    },
}


def compose(
    *,
    kind: str,
    lang: str | None,
    to: str,
    store_name: str,
    timezone: str,
    number: str,
    items: str | None,
    overdue_at: float | None,
    pickup_code: str | None,
) -> Mail:
    """The notice as plain text in ``lang`` (``en``, else zh-TW)."""
    deadline = "-"
    if overdue_at is not None:
        deadline = datetime.fromtimestamp(overdue_at, _zone(timezone)).strftime("%Y-%m-%d %H:%M")
    text = _TEXT["en" if lang == "en" else "zh-TW"]
    subject, opening = text["reminder" if kind == "reminder" else "arrival"]
    fields = {
        "number": number,
        "store": store_name,
        "items": items or "-",
        "deadline": deadline,
        "timezone": timezone,
        "code": pickup_code or "-",
    }
    store, order, things, due, code, how = (line.format(**fields) for line in text["lines"])
    lines = [opening.format(**fields), "", store, order, things, due, "", code, "", how]
    return Mail(to=to, subject=subject.format(**fields), body="\n".join(lines) + "\n")


# ---------------------------------------------------------------- SMTP


class SmtpConfig:
    """``smtp://[user:password@]HOST:PORT`` or ``smtps://…`` (``--smtp``), and ``--mail-from``.

    ``__repr__`` hides the password.
    """

    def __init__(self, url: str, mail_from: str | None = None, timeout: float = 10.0):
        usage = "--smtp takes smtp://HOST:PORT or smtps://HOST:PORT (user:password@ optional)"
        try:
            parts = urlsplit(url)
        except ValueError:  # "Invalid IPv6 URL": a [ without its ]
            raise ValueError(usage) from None
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(usage)
        try:
            port = parts.port
        except ValueError:
            raise ValueError("--smtp: the port is not a number from 0 to 65535") from None
        self.tls = parts.scheme == "smtps"
        self.host = parts.hostname
        self.port = port or (465 if self.tls else 25)
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.mail_from = mail_from or f"pickup-kiosk@{self.host}"
        self.timeout = timeout

    def __repr__(self) -> str:
        auth = "user:***@" if self.user else ""
        return f"SmtpConfig({'smtps' if self.tls else 'smtp'}://{auth}{self.host}:{self.port})"

    def send(self, mail: Mail) -> None:
        """Hand ``mail`` to the mail server; raises ``smtplib``/``OSError`` exceptions as they come."""
        msg = EmailMessage()
        msg["From"] = self.mail_from
        msg["To"] = mail.to
        msg["Subject"] = mail.subject
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = make_msgid(domain="pickup-kiosk")
        msg.set_content(mail.body, charset="utf-8")
        cls = smtplib.SMTP_SSL if self.tls else smtplib.SMTP
        kwargs: dict[str, Any] = {"timeout": self.timeout}
        if self.tls:
            kwargs["context"] = ssl.create_default_context()
        with cls(self.host, self.port, **kwargs) as smtp:
            if self.user:
                smtp.login(self.user, self.password or "")
            smtp.send_message(msg)


def is_permanent(exc: BaseException) -> bool:
    """A 5xx answer of the mail server (the notice is failed); anything else may pass."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    if isinstance(exc, smtplib.SMTPResponseException):
        return 500 <= exc.smtp_code < 600
    return False


def backoff(attempts: int, first: float = BACKOFF_FIRST, cap: float = BACKOFF_CAP) -> float:
    """Seconds to wait after ``attempts`` failed tries (1, 2, …): first, 2×first, … capped."""
    return min(cap, first * (2 ** max(0, attempts - 1)))


# ---------------------------------------------------------------- the sender


class NoticeSender(Worker):
    """A daemon thread (``notice-sender``) sending waiting notices through ``smtp`` (one per
    server process); a :class:`~kiosk.lifecycle.Worker` whose ``stop()`` waits longer.

    ``store`` gives the transactions (``read()``, ``write()``: on SQLite its write lock and
    ``BEGIN IMMEDIATE``).

    ``poll`` is how often it looks for work; ``reminder_every`` how often it makes reminders.
    ``send`` defaults to ``smtp.send``. ``backoff_first`` scales the backoff (tests shorten it).
    """

    def __init__(
        self,
        store: Any,
        smtp: SmtpConfig,
        *,
        poll: float = 1.0,
        reminder_every: float = 60.0,
        backoff_first: float = BACKOFF_FIRST,
        now: Callable[[], float] = time.time,
    ):
        super().__init__("notice-sender")
        self.store = store
        self.smtp = smtp
        self.poll = poll
        self.reminder_every = reminder_every
        self.backoff_first = backoff_first
        self.now = now
        ensure_tables(store.engine)

    def wake(self) -> None:
        """Look for work now (after a notice was made in this process)."""
        self._wake.set()

    def stop(self, timeout: float = 15.0) -> None:
        """As :meth:`Worker.stop`, waiting up to 15 s: longer than a send's SMTP time-out (10 s)."""
        super().stop(timeout)

    def _run(self) -> None:
        first = True
        last_reminders = 0.0
        while not self._stop.is_set():
            try:
                if time.monotonic() - last_reminders >= self.reminder_every:
                    last_reminders = time.monotonic()
                    self.make_reminders()
                self.run_once(ignore_backoff=first)
                first = False
            except Exception as exc:  # a database hiccup must not end the thread
                log_event(logger, "notice_sender_error", logging.ERROR, error=type(exc).__name__)
            self._wake.wait(self.poll)
            self._wake.clear()

    def make_reminders(self) -> int:
        with self.store.write() as conn:
            made = queue_reminders(conn, self.now())
        if made:
            log_event(logger, "reminders_made", count=made)
        return made

    def run_once(self, ignore_backoff: bool = False) -> int:
        """Try every notice that is due (all waiting ones with ``ignore_backoff``); returns the
        number tried."""
        now = self.now()
        stmt = select(notices.c.id).where(notices.c.state == "unsent")
        if not ignore_backoff:
            stmt = stmt.where(notices.c.next_try_at <= now)
        stmt = stmt.where((notices.c.lease_until.is_(None)) | (notices.c.lease_until < now))
        with self.store.read() as conn:
            ids = [r.id for r in conn.execute(stmt.order_by(notices.c.id).limit(100))]
        tried = 0
        for notice_id in ids:
            if self._stop.is_set():
                break
            if self._claim(notice_id, ignore_backoff):
                tried += 1
                self._deliver(notice_id)
        return tried

    def _claim(self, notice_id: int, ignore_backoff: bool) -> bool:
        now = self.now()
        cond = [
            notices.c.id == notice_id,
            notices.c.state == "unsent",
            (notices.c.lease_until.is_(None)) | (notices.c.lease_until < now),
        ]
        if not ignore_backoff:
            cond.append(notices.c.next_try_at <= now)
        with self.store.write() as conn:
            res = conn.execute(update(notices).where(*cond).values(lease_until=now + LEASE_SECONDS))
            return res.rowcount == 1

    def _load(self, notice_id: int) -> tuple[Any, Mail | None]:
        """The notice row and its mail (None: nothing to send any more)."""
        o, m = db.orders, db.members
        cols = [
            notices.c.id,
            notices.c.kind,
            notices.c.attempts,
            o.c.number,
            o.c.items_summary,
            o.c.status,
            o.c.arrived_at,
            m.c.email,
            m.c.lang,
            o.c.pickup_code,
        ]
        with self.store.read() as conn:
            row = conn.execute(
                select(*cols)
                .select_from(notices.join(o, o.c.id == notices.c.order_id).join(m, m.c.id == o.c.member_id))
                .where(notices.c.id == notice_id)
            ).first()
            cfg = read_settings(conn)
        if row is None or not row.email:
            return row, None
        if row.kind == "reminder" and row.status not in WAITING:
            return row, None
        overdue_at = None
        if row.arrived_at is not None:
            overdue_at = row.arrived_at + float(cfg.get("overdue_days", 7)) * DAY
        mail = compose(
            kind=row.kind,
            lang=row.lang,
            to=row.email,
            store_name=str(cfg.get("store_name") or DEFAULT_STORE_NAME),
            timezone=str(cfg.get("timezone") or DEFAULT_TIMEZONE),
            number=row.number,
            items=row.items_summary,
            overdue_at=overdue_at,
            pickup_code=row.pickup_code,
        )
        return row, mail

    def _finish(self, notice_id: int, **values: Any) -> None:
        with self.store.write() as conn:
            conn.execute(update(notices).where(notices.c.id == notice_id).values(lease_until=None, **values))

    def _deliver(self, notice_id: int) -> None:
        row, mail = self._load(notice_id)
        if row is None or mail is None:  # its order is gone, or a reminder no longer needed
            self._finish(notice_id, state="cancelled")
            log_event(logger, "notice_cancelled", notice=notice_id)
            return
        attempts = int(row.attempts) + 1
        try:
            self.smtp.send(mail)
        except (smtplib.SMTPException, OSError) as exc:
            code = getattr(exc, "smtp_code", None)
            error = f"{type(exc).__name__}{f' {code}' if code else ''}"
            if is_permanent(exc):
                self._finish(notice_id, state="failed", attempts=attempts, last_error=error)
                log_event(logger, "notice_failed", logging.WARNING, notice=notice_id, order=row.number, error=error)
            else:
                wait = backoff(attempts, self.backoff_first)
                self._finish(notice_id, attempts=attempts, next_try_at=self.now() + wait, last_error=error)
                log_event(logger, "notice_retry", logging.INFO, notice=notice_id, error=error, wait=round(wait, 1))
            return
        self._finish(notice_id, state="sent", attempts=attempts, sent_at=self.now(), last_error=None)
        log_event(logger, "notice_sent", notice=notice_id, order=row.number, kind=row.kind)
