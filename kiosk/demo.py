"""``pickup-kiosk demo``: everything on one machine (placeholder, widened below)."""

from __future__ import annotations

from typing import Any


def main(args: Any) -> int:
    if getattr(args, "scenario", None):
        from kiosk.scenario import run_file

        out = args.out or "scenario-out"
        return run_file(args.scenario, out, size=args.size, lang=args.lang)
    raise SystemExit("interactive demo not yet")
