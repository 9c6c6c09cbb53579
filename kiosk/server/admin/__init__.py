"""The back office (docs/api.md r2, "Back office"; issue 13): admin API, web pages, metrics, notices.

``install(app, store, options)`` adds to the reference server's FastAPI app:

- :mod:`.api`: the admin calls under ``/api/v1/admin/``;
- :mod:`.pages`: the web pages under ``/admin/`` (zh-TW and English);
- :mod:`.metrics`: ``GET /metrics`` and the request latency histogram;
- with ``options.smtp``, a :class:`kiosk.server.notices.NoticeSender` thread for this process.

:mod:`.service` holds the reads and writes both faces share; :mod:`.auth` the accounts, tokens,
session cookie and CSRF tokens.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from kiosk.server import notices
from kiosk.server.admin import auth
from kiosk.server.admin.api import admin_router
from kiosk.server.admin.metrics import LatencyMiddleware, Metrics, read_token_file
from kiosk.server.admin.pages import pages_router
from kiosk.server.admin.service import AdminService

# how the server CLI hands options to worker processes (uvicorn imports the app factory there)
ENV_SMTP = "PICKUP_SERVER_SMTP"
ENV_MAIL_FROM = "PICKUP_SERVER_MAIL_FROM"
ENV_METRICS_TOKEN_FILE = "PICKUP_SERVER_METRICS_TOKEN_FILE"  # noqa: S105 (a variable name)


@dataclass
class BackofficeOptions:
    """``--smtp`` URL, ``--mail-from`` address, ``--metrics-token-file`` path."""

    smtp: str | None = None
    mail_from: str | None = None
    metrics_token_file: str | None = None

    @classmethod
    def from_env(cls, environ: Any = os.environ) -> BackofficeOptions:
        return cls(
            smtp=environ.get(ENV_SMTP) or None,
            mail_from=environ.get(ENV_MAIL_FROM) or None,
            metrics_token_file=environ.get(ENV_METRICS_TOKEN_FILE) or None,
        )

    def to_env(self) -> dict[str, str]:
        out = {ENV_SMTP: self.smtp, ENV_MAIL_FROM: self.mail_from, ENV_METRICS_TOKEN_FILE: self.metrics_token_file}
        return {k: v for k, v in out.items() if v}


def install(app: Any, store: Any, options: BackofficeOptions | None = None) -> AdminService:
    """Add the back office to ``app`` (before it starts serving). Returns its service; the
    notice sender, if any, is ``app.state.notice_sender`` (stop it when the server stops)."""
    options = options if options is not None else BackofficeOptions.from_env()
    auth.ensure_tables(store)
    notices.ensure_tables(store.engine)
    if notices.queue_arrival not in store.arrival_hooks:
        store.arrival_hooks.append(notices.queue_arrival)
    sender = None
    if options.smtp:
        sender = notices.NoticeSender(store, notices.SmtpConfig(options.smtp, options.mail_from))
    service = AdminService(store, wake_sender=sender.wake if sender else None)
    token = read_token_file(options.metrics_token_file) if options.metrics_token_file else None
    metrics = Metrics(store, token)
    app.include_router(admin_router(service))
    app.include_router(pages_router(service))
    app.include_router(metrics.router())
    app.add_middleware(LatencyMiddleware, metrics=metrics, routes=lambda: app.router.routes)
    app.state.admin_service = service
    app.state.metrics = metrics
    app.state.notice_sender = sender
    if sender is not None:
        sender.start()
    return service
