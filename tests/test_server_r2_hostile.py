"""docs/api.md r2 hardening: deep nesting, lone surrogates, half-sent requests, busy answers, events."""

from __future__ import annotations

import copy
import json
import socket
import time
import urllib.parse

import pytest
import requests
from conftest import SMALL_SEED
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.server import http as server_http
from kiosk.server.harness import ServerThread

K1 = {"Authorization": "Bearer test-kiosk-token"}


@pytest.fixture(scope="module")
def server():
    s = copy.deepcopy(SMALL_SEED)
    s["settings"]["lockout_attempts"] = 100000
    with ServerThread(seed=s) as srv:
        yield srv


@pytest.fixture(scope="module")
def staff(server):
    r = requests.post(
        server.api_url + "/staff/login", json={"badge_code": "STAFF-0001", "pin": "2468"}, headers=K1, timeout=10
    )
    return {**K1, "X-Staff-Token": r.json()["staff_token"]}


def err(r: requests.Response) -> str:
    body = r.json()
    assert set(body) == {"error"}
    return body["error"]["code"]


def raw_post(server, path, data: bytes, headers=K1, key=True) -> requests.Response:
    h = {**headers, "Content-Type": "application/json"}
    if key:
        h["Idempotency-Key"] = f"k-{time.monotonic_ns()}"
    return requests.post(server.api_url + path, data=data, headers=h, timeout=30)


# ------------------------------------------------------------------ nesting


@pytest.mark.parametrize("token", [True, False])
def test_deeply_nested_json_is_bad_input_with_or_without_a_token(server, token):
    headers = K1 if token else {}
    # docs/api.md r2: answers are decided 401 first, then 400 (the depth is counted, never parsed)
    expected = (400, "bad_input") if token else (401, "unauthorized")
    for deep in (b"[" * 30000 + b"]" * 30000, b'{"a":' * 10000 + b"1" + b"}" * 10000):
        r = raw_post(server, "/members/lookup", deep, headers=headers, key=False)
        assert (r.status_code, err(r)) == expected
    r = raw_post(server, "/members/lookup", b"[" * 40000 + b"]" * 40000, headers=headers, key=False)
    assert (r.status_code, err(r)) == (413, "body_too_large")  # 80 KB: over the limit before any parsing


def test_nesting_is_counted_from_the_top_level_value(server):
    def nested(levels: int) -> bytes:  # the top-level object is level 1
        return b'{"member_code": "MEMBER-0404", "x": ' + b"[" * (levels - 1) + b"]" * (levels - 1) + b"}"

    r = raw_post(server, "/members/lookup", nested(32), key=False)
    assert (r.status_code, err(r)) == (422, "validation_error")  # deep enough, but an unknown field
    r = raw_post(server, "/members/lookup", nested(33), key=False)
    assert (r.status_code, err(r)) == (400, "bad_input")
    brackets_in_a_string = json.dumps({"member_code": "[{" * 60}).encode()
    r = raw_post(server, "/members/lookup", brackets_in_a_string, key=False)
    assert (r.status_code, err(r)) == (404, "member_not_found")  # brackets in a string do not nest


# ------------------------------------------------------------------ lone surrogates

RAW_SURROGATE = b"\xed\xa0\x80"  # U+D800 encoded as if it were a character
ESCAPED_SURROGATE = b"\\udc00"


