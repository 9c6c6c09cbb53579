"""BackendClient against the real reference server on loopback, and against small real HTTP
servers that answer garbage, slowly, with TLS, or with 5xx (never a mocked ``requests``)."""

from __future__ import annotations

import json
import logging
import shutil
import ssl
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kiosk import config as kconfig
from kiosk.api import BackendClient, Health, Lookup, Order, Settings, Staff, StaffSession
from kiosk.errors import BackendUnavailable, ConfigError, KioskError, Rejected
from kiosk.server.harness import ServerThread, free_port

PIN = "2468"
BADGE = "STAFF-0001"


def _order(n: int, member: str, status: str, **extra) -> dict:
    return {"id": f"o_{n}", "number": f"A{1000 + n}", "member_id": member, "package_code": f"PKG{1000 + n}",
            "status": status, **extra}  # fmt: skip


def _lk(client, n: int) -> str:
    """A fresh look-up id for member ``m_n`` (docs/api.md r2: pickups name one)."""
    return client.lookup(member_code=f"MEMBER-{n:07d}").lookup_id


def _member(n: int, name: str, phone: str, email: str) -> dict:
    return {"id": f"m_{n}", "name": name, "phone": phone, "email": email, "member_code": f"MEMBER-{n:07d}"}


SEED = {
    # r2: an open counter kiosk may look members up by phone or email alone (revision 1's way)
    "settings": {"overdue_days": 7, "contact_lookup": "open"},
    "kiosks": [
        {"id": "k_1", "token": "test-kiosk-token", "mode": "counter"},
        {"id": "k_2", "token": "test-kiosk-token-2"},
    ],
    "staff": [
        {"id": "s_1", "name": "陳小華", "badge_code": BADGE, "pin": PIN},
        {"id": "s_2", "name": "林美玲", "badge_code": "STAFF-0002", "pin": "1357"},
        {"id": "s_3", "name": "張志豪", "badge_code": "STAFF-0003", "pin": "8642"},
        {"id": "s_4", "name": "黃淑芬", "badge_code": "STAFF-0004", "pin": "9753", "active": False},
    ],
    "members": [
        _member(1, "王小明", "0912345678", "ming@example.com"),
        _member(2, "李美華", "0923456789", "mei@example.com"),
        _member(3, "張家豪", "0934567890", "hao@example.net"),
        _member(4, "Emily Chen", "0945678901", "em@example.org"),
    ],
    "orders": [
        _order(1, "m_1", "shipped", items_summary="T-shirt x2"),
        _order(2, "m_1", "arrived", items_summary="運動鞋 x1", arrived_at="2026-11-01T03:00:00Z", locker_door=2,
               received_by="s_1"),
        _order(3, "m_1", "arrived", received_by="s_2"),
        _order(4, "m_2", "arrived", locker_door=5, received_by="s_2"),
        _order(5, "m_2", "shipped"),
        _order(7, "m_3", "shipped"),
        _order(8, "m_4", "arrived", locker_door=7, received_by="s_1"),
        _order(9, "m_4", "received", arrived_at="2026-10-20T05:00:00Z", received_by="s_1", handed_over_by="s_2"),
        _order(11, "m_1", "shipped"),
    ],
}  # fmt: skip


@pytest.fixture(scope="module")
def server():
    with ServerThread(seed=SEED) as srv:
        yield srv


@pytest.fixture(scope="module")
def client(server):
    with BackendClient(server.base_url, server.kiosk_token) as c:
        yield c


@pytest.fixture(scope="module")
def staff_token(client):
    return client.staff_login(BADGE, PIN).token


# -- every call of the contract, typed ------------------------------------------------------


def test_health_settings_staff_are_typed(client):
    health = client.health()
    assert isinstance(health, Health)
    assert health.ok
    assert health.time is not None
    assert health.time.tzinfo is not None

    settings = client.settings()
    assert isinstance(settings, Settings)
    assert settings.overdue_days == 7
    assert settings.member_code_only is False
    assert settings.staff_badge_pattern == r"STAFF-[0-9A-Z]{4,16}"

    staff = client.staff()
    assert all(isinstance(s, Staff) for s in staff)
    ids = [s.id for s in staff]
    assert "s_1" in ids
    assert "s_4" not in ids  # inactive staff are not offered


def test_base_url_may_already_name_the_api(server):
    with BackendClient(server.api_url + "/", server.kiosk_token) as c:
        assert c.base_url == server.api_url
        assert c.health().ok


