"""Logging for journald: priority prefixes on stderr and ``event=name key=value`` lines.

Every line the kiosk logs on purpose goes through :func:`log_event`, which gives it a stable
event name and ``key=value`` fields, so admins can ``journalctl -u pickup-kiosk -g event=door_forced``.
Personal data never goes in a field: pass :func:`kiosk.privacy.code_ref` of a code instead.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

# Libraries whose own log lines would carry request paths, and so the codes in them
# (``/api/v1/parcels/<package code>``): urllib3 logs "Retrying ... /api/v1/parcels/PKG1001" as a
# warning and every request line at debug. The kiosk logs each backend call itself
# (``event=backend_call``, codes hashed), so these stay quiet below ERROR wherever the kiosk's
# modules are imported, whatever handler the root logger has.
QUIET_LOGGERS = ("urllib3",)


def quiet_third_party_loggers(level: int = logging.ERROR) -> None:
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(level)


quiet_third_party_loggers()

# syslog priorities as journald's SyslogLevelPrefix reads them
_PRIORITY = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}


def _priority(levelno: int) -> int:
    for level in sorted(_PRIORITY, reverse=True):
        if levelno >= level:
            return _PRIORITY[level]
    return 7


class JournalFormatter(logging.Formatter):
    """``<6>kiosk.flow: event=pickup order=A1002 door=3 ms=182`` (prefix optional)."""

    def __init__(self, prefix: bool = True, timestamps: bool = False):
        fmt = "%(asctime)s " if timestamps else ""
        super().__init__(fmt + "%(name)s: %(message)s")
        self.prefix = prefix

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if not self.prefix:
            return text
        pri = f"<{_priority(record.levelno)}>"
        return "\n".join(pri + line for line in text.splitlines())


def setup_logging(
    level: int | str = logging.INFO,
    stream: TextIO | None = None,
    *,
    prefix: bool | None = None,
    timestamps: bool = False,
) -> logging.Handler:
    """One handler on the root logger, writing to ``stream`` (stderr by default).

    ``prefix`` defaults to on when stderr is not a terminal (journald, files), off on a terminal.
    """
    stream = stream or sys.stderr
    if prefix is None:
        prefix = not (hasattr(stream, "isatty") and stream.isatty())
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JournalFormatter(prefix=prefix, timestamps=timestamps))
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_kiosk_handler", False):
            root.removeHandler(old)
    handler._kiosk_handler = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    quiet_third_party_loggers()
    return handler


def _value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    text = str(value)
    if not text or any(ch.isspace() or ch in '"=' for ch in text):
        text = '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text


def format_event(event: str, **fields: Any) -> str:
    """``event=<event> k1=v1 k2=v2`` with values quoted where they hold spaces."""
    parts = [f"event={event}"]
    parts += [f"{key}={_value(val)}" for key, val in fields.items()]
    return " ".join(parts)


def log_event(logger: logging.Logger, event: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log one event line. Never pass names, phones, emails, member codes or PINs as fields."""
    if logger.isEnabledFor(level):
        logger.log(level, "%s", format_event(event, **fields))
