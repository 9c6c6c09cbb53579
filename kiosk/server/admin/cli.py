"""The back office's part of ``pickup-kiosk server``: ``--create-admin NAME`` (reads the password
from standard input, creates the account or sets its new password, exits), ``--smtp``,
``--mail-from`` and ``--metrics-token-file`` (checked here, handed to every worker process
through the environment: :class:`kiosk.server.admin.BackofficeOptions`).
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import sys
import tempfile
from typing import Any, TextIO

from kiosk.server import notices
from kiosk.server.admin import BackofficeOptions, auth
from kiosk.server.admin.metrics import MULTIPROC_ENV, read_token_file
from kiosk.server.common import ApiError
from kiosk.server.notices import SmtpConfig


def read_password(stdin: TextIO) -> str:
    """The first line of ``stdin`` without its line end (a terminal gets a prompt, no echo)."""
    if stdin.isatty():
        import getpass

        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise ValueError("the two passwords differ")
        return first
    return stdin.readline().rstrip("\r\n")


def apply(args: argparse.Namespace, store: Any, stdin: TextIO | None = None) -> int | None:
    """Handle the back office's flags. Returns an exit status when the command is done
    (``--create-admin``, or a bad flag), None when the server should start."""
    auth.ensure_tables(store)  # the back office's tables, before anything counts the database's rows
    notices.ensure_tables(store.engine)
    name = getattr(args, "create_admin", None)
    if name is not None:
        try:
            password = read_password(stdin or sys.stdin)
        except (ValueError, EOFError, KeyboardInterrupt) as exc:
            print(f"pickup-kiosk server: {exc or 'no password'}", file=sys.stderr)
            return 2
        if not password:
            print("pickup-kiosk server: no password on standard input", file=sys.stderr)
            return 2
        if len(password) < 10:
            print("pickup-kiosk server: warning: a password under 10 characters is easy to guess", file=sys.stderr)
        try:
            created = auth.set_admin(store, name, password)
        except ApiError as exc:
            print(f"pickup-kiosk server: {exc.message}", file=sys.stderr)
            return 2
        print(f"admin account {name!r} {'created' if created else 'has a new password'}")
        return 0
    options = BackofficeOptions(
        smtp=getattr(args, "smtp", None),
        mail_from=getattr(args, "mail_from", None),
        metrics_token_file=getattr(args, "metrics_token_file", None),
    )
    try:
        if options.smtp:
            SmtpConfig(options.smtp, options.mail_from)
        if options.metrics_token_file:
            read_token_file(options.metrics_token_file)
    except (OSError, ValueError) as exc:
        print(f"pickup-kiosk server: {exc}", file=sys.stderr)
        return 2
    os.environ.update(options.to_env())
    if int(getattr(args, "workers", 1) or 1) > 1 and MULTIPROC_ENV not in os.environ:
        # the workers' latency histograms, added up at each scrape (they start after this)
        shared = tempfile.mkdtemp(prefix="pickup-metrics-")
        atexit.register(shutil.rmtree, shared, True)
        os.environ[MULTIPROC_ENV] = shared
    return None
