"""``pickup-kiosk run`` under a (simulated) systemd: READY, STATUS, WATCHDOG, then SIGTERM.

The kiosk runs as a real process with SDL's dummy display, mock pins, the synthetic camera and
the reference server on loopback; a real AF_UNIX datagram socket plays systemd's notify socket.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.server.harness import DEMO_SEED, ServerThread

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def server():
    with ServerThread(seed=DEMO_SEED) as srv:
        yield srv


def test_run_notifies_systemd_and_stops_cleanly_on_sigterm(tmp_path, server):
    (tmp_path / "token").write_text(server.kiosk_token + "\n")
    state = tmp_path / "state"
    config = tmp_path / "kiosk.toml"
    config.write_text(
        f"""
[kiosk]
id = "{server.kiosk_id}"
mode = "locker"
state_dir = "{state}"
[backend]
url = "{server.base_url}"
token_file = "{tmp_path / "token"}"
[camera]
source = "synthetic"
[gpio]
pin_factory = "mock"
led_green = 17
[[locker.door]]
number = 1
relay_pin = 23
sensor_pin = 24
[display]
fullscreen = false
width = 800
height = 480
"""
    )
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
    env.pop("CREDENTIALS_DIRECTORY", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "run", "--config", str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = sock.recv(4096).decode()
        lines = first.split("\n")
        assert lines[0] == "READY=1", first
        status = dict(item.split("=", 1) for item in lines[1].removeprefix("STATUS=").split())
        assert status["state"] == "idle"
        assert status["backend"] == "up"
        assert status["outbox"] == "0"
        # the main loop keeps pinging (at least every half of WATCHDOG_USEC)
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
    assert "event=first_screen screen=idle" in err
    assert (state / "outbox.db").exists()
    assert server.kiosk_token not in err
    # the deployment's own log key: made on first start, private, kept for the next start
    key = state / "log-ref.key"
    assert key.stat().st_mode & 0o777 == 0o600
    assert state.stat().st_mode & 0o077 == 0
    assert len(key.read_bytes()) == 32
