"""``pickup-kiosk server --create-admin NAME`` (password from standard input) and the back office's
other server flags."""

from __future__ import annotations

import subprocess
import sys

import requests

from kiosk.server.harness import ServerThread


def create_admin(db_url: str, name: str, password: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kiosk", "server", "--db", db_url, "--create-admin", name, *extra],
        input=password + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )


def login(server, name: str, password: str) -> int:
    r = requests.post(server.api_url + "/admin/login", json={"username": name, "password": password}, timeout=10)
    return r.status_code


def test_create_admin_reads_the_password_from_stdin_and_exits(tmp_path):
    url = f"sqlite:///{tmp_path}/server.db"
    done = create_admin(url, "boss", "a long password 1")
    assert done.returncode == 0, done.stderr
    assert "created" in done.stdout
    assert "a long password 1" not in done.stdout + done.stderr
    again = create_admin(url, "boss", "another password 2")
    assert again.returncode == 0
    assert "new password" in again.stdout
    with ServerThread(db_url=url) as server:
        assert login(server, "boss", "another password 2") == 200
        assert login(server, "boss", "a long password 1") == 401


def test_create_admin_refuses_an_empty_password(tmp_path):
    done = create_admin(f"sqlite:///{tmp_path}/server.db", "boss", "")
    assert done.returncode == 2
    assert "password" in done.stderr


def test_bad_smtp_url_or_missing_token_file_stop_the_server_before_it_starts(tmp_path):
    url = f"sqlite:///{tmp_path}/server.db"
    for flags in (["--smtp", "http://mail.example.net"], ["--metrics-token-file", str(tmp_path / "missing")]):
        done = subprocess.run([sys.executable, "-m", "kiosk", "server", "--db", url, "--port", "1", *flags],
                              capture_output=True, text=True, timeout=60)  # fmt: skip
        assert done.returncode == 2, flags
        assert "pickup-kiosk server:" in done.stderr
