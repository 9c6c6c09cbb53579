"""The reference server's tables (SQLAlchemy Core) and engine set-up.

Portable between SQLite (the default: one file, WAL, a busy timeout, ``BEGIN IMMEDIATE`` for
writes) and PostgreSQL (``postgresql+psycopg://`` URLs; row locks and conditional UPDATEs).

Times are stored as UTC epoch seconds (floats): comparable in SQL on both engines, and the
``overdue`` status is computed from them on read, never stored.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from pathlib import Path

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    inspect,
    text,
)
from sqlalchemy.engine import Engine

from kiosk.statuses import STATUSES

logger = logging.getLogger(__name__)

metadata = MetaData()

settings = Table(
    "settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),  # JSON
)

kiosks = Table(
    "kiosks",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("position", Integer, nullable=False, default=0),
    Column("mode", String(16), nullable=False, default="locker"),  # r2: "locker" or "counter"
)

staff = Table(
    "staff",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("badge_code", String(128), nullable=False, unique=True),
    Column("pin_hash", String(200), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("position", Integer, nullable=False, default=0),
)

members = Table(
    "members",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("phone", String(64)),
    Column("phone_digits", String(64), index=True),
    Column("email", String(200)),
    Column("email_lower", String(200), index=True),
    Column("member_code", String(128), unique=True),
    Column("lang", String(16), nullable=False, default="zh-TW"),  # r2: the notices' language
    Column("totp_secret", String(128)),  # r2: base32, for rotating member codes
)

# statuses as stored; "overdue" is never stored (an "arrived" order past its overdue time)
STORED_STATUSES = tuple(status for status in STATUSES if status != "overdue")
# an order in one of these holds its locker door
DOOR_HOLDING = ("arrived", "return_requested")
_DOOR_HOLDING_SQL = "status IN (" + ", ".join(f"'{s}'" for s in DOOR_HOLDING) + ")"

orders = Table(
    "orders",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("number", String(64), nullable=False, unique=True),
    Column("member_id", String(64), nullable=False),
    Column("package_code", String(128), nullable=False, unique=True),
    Column("items_summary", String(500)),
    Column("status", String(32), nullable=False),
    Column("arrived_at", Float),
    Column("locker_door", Integer),
    Column("received_by", String(64)),
    Column("handed_over_by", String(64)),
    Column("return_reason", Text),
    Column("updated_at", Float, nullable=False),
    Column("pickup_code", String(16)),  # r2: given on arrival, never sent to a kiosk
    Column("received_at", Float),  # r2: when it became "received" (commission report)
    Index("ix_orders_member_status", "member_id", "status", "arrived_at"),
    Index("ix_orders_status_arrived", "status", "arrived_at"),
    # one door holds one order at a time (enforced by the database, also under concurrency)
    Index(
        "ux_orders_door_in_use",
        "locker_door",
        unique=True,
        sqlite_where=text(_DOOR_HOLDING_SQL),
        postgresql_where=text(_DOOR_HOLDING_SQL),
    ),
    # r2: a pickup code is unique among the orders that wait (or may wait again after a review)
    Index(
        "ux_orders_pickup_code_waiting",
        "pickup_code",
        unique=True,
        sqlite_where=text(_DOOR_HOLDING_SQL),
        postgresql_where=text(_DOOR_HOLDING_SQL),
    ),
)

staff_tokens = Table(
    "staff_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("staff_id", String(64), nullable=False),
    Column("kiosk_id", String(64), nullable=False),  # r2: the token works only with this kiosk
    Column("expires_at", Float, nullable=False),
    Column("revoked_at", Float),  # r2: logout, deactivation or a PIN change
    Index("ix_staff_tokens_staff", "staff_id"),
)

# r2: keys are scoped to a kiosk ("kiosk:k_1") or to the admin API ("admin")
idempotency = Table(
    "idempotency",
    metadata,
    Column("scope", String(80), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("method", String(8), nullable=False),
    Column("path", String(400), nullable=False),
    Column("body_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response", Text, nullable=False),
    Column("created_at", Float, nullable=False, index=True),
)

# one row per state change: lets tests count that a write happened exactly once
order_events = Table(
    "order_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", String(64), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("at", Float, nullable=False),
    Column("kiosk_id", String(64)),
    Column("staff_id", String(64)),
    Column("idempotency_key", String(128)),
)

heartbeats = Table(
    "heartbeats",
    metadata,
    Column("kiosk_id", String(64), primary_key=True),
    Column("at", Float, nullable=False),
    Column("state", String(128)),
    Column("camera", String(128)),
    Column("gpio", String(128)),
    Column("outbox", Integer),
    Column("version", String(128)),
    Column("uptime", Float),
)

# r2: every look-up answered 200; pickups name it (docs/api.md, Proof of ownership)
lookups = Table(
    "lookups",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("kiosk_id", String(64), nullable=False),
    Column("member_id", String(64), nullable=False),
    Column("order_ids", Text, nullable=False),  # JSON list: the orders this look-up allows
    Column("created_at", Float, nullable=False, index=True),
    Column("ttl", Float, nullable=False),  # lookup_ttl_seconds in force when it was made
)

# r2: rotating member code values used up (member, TOTP time step); each is accepted once
totp_used = Table(
    "totp_used",
    metadata,
    Column("member_id", String(64), primary_key=True),
    Column("step", Integer, primary_key=True, autoincrement=False),
    Column("used_at", Float, nullable=False, index=True),
)

# r2: the lockout's attempts (security.py): kind "lookup"/"login" keyed by kiosk id,
# "contact" keyed by phone digits or lower-cased email, "admin_login" by username. A row is
# "pending" while its attempt is checked (it holds a failure slot), then deleted (success) or
# turned into "fail".
lockout_attempts = Table(
    "lockout_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("key", String(256), nullable=False),
    Column("state", String(8), nullable=False),  # "pending" or "fail"
    Column("at", Float, nullable=False),
    Index("ix_lockout_kind_key_at", "kind", "key", "at"),
)

# r2: POST /kiosks/{id}/events, as received
kiosk_events = Table(
    "kiosk_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kiosk_id", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("door", Integer),
    Column("at", Float, nullable=False),  # the kiosk's time of the event
    Column("detail", Text),
    Column("received_at", Float, nullable=False),
    Index("ix_kiosk_events_kiosk_received", "kiosk_id", "received_at"),
    Index("ix_kiosk_events_kind", "kind"),
)

# r2: door alarms (door_forced, door_left_open), open until a later door_closed or an admin ack
alarms = Table(
    "alarms",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kiosk_id", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("door", Integer),
    Column("at", Float, nullable=False),  # the event's time
    Column("event_id", Integer, nullable=False),
    Column("closed_at", Float),  # null while open
    Column("closed_by", String(64)),  # "door_closed" or "ack:<admin>"
    Index("ix_alarms_kiosk_open", "kiosk_id", "closed_at"),
)

# r2: back-office accounts (the password hashed like a PIN: security.hash_secret)
admins = Table(
    "admins",
    metadata,
    Column("username", String(128), primary_key=True),
    Column("password_hash", String(200), nullable=False),
    Column("created_at", Float, nullable=False),
)

TABLES = {t.name: t for t in metadata.sorted_tables}


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and ``BEGIN IMMEDIATE`` for writes.

    A connection started with ``execution_options(sqlite_immediate=True)`` begins its
    transaction with ``BEGIN IMMEDIATE`` (takes the write lock up front, so two writers never
    deadlock on a lock upgrade); all others read in autocommit mode (one snapshot per statement).
    """
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            pool_size=8,
            max_overflow=24,
            hide_parameters=True,  # a failed statement's values (names, phones) stay out of logs
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn) -> None:
            # Writers take the write lock up front. Readers issue no BEGIN: each SELECT then runs
            # in its own implicit transaction on a committed snapshot (WAL: never blocked by a
            # writer), which saves two round trips on every read.
            if conn.get_execution_options().get("sqlite_immediate"):
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_size=8, max_overflow=24, pool_pre_ping=True, hide_parameters=True)


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///FILE`` URL (None for other engines and in-memory databases)."""
    if not url.startswith("sqlite:///"):
        return None
    name = url[len("sqlite:///") :].split("?", 1)[0]
    if not name or name == ":memory:":
        return None
    return Path(name)


