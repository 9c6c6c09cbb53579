"""scripts/setup waits for the package lock another apt or dpkg holds (issue 10), with a fake
apt-get on PATH that answers like the real one."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETUP = ROOT / "scripts" / "setup"
LOCKED = "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (unattended-upgr)"


def run_setup(tmp_path: Path, apt_script: str, wait: str = "30") -> tuple[subprocess.CompletedProcess, list[str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    (bin_dir / "dpkg-query").write_text("#!/bin/sh\nexit 1\n")  # every package is missing
    (bin_dir / "sudo").write_text('#!/bin/sh\nexec "$@"\n')
    (bin_dir / "apt-get").write_text(
        f'#!/bin/bash\necho "$*" >> {calls}\nn=$(wc -l < {calls})\nenv_frontend="$DEBIAN_FRONTEND"\n{apt_script}\n'
    )
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    env = dict(
        os.environ,
        PATH=f"{bin_dir}:{os.environ['PATH']}",
        PICKUP_APT_WAIT=wait,
        PICKUP_APT_POLL="0.05",
        PICKUP_SETUP_SYSTEM_ONLY="1",
        PICKUP_SETUP_TESTS="0",
    )
    result = subprocess.run(["bash", str(SETUP)], env=env, capture_output=True, text=True, timeout=60, check=False)
    lines = calls.read_text().splitlines() if calls.exists() else []
    return result, lines


def test_setup_waits_while_another_apt_holds_the_lock(tmp_path):
    # locked for the first two calls, then free
    script = f'if [ "$n" -le 2 ]; then echo "{LOCKED}" >&2; exit 100; fi\n[ "$env_frontend" = noninteractive ]'
    result, calls = run_setup(tmp_path, script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("holds the package lock; waiting for it (up to 30s)") == 1
    assert [c.split()[2] for c in calls] == ["update", "update", "update", "install"]
    assert all(c.startswith("-o DPkg::Lock::Timeout=30 ") for c in calls)  # apt's own wait too
    assert "libzbar0" in calls[-1]


def test_setup_gives_up_after_the_bounded_wait(tmp_path):
    result, calls = run_setup(tmp_path, f'echo "{LOCKED}" >&2; exit 100', wait="1")
    assert result.returncode != 0
    assert "still held after 1s" in result.stderr
    assert LOCKED in result.stderr  # apt's own words, for the person reading
    assert 2 <= len(calls) <= 40  # polled, not spun
    assert {c.split()[2] for c in calls} == {"update"}


def test_setup_does_not_wait_on_another_apt_error(tmp_path):
    result, calls = run_setup(tmp_path, 'echo "E: The repository is not signed." >&2; exit 100')
    assert result.returncode != 0
    assert "not signed" in result.stderr
    assert "waiting" not in result.stdout
    assert len(calls) == 1
