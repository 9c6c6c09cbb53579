"""The reference server as pickup-kiosk-server.service runs it: READY, WATCHDOG, STOPPING."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

from kiosk.server.harness import free_port

ROOT = Path(__file__).resolve().parent.parent


def test_server_notifies_ready_pings_the_watchdog_and_says_stopping(tmp_path):
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(30)
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT), NOTIFY_SOCKET=str(path), WATCHDOG_USEC="400000")
    cmd = [sys.executable, "-m", "kiosk", "server", "--db", f"sqlite:///{tmp_path}/server.db"]
    cmd += ["--port", str(port), "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        messages = [sock.recv(4096).decode()]
        assert messages == ["READY=1"]
        # READY means listening: /health answers at once
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=5) as resp:
            assert resp.status == 200
        # the event loop's tick pings the watchdog (every 0.2 s here)
        assert sock.recv(4096) == b"WATCHDOG=1"
        proc.send_signal(signal.SIGTERM)
        while (msg := sock.recv(4096).decode()) == "WATCHDOG=1":
            pass
        assert msg == "STOPPING=1"
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        sock.close()
        if proc.stdout:
            proc.stdout.close()
