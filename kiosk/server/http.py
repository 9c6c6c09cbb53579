"""Serving the app: read time-outs at the connection, and one or more worker processes.

docs/api.md r2: a request whose headers are not complete within 10 s, or whose body is not complete
within 30 s, is dropped. ASGI sees a request only once its headers are complete, so the clock
runs in the HTTP protocol (uvicorn's httptools protocol, subclassed): a timer from the first
byte of a request (or the connection) to its last header, and one from there to the end of the
body. A half-sent request then holds its connection for at most that long, and many of them
cannot starve ``/health``.

``--workers N``: every shared state (look-ups, lockout, tokens, keys, used codes) is in the
database, so worker processes need nothing but the database URL, which they get from the
environment (:data:`DB_ENV`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from kiosk.journal import log_event

logger = logging.getLogger(__name__)

HEADER_TIMEOUT = 10.0
BODY_TIMEOUT = 30.0
DB_ENV = "PICKUP_SERVER_DB"  # the database URL for worker processes (kiosk.server.http:worker_app)
LOG_KEY_ENV = "PICKUP_SERVER_LOG_KEY_DIR"  # the folder of the deployment's log key (worker processes)


class TimedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header and a body read time-out (docs/api.md r2)."""

    header_timeout = HEADER_TIMEOUT
    body_timeout = BODY_TIMEOUT

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._read_timer: asyncio.TimerHandle | None = None

    def _arm(self, seconds: float, what: str) -> None:
        self._disarm()
        self._read_timer = self.loop.call_later(seconds, self._read_timed_out, what)

    def _disarm(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _read_timed_out(self, what: str) -> None:
        self._read_timer = None
        log_event(logger, "request_timeout", logging.WARNING, part=what)
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.header_timeout, "headers")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm(self.header_timeout, "headers")

    def on_headers_complete(self) -> None:
        self._arm(self.body_timeout, "body")
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # idle keep-alive from here on is uvicorn's timeout_keep_alive

    def send_400_response(self, msg: str) -> None:
        """A request the HTTP parser refuses gets the contract's error shape too (not text)."""
        body = json.dumps({"error": {"code": "bad_input", "message": "the request is not valid HTTP"}}).encode()
        content = [b"HTTP/1.1 400 Bad Request\r\n"]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: application/json\r\n",
                b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                b"connection: close\r\n",
                b"\r\n",
                body,
            ]
        )
        log_event(logger, "bad_http", logging.WARNING)
        self.transport.write(b"".join(content))
        self.transport.close()


def worker_app() -> Any:
    """The app of one worker process (``uvicorn ... --factory``): a Store on :data:`DB_ENV`, its
    log references keyed with the deployment's key (:data:`LOG_KEY_ENV`), as the parent's are."""
    from kiosk.privacy import load_log_key
    from kiosk.server.app import create_app
    from kiosk.server.store import Store

    if os.environ.get(LOG_KEY_ENV):
        load_log_key(os.environ[LOG_KEY_ENV])
    return create_app(Store(os.environ[DB_ENV]))
