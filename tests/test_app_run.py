"""``pickup-kiosk run`` refuses a bad config with exit 2 (file, key, reason).

Start-up under systemd (READY=1 after the first screen, exit 0 on SIGTERM) of ``run`` and of the
demo, which runs the same loop, is tested in test_systemd_run.py and test_systemd_demo.py."""

from __future__ import annotations

import pytest

from kiosk import cli


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
