"""What systemd shows when the kiosk cannot start: config errors name the file, key and reason."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def kiosk(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
    env.pop("NOTIFY_SOCKET", None)
    env.pop("CREDENTIALS_DIRECTORY", None)
    return subprocess.run(
        [sys.executable, "-m", "kiosk", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=cwd,
        check=False,
    )


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        ('[kiosk]\nmode = "vending"\n', "kiosk.mode", "must be one of"),
        ("[locker]\npulse = 5.0\n", "locker.pulse", "at most 3 seconds"),
        ("[camera]\nfps = 0\n", "camera.fps", "greater than 0"),
        ("[kiosk]\nidel_timeout = 30\n", "kiosk.idel_timeout", "unknown key"),
        ("[gpio]\nled_green = 17\nbuzzer = 17\n", "gpio.buzzer", "already used"),
    ],
)
def test_run_with_a_bad_config_names_file_key_and_reason_and_exits_2(tmp_path, text, key, reason):
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    result = kiosk("run", "--config", str(bad), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("pickup-kiosk: config error: ")
    assert str(bad) in line
    assert key in line
    assert reason in line
    assert "Traceback" not in result.stderr


def test_run_with_a_missing_or_broken_file(tmp_path):
    result = kiosk("run", "--config", str(tmp_path / "absent.toml"), cwd=tmp_path)
    assert result.returncode == 2
    assert f"{tmp_path / 'absent.toml'}: file not found" in result.stderr
    broken = tmp_path / "broken.toml"
    broken.write_text("[kiosk\nid = 1\n")
    result = kiosk("run", "--config", str(broken), cwd=tmp_path)
    assert result.returncode == 2
    assert "not valid TOML" in result.stderr


def test_run_without_a_token_names_the_key(tmp_path):
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[kiosk]\nstate_dir = "{tmp_path / "state"}"\n[backend]\nurl = "http://127.0.0.1:9"\n')
    result = kiosk("run", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "backend.token_file" in result.stderr
    assert "no kiosk token" in result.stderr
