"""Regenerate the OpenAPI copy kept in the repo: ``python -m kiosk.server.openapi [--check]``.

The reference server serves the same document at ``/api/v1/openapi.json``; a test fails when the
copy is stale.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

OPENAPI_PATH = Path(__file__).resolve().parent / "openapi.json"


def render() -> str:
    from kiosk.server.app import create_app, openapi_document
    from kiosk.server.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{tmp}/openapi.db")
        try:
            return openapi_document(create_app(store))
        finally:
            store.close()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    text = render()
    if "--check" in argv:
        current = OPENAPI_PATH.read_text(encoding="utf-8") if OPENAPI_PATH.exists() else ""
        if current != text:
            print(f"{OPENAPI_PATH} is stale; run: python -m kiosk.server.openapi", file=sys.stderr)
            return 1
        return 0
    OPENAPI_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {OPENAPI_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