@pytest.mark.parametrize("lone", [RAW_SURROGATE, ESCAPED_SURROGATE])
def test_a_lone_surrogate_anywhere_is_bad_input(server, staff, lone):
    cases = [
        ("/members/lookup", b'{"member_code": "MEMBER-%s1"}', K1),
        ("/members/lookup", b'{"phone": "0912%s345678", "pickup_code": "123456"}', K1),
        ("/members/lookup", b'{"email": "a%s@example.com"}', K1),
        ("/staff/login", b'{"badge_code": "STAFF-0001", "pin": "24%s68"}', K1),
        ("/orders/o_2/return", b'{"reason": "broken %s"}', staff),
        ("/parcels/PKG1001/arrive", b'{"received_by": "s_1%s"}', staff),
        ("/orders/o_2/pickup", b'{"lookup_id": "lk", "locker_door": 2, "handed_over_by": "s%s"}', K1),
        ("/kiosks/k_1/heartbeat", b'{"state": "idle%s"}', K1),
        ("/members/lookup", b'{"member_code": "MEMBER-0000001", "x%s": 1}', K1),  # in a key
        ("/members/lookup", b'{"member_code": "MEMBER-0000001", "x": [{"y": ["%s"]}]}', K1),  # deep inside
    ]
    for path, template, headers in cases:
        r = raw_post(server, path, template.replace(b"%s", lone), headers=headers)
        assert (r.status_code, err(r)) == (400, "bad_input"), (path, template)
    assert server.order_by_number("A1002")["status"] == "arrived"
    assert server.order_by_number("A1001")["status"] == "shipped"


def test_an_escaped_pair_is_one_valid_character(server):
    r = raw_post(server, "/members/lookup", b'{"member_code": "MEMBER-\\ud83d\\ude00"}', key=False)
    assert (r.status_code, err(r)) == (404, "member_not_found")


def test_a_lone_surrogate_in_the_path_or_query_is_bad_input(server, staff):
    r = requests.get(server.api_url + "/parcels/PKG%ED%A0%80", headers=staff, timeout=10)
    assert (r.status_code, err(r)) == (400, "bad_input")
    r = requests.get(server.api_url + "/orders?status=arrived%ED%A0%80", headers=staff, timeout=10)
    assert (r.status_code, err(r)) == (400, "bad_input")
    quoted = urllib.parse.quote("PKG😀", safe="")
    assert requests.get(server.api_url + "/parcels/" + quoted, headers=staff, timeout=10).status_code == 404


# ------------------------------------------------------------------ errors keep the contract's shape


def test_unknown_routes_and_methods_answer_in_the_contracts_shape(server):
    for method, path in (("GET", "/nope"), ("DELETE", "/members/lookup"), ("PUT", "/settings")):
        r = requests.request(method, server.api_url + path, headers=K1, timeout=10)
        assert r.status_code in (404, 405)
        assert set(r.json()["error"]) == {"code", "message"}


# ------------------------------------------------------------------ half-sent requests


@pytest.fixture
def quick_timeouts(monkeypatch):
    monkeypatch.setattr(server_http.TimedHttpToolsProtocol, "header_timeout", 1.0)
    monkeypatch.setattr(server_http.TimedHttpToolsProtocol, "body_timeout", 1.5)


def test_the_contracts_timeouts():
    assert server_http.HEADER_TIMEOUT == 10.0
    assert server_http.BODY_TIMEOUT == 30.0


def _open(server, data: bytes) -> socket.socket:
    sock = socket.create_connection((server.host, server.port), timeout=5)
    sock.sendall(data)
    return sock


def _dropped(sock: socket.socket, within: float) -> bool:
    sock.settimeout(within)
    try:
        return sock.recv(4096) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def test_300_half_sent_requests_do_not_break_health_and_are_dropped(quick_timeouts):
    with ServerThread(seed=copy.deepcopy(SMALL_SEED)) as server:
        socks = []
        try:
            for i in range(300):
                if i % 2:
                    half = b"POST /api/v1/members/lookup HTTP/1.1\r\nHost: x\r\nAuthor"  # headers never end
                else:  # headers done, the body never completes
                    half = (
                        b"POST /api/v1/members/lookup HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer test-kiosk-token"
                        b'\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"member'
                    )
                socks.append(_open(server, half))
            # answered at all (a server whose slots the half-sent requests held would time out);
            # how fast is for benchmarks/, not for a test on a shared machine
            r = requests.get(server.api_url + "/health", timeout=5)
            assert r.status_code == 200
            assert all(_dropped(s, 4.0) for s in socks[:20])
            assert requests.get(server.api_url + "/health", timeout=5).status_code == 200
        finally:
            for s in socks:
                s.close()