def secure_sqlite_file(url: str) -> None:
    """The database file 0600 in a 0700 folder (docs/api.md r2; issue 11).

    A folder we create is made 0700; an existing folder is left as it is (it may be shared,
    like ``/tmp``) but a warning says when others can enter it. The file is created 0600 before
    SQLite opens it (its ``-wal`` and ``-shm`` files take the same mode), an existing one is
    narrowed to 0600.
    """
    path = sqlite_path(url)
    if path is None:
        return
    folder = path.parent
    if not folder.exists():
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
    elif stat.S_IMODE(folder.stat().st_mode) & 0o077 and not folder.stat().st_mode & stat.S_ISVTX:
        logger.warning("event=db_folder_open folder_mode=%o", stat.S_IMODE(folder.stat().st_mode))
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    for extra in ("", "-wal", "-shm"):
        f = Path(f"{path}{extra}")
        if f.exists() and stat.S_IMODE(f.stat().st_mode) != 0o600:
            os.chmod(f, 0o600)


# columns added by revision 2: (table, column, SQL type and default) for databases made before it
_ADDED_COLUMNS = (
    ("kiosks", "mode", "VARCHAR(16) NOT NULL DEFAULT 'locker'"),
    ("members", "lang", "VARCHAR(16) NOT NULL DEFAULT 'zh-TW'"),
    ("members", "totp_secret", "VARCHAR(128)"),
    ("orders", "pickup_code", "VARCHAR(16)"),
    ("orders", "received_at", "FLOAT"),
    ("staff_tokens", "revoked_at", "FLOAT"),
)


def create_schema(engine: Engine) -> None:
    """Create missing tables and bring a revision-1 database up to revision 2.

    Revision 1's idempotency table (keys not scoped to a kiosk) is dropped and made anew: keys
    may be forgotten (docs/api.md), and a stored answer of revision 1 is not one of revision 2.
    """
    existing = inspect(engine)
    names = set(existing.get_table_names())
    with engine.begin() as conn:
        if "idempotency" in names and "scope" not in {c["name"] for c in existing.get_columns("idempotency")}:
            conn.exec_driver_sql("DROP TABLE idempotency")
        for table, column, ddl in _ADDED_COLUMNS:
            if table in names and column not in {c["name"] for c in existing.get_columns(table)}:
                conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {column} {ddl}")
    metadata.create_all(engine)
