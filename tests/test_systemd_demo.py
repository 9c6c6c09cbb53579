"""``pickup-kiosk demo --headless`` speaks to systemd like the kiosk, so it can be checked off a Pi."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_headless_demo_notifies_and_stops_on_sigterm(tmp_path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))
    sock.settimeout(60)
    env = dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        NOTIFY_SOCKET=str(tmp_path / "notify"),
        WATCHDOG_USEC="1000000",
        SDL_VIDEODRIVER="dummy",
        SDL_AUDIODRIVER="dummy",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "demo", "--headless", "--mode", "locker"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = sock.recv(4096).decode().split("\n")
        assert first[0] == "READY=1", first
        assert first[1].startswith("STATUS=state=idle "), first
        while (msg := sock.recv(4096).decode()) != "WATCHDOG=1":
            assert msg.startswith("STATUS="), msg
        proc.send_signal(signal.SIGTERM)
        while (msg := sock.recv(4096).decode()) != "STOPPING=1":
            assert msg.startswith(("WATCHDOG=1", "STATUS=")), msg
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        sock.close()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "event=sigterm" in err
    assert "event=kiosk_stop" in err
