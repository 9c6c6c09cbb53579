"""The back office's pages over HTTP (no browser): sign-in cookie, CSRF, redirects, languages,
and ``/metrics`` (names, no personal data, loopback or token)."""

from __future__ import annotations

import re

import pytest
import requests
from backoffice_support import ADMIN_PASSWORD, ADMIN_USER, AdminClient, backoffice_seed, kiosk_headers
from conftest import running

from kiosk.privacy import find_personal_data
from kiosk.server.admin import ENV_METRICS_TOKEN_FILE
from kiosk.server.harness import ServerThread


@pytest.fixture
def server():
    yield from running(ServerThread(seed=backoffice_seed()))


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF field on the page"
    return m.group(1)


def signed_in(server, **headers) -> tuple[requests.Session, str]:
    """A session signed in through the form; returns it and a page's CSRF token."""
    s = requests.Session()
    page = s.get(server.base_url + "/admin/login", headers=headers, timeout=10)
    r = s.post(
        server.base_url + "/admin/login",
        data={"username": ADMIN_USER, "password": ADMIN_PASSWORD, "csrf_token": csrf_of(page.text), "next": ""},
        headers=headers,
        allow_redirects=False,
        timeout=10,
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/admin/orders"
    orders = s.get(server.base_url + "/admin/orders", headers=headers, timeout=10)
    assert orders.status_code == 200
    return s, csrf_of(orders.text)


def set_cookie_header(response, name: str) -> str:
    found = [v for k, v in response.raw.headers.items() if k.lower() == "set-cookie" and v.startswith(name + "=")]
    assert found, f"no {name} cookie"
    return found[0]


def test_session_cookie_is_httponly_and_samesite_strict_and_secure_over_https(server):
    for headers, secure in (({}, False), ({"X-Forwarded-Proto": "https"}, True)):
        page = requests.get(server.base_url + "/admin/login", headers=headers, timeout=10)
        assert ("; secure" in set_cookie_header(page, "pk_admin_login").lower()) is secure
        r = requests.post(  # the test talks plain HTTP to the proxy's side: it hands the cookie over itself
            server.base_url + "/admin/login",
            data={"username": ADMIN_USER, "password": ADMIN_PASSWORD, "csrf_token": csrf_of(page.text)},
            cookies={"pk_admin_login": page.cookies["pk_admin_login"]},
            headers=headers,
            allow_redirects=False,
            timeout=10,
        )
        cookie = set_cookie_header(r, "pk_admin").lower()
        assert "httponly" in cookie
        assert "samesite=strict" in cookie
        assert ("; secure" in cookie) is secure
        assert "path=/admin" in cookie


def test_pages_need_a_session(server):
    for path in ("/admin/orders", "/admin/orders/o_2", "/admin/settings", "/admin/staff", "/admin/report",
                 "/admin/fleet", "/admin/report.csv?from=2026-01-01&to=2026-01-02"):  # fmt: skip
        r = requests.get(server.base_url + path, allow_redirects=False, timeout=10)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/admin/login?next=")
    # an API token is not a session cookie, nor is a kiosk token
    r = requests.get(server.base_url + "/admin/orders", cookies={"pk_admin": "test-kiosk-token"}, timeout=10)
    assert "/admin/login" in r.url


def test_wrong_password_on_the_form_and_its_lockout(server):
    s = requests.Session()
    csrf = csrf_of(s.get(server.base_url + "/admin/login", timeout=10).text)
    for expected in (401, 401, 401, 429):
        r = s.post(
            server.base_url + "/admin/login",
            data={"username": ADMIN_USER, "password": "wrong", "csrf_token": csrf},
            timeout=10,
        )
        assert r.status_code == expected
    assert "請" in r.text
    assert "秒後再試" in r.text


def test_every_page_answers_in_both_languages(server):
    s, _csrf = signed_in(server)
    pages = ["/admin/orders", "/admin/orders?status=overdue", "/admin/orders?q=0912345678", "/admin/orders/o_2",
             "/admin/settings", "/admin/staff", "/admin/report", "/admin/fleet"]  # fmt: skip
    for lang, word in (("zh-TW", "登出"), ("en", "Sign out")):
        r = s.get(server.base_url + f"/admin/lang/{lang}?next=/admin/orders", allow_redirects=False, timeout=10)
        assert r.status_code == 303
        s.cookies.set("pk_admin_lang", lang, path="/admin")
        for path in pages:
            page = s.get(server.base_url + path, timeout=10)
            assert page.status_code == 200, path
            assert word in page.text, (lang, path)
            assert page.headers["cache-control"] == "no-store"
            assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert s.get(server.base_url + "/admin/orders/nope", timeout=10).status_code == 404


def test_language_switch_only_returns_into_the_back_office(server):
    for bad in ("//evil.example/x", "https://evil.example/", "/api/v1/settings", "/admin\\@evil"):
        r = requests.get(server.base_url + "/admin/lang/en", params={"next": bad}, allow_redirects=False, timeout=10)
        assert r.headers["location"] == "/admin/orders", bad


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/admin/settings", {"overdue_days": "1"}),
        ("/admin/orders/o_2/return", {"reason": "x"}),
        ("/admin/orders/o_2/notify", {}),
        ("/admin/staff", {"name": "X", "badge_code": "STAFF-0500", "pin": "1234"}),
        ("/admin/staff/s_1", {"active": "false"}),
        ("/admin/kiosks/k_1", {"mode": "counter"}),
        ("/admin/kiosks/k_1/alarms/ack", {"kind": "door_forced", "door": "3"}),
        ("/admin/logout", {}),
    ],
)
@pytest.mark.parametrize("token", [None, "forged", "wrong-session"])
def test_a_form_post_without_its_csrf_token_changes_nothing(server, path, form, token):
    requests.post(server.api_url + "/kiosks/k_1/events", headers=kiosk_headers(key=True), timeout=10,
                  json={"kind": "door_forced", "door": 3, "at": "2026-12-01T10:00:00Z"})  # fmt: skip
    admin = AdminClient(server)
    before = (admin.get("/settings").json(), admin.get("/orders").json(), admin.get("/staff").json(),
              admin.get("/kiosks").json())  # fmt: skip
    s, csrf = signed_in(server)
    if token == "wrong-session":  # the token of another admin session
        _other, token = signed_in(server)
    data = dict(form)
    if token is not None:
        data["csrf_token"] = token
    r = s.post(server.base_url + path, data=data, allow_redirects=False, timeout=10)
    assert r.status_code == 403, r.text
    after = (admin.get("/settings").json(), admin.get("/orders").json(), admin.get("/staff").json(),
             admin.get("/kiosks").json())  # fmt: skip
    assert after == before
    assert s.get(server.base_url + "/admin/settings", allow_redirects=False, timeout=10).status_code == 200
    # the same post with the token does change it
    ok = s.post(server.base_url + path, data={**form, "csrf_token": csrf}, allow_redirects=False, timeout=10)
    assert ok.status_code == 303


