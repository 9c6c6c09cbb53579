"""``pickup-kiosk selftest`` against a file camera, gpiozero's mock pins and the reference server."""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from kiosk import selftest
from kiosk.camera.synth import camera_frame
from kiosk.clock import Clock
from kiosk.gpio.pins import make_pin_factory
from kiosk.server.harness import ServerThread

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "selftest-kiosk-token"
SEED = {"kiosks": [{"id": "k_7", "token": TOKEN}], "staff": [], "members": [], "orders": []}


@pytest.fixture(scope="module")
def server():
    with ServerThread(seed=SEED) as srv:
        yield srv


def write_config(tmp_path: Path, server, **overrides: str) -> Path:
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    frame = tmp_path / "camera.png"
    if not frame.exists():
        cv2.imwrite(str(frame), camera_frame("MEMBER-0000001", "QRCODE", size=(640, 480)))
    token = tmp_path / "token"
    token.write_text(overrides.pop("token", TOKEN) + "\n")
    values = {
        "url": server.base_url,
        "source": str(frame),
        "state_dir": str(state),
        "token_file": str(token),
        "mode": "locker",
    }
    values.update(overrides)
    text = f"""
[kiosk]
id = "k_7"
mode = "{values["mode"]}"
state_dir = "{values["state_dir"]}"

[backend]
url = "{values["url"]}"
token_file = "{values["token_file"]}"
connect_timeout = 1.0
read_timeout = 3.0
retries = 0

[camera]
source = "{values["source"]}"

[gpio]
pin_factory = "mock"
led_green = 17
led_red = 22
buzzer = 18

[locker]
pulse = 0.05

[[locker.door]]
number = 1
relay_pin = 23
sensor_pin = 24

[[locker.door]]
number = 2
relay_pin = 25
sensorless = true
"""
    path = tmp_path / "kiosk.toml"
    path.write_text(text)
    return path


def run(config: Path, doors: bool = False, pin_factory=None) -> tuple[int, str]:
    out = io.StringIO()
    args = argparse.Namespace(config=str(config), doors=doors)
    code = selftest.main(args, pin_factory=pin_factory, out=out)
    return code, out.getvalue()


def rows(output: str) -> dict[str, tuple[str, str]]:
    table = {}
    for line in output.splitlines():
        parts = line.split(None, 2)
        if len(parts) >= 2 and parts[1] in ("ok", "FAIL", "skip"):
            table[parts[0]] = (parts[1], parts[2] if len(parts) > 2 else "")
    return table


def test_everything_ok_prints_a_table_and_exits_0(tmp_path, server):
    code, output = run(write_config(tmp_path, server))
    table = rows(output)
    assert list(table) == ["config", "font", "camera", "decoder", "gpio", "backend", "outbox"]
    assert {name: word for name, (word, _) in table.items()} == dict.fromkeys(table, "ok"), output
    assert code == 0
    assert "640x480 frame" in table["camera"][1]
    assert "QRCODE" in table["decoder"][1]
    assert "6 pins" in table["gpio"][1]
    assert "token accepted" in table["backend"][1]
    assert "writable" in table["outbox"][1]
    assert TOKEN not in output
    # the probe leaves nothing behind in the state folder
    assert list((tmp_path / "state").iterdir()) == []


def test_a_refused_token_fails_the_backend_check(tmp_path, server):
    code, output = run(write_config(tmp_path, server, token="not-the-token"))
    word, detail = rows(output)["backend"]
    assert word == "FAIL"
    assert "refuses the token" in detail
    assert "not-the-token" not in output
    assert code == 1
    assert output.rstrip().endswith("FAILED: backend")


def test_an_unreachable_backend_fails_the_backend_check(tmp_path, server):
    from kiosk.server.harness import free_port

    code, output = run(write_config(tmp_path, server, url=f"http://127.0.0.1:{free_port()}"))
    word, detail = rows(output)["backend"]
    assert (word, code) == ("FAIL", 1)
    assert "cannot be reached" in detail


