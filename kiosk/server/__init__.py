"""The reference pickup backend (docs/api.md): FastAPI + SQLAlchemy, SQLite or PostgreSQL.

- :mod:`kiosk.server.store`: the rules (``Store``), usable without HTTP.
- :mod:`kiosk.server.app`: ``create_app(store)``, the FastAPI routes.
- :mod:`kiosk.server.cli`: ``pickup-kiosk server``.
- :mod:`kiosk.server.harness`: ``ServerThread`` / ``ServerProcess`` for tests and the demo.
- :mod:`kiosk.server.openapi`: regenerate ``kiosk/server/openapi.json``.
"""
