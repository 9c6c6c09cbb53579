"""``pickup-kiosk server [--db URL] [--seed FILE] [--host H] [--port P]``: the reference backend."""

from __future__ import annotations

import argparse
import logging
import sys

from kiosk.journal import log_event, setup_logging
from kiosk.server.store import SeedError, Store

logger = logging.getLogger(__name__)


def serve(store: Store, host: str, port: int, log_level: str = "info") -> None:
    """Run uvicorn on ``store`` until interrupted (SIGINT/SIGTERM)."""
    import uvicorn

    from kiosk.server.app import create_app
    from kiosk.systemd import notifying_uvicorn_server

    config = uvicorn.Config(
        create_app(store),
        host=host,
        port=port,
        log_level=log_level,
        log_config=None,  # our handler (journal prefixes) stays in charge
        access_log=False,  # request lines would hold package codes from the path
        lifespan="off",
        ws="none",
        timeout_graceful_shutdown=3,
    )
    log_event(logger, "server_start", host=host, port=port, db=store.engine.dialect.name)
    # READY=1 / WATCHDOG=1 / STOPPING=1 for pickup-kiosk-server.service (Type=notify)
    notifying_uvicorn_server(config).run()
    log_event(logger, "server_stop")


def main(args: argparse.Namespace) -> int:
    level = getattr(args, "log_level", "info") or "info"
    setup_logging(level.upper())
    store = Store(args.db)
    try:
        from kiosk.server.admin.cli import apply as apply_backoffice

        if (done := apply_backoffice(args, store)) is not None:  # --create-admin, or a bad flag
            return done
        if args.seed:
            try:
                store.load_seed(args.seed)
            except SeedError as exc:
                print(f"pickup-kiosk server: {exc}", file=sys.stderr)
                return 2
        serve(store, args.host, args.port, level)
    finally:
        store.close()
    return 0
