"""``pickup-kiosk run`` refuses a bad config with exit 2 (file, key, reason); the demo, which
runs the same loop, sends READY=1 after its first screen and exits 0 on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kiosk import cli

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        ('[kiosk]\nmode = "vending"\n', "kiosk.mode", "must be one of"),
        ("[locker]\npulse = 5.0\n", "locker.pulse", "at most 3 seconds"),
        ('[kiosk]\nid = "k_1"\n', "backend.url", "URL is required"),
        ("[kiosk\n", None, "not valid TOML"),
    ],
)
def test_run_refuses_bad_config_with_exit_2(tmp_path, capsys, text, key, reason):
    path = tmp_path / "kiosk.toml"
    path.write_text(text, encoding="utf-8")
    rc = cli.main(["run", "--config", str(path)])
    assert rc == 2
    err = capsys.readouterr().err
    assert str(path) in err
    assert reason in err
    if key:
        assert key in err


def test_run_without_config_file_exit_2(tmp_path, capsys):
    rc = cli.main(["run", "--config", str(tmp_path / "missing.toml")])
    assert rc == 2
    assert "file not found" in capsys.readouterr().err


def test_run_without_token_exit_2(tmp_path, capsys):
    path = tmp_path / "kiosk.toml"
    path.write_text('[backend]\nurl = "http://127.0.0.1:9"\n', encoding="utf-8")
    rc = cli.main(["run", "--config", str(path)])
    assert rc == 2
    assert "backend.token_file" in capsys.readouterr().err


def test_headless_demo_ready_then_sigterm_exits_0(tmp_path):
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(0.5)
    env = dict(os.environ, NOTIFY_SOCKET=path, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "demo", "--headless", "--mode", "locker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    got: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while "READY=1" not in got and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read()
            try:
                got += sock.recv(4096).decode().split("\n")
            except TimeoutError:
                continue
        assert "READY=1" in got
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(20)
        err = proc.stderr.read()
        assert rc == 0, err
        while True:
            try:
                got += sock.recv(4096).decode().split("\n")
            except TimeoutError:
                break
        assert "STOPPING=1" in got
        assert "event=sigterm" in err
        assert "event=kiosk_stop" in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
        sock.close()


def test_run_on_mock_pins_against_a_backend_then_sigterm(tmp_path, backend):
    token = tmp_path / "token"
    token.write_text(backend.kiosk_token, encoding="utf-8")
    config = tmp_path / "kiosk.toml"
    config.write_text(
        f"""
[kiosk]
id = "{backend.kiosk_id}"
mode = "locker"
state_dir = "{tmp_path / "state"}"
[backend]
url = "{backend.base_url}"
token_file = "{token}"
[camera]
source = "synthetic"
[gpio]
pin_factory = "mock"
led_green = 17
buzzer = 18
[[locker.door]]
number = 1
relay_pin = 5
sensor_pin = 6
[display]
width = 800
height = 480
fullscreen = false
""",
        encoding="utf-8",
    )
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(0.5)
    env = dict(os.environ, NOTIFY_SOCKET=path, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "run", "--config", str(config)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    got: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while "READY=1" not in got and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read()
            try:
                got += sock.recv(4096).decode().split("\n")
            except TimeoutError:
                continue
        assert "READY=1" in got
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
        err = proc.stderr.read()
        assert "event=first_screen screen=idle" in err
        assert (tmp_path / "state" / "outbox.db").exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
        sock.close()
