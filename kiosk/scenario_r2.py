"""The scenario runner's revision-2 steps (docs/design.md, scenario rule 11): their validation and the
back-office side they need.

- ``scan_totp = "m_1"``: the seed member's current rotating code ``<member_code>.<6 digits>``
  (``member_code`` and ``totp_secret`` from the seed, at real time: the server checks it at real
  time too), shown as a QR;
- ``scan_last = true``: the code scanned last shown again (a replay);
- ``settings = {...}``: an admin changes the backend's settings (``PATCH /api/v1/admin/settings``);
  the runner makes itself an admin on its fresh database;
- ``expect_event = {kind = ..., door = ...}``: the back office has such an event of this kiosk
  (``GET /api/v1/admin/events?kiosk=<id>``);
- ``expect_absent = "<button id>"``: no such button is on screen.

Nothing here prints or logs a code, a password or a token.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Any

import requests

from kiosk.server.kiosks import EVENT_KINDS
from kiosk.server.settings import DEFAULT_SETTINGS, SettingsError, check_setting

R2_ACTIONS = ("scan_totp", "scan_last", "settings", "expect_event", "expect_absent")
R2_EXPECTS = ("expect_event", "expect_absent")
EVENT_KEYS = ("kind", "door", "detail")
RUNNER_ADMIN = "scenario-runner"


def check_step(action: str, value: Any, need: Any) -> Any:
    """Validate a revision-2 step's value (``need(ok, what)`` raises the parser's error); returns
    the value to keep."""
    if action == "scan_totp":
        need(isinstance(value, str) and value.strip() != "", "must be a member id of the seed (a string)")
    elif action == "scan_last":
        need(value is True, "must be true")
    elif action == "settings":
        need(isinstance(value, dict) and value, "must be a table of settings, like {member_code_only = true}")
        for key, val in value.items():
            need(key in DEFAULT_SETTINGS, f"names an unknown setting {key!r} (known: {', '.join(DEFAULT_SETTINGS)})")
            try:
                check_setting(key, val)
            except SettingsError as exc:
                need(False, f"has a bad value: {exc}")
    elif action == "expect_event":
        need(isinstance(value, dict), 'must be a table like {kind = "door_left_open", door = 3}')
        extra = sorted(set(value) - set(EVENT_KEYS))
        need(not extra, f"has an unknown key {extra[0]!r}" if extra else "")
        need(value.get("kind") in EVENT_KINDS, "kind must be one of " + ", ".join(EVENT_KINDS))
        door = value.get("door")
        need(
            door is None or (isinstance(door, int) and not isinstance(door, bool) and door > 0),
            "door must be a door number",
        )
        need(value.get("detail") is None or isinstance(value.get("detail"), str), "detail must be a string")
    elif action == "expect_absent":
        need(isinstance(value, str) and value != "", "must be a button id")
    return value


def seed_member(seed: dict, member_id: str) -> tuple[str, str] | None:
    """The ``(member_code, totp_secret)`` of a seed member, None when it has not both."""
    for m in seed.get("members") or []:
        if isinstance(m, dict) and m.get("id") == member_id:
            code, secret = m.get("member_code"), m.get("totp_secret")
            if isinstance(code, str) and code and isinstance(secret, str) and secret:
                return code, secret
            return None
    return None


def rotating_code(seed: dict, member_id: str, now: float | None = None) -> str:
    """What the member's app shows now: ``<member_code>.<6 digits>`` (ValueError: no such member)."""
    from kiosk.server.lookup import current_member_code

    found = seed_member(seed, member_id)
    if found is None:
        raise ValueError("the seed has no such member with member_code and totp_secret")
    return current_member_code(found[0], found[1], time.time() if now is None else now)


def check_seed(seed_path: Path, steps: Any, where: str) -> str | None:
    """Why the seed cannot play the file's ``scan_totp`` steps (None: it can)."""
    import json

    wanted = [s for s in steps if s.action == "scan_totp"]
    if not wanted:
        return None
    try:
        seed = json.loads(Path(seed_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # the server refuses it at setup, with its own reason
    for s in wanted:
        if not isinstance(seed, dict) or seed_member(seed, s.value) is None:
            return f"{where}: step {s.number}: scan_totp names no seed member with member_code and totp_secret"
    return None


class BackOffice:
    """The runner as an admin of its fresh database: settings and events over the admin API."""

    def __init__(self, server: Any):
        from kiosk.server.admin.auth import set_admin

        self.server = server
        self._password = secrets.token_urlsafe(18)
        set_admin(server.admin, RUNNER_ADMIN, self._password)
        self._session = requests.Session()
        self._token: str | None = None

    def _call(self, method: str, path: str, **kw: Any) -> requests.Response:
        base = self.server.api_url + "/admin"
        for _ in range(2):
            if self._token is None:
                r = self._session.post(
                    base + "/login", json={"username": RUNNER_ADMIN, "password": self._password}, timeout=5
                )
                if r.status_code != 200:
                    raise RuntimeError(f"admin login refused ({r.status_code})")
                self._token = r.json()["admin_token"]
            r = self._session.request(
                method, base + path, headers={"Authorization": f"Bearer {self._token}"}, timeout=5, **kw
            )
            if r.status_code != 401:
                return r
            self._token = None  # the session ended (the server restarted on the same database)
        return r

    def settings(self, changes: dict) -> None:
        r = self._call("PATCH", "/settings", json=changes)
        if r.status_code != 200:
            raise RuntimeError(f"settings refused ({r.status_code})")

    def has_event(self, kiosk_id: str, want: dict) -> bool:
        r = self._call("GET", "/events", params={"kiosk": kiosk_id, "kind": want["kind"], "limit": 1000})
        if r.status_code != 200:
            return False
        return any(
            all(e.get(k) == v for k, v in want.items())
            for e in r.json()
            if isinstance(e, dict) and e.get("kiosk_id") == kiosk_id
        )

    def close(self) -> None:
        self._session.close()
