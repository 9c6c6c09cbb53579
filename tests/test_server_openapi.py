"""The OpenAPI copy in the repo is what the server serves (regenerate: python -m kiosk.server.openapi)."""

from __future__ import annotations

import json

import requests

from kiosk.server import openapi


def test_repo_copy_matches_the_served_document(backend):
    served = requests.get(backend.api_url + "/openapi.json", timeout=5)
    assert served.status_code == 200
    kept = json.loads(openapi.OPENAPI_PATH.read_text(encoding="utf-8"))
    assert served.json() == kept, "stale kiosk/server/openapi.json: run python -m kiosk.server.openapi"
    assert openapi.render() == openapi.OPENAPI_PATH.read_text(encoding="utf-8")


def test_document_covers_every_call_of_the_contract():
    doc = json.loads(openapi.OPENAPI_PATH.read_text(encoding="utf-8"))
    calls = {(method.upper(), path) for path, item in doc["paths"].items() for method in item}
    expected = {
        ("GET", "/api/v1/health"),
        ("GET", "/api/v1/settings"),
        ("GET", "/api/v1/staff"),
        ("POST", "/api/v1/staff/login"),
        ("POST", "/api/v1/members/lookup"),
        ("GET", "/api/v1/parcels/{package_code}"),
        ("POST", "/api/v1/parcels/{package_code}/arrive"),
        ("POST", "/api/v1/orders/{order_id}/pickup"),
        ("GET", "/api/v1/orders"),
        ("POST", "/api/v1/orders/{order_id}/return"),
        ("POST", "/api/v1/orders/{order_id}/return/review"),
        ("POST", "/api/v1/orders/{order_id}/return/complete"),
        ("POST", "/api/v1/kiosks/{kiosk_id}/heartbeat"),
        ("POST", "/api/v1/staff/logout"),  # r2
        ("POST", "/api/v1/kiosks/{kiosk_id}/events"),  # r2
    }
    admin = "/api/v1/admin"
    expected |= {  # r2: the back office's calls (docs/api.md "Back office"); /admin/ pages and /metrics are not in it
        ("POST", f"{admin}/login"),
        ("POST", f"{admin}/logout"),
        ("GET", f"{admin}/settings"),
        ("PATCH", f"{admin}/settings"),
        ("GET", f"{admin}/orders"),
        ("GET", f"{admin}/orders/{{order_id}}"),
        ("POST", f"{admin}/orders/{{order_id}}/return"),
        ("POST", f"{admin}/orders/{{order_id}}/return/review"),
        ("POST", f"{admin}/orders/{{order_id}}/return/complete"),
        ("POST", f"{admin}/orders/{{order_id}}/notify"),
        ("GET", f"{admin}/reports/commission"),
        ("GET", f"{admin}/staff"),
        ("POST", f"{admin}/staff"),
        ("PATCH", f"{admin}/staff/{{staff_id}}"),
        ("GET", f"{admin}/kiosks"),
        ("PATCH", f"{admin}/kiosks/{{kiosk_id}}"),
        ("POST", f"{admin}/kiosks/{{kiosk_id}}/alarms/ack"),
        ("GET", f"{admin}/events"),
    }
    assert calls == expected
    assert set(doc["components"]["schemas"]["OrderOut"]["properties"]) == {
        "id", "number", "status", "member_id", "customer_masked", "items_summary", "arrived_at",
        "overdue", "overdue_at", "locker_door", "received_by", "handed_over_by",
    }  # fmt: skip


def test_check_mode_reports_fresh_copy():
    assert openapi.main(["--check"]) == 0
