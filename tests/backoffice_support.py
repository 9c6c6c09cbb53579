"""Shared pieces of the back-office tests (admin API, pages, notices, browser).

``backoffice_seed()``: the small seed of conftest plus an admin, a store name, a member without
an e-mail address (m_3, order A1007 arrived) and an English-speaking member (m_2).
``AdminClient``: a ``requests`` session signed in to ``/api/v1/admin`` with helpers.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

import requests
from conftest import SMALL_SEED

ADMIN_USER = "admin"
ADMIN_PASSWORD = "change-me-now"


def backoffice_seed() -> dict[str, Any]:
    seed = copy.deepcopy(SMALL_SEED)
    seed["admins"] = [{"username": ADMIN_USER, "password": ADMIN_PASSWORD}]
    seed["store"] = {"name": "信義門市", "timezone": "Asia/Taipei"}
    seed["members"][1]["lang"] = "en"
    seed["members"].append({"id": "m_3", "name": "張家豪", "phone": "0934567890", "member_code": "MEMBER-0000003"})
    seed["orders"].append(
        {"id": "o_7", "number": "A1007", "member_id": "m_3", "package_code": "PKG1007", "status": "arrived",
         "items_summary": "Mug x1"}
    )  # fmt: skip
    return seed


class AdminClient:
    """The admin API of a running server: ``get/post/patch(path, ...)`` with the admin token."""

    def __init__(self, server: Any, username: str = ADMIN_USER, password: str = ADMIN_PASSWORD):
        self.server = server
        self.base = server.api_url + "/admin"
        self.session = requests.Session()
        r = self.session.post(self.base + "/login", json={"username": username, "password": password}, timeout=10)
        assert r.status_code == 200, r.text
        self.token = r.json()["admin_token"]

    def call(self, method: str, path: str, *, token: str | None = None, key: str | bool | None = None, **kw: Any):
        headers = {"Authorization": f"Bearer {token or self.token}", **kw.pop("headers", {})}
        if key is True:
            key = str(uuid.uuid4())
        if key:
            headers["Idempotency-Key"] = key
        return self.session.request(method, self.base + path, headers=headers, timeout=10, **kw)

    def get(self, path: str, **kw: Any):
        return self.call("GET", path, **kw)

    def post(self, path: str, **kw: Any):
        return self.call("POST", path, **kw)

    def patch(self, path: str, **kw: Any):
        return self.call("PATCH", path, **kw)

    def order(self, number: str) -> dict[str, Any]:
        found = self.get("/orders", params={"q": number}).json()
        assert len(found) == 1, found
        return found[0]

    def close(self) -> None:
        self.session.close()


def kiosk_headers(token: str = "test-kiosk-token", key: bool = False) -> dict[str, str]:  # noqa: S107
    headers = {"Authorization": f"Bearer {token}"}
    if key:
        headers["Idempotency-Key"] = str(uuid.uuid4())
    return headers