def test_a_missing_camera_source_fails_the_camera_check(tmp_path, server):
    code, output = run(write_config(tmp_path, server, source=str(tmp_path / "nope.png")))
    table = rows(output)
    assert table["camera"][0] == "FAIL"
    assert "nope.png" in table["camera"][1]
    assert table["decoder"][0] == "ok"  # the other checks still run
    assert code == 1


def test_a_camera_folder_and_no_camera(tmp_path, server):
    folder = tmp_path / "frames"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.jpg"), camera_frame("PKG1001", "CODE128", size=(320, 240)))
    code, output = run(write_config(tmp_path, server, source=str(folder)))
    assert rows(output)["camera"][0] == "ok"
    assert code == 0
    code, output = run(write_config(tmp_path, server, source="none"))
    assert rows(output)["camera"][0] == "skip"
    assert code == 0


def test_a_state_dir_that_is_not_a_folder_fails_the_outbox_check(tmp_path, server):
    not_dir = tmp_path / "file"
    not_dir.write_text("x")
    code, output = run(write_config(tmp_path, server, state_dir=str(not_dir)))
    word, detail = rows(output)["outbox"]
    assert (word, code) == ("FAIL", 1)
    assert "does not exist" in detail


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to hand the folder to another user")
def test_the_outbox_is_checked_as_the_folders_owner(tmp_path, server):
    state = tmp_path / "state"
    state.mkdir()
    os.chown(state, 65534, 65534)  # nobody: it cannot even reach a folder under a 0700 tmp dir
    os.chmod(state, 0o500)
    code, output = run(write_config(tmp_path, server, state_dir=str(state)))
    word, detail = rows(output)["outbox"]
    assert (word, code) == ("FAIL", 1)
    assert "not writable" in detail or "as uid 65534" in detail


def test_pin_conflict_fails_the_gpio_check(tmp_path, server):
    path = write_config(tmp_path, server)
    text = path.read_text().replace("relay_pin = 25", "relay_pin = 26")
    factory = make_pin_factory("mock", Clock())
    from gpiozero import OutputDevice

    holder = OutputDevice(26, pin_factory=factory)  # another owner holds BCM 26 already
    try:
        path.write_text(text)
        code, output = run(path, pin_factory=factory)
    finally:
        holder.close()
    word, _detail = rows(output)["gpio"]
    assert (word, code) == ("FAIL", 1)


def test_doors_pulses_every_door_one_after_another(tmp_path, server):
    clock = Clock()
    factory = make_pin_factory("mock", clock)
    try:
        code, output = run(write_config(tmp_path, server), doors=True, pin_factory=factory)
        word, detail = rows(output)["doors"]
        assert (word, code) == ("ok", 0), output
        assert "pulsed 1, 2" in detail
        # active-low relays: released (1) -> energised (0) -> released (1), door 1 before door 2
        h23 = [level for _, level in factory.pin(23).history]
        h25 = [level for _, level in factory.pin(25).history]
        assert h23[-3:] == [1, 0, 1]
        assert h25[-3:] == [1, 0, 1]
        released_1 = factory.pin(23).history[-1][0]
        energised_2 = factory.pin(25).history[-2][0]
        assert energised_2 >= released_1
    finally:
        clock.close()


def test_a_bad_config_names_file_key_and_reason_and_exits_2(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[kiosk]\nmode = "vending"\n')
    code, output = run(bad)
    assert code == 2
    word, detail = rows(output)["config"]
    assert word == "FAIL"
    assert str(bad) in detail
    assert "kiosk.mode" in detail
    assert "must be one of" in detail


def test_selftest_command_line(tmp_path, server):
    config = write_config(tmp_path, server, source="none")
    env = dict(os.environ, PYTHONPATH=str(ROOT), SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
    env.pop("NOTIFY_SOCKET", None)
    result = subprocess.run(
        [sys.executable, "-m", "kiosk", "selftest", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all checks passed" in result.stdout
    assert rows(result.stdout)["backend"][0] == "ok"
