"""The reference server's tables (SQLAlchemy Core) and engine set-up.

Portable between SQLite (the default: one file, WAL, a busy timeout, ``BEGIN IMMEDIATE`` for
writes) and PostgreSQL (``postgresql+psycopg://`` URLs; row locks and conditional UPDATEs).

Times are stored as UTC epoch seconds (floats): comparable in SQL on both engines, and the
``overdue`` status is computed from them on read, never stored.
"""

from __future__ import annotations

import sqlite3

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
    text,
)
from sqlalchemy.engine import Engine

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
)

# statuses as stored; "overdue" is never stored (an "arrived" order past its overdue time)
STORED_STATUSES = (
    "shipped",
    "arrived",
    "received",
    "return_requested",
    "return_reviewed",
    "returned_to_warehouse",
    "restocked",
)
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
)

staff_tokens = Table(
    "staff_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("staff_id", String(64), nullable=False),
    Column("kiosk_id", String(64), nullable=False),
    Column("expires_at", Float, nullable=False),
)

idempotency = Table(
    "idempotency",
    metadata,
    Column("key", String(128), primary_key=True),
    Column("method", String(8), nullable=False),
    Column("path", String(400), nullable=False),
    Column("body_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response", Text, nullable=False),
    Column("created_at", Float, nullable=False),
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
    return create_engine(url, pool_size=8, max_overflow=24, pool_pre_ping=True)