def test_a_slow_trickle_of_headers_is_dropped_at_the_deadline(quick_timeouts):
    with ServerThread(seed=copy.deepcopy(SMALL_SEED)) as server:
        sock = _open(server, b"GET /api/v1/health HTTP/1.1\r\n")
        started = time.monotonic()
        try:
            for _ in range(5):  # a header line every 0.3 s never completes the headers in time
                time.sleep(0.3)
                try:
                    sock.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    break
            assert _dropped(sock, 3.0)
            assert time.monotonic() - started < 3.5
        finally:
            sock.close()


def test_complete_requests_on_a_kept_alive_connection_are_not_dropped(quick_timeouts):
    with ServerThread(seed=copy.deepcopy(SMALL_SEED)) as server, requests.Session() as s:
        for _ in range(3):
            assert s.get(server.api_url + "/health", timeout=5).status_code == 200
            time.sleep(0.6)  # longer in total than the header time-out, but each request was whole


# ------------------------------------------------------------------ kiosk events and alarms


def event(server, body, *, key=None, kiosk="k_1", headers=K1):
    h = {**headers, "Idempotency-Key": key or f"e-{time.monotonic_ns()}"}
    return requests.post(server.api_url + f"/kiosks/{kiosk}/events", json=body, headers=h, timeout=10)


@pytest.fixture
def fresh():
    with ServerThread(seed=copy.deepcopy(SMALL_SEED)) as srv:
        yield srv


def test_events_are_stored_and_alarms_stay_open_until_the_door_closes(fresh):
    at = "2026-12-02T08:00:00Z"
    assert event(fresh, {"kind": "door_forced", "door": 3, "at": at, "detail": "sensor"}).status_code == 204
    assert event(fresh, {"kind": "door_left_open", "door": 3, "at": at}).status_code == 204
    assert event(fresh, {"kind": "door_forced", "door": 5, "at": at}).status_code == 204
    assert event(fresh, {"kind": "camera_lost", "at": at}).status_code == 204
    alarms = fresh.admin.open_alarms()["k_1"]
    assert sorted((a["kind"], a["door"]) for a in alarms) == [
        ("door_forced", 3),
        ("door_forced", 5),
        ("door_left_open", 3),
    ]
    assert event(fresh, {"kind": "door_closed", "door": 3, "at": at}).status_code == 204
    assert [(a["kind"], a["door"]) for a in fresh.admin.open_alarms()["k_1"]] == [("door_forced", 5)]
    assert fresh.admin.ack_alarm("k_1", "door_forced", 5) == 1
    assert fresh.admin.open_alarms() == {}
    events = fresh.admin.kiosk_events(kiosk="k_1", limit=2)
    assert [e["kind"] for e in events] == ["door_closed", "camera_lost"]  # newest first
    assert fresh.admin.kiosk_events(kind="door_forced")[1] == {
        "kiosk_id": "k_1",
        "kind": "door_forced",
        "door": 3,
        "at": at,
        "detail": "sensor",
    }


def test_an_event_replayed_is_stored_once(fresh):
    body = {"kind": "outbox_attention", "at": "2026-12-02T08:00:00+08:00"}
    for _ in range(3):
        assert event(fresh, body, key="same").status_code == 204
    assert fresh.count_rows("kiosk_events") == 1
    r = event(fresh, {"kind": "locked_out", "at": "2026-12-02T08:00:00Z"}, key="same")
    assert (r.status_code, err(r)) == (422, "idempotency_mismatch")


