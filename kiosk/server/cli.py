"""``pickup-kiosk server [--db URL] [--seed FILE] [--host H] [--port P] [--workers N]``: the
reference backend; ``pickup-kiosk member-code --db URL --member ID``: a member's rotating code."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

from kiosk.journal import log_event, setup_logging
from kiosk.privacy import load_log_key
from kiosk.server import db
from kiosk.server.store import SeedError, Store

logger = logging.getLogger(__name__)


def state_dir(args: argparse.Namespace) -> Path:
    """Where the server keeps its own secrets: ``--state-dir``, systemd's ``$STATE_DIRECTORY``,
    the SQLite file's folder, else ``$XDG_STATE_HOME/pickup-kiosk-server`` (never the working
    directory, which may be a checkout). The folder is made 0700 when it is made."""
    chosen = getattr(args, "state_dir", None) or os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    if chosen:
        folder = Path(chosen)
    elif (sqlite_file := db.sqlite_path(args.db)) is not None:
        folder = sqlite_file.parent
    else:
        base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
        folder = Path(base) / "pickup-kiosk-server"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def uvicorn_config(app: object, host: str, port: int, log_level: str, **extra: object) -> object:
    """The uvicorn settings of every server run (header/body time-outs in the protocol)."""
    import uvicorn

    from kiosk.server.http import TimedHttpToolsProtocol

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        log_config=None,  # our handler (journal prefixes) stays in charge
        access_log=False,  # request lines would hold package codes from the path
        lifespan="off",
        ws="none",
        http=TimedHttpToolsProtocol,
        timeout_graceful_shutdown=3,
        **extra,
    )


def serve(store: Store, host: str, port: int, log_level: str = "info") -> None:
    """Run uvicorn on ``store`` until interrupted (SIGINT/SIGTERM)."""
    from kiosk.server.app import create_app
    from kiosk.systemd import notifying_uvicorn_server

    config = uvicorn_config(create_app(store), host, port, log_level)
    log_event(logger, "server_start", host=host, port=port, db=store.engine.dialect.name, workers=1)
    # READY=1 / WATCHDOG=1 / STOPPING=1 for pickup-kiosk-server.service (Type=notify)
    notifying_uvicorn_server(config).run()
    log_event(logger, "server_stop")


def serve_workers(
    db_url: str, host: str, port: int, workers: int, log_level: str = "info", key_dir: Path | None = None
) -> None:
    """``workers`` processes on one socket; each opens its own Store on ``db_url`` and keys its
    log references with the deployment's key in ``key_dir`` (each is a new interpreter)."""
    from uvicorn.supervisors import Multiprocess

    from kiosk.server.http import DB_ENV, LOG_KEY_ENV
    from kiosk.systemd import Systemd

    os.environ[DB_ENV] = db_url
    if key_dir is not None:
        os.environ[LOG_KEY_ENV] = str(key_dir)
    config = uvicorn_config("kiosk.server.http:worker_app", host, port, log_level, factory=True, workers=workers)
    sd = Systemd()

    class Supervisor(Multiprocess):
        def keep_subprocess_alive(self) -> None:
            super().keep_subprocess_alive()
            sd.watchdog()

    sock = config.bind_socket()
    log_event(logger, "server_start", host=host, port=port, workers=workers)
    sd.ready()
    try:
        Supervisor(config, sockets=[sock]).run()
    finally:
        sd.stopping()
        sock.close()
    log_event(logger, "server_stop")


def main(args: argparse.Namespace) -> int:
    level = getattr(args, "log_level", "info") or "info"
    setup_logging(level.upper())
    workers = int(getattr(args, "workers", 1) or 1)
    if workers < 1:
        print("pickup-kiosk server: --workers is at least 1", file=sys.stderr)
        return 2
    store = Store(args.db)
    try:
        key_dir = load_log_key(state_dir(args)).parent
        from kiosk.server.admin.cli import apply as apply_backoffice

        if (done := apply_backoffice(args, store)) is not None:  # --create-admin, or a bad flag
            return done
        if args.seed:
            try:
                store.load_seed(args.seed)
            except SeedError as exc:
                print(f"pickup-kiosk server: {exc}", file=sys.stderr)
                return 2
        if workers == 1:
            serve(store, args.host, args.port, level)
            return 0
    finally:
        store.close()
    serve_workers(args.db, args.host, args.port, workers, level, key_dir)
    return 0


def main_member_code(args: argparse.Namespace) -> int:
    """Print a member's current rotating code (``<member code>.<6 digits>``), docs/api.md r2."""
    from sqlalchemy import select

    from kiosk.server.lookup import current_member_code

    store = Store(args.db)
    try:
        with store.read() as conn:
            row = conn.execute(
                select(db.members.c.member_code, db.members.c.totp_secret).where(db.members.c.id == args.member)
            ).first()
    finally:
        store.close()
    if row is None or not row.member_code or not row.totp_secret:
        print(f"pickup-kiosk member-code: no member {args.member!r} with a member code", file=sys.stderr)
        return 1
    print(current_member_code(row.member_code, row.totp_secret, time.time()))
    return 0
