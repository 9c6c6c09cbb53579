"""The durable outbox: writes that must not be lost, delivered until the backend answers.

Arrival confirmations and completed locker pickups (and the return steps) are stored in a SQLite
file (WAL, ``synchronous=FULL``) together with their ``Idempotency-Key`` before
:meth:`Outbox.enqueue` returns: that return is the acknowledgement, and from then on the event
survives the network being down and the process being killed at any moment. A delivery thread
sends them:

* in order per ``order_ref``: an event is not sent while an earlier one for the same order is
  still pending (events of different orders do not wait for each other);
* with the stored key on every try, so a send whose answer was lost is replayed by the backend,
  not applied twice (docs/api.md: idempotency);
* at once when freshly enqueued (or after :meth:`Outbox.kick`), then with exponential backoff
  and jitter, capped at ``backoff_max``, while the backend is unavailable. The backoff runs on
  the injected clock (``clock.call_later(delay, wake.set)``), so under a ``SimClock`` it only
  elapses when the clock is advanced;
* a refusal (a 4xx :class:`~kiosk.errors.Rejected`) parks the event on the "needs attention"
  list (:meth:`Outbox.attention`) instead of retrying it forever. A replayed success is just a
  success: the backend answers a replay with the first answer.

Delivered events are deleted (with their staff token). :class:`~kiosk.events.OutboxChanged` goes
to ``on_change`` after every enqueue, delivery and parking.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.api.requests import KINDS, Write, rebuild, write_class
from kiosk.errors import BackendUnavailable, KioskError, Rejected
from kiosk.events import OutboxChanged
from kiosk.journal import log_event
from kiosk.lifecycle import Closing
from kiosk.privacy import code_ref

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1

_SELECT = (
    "SELECT key, kind, order_ref, payload, staff_token, state, attempts, created_at, error_code,"
    " error_message, seq FROM events "
)  # + a constant WHERE clause of this module; values always go in as parameters

PENDING = "pending"
ATTENTION = "attention"


class OutboxError(KioskError, OSError):
    """The outbox file cannot be opened or written: the event was NOT stored."""


@dataclass(frozen=True)
class OutboxEvent:
    """One stored event, as :meth:`Outbox.pending` and :meth:`Outbox.attention` list them.

    ``kind`` is the write's wire kind (``arrive``, ``pickup``, ...) whatever the row says (its
    record's class name, or the wire kind in a row written before the records existed);
    :attr:`request` rebuilds the record from the row.
    """

    key: str
    kind: str
    order_ref: str
    payload: dict
    staff_token: str | None = field(default=None, repr=False)
    state: str = PENDING
    attempts: int = 0
    created_at: float = 0.0
    error_code: str | None = None
    error_message: str | None = None
    seq: int = 0

    def __repr__(self) -> str:  # payloads hold package codes: keep them out of tracebacks
        return (
            f"OutboxEvent(key={self.key!r}, kind={self.kind!r}, order_ref={code_ref(self.order_ref)!r}, "
            f"state={self.state!r}, attempts={self.attempts}, error_code={self.error_code!r})"
        )

    @property
    def request(self) -> Write:
        """The stored write as its record (``ValueError``: the row does not make one)."""
        return rebuild(self.kind, self.payload, self.staff_token)


class Outbox(Closing):
    """A durable, ordered, idempotent queue of backend writes (see the module docstring).

    ``client`` is a :class:`kiosk.api.client.BackendClient` (or anything with its methods),
    ``clock`` a :class:`kiosk.clock.Clock`/``SimClock``. Call :meth:`start` to run the delivery
    thread and :meth:`close` to stop it; without the thread, :meth:`deliver_now` delivers in the
    calling thread.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        client: Any,
        clock: Any,
        *,
        backoff_max: float = 60.0,
        backoff_base: float = 1.0,
        on_change: Callable[[OutboxChanged], None] | None = None,
        rng: random.Random | None = None,
    ):
        if backoff_max <= 0 or backoff_base <= 0:
            raise ValueError("backoff_max and backoff_base must be greater than 0")
        self.path = Path(path)
        self.client = client
        self.clock = clock
        self.backoff_max = float(backoff_max)
        self.backoff_base = float(backoff_base)
        self.on_change = on_change
        self._rng = rng or random.Random()
        self._db_lock = threading.RLock()
        self._send_lock = threading.Lock()
        self._state = threading.Condition()  # guards the fields below, notified after every attempt
        self._wake = threading.Event()
        self._closed = False
        self._sending = False
        self._streak = 0  # consecutive BackendUnavailable answers
        self._hold_until = 0.0  # clock.monotonic() before which only fresh events are sent
        self._kicked = False  # kick() came while a send was in flight
        self._timer = None
        # order_refs with an event that has not had its first try: their head goes now, backoff
        # or not ("sent at once"); a ref leaves the set when its head is tried
        self._fresh: set[str] = set()
        self._last_try: dict[str, float] = {}
        self.last_error: str | None = None
        self._thread: threading.Thread | None = None
        self._db = self._open()

    @classmethod
    def from_config(
        cls, config: Any, client: Any, clock: Any, *, on_change: Callable[[OutboxChanged], None] | None = None
    ) -> Outbox:
        """``<kiosk.state_dir>/outbox.db`` with ``backend.outbox_backoff_max`` from a Config."""
        path = Path(config.kiosk.state_dir) / "outbox.db"
        return cls(path, client, clock, backoff_max=config.backend.outbox_backoff_max, on_change=on_change)

    # -- storage ----------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise OutboxError(f"outbox folder {self.path.parent} cannot be created ({exc.strerror})") from None
        with contextlib.suppress(OSError):
            os.chmod(self.path.parent, 0o700)  # issue 11: staff tokens live here, for nobody else
        try:
            return self._connect()
        except sqlite3.OperationalError as exc:
            raise OutboxError(f"outbox {self.path} cannot be opened ({exc})") from None
        except sqlite3.DatabaseError as exc:
            # not a database (or damaged beyond use): keep the bytes for an admin, start afresh
            aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
            log_event(logger, "outbox_corrupt", logging.ERROR, path=str(self.path), moved_to=str(aside), why=str(exc))
            for suffix in ("", "-wal", "-shm"):
                src = Path(str(self.path) + suffix)
                if src.exists():
                    os.replace(src, Path(str(aside) + suffix))
            try:
                return self._connect()
            except sqlite3.Error as exc2:
                raise OutboxError(f"outbox {self.path} cannot be created ({exc2})") from None

    def _connect(self) -> sqlite3.Connection:
        # made 0600 before SQLite opens it: its -wal and -shm files take the database's mode
        with contextlib.suppress(OSError):
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                os.chmod(str(self.path) + suffix, 0o600)  # staff tokens and package codes live here
        db = sqlite3.connect(str(self.path), timeout=10.0, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA secure_delete=ON")  # freed pages are zeroed: no token lingers there
            mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise sqlite3.OperationalError(f"journal_mode is {mode}, not wal")
            db.execute("PRAGMA synchronous=FULL")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise sqlite3.OperationalError(f"outbox schema {version} is newer than this kiosk's")
            db.executescript(
                """
                CREATE TABLE IF NOT EXISTS events (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    key TEXT NOT NULL UNIQUE,
                    kind TEXT NOT NULL,
                    order_ref TEXT NOT NULL,
                    payload TEXT NOT NULL,
                    staff_token TEXT,
                    state TEXT NOT NULL DEFAULT 'pending',
                    attempts INTEGER NOT NULL DEFAULT 0,
                    created_at REAL NOT NULL,
                    error_code TEXT,
                    error_message TEXT
                );
                CREATE INDEX IF NOT EXISTS events_state_ref ON events (state, order_ref, seq);
                PRAGMA user_version = 1;
                """
            )
            db.execute("SELECT count(*) FROM events").fetchone()  # reads the file: garbage shows here
        except sqlite3.Error:
            db.close()
            raise
        return db

    def _rows(self, sql: str, args: tuple = ()) -> list[OutboxEvent]:
        with self._db_lock:
            rows = self._db.execute(_SELECT + sql, args).fetchall()
        return [
            OutboxEvent(
                key=r[0],
                kind=_wire_kind(r[1]),
                order_ref=r[2],
                payload=json.loads(r[3]),
                staff_token=r[4],
                state=r[5],
                attempts=r[6],
                created_at=r[7],
                error_code=r[8],
                error_message=r[9],
                seq=r[10],
            )
            for r in rows
        ]

    def _count(self, state: str) -> int:
        with self._db_lock:
            return self._db.execute("SELECT count(*) FROM events WHERE state = ?", (state,)).fetchone()[0]

    # -- the public side --------------------------------------------------------------------

    def enqueue(
        self,
        request: Write | str,
        order_ref: str | None = None,
        payload: dict | None = None,
        staff_token: str | None = None,
        *,
        key: str | None = None,
    ) -> str:
        """Store a write durably and return its Idempotency-Key (the acknowledgement).

        ``request`` is the write's record (:mod:`kiosk.api.requests`); its ``ref`` orders it
        unless ``order_ref`` is given. Tools and tests may name it by wire kind instead:
        ``enqueue("arrive", order_ref, payload, staff_token)``. ``key`` lets a caller fix the
        key itself (uuid4 otherwise); enqueueing the same key again is a no-op that returns it,
        so a caller that cannot tell whether it was acknowledged before a crash may simply
        enqueue again. Raises ``ValueError`` for a malformed event and :class:`OutboxError`
        when it could not be stored (then it was not acknowledged).
        """
        if isinstance(request, str):
            request = rebuild(request, payload if payload is not None else {}, staff_token)
        if not isinstance(request, Write):
            raise ValueError("the outbox stores writes (kiosk.api.requests.Write records)")
        order_ref = request.ref if order_ref is None else order_ref
        if not order_ref or not isinstance(order_ref, str):
            raise ValueError("an outbox event needs an order_ref (order id or package code)")
        payload = request.payload()
        staff_token = getattr(request, "staff_token", None)
        kind = type(request).__name__
        key = key or str(uuid.uuid4())
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True)
        try:
            with self._db_lock:
                cur = self._db.execute(
                    "INSERT OR IGNORE INTO events (key, kind, order_ref, payload, staff_token, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (key, kind, order_ref, body, staff_token, self.clock.time()),
                )
                pending = cur.rowcount == 1
                if not pending:
                    row = self._db.execute(
                        "SELECT kind, order_ref, payload, state FROM events WHERE key = ?", (key,)
                    ).fetchone()
                    if row is not None and not _same(row, request, order_ref):
                        raise ValueError("this idempotency key already belongs to another event")
                    pending = row is not None and row[3] == PENDING
        except sqlite3.Error as exc:
            log_event(logger, "outbox_store_failed", logging.ERROR, kind=request.kind, why=str(exc))
            raise OutboxError(f"the event could not be stored ({exc})") from None
        log_event(
            logger, "outbox_enqueued", kind=request.kind, key=key, ref=code_ref(order_ref), **_order_field(payload)
        )
        if pending:
            with self._state:
                self._fresh.add(order_ref)
        self._changed(order_ref=order_ref)
        self._wake.set()
        return key

    def depth(self) -> int:
        """Events waiting to be delivered (not counting those that need attention)."""
        return self._count(PENDING)

    def pending(self) -> list[OutboxEvent]:
        return self._rows("WHERE state = ? ORDER BY seq", (PENDING,))

    def attention(self) -> list[OutboxEvent]:
        """Events the backend refused: a person must look at them (they are never retried alone)."""
        return self._rows("WHERE state = ? ORDER BY seq", (ATTENTION,))

    def retry(self, key: str) -> bool:
        """Put an event that needs attention back in the queue (e.g. after fixing the cause)."""
        with self._db_lock:
            cur = self._db.execute(
                "UPDATE events SET state = ?, error_code = NULL, error_message = NULL WHERE key = ? AND state = ?",
                (PENDING, key, ATTENTION),
            )
        if cur.rowcount:
            row = self._rows("WHERE key = ?", (key,))
            if row:
                with self._state:
                    self._fresh.add(row[0].order_ref)
            self._changed()
            self._wake.set()
        return bool(cur.rowcount)

    def dismiss(self, key: str) -> bool:
        """Forget an event that needs attention (a person dealt with it)."""
        with self._db_lock:
            row = self._db.execute("SELECT staff_token FROM events WHERE key = ?", (key,)).fetchone()
            cur = self._db.execute("DELETE FROM events WHERE key = ? AND state = ?", (key, ATTENTION))
            if cur.rowcount and row is not None and row[0]:
                self._forget_token(row[0])
        if cur.rowcount:
            log_event(logger, "outbox_dismissed", key=key)
            self._changed()
        return bool(cur.rowcount)

    def kick(self) -> None:
        """Try now, backoff or not (e.g. the backend is reachable again)."""
        with self._state:
            self._hold_until = 0.0
            self._kicked = self._sending  # a send in flight that fails now was older news
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        self._wake.set()

    def busy(self) -> bool:
        """A send is in flight, or an event is due and about to be sent."""
        with self._state:
            if self._sending:
                return True
        return self._next_due() is not None

    def holding(self) -> bool:
        """In backoff: the backend was unavailable and the next try waits for the clock."""
        with self._state:
            return self.clock.monotonic() < self._hold_until

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="outbox", daemon=True)
        self._thread.start()
        self._wake.set()  # pending events from before a restart go at once

    def close(self, timeout: float = 10.0) -> None:
        """Stop the delivery thread (an attempt in flight finishes) and close the file."""
        with self._state:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._state.notify_all()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        with self._db_lock, contextlib.suppress(sqlite3.Error):
            self._db.close()

    def deliver_now(self) -> int:
        """Try every event that is due now in the calling thread, backoff ignored; return how many
        were delivered (or parked). For tests and tools; safe beside the delivery thread."""
        self.kick()
        return self._pass()

    def flush(self, timeout: float = 10.0) -> bool:
        """Try now and wait (real time, at most ``timeout``) until the queue is empty: True.

        Returns False at once when the backend is unavailable (the outbox went into backoff)
        and nothing else is due, or after ``timeout``.
        """
        self.kick()
        if self._thread is None or not self._thread.is_alive():
            self._pass()
            return self.depth() == 0
        deadline = time.monotonic() + timeout
        while True:
            if self.depth() == 0:
                return True
            if self._closed:
                return False
            with self._state:
                sending = self._sending
            if not sending and self.holding() and self._next_due() is None:
                return False
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            with self._state:
                self._state.wait(min(left, 0.05))

    # -- delivery ---------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._closed:
                return
            try:
                self._pass()
            except Exception:  # never let the thread die: log and wait for the next wake-up
                logger.exception("event=outbox_failed")
                self._backoff("internal error")

    def _heads(self) -> list[OutboxEvent]:
        """The first pending event of every order_ref, oldest first. A staff logout also waits
        for every earlier pending write made with its staff token (docs/design.md r2)."""
        return self._rows(
            "AS e WHERE state = 'pending' AND NOT EXISTS (SELECT 1 FROM events AS p WHERE p.state = 'pending'"
            " AND p.seq < e.seq AND (p.order_ref = e.order_ref OR (e.kind IN ('StaffLogout', 'staff_logout')"
            " AND p.staff_token = e.staff_token))) ORDER BY seq"
        )

    def _next_due(self) -> OutboxEvent | None:
        try:
            heads = self._heads()
        except (sqlite3.Error, ValueError):
            return None
        with self._state:
            holding = self.clock.monotonic() < self._hold_until
            due = [e for e in heads if not holding or e.order_ref in self._fresh]
            if not due:
                return None
            # untried events first (in order), then the one tried longest ago: a single event
            # that keeps failing with 5xx cannot starve the others
            due.sort(key=lambda e: (self._last_try.get(e.key, float("-inf")), e.seq))
            return due[0]

    def _pass(self) -> int:
        """Deliver until nothing is due; returns how many events left the queue."""
        done = 0
        while not self._closed:
            with self._send_lock:
                event = self._next_due()
                if event is None:
                    break
                outcome = self._attempt(event)
            if outcome in ("delivered", "attention"):
                done += 1
        return done

    def _attempt(self, event: OutboxEvent) -> str:
        with self._state:
            self._sending = True
            self._kicked = False
            self._last_try[event.key] = self.clock.monotonic()
            self._fresh.discard(event.order_ref)
        try:
            try:
                self._send(event)
            except BackendUnavailable as exc:
                self._failed(event, str(exc))
                return "retry"
            except Rejected as exc:
                self._park(event, exc.code, f"{exc.status} {exc.message}"[:500])
                return "attention"
            except (ValueError, TypeError, KeyError) as exc:  # a payload the client cannot send
                logger.exception("event=outbox_unsendable key=%s", event.key)
                self._park(event, "unsendable", type(exc).__name__)
                return "attention"
            self._delivered(event)
            return "delivered"
        finally:
            with self._state:
                self._sending = False
                self._state.notify_all()

    def _send(self, event: OutboxEvent) -> Any:
        return event.request.run(self.client, key=event.key)

    def _delivered(self, event: OutboxEvent) -> None:
        with self._db_lock:
            self._db.execute("DELETE FROM events WHERE key = ?", (event.key,))
            if event.staff_token:
                self._forget_token(event.staff_token)
        with self._state:
            self._streak = 0
            self._hold_until = 0.0
            self._last_try.pop(event.key, None)
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self.last_error = None
        log_event(
            logger,
            "outbox_delivered",
            kind=event.kind,
            key=event.key,
            attempts=event.attempts + 1,
            **_order_field(event.payload),
        )
        self._changed(delivered=event.key, order_ref=event.order_ref)

    def _forget_token(self, token: str) -> None:
        """Issue 11: once no queued row needs a staff token, no copy of it stays in the files: the
        deleted rows' bytes are zeroed (``secure_delete``) and the WAL, which still holds the old
        pages, is checkpointed and truncated."""
        needed = self._db.execute("SELECT 1 FROM events WHERE staff_token = ? LIMIT 1", (token,)).fetchone()
        if needed is None:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _park(self, event: OutboxEvent, code: str, message: str) -> None:
        with self._db_lock:
            self._db.execute(
                "UPDATE events SET state = ?, attempts = attempts + 1, error_code = ?, error_message = ? WHERE key = ?",
                (ATTENTION, code, message, event.key),
            )
        with self._state:
            self._streak = 0  # the backend answered
            self._hold_until = 0.0
            self._last_try.pop(event.key, None)
        log_event(
            logger,
            "outbox_attention",
            logging.WARNING,
            kind=event.kind,
            key=event.key,
            code=code,
            **_order_field(event.payload),
        )
        self._changed(order_ref=event.order_ref)

    def _failed(self, event: OutboxEvent, reason: str) -> None:
        with self._db_lock, contextlib.suppress(sqlite3.Error):
            self._db.execute(
                "UPDATE events SET attempts = attempts + 1, error_message = ? WHERE key = ?", (reason[:500], event.key)
            )
        self._backoff(reason, event)

    def _backoff(self, reason: str, event: OutboxEvent | None = None) -> None:
        with self._state:
            if event is not None and self._kicked:
                # the backend was reported back while this send was in flight (it timed out on
                # the slow backend of before): try again at once, once, not after the backoff
                self._kicked = False
                self._hold_until = 0.0
                self.last_error = reason
                self._wake.set()
                log_event(logger, "outbox_retry", logging.INFO, key=event.key, streak=self._streak, delay=0, why=reason)
                return
            self._streak += 1
            ceiling = min(self.backoff_max, self.backoff_base * 2 ** min(self._streak - 1, 30))
            delay = ceiling * (0.5 + 0.5 * self._rng.random())  # "equal jitter": never under half
            self._hold_until = self.clock.monotonic() + delay
            self.last_error = reason
            if self._timer is not None:
                self._timer.cancel()
            self._timer = None if self._closed else self.clock.call_later(delay, self._wake.set)
            streak = self._streak
        log_event(
            logger,
            "outbox_retry",
            logging.WARNING if streak == 1 else logging.INFO,
            key=event.key if event else None,
            streak=streak,
            delay=delay,
            why=reason,
        )

    def _changed(self, delivered: str | None = None, order_ref: str | None = None) -> None:
        if self.on_change is None:
            return
        try:
            change = OutboxChanged(
                depth=self.depth(), attention=self._count(ATTENTION), delivered=delivered, order_ref=order_ref
            )
            self.on_change(change)
        except Exception:
            logger.exception("event=outbox_on_change_failed")


def _order_field(payload: dict) -> dict:
    """Log fields that identify the event without personal data: order id and door."""
    fields = {}
    if "order_id" in payload:
        fields["order"] = payload["order_id"]
    if "locker_door" in payload:
        fields["door"] = payload["locker_door"]
    return fields


def _wire_kind(stored: str) -> str:
    """A row's ``kind`` column as the wire kind (unknown kinds as they are: parked when tried)."""
    try:
        return write_class(stored).kind
    except ValueError:
        return stored


def _same(row: tuple, request: Write, order_ref: str) -> bool:
    """The stored row (kind, order_ref, payload, ...) holds this very write."""
    try:
        cls = write_class(row[0])
    except ValueError:
        return False
    return row[1] == order_ref and cls is type(request) and json.loads(row[2]) == request.payload()


__all__ = ["KINDS", "Outbox", "OutboxError", "OutboxEvent"]