def test_login_form_needs_its_own_csrf_cookie(server):
    r = requests.post(
        server.base_url + "/admin/login",
        data={"username": ADMIN_USER, "password": ADMIN_PASSWORD, "csrf_token": "guess"},
        allow_redirects=False,
        timeout=10,
    )
    assert r.status_code == 403
    assert "pk_admin=" not in r.headers.get("set-cookie", "")


def test_settings_form_bad_value_is_422_and_names_the_key(server):
    s, csrf = signed_in(server)
    r = s.post(server.base_url + "/admin/settings", data={"csrf_token": csrf, "lockout_attempts": "0"}, timeout=10)
    assert r.status_code == 422
    assert "lockout_attempts" in r.text
    r = s.post(server.base_url + "/admin/settings", data={"csrf_token": csrf, "bogus": "1"}, timeout=10)
    assert r.status_code == 422
    r = s.post(server.base_url + "/admin/settings", data={"csrf_token": csrf, "overdue_days": "abc"}, timeout=10)
    assert r.status_code == 422
    assert AdminClient(server).get("/settings").json()["lockout_attempts"] == 3


def test_report_csv_download(server):
    s, _csrf = signed_in(server)
    r = s.get(server.base_url + "/admin/report.csv", params={"from": "2020-01-01", "to": "2030-12-31"}, timeout=10)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert r.text.splitlines()[0] == "staff_id,name,received,handed_over"
    assert s.get(server.base_url + "/admin/report.csv", params={"from": "x", "to": "y"}, timeout=10).status_code == 422


# ---------------------------------------------------------------- /metrics