@pytest.mark.parametrize(
    ("body", "kiosk", "key", "status", "code"),
    [
        ({"kind": "door_exploded", "at": "2026-12-02T08:00:00Z"}, "k_1", "x", 422, "validation_error"),
        ({"kind": "door_forced"}, "k_1", "x", 422, "validation_error"),
        ({"kind": "door_forced", "at": "yesterday"}, "k_1", "x", 400, "bad_input"),
        ({"kind": "door_forced", "at": "2026-12-02T08:00:00"}, "k_1", "x", 400, "bad_input"),  # no offset
        ({"kind": "door_forced", "at": "2026-12-02T08:00:00Z", "door": 0}, "k_1", "x", 400, "bad_input"),
        ({"kind": "door_forced", "at": "2026-12-02T08:00:00Z", "detail": "a\x00b"}, "k_1", "x", 400, "bad_input"),
        ({"kind": "door_forced", "at": "2026-12-02T08:00:00Z"}, "k_2", "x", 403, "forbidden"),
        ({"kind": "door_forced", "at": "2026-12-02T08:00:00Z"}, "k_1", "", 400, "idempotency_key_required"),
    ],
)
def test_bad_events_are_refused(fresh, body, kiosk, key, status, code):
    headers = {**K1, "Idempotency-Key": key} if key else K1
    r = requests.post(fresh.api_url + f"/kiosks/{kiosk}/events", json=body, headers=headers, timeout=10)
    assert (r.status_code, err(r)) == (status, code)
    assert fresh.count_rows("kiosk_events") == 0


def test_heartbeat_stores_gpio(fresh):
    body = {"state": "idle", "camera": "ok", "gpio": "alarm", "outbox": 0, "version": "t"}
    r = requests.post(fresh.api_url + "/kiosks/k_1/heartbeat", json=body, headers=K1, timeout=10)
    assert r.status_code == 204
    assert fresh.last_heartbeat("k_1")["gpio"] == "alarm"


def test_over_the_concurrency_limit_is_a_contract_shaped_503(fresh):
    import threading

    fresh._control.max_in_flight = 2
    fresh.delay = 1.0
    results: list[requests.Response] = []

    def call():
        results.append(requests.get(fresh.api_url + "/settings", headers=K1, timeout=10))

    threads = [threading.Thread(target=call) for _ in range(5)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    assert requests.get(fresh.api_url + "/health", timeout=10).status_code == 200  # never limited
    for t in threads:
        t.join(10)
    fresh.delay = 0.0
    busy = [r for r in results if r.status_code == 503]
    assert len(busy) == 3
    assert [r.status_code for r in results].count(200) == 2
    for r in busy:
        assert err(r) == "busy"
        assert r.headers["Retry-After"] == "1"


def test_a_request_the_http_parser_refuses_gets_the_contracts_shape(server):
    sock = _open(server, b"GARBAGE \x01\x02 / HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        sock.settimeout(5)
        raw = b""
        while chunk := sock.recv(4096):
            raw += chunk
    finally:
        sock.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert b"application/json" in head
    assert json.loads(body)["error"]["code"] == "bad_input"


_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
_lookup_like = st.fixed_dictionaries(
    {},
    optional={
        "member_code": _values | st.sampled_from(["MEMBER-0000001", "MEMBER-0000001.123456"]),
        "phone": _values | st.sampled_from(["0912345678", "09-12"]),
        "email": _values | st.just("ming@example.com"),
        "pickup_code": _values | st.sampled_from(["123456", "12345", "１２３４５６"]),
    },
)
_event_like = st.fixed_dictionaries(
    {},
    optional={
        "kind": _values | st.sampled_from(["door_forced", "door_closed", "camera_lost"]),
        "door": _values | st.integers(-3, 200000),
        "at": _values | st.sampled_from(["2026-12-02T08:00:00Z", "2026-12-02T08:00:00", "9999-99-99T00:00:00Z"]),
        "detail": _values,
    },
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_values | _lookup_like)
def test_generated_lookup_bodies_get_contract_answers(server, body):
    r = requests.post(server.api_url + "/members/lookup", json=body, headers=K1, timeout=10)
    assert r.status_code in (200, 400, 403, 404, 409, 422, 429), r.text
    if r.status_code != 200:
        assert set(r.json()["error"]) >= {"code", "message"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_values | _event_like)
def test_generated_event_bodies_get_contract_answers(server, body):
    h = {**K1, "Idempotency-Key": f"gen-{time.monotonic_ns()}"}
    r = requests.post(server.api_url + "/kiosks/k_1/events", json=body, headers=h, timeout=10)
    assert r.status_code in (204, 400, 422), r.text
    if r.status_code != 204:
        assert set(r.json()["error"]) == {"code", "message"}
