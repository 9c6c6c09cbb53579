"""Run the reference server for tests, the demo and benchmarks.

``ServerThread``: uvicorn in a background thread of this process. ``ServerProcess``: the same
server as a subprocess (``python -m kiosk server``), for kill -9 tests and benchmarks. Both::

    with ServerThread(seed=DEMO_SEED) as server:
        server.base_url          # "http://127.0.0.1:PORT" -- clients append "/api/v1"
        server.api_url           # "http://127.0.0.1:PORT/api/v1"
        server.kiosk_token       # the seed's first kiosk's token ("dev-kiosk-token" in demo data)
        server.stop()            # connections are refused from here on
        server.start()           # same port, same database, the seed is not loaded again
        server.order_by_number("A1002")["status"]   # straight from the database, API shape
        server.count_events("pickup", number="A1002")

``db_url=None`` makes a fresh SQLite file in a temporary directory (removed by ``close()`` /
leaving the ``with`` block). ``seed`` is a dict, a path to a seed JSON file, or None (empty).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.server.app import Control, create_app
from kiosk.server.http import TimedHttpToolsProtocol
from kiosk.server.store import Store

DEMO_SEED = Path(__file__).resolve().parent.parent / "demo_data" / "seed.json"
API = "/api/v1"


def _load_seed(seed: dict | str | Path | None) -> dict | None:
    if seed is None or isinstance(seed, dict):
        return seed
    return json.loads(Path(seed).read_text(encoding="utf-8"))


def _health_ok(base_url: str, timeout: float = 0.5) -> bool:
    try:
        with urllib.request.urlopen(base_url + API + "/health", timeout=timeout) as resp:  # noqa: S310
            return resp.status == 200
    except (OSError, urllib.error.URLError):
        return False


@dataclass(eq=False)
class _ServerBase:
    """What both harnesses share: their options, temp DB, URLs, seed facts and in-process admin
    reads. A dataclass, so that an option is declared once for both, with its default.
    Its repr shows neither the database URL (it may hold a password) nor the seed."""

    db_url: str | None = field(default=None, repr=False)  # None: a fresh SQLite file in a temp dir
    # a path is read at once: from then on ``seed`` is the dict (or None)
    seed: dict | str | Path | None = field(default=None, repr=False)
    host: str = "127.0.0.1"
    port: int = 0

    def __post_init__(self) -> None:
        self._tmpdir: str | None = None
        if self.db_url is None:
            self._tmpdir = tempfile.mkdtemp(prefix="kiosk-server-")
            self.db_url = f"sqlite:///{self._tmpdir}/server.db"
        self.seed = _load_seed(self.seed)
        self._seeded = False
        self._admin: Store | None = None

    # --- URLs and seed facts

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT`` without the API prefix (clients append ``/api/v1``)."""
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        """``http://HOST:PORT/api/v1``."""
        return self.base_url + API

    url = base_url

    @property
    def kiosk_id(self) -> str | None:
        kiosks = (self.seed or {}).get("kiosks") or []
        return kiosks[0]["id"] if kiosks else None

    @property
    def kiosk_token(self) -> str | None:
        kiosks = (self.seed or {}).get("kiosks") or []
        return kiosks[0]["token"] if kiosks else None

    def healthy(self) -> bool:
        return _health_ok(self.base_url)

    # --- admin reads, straight from the database (no HTTP, no tokens)

    @property
    def admin(self) -> Store:
        """A :class:`Store` on the same database, for assertions (works while stopped too)."""
        if self._admin is None:
            self._admin = Store(self.db_url)
        return self._admin

    def order_by_number(self, number: str) -> dict[str, Any] | None:
        """The order as docs/api.md's Order (``status``, ``overdue``, ``locker_door`` …), or None."""
        self.admin.reload()
        return self.admin.order_by_number(number)

    get_order = order_by_number

    def order_by_id(self, order_id: str) -> dict[str, Any] | None:
        self.admin.reload()
        return self.admin.order_by_id(order_id)

    def count_rows(self, table: str, **where: Any) -> int:
        """Rows of a table (``orders``, ``idempotency``, ``order_events``, ``staff_tokens`` …)."""
        return self.admin.count_rows(table, **where)

    def count_events(self, kind: str | None = None, number: str | None = None) -> int:
        """Recorded state changes: ``arrive``, ``pickup``, ``return``, ``return_approved`` …"""
        return self.admin.count_events(kind, number)

    def last_heartbeat(self, kiosk_id: str | None = None) -> dict[str, Any] | None:
        return self.admin.last_heartbeat(kiosk_id or self.kiosk_id or "")

    def _seed_once(self) -> None:
        if self.seed is not None and not self._seeded:
            store = Store(self.db_url)
            try:
                store.load_seed(self.seed)
            finally:
                store.close()
        self._seeded = True

    def close(self) -> None:
        self.stop()
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def stop(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def __enter__(self):
        self.start()  # type: ignore[attr-defined]
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _control_field(name: str, cast: Callable[[Any], Any], doc: str) -> property:
    """A property read from and written (through ``cast``) to the server's live ``Control``."""

    def get(self: ServerThread) -> Any:
        return getattr(self._control, name)

    def set_(self: ServerThread, value: Any) -> None:
        setattr(self._control, name, cast(value))

    return property(get, set_, doc=doc)


@dataclass(eq=False)
class ServerThread(_ServerBase):
    """The reference server in a background thread of this process.

    ``delay`` (seconds, default 0) is added before every answer: the scenario fault
    ``backend = "slow"``; ``garbage`` (default False) answers every call 200 with a body that is
    not the contract's: the runner's ``backend = "garbage"``. Both may be changed while the server
    runs. ``requests()`` lists what the server was asked.
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        self._control = Control()
        self._thread: threading.Thread | None = None
        self._server: Any = None
        self._sock: socket.socket | None = None
        self.store: Store | None = None

    delay = _control_field("delay", float, "Seconds added before every answer (the scenario fault).")
    garbage = _control_field(
        "garbage", bool, "True: every call but /health is answered 200 with a body that is not the contract's."
    )

    def requests(self, prefix: str = "") -> list[tuple[str, str]]:
        """The requests this server has seen (``(method, raw path)``: as sent, still
        percent-encoded), optionally those whose path starts with ``prefix`` (``"/api/v1/parcels"``)."""
        return [r for r in list(self._control.requests) if r[1].startswith(prefix)]

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float = 10.0) -> ServerThread:
        """Start (or restart on the same port and database); returns once /health answers."""
        import uvicorn

        if self.running:
            return self
        self.store = Store(self.db_url)
        if self.seed is not None and not self._seeded:
            self.store.load_seed(self.seed)
        self._seeded = True
        app = create_app(self.store, self._control)
        # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets that say so (else +40 ms per answer)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self._sock = sock
        config = uvicorn.Config(
            app,
            log_config=None,
            access_log=False,
            lifespan="off",
            ws="none",
            http=TimedHttpToolsProtocol,  # header and body read time-outs (docs/api.md r2)
            timeout_graceful_shutdown=1,
            timeout_keep_alive=5,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=f"server-{self.port}", daemon=True
        )
        delay, self._control.delay = self._control.delay, 0.0
        self._thread.start()
        deadline = time.monotonic() + timeout
        try:
            while not (self._server.started and _health_ok(self.base_url)):
                if not self._thread.is_alive() or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("the reference server did not start")
                time.sleep(0.01)
        finally:
            self._control.delay = delay
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving; connections are refused afterwards. ``start()`` again to resume."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._server = None
        if self.store is not None:
            self.store.close()
            self.store = None


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@dataclass(eq=False)
class ServerProcess(_ServerBase):
    """The reference server as a subprocess (``python -m kiosk server``).

    ``stop()`` ends it with SIGTERM, ``kill()`` with SIGKILL; ``start()`` again resumes on the
    same port and database. Its log goes to ``log_path`` (in the temp dir unless given).
    """

    log_level: str = "warning"
    log_path: str | Path | None = None
    workers: int = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.port == 0:
            self.port = free_port(self.host)
        self.log_path = Path(self.log_path) if self.log_path else None
        self.proc: subprocess.Popen | None = None
        self._log = None

    def start(self, timeout: float = 20.0) -> ServerProcess:
        if self.proc is not None and self.proc.poll() is None:
            return self
        self._seed_once()
        cmd = [sys.executable, "-m", "kiosk", "server", "--db", self.db_url, "--host", self.host]
        cmd += ["--port", str(self.port), "--log-level", self.log_level, "--workers", str(self.workers)]
        if self.log_path is None:
            workdir = self._tmpdir or tempfile.gettempdir()
            self.log_path = Path(workdir) / f"server-{self.port}.log"
        self._log = open(self.log_path, "ab")  # noqa: SIM115
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parent.parent.parent)
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while not _health_ok(self.base_url):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"the reference server did not start; see {self.log_path}")
            time.sleep(0.05)
        return self

    def _end(self, sig: int, timeout: float) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(sig)
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM and wait (a graceful shutdown)."""
        self._end(signal.SIGTERM, timeout)

    def kill(self) -> None:
        """SIGKILL: the process dies at once, mid-request if it was in one."""
        self._end(signal.SIGKILL, 10.0)