def test_metrics_names_and_no_personal_data(server):
    requests.post(server.api_url + "/kiosks/k_1/heartbeat", headers=kiosk_headers(), timeout=10,
                  json={"state": "idle", "camera": "ok", "gpio": "ok", "outbox": 3, "version": "1"})  # fmt: skip
    requests.post(server.api_url + "/kiosks/k_1/events", headers=kiosk_headers(key=True), timeout=10,
                  json={"kind": "door_left_open", "door": 2, "at": "2026-12-01T10:00:00Z"})  # fmt: skip
    requests.get(server.api_url + "/parcels/PKG1002", headers=kiosk_headers(), timeout=10)
    r = requests.get(server.base_url + "/metrics", timeout=10)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    for line in (
        'pickup_kiosk_up{kiosk="k_1"} 1.0',
        'pickup_kiosk_up{kiosk="k_2"} 0.0',
        'pickup_kiosk_outbox{kiosk="k_1"} 3.0',
        'pickup_kiosk_alarms{kind="door_left_open",kiosk="k_1"} 1.0',
        'pickup_orders{status="overdue"} 1.0',
        'pickup_orders{status="arrived"} 3.0',
        'pickup_events_total{kind="door_left_open"} 1.0',
        "pickup_notices_unsent 0.0",
    ):
        assert line in text, line
    assert re.search(r'pickup_kiosk_heartbeat_age_seconds\{kiosk="k_1"\} \d', text)
    assert "pickup_http_request_duration_seconds_bucket" in text
    assert 'route="/api/v1/parcels/{package_code:code}"' in text  # the template, never the code
    assert "PKG1002" not in text
    assert find_personal_data(text, backoffice_seed()) == []


def test_metrics_only_for_loopback_without_a_token(server):
    assert requests.get(server.base_url + "/metrics", timeout=10).status_code == 200
    # behind a proxy on this machine: the client's address is the forwarded one
    r = requests.get(server.base_url + "/metrics", headers={"X-Forwarded-For": "203.0.113.9"}, timeout=10)
    assert r.status_code == 403


def test_metrics_token_file(tmp_path, monkeypatch):
    token_file = tmp_path / "metrics.token"
    token_file.write_text("s3cret-metrics-token\n")
    monkeypatch.setenv(ENV_METRICS_TOKEN_FILE, str(token_file))
    with ServerThread(seed=backoffice_seed()) as srv:
        url = srv.base_url + "/metrics"
        assert requests.get(url, timeout=10).status_code == 401
        assert requests.get(url, headers={"Authorization": "Bearer nope"}, timeout=10).status_code == 401
        ok = requests.get(url, headers={"Authorization": "Bearer s3cret-metrics-token"}, timeout=10)
        assert ok.status_code == 200
        assert "pickup_kiosk_up" in ok.text
        forwarded = {"Authorization": "Bearer s3cret-metrics-token", "X-Forwarded-For": "203.0.113.9"}
        assert requests.get(url, headers=forwarded, timeout=10).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "form"),
    [
        ("GET", "/admin/orders?q=%ED%A0%80", None),
        ("GET", "/admin/orders?q=%00&status=%01", None),
        ("GET", "/admin/orders/%00", None),
        ("GET", "/admin/orders/" + "x" * 5000, None),
        ("GET", "/admin/report?from=%ff&to=2026-01-01", None),
        ("GET", "/admin/lang/%00?next=%0d%0aSet-Cookie:x", None),
        ("POST", "/admin/orders/%00/return", {"reason": "x"}),
        ("POST", "/admin/orders/o_2/return", {"reason": "\x00" * 2000}),
        ("POST", "/admin/orders/o_2/return/review", {"approved": "maybe"}),
        ("POST", "/admin/orders/o_2/return/complete", {"destination": "moon"}),
        ("POST", "/admin/settings", {"overdue_days": "1e999"}),
        ("POST", "/admin/settings", {"member_code_pattern": "(((("}),
        ("POST", "/admin/staff", {"name": "\x07bell", "badge_code": "STAFF-0900", "pin": "1"}),
        ("POST", "/admin/staff", "name=%ED%A0%80&badge_code=STAFF-0901&pin=1"),
        ("POST", "/admin/staff/s_1", {}),
        ("POST", "/admin/kiosks/k_1", {"mode": "x"}),
        ("POST", "/admin/kiosks/k_1/alarms/ack", {"kind": "door_forced", "door": "-3"}),
    ],
)
def test_hostile_page_input_never_gets_a_500(server, method, path, form):
    s, csrf = signed_in(server)
    if isinstance(form, str):  # raw, as a client that sends broken UTF-8 would
        data = form + "&csrf_token=" + csrf
    else:
        data = None if form is None else {**form, "csrf_token": csrf}
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if isinstance(form, str) else {}
    r = s.request(method, server.base_url + path, data=data, headers=headers, allow_redirects=False, timeout=10)
    assert r.status_code < 500, (path, r.status_code, r.text[:300])
    assert "\r\nSet-Cookie: x" not in str(r.headers)