def test_staff_login_gives_a_session_whose_token_stays_out_of_repr(client):
    session = client.staff_login(BADGE, PIN)
    assert isinstance(session, StaffSession)
    assert session.staff == Staff("s_1", "陳小華")
    assert session.expires_in > 0
    assert session.token
    assert session.token not in repr(session)


def test_lookup_by_code_phone_and_email(client):
    by_code = client.lookup(member_code="MEMBER-0000001")
    assert isinstance(by_code, Lookup)
    assert by_code.member.id == "m_1"
    assert by_code.member.display_name_masked == "王*明"
    assert all(isinstance(o, Order) and o.pickable for o in by_code.orders)
    numbers = [o.number for o in by_code.orders]
    assert "A1002" in numbers
    arrived = [o.arrived_at for o in by_code.orders]
    assert arrived == sorted(arrived)
    assert client.lookup(phone="0912-345-678").member.id == "m_1"
    assert client.lookup(email="MING@example.com").member.id == "m_1"


def test_lookup_takes_exactly_one_key(client):
    with pytest.raises(ValueError, match="exactly one"):
        client.lookup()
    with pytest.raises(ValueError, match="exactly one"):
        client.lookup(member_code="MEMBER-0000001", phone="0912345678")


def test_order_keeps_every_field_of_the_contract(client):
    (order,) = [o for o in client.lookup(member_code="MEMBER-0000001").orders if o.number == "A1002"]
    assert order.id == "o_2"
    assert order.member_id == "m_1"
    assert order.status == "overdue"  # arrived 2026-11-01, overdue_days 7
    assert order.overdue is True
    assert order.locker_door == 2
    assert order.received_by == "s_1"
    assert order.handed_over_by is None
    assert order.items_summary == "運動鞋 x1"
    assert order.customer_masked == "王*明 / 0912***678"
    assert order.overdue_at is not None
    assert order.arrived_at is not None
    assert (order.overdue_at - order.arrived_at).days == 7
    js = order.to_json()
    assert js["arrived_at"] == "2026-11-01T03:00:00Z"
    assert Order.from_json(js) == order


def test_parcel_arrive_orders_pickup_at_the_counter(client, staff_token):
    parcel = client.parcel("PKG1005", staff_token)
    assert parcel.number == "A1005"
    assert parcel.status == "shipped"
    assert parcel.arrived_at is None

    arrived = client.arrive("PKG1005", staff_token, received_by="s_2")
    assert arrived.status == "arrived"
    assert arrived.received_by == "s_2"
    assert arrived.locker_door is None

    waiting = client.orders(["arrived", "overdue"], staff_token)
    assert "A1005" in [o.number for o in waiting]
    assert all(o.status in ("arrived", "overdue") for o in waiting)
    assert [o.number for o in client.orders("overdue", staff_token)] == [
        o.number for o in waiting if o.status == "overdue"
    ]

    lookup_id = client.lookup(member_code="MEMBER-0000002").lookup_id  # r2: pickups name a look-up
    done = client.pickup(arrived.id, lookup_id, package_code="PKG1005", handed_over_by="s_3")
    assert done.status == "received"
    assert done.handed_over_by == "s_3"


def test_arrive_into_a_door_and_pickup_by_door(client, staff_token, server):
    arrived = client.arrive("PKG1007", staff_token, locker_door=11)
    assert arrived.locker_door == 11
    assert arrived.received_by == "s_1"  # defaults to the logged-in staff member
    done = client.pickup(arrived.id, client.lookup(member_code="MEMBER-0000003").lookup_id, locker_door=11)
    assert done.status == "received"
    assert server.order_by_number("A1007")["status"] == "received"


def test_return_request_review_and_complete(client, staff_token):
    order = client.request_return("o_8", "顧客取消", staff_token)
    assert order.status == "return_requested"
    assert client.review_return("o_8", True, staff_token).status == "return_reviewed"
    assert client.complete_return("o_8", "store_stock", staff_token).status == "restocked"


def test_heartbeat_is_accepted_and_another_kiosks_is_forbidden(client, server):
    payload = {"state": "idle", "camera": "ok", "gpio": "ok", "outbox": 0, "version": "test"}
    assert client.heartbeat("k_1", payload) is None
    assert server.last_heartbeat("k_1") is not None
    with pytest.raises(Rejected) as err:
        client.heartbeat("k_2", payload)
    assert (err.value.code, err.value.status) == ("forbidden", 403)


