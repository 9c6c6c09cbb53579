"""scripts/install-pi: dry run, a real run into DESTDIR, and a second run that changes nothing."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from kiosk import config as cfg

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "install-pi"


def install(*args: str, destdir: Path | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DESTDIR"}
    if destdir is not None:
        env["DESTDIR"] = str(destdir)
    return subprocess.run(
        ["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=60, env=env, input=stdin, check=False
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_script_parses_and_is_shellcheck_clean():
    assert os.access(SCRIPT, os.X_OK)
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck not installed")
    result = subprocess.run(["shellcheck", str(SCRIPT)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout


def test_help_lists_every_option():
    result = install("--help")
    assert result.returncode == 0
    for option in ("--dry-run", "--token-file", "--kiosk-id", "--backend-url", "--server", "--start", "DESTDIR"):
        assert option in result.stdout


def test_dry_run_prints_the_plan_and_changes_nothing(tmp_path):
    token = tmp_path / "token"
    token.write_text("secret-kiosk-token\n")
    dest = tmp_path / "root"
    result = install("--dry-run", "--no-apt", "--token-file", str(token), "--server", destdir=dest)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert not dest.exists()
    assert "python3 -m venv --system-site-packages" in out
    assert "/etc/systemd/system/pickup-kiosk.service" in out
    assert "/etc/systemd/system/pickup-kiosk-server.service" in out
    assert "install -D -m 0600" in out  # the token, root only
    assert "systemctl enable pickup-kiosk.service" in out
    assert "secret-kiosk-token" not in out  # the token never shows


def test_dry_run_on_this_machine_names_apt_and_user_steps():
    result = install("--dry-run")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "apt packages" in out
    assert "pickup-kiosk" in out
    assert "warning: no kiosk token yet" in out or "kiosk-token kept" in out
    # nothing installed for real
    assert not Path("/etc/systemd/system/pickup-kiosk.service").exists() or "unchanged" in out


def test_install_into_destdir_then_again_changes_nothing(tmp_path):
    dest = tmp_path / "root"
    token = tmp_path / "token"
    token.write_text("tok-123\n")
    args = ("--no-apt", "--no-venv", "--token-file", str(token), "--kiosk-id", "k_9")
    args += ("--backend-url", "https://pickup.store.example", "--mode", "locker")
    first = install(*args, destdir=dest)
    assert first.returncode == 0, first.stderr

    unit = dest / "etc/systemd/system/pickup-kiosk.service"
    assert unit.read_bytes() == (ROOT / "systemd/pickup-kiosk.service").read_bytes()
    assert mode(unit) == 0o644
    conf = dest / "etc/pickup-kiosk/kiosk.toml"
    assert mode(conf) == 0o640
    config = cfg.load(conf)
    assert (config.kiosk.id, config.kiosk.mode, config.backend.url) == ("k_9", "locker", "https://pickup.store.example")
    secret = dest / "etc/pickup-kiosk/kiosk-token"
    assert secret.read_text() == "tok-123\n"
    assert mode(secret) == 0o600
    assert (dest / "opt/pickup-kiosk/docs/deploy.md").is_file()
    # read_token takes it as the credential systemd passes
    assert cfg.read_token(config, {"CREDENTIALS_DIRECTORY": str(secret.parent)}) == "tok-123"

    conf.write_text(conf.read_text().replace('language = "zh-TW"', 'language = "en"'))
    second = install(*args, destdir=dest)
    assert second.returncode == 0, second.stderr
    assert " installed" not in second.stdout, second.stdout
    assert "kiosk.toml kept" in second.stdout
    assert "only fill in a new config" in second.stdout
    assert cfg.load(conf).kiosk.language == "en"  # the admin's edit survives
    assert secret.read_text() == "tok-123\n"

    # a new token replaces the old one, still 0600
    token.write_text("tok-456\n")
    third = install(*args, destdir=dest)
    assert "kiosk-token installed" in third.stdout
    assert secret.read_text() == "tok-456\n"
    assert mode(secret) == 0o600


def test_token_from_standard_input(tmp_path):
    dest = tmp_path / "root"
    result = install("--no-apt", "--no-venv", "--token-file", "-", destdir=dest, stdin="from-stdin\n")
    assert result.returncode == 0, result.stderr
    assert (dest / "etc/pickup-kiosk/kiosk-token").read_text() == "from-stdin\n"
    assert "from-stdin" not in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("--mode", "vending"),
        ("--backend-url", "ftp://x"),
        ("--kiosk-id", "k 1;rm"),
        ("--token-file", "/nonexistent/token"),
        ("--frobnicate",),
    ],
)
def test_bad_options_are_refused_before_anything_happens(tmp_path, args):
    dest = tmp_path / "root"
    result = install("--no-apt", "--no-venv", *args, destdir=dest)
    assert result.returncode == 2
    assert result.stderr.startswith("install-pi: ")
    assert not dest.exists()


def test_an_empty_token_is_refused(tmp_path):
    empty = tmp_path / "empty"
    empty.write_text("\n")
    result = install("--no-apt", "--no-venv", "--token-file", str(empty), destdir=tmp_path / "root")
    assert result.returncode == 2
    assert "empty" in result.stderr
    assert not (tmp_path / "root/etc/pickup-kiosk/kiosk-token").exists()


def test_server_with_a_seed_loads_it_once(tmp_path, monkeypatch):
    import json
    import sys

    from kiosk.server.store import Store

    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"kiosks": [{"id": "k_1", "token": "seeded-token"}]}))
    dest = tmp_path / "root"
    monkeypatch.setenv("PYTHON", sys.executable)  # no venv under DESTDIR: the seed is loaded with this
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    first = install("--no-apt", "--no-venv", "--server", "--seed", str(seed), destdir=dest)
    second = install("--no-apt", "--no-venv", "--server", "--seed", str(seed), destdir=dest)
    assert first.returncode == 0, first.stderr
    assert "seed loaded" in first.stdout
    assert "systemctl enable --now pickup-kiosk-server.service" in first.stdout
    db = dest / "var/lib/private/pickup-kiosk-server/server.db"
    assert mode(db.parent) == 0o700
    store = Store(f"sqlite:///{db}")
    try:
        assert store.count_rows("kiosks") == 1
    finally:
        store.close()
    assert second.returncode == 0, second.stderr
    assert "seed not loaded" in second.stdout
    assert (dest / "etc/systemd/system/pickup-kiosk-server.service").is_file()


def test_seed_without_server_is_refused(tmp_path):
    seed = tmp_path / "seed.json"
    seed.write_text("{}")
    result = install("--no-apt", "--no-venv", "--seed", str(seed), destdir=tmp_path / "root")
    assert result.returncode == 2
    assert "--seed needs --server" in result.stderr
