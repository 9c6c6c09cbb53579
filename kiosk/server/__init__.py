"""The reference pickup backend (docs/api.md revision 2): FastAPI + SQLAlchemy, SQLite or PostgreSQL.

- :mod:`kiosk.server.store`: the rules (``Store``), usable without HTTP; the rules themselves are
  mixins in :mod:`kiosk.server.orders` (orders, pickups, returns, pickup codes),
  :mod:`kiosk.server.lookup` (look-ups, rotating codes, the per-contact limit) and
  :mod:`kiosk.server.kiosks` (heartbeats, events, door alarms).
- :mod:`kiosk.server.db`: the tables; :mod:`kiosk.server.seed`: seed files (pydantic);
  :mod:`kiosk.server.settings`: setting keys, defaults and checks; :mod:`kiosk.server.security`:
  PIN/password hashes, tokens, the database lockout.
- :mod:`kiosk.server.app`: ``create_app(store)``, the FastAPI routes.
- :mod:`kiosk.server.http`: read time-outs in the HTTP protocol, worker processes.
- :mod:`kiosk.server.cli`: ``pickup-kiosk server`` and ``pickup-kiosk member-code``.
- :mod:`kiosk.server.harness`: ``ServerThread`` / ``ServerProcess`` for tests and the demo.
- :mod:`kiosk.server.openapi`: regenerate ``kiosk/server/openapi.json``.

For the back office (``kiosk/server/admin/``, ``kiosk/server/notices.py``), the store offers:

- ``store.lockout.attempt("admin_login", username, attempts, window)``: a race-free slot per
  (kind, key); ``slot.fail()`` in the block for a wrong password; 429 ``locked_out`` with
  ``retry_after`` on entry (:mod:`kiosk.server.security`); ``hash_secret`` / ``verify_secret``
  and ``DUMMY_HASH`` for passwords (the ``admins`` table; seeds hash them the same way).
- ``store.end_staff_tokens(staff_id, conn=None)``: on deactivation or a PIN change.
- ``store.kiosk_events(kiosk=, kind=, limit=)``, ``store.open_alarms(kiosk_id=None)``,
  ``store.ack_alarm(kiosk_id, kind, door, admin)``; ``store.last_heartbeat(kiosk_id)``.
- ``store.arrival_hooks``: ``hook(conn, order_id, now)`` runs in the transaction in which an
  order gets its pickup code (an arrival, or a rejected review of an order without one).
- ``check_settings(values)`` (:mod:`kiosk.server.settings`) for ``PATCH /admin/settings``, then
  write the ``settings`` rows and call ``store.reload()`` (other processes see it within 1 s).
- ``store.request_return(Caller.admin(key, path), body, order_id=...)`` and the other return
  steps (:class:`kiosk.server.common.Caller`); ``key=None`` runs a call without an Idempotency-Key.
- ``store.kiosk_mode(kiosk_id)``; the ``kiosks.mode`` column for ``PATCH /admin/kiosks/{id}``.
"""