def test_same_idempotency_key_is_applied_once(client, staff_token, server):
    key = str(uuid.uuid4())
    first = client.arrive("PKG1011", staff_token, idempotency_key=key)
    again = client.arrive("PKG1011", staff_token, idempotency_key=key)
    assert first == again
    assert server.count_events("arrive", number="A1011") == 1
    assert server.count_rows("order_events", idempotency_key=key) == 1
    with pytest.raises(Rejected) as err:  # a fresh key: the order is not shipped any more
        client.arrive("PKG1011", staff_token)
    assert (err.value.code, err.value.status) == ("wrong_status", 409)


# -- refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "code", "status"),
    [
        (lambda c, t: c.lookup(member_code="MEMBER-9999999"), "member_not_found", 404),
        (lambda c, t: c.parcel("PKG-NOPE-1", t), "parcel_not_found", 404),
        (lambda c, t: c.pickup("o_404", _lk(c, 1), package_code="PKG1002"), "order_not_found", 404),
        (lambda c, t: c.pickup("o_3", _lk(c, 2), package_code="PKG1003"), "not_your_order", 403),
        (lambda c, t: c.pickup("o_3", _lk(c, 1), package_code="PKG1004"), "package_mismatch", 409),
        (lambda c, t: c.pickup("o_9", _lk(c, 4), package_code="PKG1009"), "not_your_order", 403),  # r2: not waiting
        (lambda c, t: c.pickup("o_3", "lk_unknown", package_code="PKG1003"), "lookup_expired", 403),
        (lambda c, t: c.arrive("PKG1001", t, locker_door=5), "door_occupied", 409),
        (lambda c, t: c.parcel("PKG1001", "not-a-staff-token"), "unauthorized", 401),
        (lambda c, t: c.orders("arrived", "not-a-staff-token"), "unauthorized", 401),
        (lambda c, t: c.complete_return("o_3", "warehouse", t), "wrong_status", 409),
        (lambda c, t: c.arrive("PKG1001", t, received_by="s_4"), "validation_error", 422),
    ],
)
def test_refusals_are_rejected_with_the_contracts_code(client, staff_token, call, code, status):
    with pytest.raises(Rejected) as err:
        call(client, staff_token)
    assert err.value.code == code
    assert err.value.status == status
    assert isinstance(err.value, KioskError)


def test_control_characters_in_a_code_are_bad_input(client, staff_token):
    with pytest.raises(Rejected) as err:
        client.parcel("PKG\t1001", staff_token)
    assert err.value.code == "bad_input"
    with pytest.raises(Rejected) as err:
        client.lookup(member_code="MEMBER\n0000001")
    assert err.value.code == "bad_input"


def test_a_code_that_cannot_be_sent_is_bad_input(client, staff_token):
    with pytest.raises(Rejected) as err:
        client.parcel("PKG\ud8001001", staff_token)  # a lone surrogate has no UTF-8 form
    assert err.value.code == "bad_input"
    with pytest.raises(Rejected) as err:
        client.parcel("PKG1001", "token\r\nX-Evil: 1")  # header injection never leaves the kiosk
    assert err.value.code == "bad_input"


def test_wrong_kiosk_token_is_unauthorized(server):
    with BackendClient(server.base_url, "wrong-token") as c:
        with pytest.raises(Rejected) as err:
            c.settings()
        assert (err.value.code, err.value.status) == ("unauthorized", 401)
        assert c.health().ok  # health needs no token


def test_path_segments_are_quoted(client, staff_token):
    for code in ("PKG?1001", "PKG#1001", "PKG%1001", "PKG 1001"):
        with pytest.raises(Rejected) as err:
            client.parcel(code, staff_token)
        assert err.value.code == "parcel_not_found"


def test_logs_hold_no_codes_pins_or_tokens(server, caplog):
    caplog.set_level(logging.DEBUG)
    with BackendClient(server.base_url, server.kiosk_token) as c:
        token = c.staff_login(BADGE, PIN).token
        c.lookup(member_code="MEMBER-0000002")
        c.lookup(phone="0923456789")
        with pytest.raises(Rejected):
            c.lookup(email="nobody-here@example.com")
        c.parcel("PKG1001", token)
    # the kiosk's side only: the reference server runs in this process and logs for itself
    text = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(("kiosk.api", "urllib3", "requests")))
    assert "event=backend_call" in text
    for secret in (BADGE, PIN, token, server.kiosk_token, "MEMBER-0000002", "0923456789", "nobody-here", "PKG1001"):
        assert secret not in text


