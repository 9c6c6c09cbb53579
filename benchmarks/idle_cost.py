"""Idle cost of the kiosk: CPU share of one core and RSS of ``pickup-kiosk demo --headless``.

Starts the demo (reference server on loopback, synthetic camera, simulated GPIO, the app loop,
all in one process) with a notify socket, waits for ``READY=1`` (the first screen is drawn), lets
it settle, then samples the process's CPU time and memory for ``--seconds`` (60 by default) while
nobody touches it, and prints a table. Goals (issue 5): under 10% of one core, under 150 MB RSS.

RSS counts the pages of shared libraries the process has mapped, and how many of those are
mapped depends on the page cache (what was read before, and how: OpenCV's library alone shows
6-32 MiB). The anonymous part (``RssAnon``: the heaps, Python's objects) does not; compare it
between two versions, or run both right after ``echo 1 > /proc/sys/vm/drop_caches``.

    .venv/bin/python benchmarks/idle_cost.py [--seconds 60] [--mode counter|locker]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
CPU_GOAL = 10.0  # percent of one core
RSS_GOAL = 150.0  # MiB


def wait_ready(sock: socket.socket, proc: subprocess.Popen, timeout: float) -> float:
    """Seconds until READY=1 arrived on the notify socket."""
    start = time.monotonic()
    sock.settimeout(0.2)
    while time.monotonic() - start < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"the demo exited with {proc.returncode} before READY=1")
        try:
            data = sock.recv(4096).decode()
        except TimeoutError:
            continue
        if "READY=1" in data.split("\n"):
            return time.monotonic() - start
    raise RuntimeError("no READY=1 within the time limit")


def measure(seconds: float = 60.0, settle: float = 5.0, mode: str = "counter") -> dict:
    """Run the demo idle; ``{"ready", "cpu" (% of one core), "rss_end", "rss_peak", "anon_end"
    (MiB), "threads", "rc" (exit status on SIGTERM), "wall" (seconds sampled)}``."""
    tmp = Path(tempfile.mkdtemp(prefix="idle-cost-"))
    path = str(tmp / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    env = dict(os.environ, NOTIFY_SOCKET=path, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
    cmd = [sys.executable, "-m", "kiosk", "demo", "--headless", "--mode", mode]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ready = wait_ready(sock, proc, 60.0)
        time.sleep(settle)
        p = psutil.Process(proc.pid)
        t0 = p.cpu_times()
        w0 = time.monotonic()
        peak = 0.0
        samples = []
        while time.monotonic() - w0 < seconds:
            time.sleep(min(1.0, seconds))
            rss = p.memory_info().rss / 2**20
            peak = max(peak, rss)
            samples.append(rss)
        t1 = p.cpu_times()
        wall = time.monotonic() - w0
        anon = _anon_rss(proc.pid)
        cpu = 100.0 * ((t1.user + t1.system) - (t0.user + t0.system)) / wall
        threads = p.num_threads()
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        sock.close()
        os.unlink(path)
        tmp.rmdir()
    return {
        "ready": ready,
        "cpu": cpu,
        "rss_end": samples[-1],
        "rss_peak": peak,
        "anon_end": anon,
        "threads": threads,
        "rc": rc,
        "wall": wall,
    }


def _anon_rss(pid: int) -> float:
    """``RssAnon`` of ``/proc/PID/status`` in MiB (NaN where there is no such line)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to sample (default 60)")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds after READY before sampling")
    parser.add_argument("--mode", choices=("counter", "locker"), default="counter")
    args = parser.parse_args(argv)
    m = measure(args.seconds, args.settle, args.mode)
    ready, cpu, peak, threads, rc, wall = m["ready"], m["cpu"], m["rss_peak"], m["threads"], m["rc"], m["wall"]
    samples = [m["rss_end"]]

    rows = [
        ("start-up to READY=1", f"{ready:.2f} s", "-", "-"),
        (
            f"idle CPU ({wall:.0f} s)",
            f"{cpu:.1f} % of one core",
            f"< {CPU_GOAL:.0f} %",
            "ok" if cpu < CPU_GOAL else "OVER",
        ),
        (
            "RSS at the end",
            f"{samples[-1]:.1f} MiB",
            f"< {RSS_GOAL:.0f} MiB",
            "ok" if samples[-1] < RSS_GOAL else "OVER",
        ),
        ("RSS peak", f"{peak:.1f} MiB", f"< {RSS_GOAL:.0f} MiB", "ok" if peak < RSS_GOAL else "OVER"),
        ("of it anonymous, at the end", f"{m['anon_end']:.1f} MiB", "-", "-"),
        ("threads", str(threads), "-", "-"),
        ("exit on SIGTERM", str(rc), "0", "ok" if rc == 0 else "FAIL"),
    ]
    print(f"pickup-kiosk demo --headless --mode {args.mode}, idle (nobody touches it)")
    widths = [max(len(r[i]) for r in [("metric", "value", "goal", ""), *rows]) for i in range(4)]
    header = ("metric", "value", "goal", "")
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return 0 if cpu < CPU_GOAL and peak < RSS_GOAL and rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
