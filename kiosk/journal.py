"""Logging for journald: priority prefixes on stderr and ``event=name key=value`` lines.

Every line the kiosk logs on purpose goes through :func:`log_event`, which gives it a stable
event name and ``key=value`` fields, so admins can ``journalctl -u pickup-kiosk -g event=door_forced``.
Personal data never goes in a field: pass :func:`kiosk.privacy.code_ref` of a code instead.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import struct
import sys
from collections.abc import Mapping
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


JOURNAL_SOCKET = "/run/systemd/journal/socket"
NATIVE_ENV = "PICKUP_KIOSK_JOURNAL"  # "native": log through the journal's own protocol


class JournalHandler(logging.Handler):
    """Records to journald over its native protocol (``systemd.journal-fields(7)``), with fields.

    Each record becomes ``MESSAGE`` (the same text as on stderr, without the ``<N>`` prefix),
    ``PRIORITY``, ``SYSLOG_IDENTIFIER``, ``LOGGER``, ``CODE_FILE``/``CODE_LINE``/``CODE_FUNC``,
    and for a :func:`log_event` line ``EVENT=<name>`` plus one ``KIOSK_<KEY>=<value>`` per field,
    so ``journalctl -u pickup-kiosk EVENT=door_forced KIOSK_DOOR=3`` works beside ``-g``.
    A record that cannot be sent (no journal, a sandbox without the socket) goes to ``fallback``
    (stderr with priority prefixes) instead, so nothing is lost.
    """

    def __init__(
        self,
        identifier: str = "pickup-kiosk",
        address: str = JOURNAL_SOCKET,
        fallback: logging.Handler | None = None,
    ) -> None:
        super().__init__()
        self.identifier = identifier
        self.address = address
        self.fallback = fallback or logging.StreamHandler(sys.stderr)
        if self.fallback.formatter is None:
            self.fallback.setFormatter(JournalFormatter(prefix=True))
        self.setFormatter(JournalFormatter(prefix=False))
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)

    def fields(self, record: logging.LogRecord) -> list[tuple[str, str]]:
        out = [
            ("MESSAGE", self.format(record)),
            ("PRIORITY", str(_priority(record.levelno))),
            ("SYSLOG_IDENTIFIER", self.identifier),
            ("LOGGER", record.name),
            ("CODE_FILE", record.pathname),
            ("CODE_LINE", str(record.lineno)),
            ("CODE_FUNC", record.funcName),
        ]
        event = getattr(record, "kiosk_event", None)
        if event:
            out.append(("EVENT", str(event)))
            extra = getattr(record, "kiosk_fields", None) or {}
            for key, value in extra.items():
                name = _field_name(key)
                if name:
                    out.append((name, _plain(value)))
        return out

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields = self.fields(record)
            try:
                self._sock.sendto(encode_fields(fields), self.address)
            except OSError as exc:
                if exc.errno != errno.EMSGSIZE:
                    raise
                # a huge record (a long traceback): send it cut rather than not at all
                fields = [(n, v[:16384] if n == "MESSAGE" else v) for n, v in fields]
                self._sock.sendto(encode_fields(fields), self.address)
        except Exception:
            self.fallback.handle(record)

    def close(self) -> None:
        try:
            self._sock.close()
        finally:
            super().close()


def _field_name(key: str) -> str | None:
    """``door`` → ``KIOSK_DOOR``; None for a key that cannot be a journal field name."""
    name = "KIOSK_" + "".join(ch if ch.isalnum() else "_" for ch in str(key).upper())
    if len(name) > 64 or not name.isascii():
        return None
    return name


def _plain(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    return str(value)


def encode_fields(fields: list[tuple[str, str]]) -> bytes:
    """The journal's native datagram: ``KEY=value\n``, or ``KEY\n<le64 size>value\n`` for multi-line."""
    out = bytearray()
    for name, value in fields:
        data = value.encode("utf-8", "replace")
        if b"\n" in data:
            out += name.encode() + b"\n" + struct.pack("<Q", len(data)) + data + b"\n"
        else:
            out += name.encode() + b"=" + data + b"\n"
    return bytes(out)


def decode_fields(data: bytes) -> list[tuple[str, str]]:
    """The inverse of :func:`encode_fields` (for tests and tools)."""
    out = []
    i = 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if b"=" in line:
            name, _, value = line.partition(b"=")
            out.append((name.decode(), value.decode("utf-8", "replace")))
            i = nl + 1
        else:
            (size,) = struct.unpack("<Q", data[nl + 1 : nl + 9])
            value = data[nl + 9 : nl + 9 + size]
            out.append((line.decode(), value.decode("utf-8", "replace")))
            i = nl + 9 + size + 1
    return out


def _native_wanted(environ: Mapping[str, str]) -> bool:
    return environ.get(NATIVE_ENV, "").strip().lower() == "native" and os.path.exists(JOURNAL_SOCKET)


def setup_logging(
    level: int | str = logging.INFO,
    stream: TextIO | None = None,
    *,
    prefix: bool | None = None,
    timestamps: bool = False,
    native: bool | None = None,
) -> logging.Handler:
    """One handler on the root logger, writing to ``stream`` (stderr by default).

    ``prefix`` defaults to on when stderr is not a terminal (journald, files), off on a terminal.
    ``native`` (default: when ``$PICKUP_KIOSK_JOURNAL`` is ``native`` and the journal's socket
    exists, and no ``stream`` was given) sends records through :class:`JournalHandler` instead,
    with stderr as its fallback.
    """
    if native is None:
        native = stream is None and _native_wanted(os.environ)
    stream = stream or sys.stderr
    if prefix is None:
        prefix = not (hasattr(stream, "isatty") and stream.isatty())
    handler: logging.Handler = logging.StreamHandler(stream)
    handler.setFormatter(JournalFormatter(prefix=prefix, timestamps=timestamps))
    if native:
        handler = JournalHandler(fallback=handler)
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
    """:func:`_plain`, quoted where it is empty or holds spaces, quotes or ``=``."""
    text = _plain(value)
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
        extra = {"kiosk_event": event, "kiosk_fields": fields}
        logger.log(level, "%s", format_event(event, **fields), extra=extra, stacklevel=2)