def test_two_threads_share_one_client(client):
    errors: list[BaseException] = []
    results: list[str] = []

    def work():
        try:
            for _ in range(10):
                results.append(client.lookup(member_code="MEMBER-0000003").member.id)
                client.settings()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert results == ["m_3"] * 30


# -- config ---------------------------------------------------------------------------------


def test_from_config_reads_the_token_file_or_credential(server, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(server.kiosk_token + "\n")
    cfg = kconfig.parse(f'[backend]\nurl = "{server.base_url}"\ntoken_file = "{token_file}"\nread_timeout = 3.0\n')
    with BackendClient.from_config(cfg, environ={}) as c:
        assert c.timeout == (2.0, 3.0)
        assert c.settings().overdue_days == 7
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "kiosk-token").write_text(server.kiosk_token)
    cfg2 = kconfig.parse(f'[backend]\nurl = "{server.base_url}"\n')
    with BackendClient.from_config(cfg2, environ={"CREDENTIALS_DIRECTORY": str(creds)}) as c:
        assert c.settings().overdue_days == 7


def test_from_config_without_url_or_token_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"backend\.url"):
        BackendClient.from_config(kconfig.parse(""), environ={})
    with pytest.raises(ConfigError, match="token"):
        BackendClient.from_config(kconfig.parse('[backend]\nurl = "https://x.example"\n'), environ={})
    (tmp_path / "kiosk-token").write_text("t")
    with pytest.raises(ConfigError, match="http"):
        BackendClient.from_config(
            kconfig.parse('[backend]\nurl = "ftp://x.example"\n'), environ={"CREDENTIALS_DIRECTORY": str(tmp_path)}
        )


# -- a backend that is down or slow -----------------------------------------------------------


def test_backend_down_is_unavailable_within_three_seconds():
    port = free_port()  # nothing listens here: connection refused
    with BackendClient(f"http://127.0.0.1:{port}", "t") as c:
        for call in (c.health, c.settings, lambda: c.lookup(member_code="MEMBER-0000001")):
            started = time.monotonic()
            with pytest.raises(BackendUnavailable, match="refused"):
                call()
            assert time.monotonic() - started < 3.0  # docs/design.md: interactive calls give up within 3 s
        with pytest.raises(BackendUnavailable):
            c.arrive("PKG1001", "staff", idempotency_key=str(uuid.uuid4()))


def test_backend_stopped_and_started_again(server, client):
    server.stop()
    try:
        with pytest.raises(BackendUnavailable):
            client.settings()
    finally:
        server.start()
    assert client.settings().overdue_days == 7  # the pooled connection to the old server is not reused


def test_on_state_reports_down_and_up_once_each(server):
    states = []
    with BackendClient(server.base_url, server.kiosk_token, on_state=states.append) as c:
        assert c.state is None
        c.health()
        c.settings()
        with pytest.raises(Rejected):
            c.lookup(member_code="MEMBER-9999999")  # a refusal is an answer: the backend is up
        with pytest.raises(Rejected):
            c.parcel("PKG\ud800", "t")  # refused before sending: says nothing about the backend
        server.stop()
        try:
            for _ in range(2):
                with pytest.raises(BackendUnavailable):
                    c.settings()
            assert c.state == "down"
        finally:
            server.start()
        c.settings()
    assert states == ["up", "down", "up"]


def test_slow_backend_times_out_as_unavailable(server):
    with BackendClient(server.base_url, server.kiosk_token, read_timeout=0.3) as c:
        server.delay = 1.0
        try:
            with pytest.raises(BackendUnavailable, match="in time"):
                c.settings()
            with pytest.raises(BackendUnavailable, match="in time"):  # a keyed call is not retried on time-out
                c.pickup("o_3", "m_1", package_code="PKG1003", idempotency_key=str(uuid.uuid4()))
        finally:
            server.delay = 0.0
        assert c.settings().overdue_days == 7


# -- a backend that answers garbage -----------------------------------------------------------


class Scripted(ThreadingHTTPServer):
    """A real HTTP server on loopback answering from a script: path -> list of answers
    (status, content type, body bytes); the last answer repeats. Counts hits per path."""

    daemon_threads = True

    def __init__(self, script: dict[str, list[tuple[int, str, bytes]]]):
        self.script = script
        self.hits: dict[str, int] = {}
        super().__init__(("127.0.0.1", 0), _ScriptedHandler)
        self.thread = threading.Thread(target=self.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _ScriptedHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep test output clean
        pass

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        path = self.path.split("?")[0].removeprefix("/api/v1")
        hits = self.server.hits[path] = self.server.hits.get(path, 0) + 1
        answers = self.server.script.get(path) or [(404, "text/plain", b"no script")]
        status, ctype, body = answers[min(hits, len(answers)) - 1]
        self.send_response(status)
        if status in (301, 302, 307):
            self.send_header("Location", "http://127.0.0.1:1/elsewhere")
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer


def _j(obj) -> bytes:
    return json.dumps(obj).encode()


GOOD_ORDER = {
    "id": "o_1",
    "number": "A1",
    "status": "arrived",
    "member_id": "m_1",
    "customer_masked": "王*明",
    "items_summary": "x",
    "arrived_at": "2026-11-20T03:00:00Z",
    "overdue": False,
    "overdue_at": "2026-11-27T03:00:00Z",
    "locker_door": 3,
    "received_by": "s_2",
    "handed_over_by": None,
}


@pytest.mark.parametrize(
    ("path", "answer", "call"),
    [
        ("/settings", (200, "application/json", b"{not json"), lambda c: c.settings()),
        ("/settings", (200, "application/json", b"[1, 2]"), lambda c: c.settings()),
        ("/settings", (200, "application/json", _j({"overdue_days": "7"})), lambda c: c.settings()),
        ("/settings", (200, "application/json", _j({"member_code_pattern": "(["})), lambda c: c.settings()),
        ("/settings", (200, "text/html", b"<html>portal login</html>"), lambda c: c.settings()),
        ("/settings", (502, "text/html", b"<html>502 Bad Gateway</html>"), lambda c: c.settings()),
        (
            "/settings",
            (500, "application/json", _j({"error": {"code": "boom", "message": ""}})),
            lambda c: c.settings(),
        ),
        ("/settings", (302, "text/html", b""), lambda c: c.settings()),
        ("/settings", (404, "text/html", b"<html>Not Found</html>"), lambda c: c.settings()),
        ("/settings", (401, "application/json", _j({"detail": "nope"})), lambda c: c.settings()),
        ("/staff", (200, "application/json", _j([{"id": "s_1"}])), lambda c: c.staff()),
        ("/staff", (200, "application/json", _j({"id": "s_1", "name": "x"})), lambda c: c.staff()),
        ("/health", (200, "application/json", _j({"status": "ok", "time": "yesterday"})), lambda c: c.health()),
        ("/staff/login", (200, "application/json", _j({"staff_token": "t"})), lambda c: c.staff_login("B", "1")),
        (
            "/members/lookup",
            (200, "application/json", _j({"member": {"id": "m_1"}, "orders": [{**GOOD_ORDER, "status": "lost"}]})),
            lambda c: c.lookup(member_code="MEMBER-0000001"),
        ),
        (
            "/members/lookup",
            (200, "application/json", _j({"member": {"id": "m_1"}, "orders": [{**GOOD_ORDER, "overdue": "no"}]})),
            lambda c: c.lookup(member_code="MEMBER-0000001"),
        ),
        (
            "/parcels/PKG1",
            (200, "application/json", _j({**GOOD_ORDER, "locker_door": "3"})),
            lambda c: c.parcel("PKG1", "t"),
        ),
        ("/parcels/PKG1", (200, "application/json", _j({**GOOD_ORDER, "id": None})), lambda c: c.parcel("PKG1", "t")),
        (
            "/parcels/PKG1",
            (200, "application/json", _j({k: v for k, v in GOOD_ORDER.items() if k != "received_by"})),
            lambda c: c.parcel("PKG1", "t"),
        ),
        ("/orders", (200, "application/json", _j([GOOD_ORDER, 7])), lambda c: c.orders("arrived", "t")),
        ("/orders", (200, "application/json", b"[" * 100000), lambda c: c.orders("arrived", "t")),
    ],
)
def test_garbage_answers_are_unavailable_never_a_raw_error(path, answer, call):
    srv = Scripted({path: [answer]})
    try:
        with BackendClient(srv.url, "t", retries=0) as c, pytest.raises(BackendUnavailable):
            call(c)
    finally:
        srv.stop()


def test_good_scripted_answers_parse():
    settings = {"overdue_days": 3, "member_code_only": True}  # absent keys take their defaults
    srv = Scripted(
        {
            "/settings": [(200, "application/json", _j(settings))],
            "/parcels/PKG1": [(200, "application/json", _j({**GOOD_ORDER, "extra_field": [1]}))],
        }
    )
    try:
        with BackendClient(srv.url, "t") as c:
            s = c.settings()
            assert (s.overdue_days, s.member_code_only, s.lockout_attempts) == (3, True, 5)
            order = c.parcel("PKG1", "t")
            assert order.locker_door == 3
            assert order.overdue_at.isoformat() == "2026-11-27T03:00:00+00:00"
    finally:
        srv.stop()


def test_an_oversized_answer_is_unavailable():
    big = b'{"pad": "' + b"x" * (9 * 1024 * 1024) + b'"}'
    srv = Scripted({"/settings": [(200, "application/json", big)]})
    try:
        with BackendClient(srv.url, "t") as c, pytest.raises(BackendUnavailable, match="too large"):
            c.settings()
    finally:
        srv.stop()


def test_gets_and_keyed_calls_are_retried_on_502_others_are_not():
    busy = (503, "text/html", b"<html>busy</html>")
    srv = Scripted(
        {
            "/settings": [busy, (200, "application/json", _j({}))],
            "/orders/o_1/pickup": [busy, (200, "application/json", _j(GOOD_ORDER))],
            "/members/lookup": [busy, (200, "application/json", _j({"member": {"id": "m_1"}, "orders": []}))],
        }
    )
    try:
        with BackendClient(srv.url, "t", retries=2) as c:
            assert c.settings().overdue_days == 7
            assert c.pickup("o_1", "m_1", locker_door=3, idempotency_key=str(uuid.uuid4())).id == "o_1"
            with pytest.raises(BackendUnavailable, match="503"):
                c.lookup(member_code="MEMBER-0000001")  # not repeatable: a 503 ends it
        assert srv.hits == {"/settings": 2, "/orders/o_1/pickup": 2, "/members/lookup": 1}
    finally:
        srv.stop()


def test_retries_are_not_logged_with_their_paths(caplog):
    caplog.set_level(logging.DEBUG)
    busy = (502, "text/html", b"<html>bad gateway</html>")
    srv = Scripted({"/parcels/PKG-SECRET-1": [busy, (200, "application/json", _j(GOOD_ORDER))]})
    try:
        with BackendClient(srv.url, "t", retries=2) as c:
            assert c.parcel("PKG-SECRET-1", "staff-secret").id == "o_1"
        assert srv.hits["/parcels/PKG-SECRET-1"] == 2
    finally:
        srv.stop()
    assert "event=backend_call" in caplog.text
    for secret in ("PKG-SECRET-1", "staff-secret"):
        assert secret not in caplog.text


def test_retries_give_up_and_the_last_5xx_is_unavailable():
    srv = Scripted({"/settings": [(504, "text/plain", b"gateway timeout")]})
    try:
        with BackendClient(srv.url, "t", retries=2) as c, pytest.raises(BackendUnavailable, match="504"):
            c.settings()
        assert srv.hits["/settings"] == 3
    finally:
        srv.stop()


def test_a_4xx_with_the_contract_shape_is_rejected_with_its_message():
    body = _j({"error": {"code": "locked_out", "message": "too many tries"}})
    srv = Scripted({"/members/lookup": [(429, "application/json", body)]})
    try:
        with BackendClient(srv.url, "t") as c, pytest.raises(Rejected) as err:
            c.lookup(member_code="MEMBER-0000001")
        assert (err.value.code, err.value.message, err.value.status) == ("locked_out", "too many tries", 429)
    finally:
        srv.stop()


# -- TLS --------------------------------------------------------------------------------------


@pytest.fixture
def tls_server(tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-keyout", str(key), "-out", str(cert)),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    srv = Scripted({"/health": [(200, "application/json", _j({"status": "ok"}))]})
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    try:
        yield srv, f"https://127.0.0.1:{srv.server_address[1]}", cert
    finally:
        srv.stop()


def test_tls_is_verified_by_default(tls_server):
    _srv, url, _cert = tls_server
    with BackendClient(url, "t", retries=0) as c, pytest.raises(BackendUnavailable, match="TLS"):
        c.health()


def test_tls_with_the_configured_ca_bundle(tls_server):
    _srv, url, cert = tls_server
    with BackendClient(url, "t", ca_bundle=str(cert)) as c:
        assert c.health().ok
