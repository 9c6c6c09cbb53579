"""Customer notices (docs/api.md r2, "Notices") against a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import email
import email.policy
import re
import threading
import time
from datetime import UTC, datetime

import pytest
import requests
from backoffice_support import AdminClient, backoffice_seed, kiosk_headers
from conftest import running
from sqlalchemy import select, update

from kiosk.server import db, notices
from kiosk.server.harness import ServerThread, free_port
from kiosk.server.notices import Mail, NoticeSender, SmtpConfig, backoff, compose, is_permanent

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")


class Inbox:
    """An aiosmtpd handler that keeps every message; ``refuse`` answers RCPT with that line."""

    def __init__(self, refuse: str | None = None):
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse = refuse
        self.arrived = threading.Event()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.arrived.set()
        return "250 Message accepted"

    def bodies(self) -> list[str]:
        return [m.get_content() for m in self.messages]


class MailServer:
    """aiosmtpd on a fixed loopback port that can be stopped and started again."""

    def __init__(self, inbox: Inbox, port: int | None = None):
        self.inbox = inbox
        self.port = port or free_port()
        self.controller = None

    def start(self) -> MailServer:
        self.controller = aiosmtpd_controller.Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"


@pytest.fixture
def server():
    yield from running(ServerThread(seed=backoffice_seed()))


@pytest.fixture
def inbox():
    return Inbox()


@pytest.fixture
def mail(inbox):
    ms = MailServer(inbox).start()
    yield ms
    ms.stop()


def sender_for(server, url: str, **kw) -> NoticeSender:
    kw.setdefault("poll", 0.05)
    kw.setdefault("backoff_first", 0.2)
    return NoticeSender(server.store, SmtpConfig(url, "shop@example.net", timeout=3), **kw)


def arrive(server, package_code: str, badge="STAFF-0001", pin="2468") -> dict:
    h = kiosk_headers()
    r = requests.post(server.api_url + "/staff/login", json={"badge_code": badge, "pin": pin}, headers=h, timeout=10)
    staff = r.json()["staff_token"]
    r = requests.post(
        server.api_url + f"/parcels/{package_code}/arrive",
        json={},
        headers={**kiosk_headers(key=True), "X-Staff-Token": staff},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    return r.json()


def notice_rows(server, order_id: str) -> list:
    with server.store.read() as conn:
        return conn.execute(
            select(notices.notices).where(notices.notices.c.order_id == order_id).order_by(notices.notices.c.id)
        ).all()


def wait_for(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


# ---------------------------------------------------------------- writing


def test_zh_tw_body_names_store_order_items_deadline_and_code_on_its_own_line():
    overdue_at = datetime(2026, 11, 27, 3, 0, tzinfo=UTC).timestamp()
    m = compose(kind="arrival", lang="zh-TW", to="a@example.com", store_name="信義門市", timezone="Asia/Taipei",
                number="A1001", items="T-shirt x2", overdue_at=overdue_at, pickup_code="480213")  # fmt: skip
    lines = m.body.splitlines()
    assert "取件碼：480213" in lines
    assert "A1001" in m.subject
    assert any("信義門市" in line for line in lines)
    assert any("T-shirt x2" in line for line in lines)
    assert any("2026-11-27 11:00" in line for line in lines)  # 03:00 UTC is 11:00 in Taipei
    assert "a@example.com" not in repr(m)
    assert "480213" not in repr(m)


def test_english_body_and_reminder_subject():
    overdue_at = datetime(2026, 11, 27, 3, 0, tzinfo=UTC).timestamp()
    m = compose(kind="reminder", lang="en", to="a@example.com", store_name="Xinyi", timezone="America/New_York",
                number="B7", items=None, overdue_at=overdue_at, pickup_code="000123")  # fmt: skip
    assert "Pickup code: 000123" in m.body.splitlines()
    assert "B7" in m.subject
    assert "Reminder" in m.subject
    assert "2026-11-26 22:00" in m.body  # New York


def test_smtp_urls():
    c = SmtpConfig("smtps://shop%40x.tw:p%40ss@mail.example.net")
    assert (c.tls, c.host, c.port, c.user, c.password) == (True, "mail.example.net", 465, "shop@x.tw", "p@ss")
    assert "p@ss" not in repr(c)
    assert "p%40ss" not in repr(c)
    plain = SmtpConfig("smtp://127.0.0.1:2525", "from@example.net")
    assert (plain.tls, plain.port, plain.mail_from) == (False, 2525, "from@example.net")
    for bad in ("http://x", "smtp://", "smtp://host:notaport", "smtp://host:70000", "smtp://[::1", "mail.example.net"):
        with pytest.raises(ValueError, match="smtp"):
            SmtpConfig(bad)


def test_backoff_doubles_and_is_capped_at_ten_minutes():
    assert [backoff(n) for n in (1, 2, 3)] == [5.0, 10.0, 20.0]
    assert backoff(50) == 600.0


def test_permanent_refusals_are_5xx_only():
    import smtplib

    assert is_permanent(smtplib.SMTPRecipientsRefused({"a@x": (550, b"no")}))
    assert not is_permanent(smtplib.SMTPRecipientsRefused({"a@x": (450, b"later")}))
    assert is_permanent(smtplib.SMTPDataError(554, b"rejected"))
    assert not is_permanent(smtplib.SMTPServerDisconnected("gone"))
    assert not is_permanent(ConnectionRefusedError())


# ---------------------------------------------------------------- sending


def test_arrival_notice_goes_out_in_the_members_language_with_the_pickup_code(server, mail, inbox):
    sender = sender_for(server, mail.url).start()
    try:
        order = arrive(server, "PKG1001")  # m_1, zh-TW
        assert inbox.arrived.wait(10)
        admin = AdminClient(server)
        code = admin.order("A1001")["pickup_code"]
        msg = inbox.messages[0]
        assert inbox.envelopes[0] == ("shop@example.net", ["ming@example.com"])
        assert "A1001" in msg["Subject"]
        assert f"取件碼：{code}" in msg.get_content().splitlines()
        assert "信義門市" in msg.get_content()
        assert wait_for(lambda: notice_rows(server, order["id"])[0].state == "sent")
        shown = admin.order("A1001")["notices"]
        assert shown[0]["kind"] == "arrival"
        assert shown[0]["state"] == "sent"
        assert shown[0]["sent_at"].endswith("Z")
        inbox.arrived.clear()
        arrive(server, "PKG1005")  # m_2 speaks English
        assert wait_for(lambda: len(inbox.messages) == 2)
        english = inbox.messages[1].get_content()
        assert f"Pickup code: {admin.order('A1005')['pickup_code']}" in english.splitlines()
        assert inbox.envelopes[1][1] == ["Emily.Chen@example.org"]
        admin.close()
    finally:
        sender.stop()


def test_no_email_no_notice(server, mail, inbox):
    with server.store.write() as conn:
        conn.execute(update(db.members).where(db.members.c.id == "m_1").values(email=None, email_lower=None))
    arrive(server, "PKG1001")
    assert notice_rows(server, "o_1") == []


def test_a_notice_made_while_the_mail_server_is_down_is_sent_once_after_it_comes_back(server, inbox):
    mail = MailServer(inbox)  # its port, not listening yet
    sender = sender_for(server, mail.url).start()
    try:
        order = arrive(server, "PKG1001")
        assert wait_for(lambda: notice_rows(server, order["id"])[0].attempts >= 2)  # refused, retried
        row = notice_rows(server, order["id"])[0]
        assert row.state == "unsent"
        assert row.last_error
        assert "@" not in row.last_error
        mail.start()
        assert wait_for(lambda: notice_rows(server, order["id"])[0].state == "sent", 15)
        time.sleep(1.0)  # more polls: nothing goes out again
        assert len(inbox.messages) == 1
    finally:
        sender.stop()
        mail.stop()


def test_a_start_tries_every_waiting_notice_at_once(server, mail, inbox):
    arrive(server, "PKG1001")
    with server.store.write() as conn:  # as if the last try was refused and the next is an hour away
        conn.execute(update(notices.notices).values(attempts=7, next_try_at=time.time() + 3600))
    sender = sender_for(server, mail.url).start()
    try:
        assert inbox.arrived.wait(10)
        assert wait_for(lambda: notice_rows(server, "o_1")[0].state == "sent")
    finally:
        sender.stop()


def test_a_5xx_refusal_marks_the_notice_failed(server):
    inbox = Inbox(refuse="550 5.1.1 no such mailbox")
    mail = MailServer(inbox).start()
    sender = sender_for(server, mail.url).start()
    try:
        arrive(server, "PKG1001")
        assert wait_for(lambda: notice_rows(server, "o_1")[0].state == "failed")
        time.sleep(0.5)
        assert notice_rows(server, "o_1")[0].attempts == 1  # not retried
        assert AdminClient(server).order("A1001")["notices"][0]["state"] == "failed"
    finally:
        sender.stop()
        mail.stop()


def test_two_senders_send_a_notice_once(server, mail, inbox):
    senders = [sender_for(server, mail.url).start() for _ in range(3)]
    try:
        arrive(server, "PKG1001")
        arrive(server, "PKG1005")
        assert wait_for(lambda: len(inbox.messages) == 2)
        time.sleep(0.8)
        assert len(inbox.messages) == 2
    finally:
        for s in senders:
            s.stop()


def test_resend_from_the_back_office_goes_out(server, mail, inbox):
    sender = sender_for(server, mail.url).start()
    admin = AdminClient(server)
    try:
        assert admin.post("/orders/o_2/notify", json={}).status_code == 202  # a seed order: its first notice
        assert inbox.arrived.wait(10)
        assert any(line.startswith("取件碼：") for line in inbox.bodies()[0].splitlines())
    finally:
        sender.stop()
        admin.close()


def test_reminder_before_overdue_for_announced_orders_only(server, mail, inbox):
    arrive(server, "PKG1001")  # announced
    day = 86400.0
    with server.store.write() as conn:  # overdue after 7 days, reminders 2 days before: 5.5 days ago is due
        conn.execute(
            update(db.orders).where(db.orders.c.id.in_(["o_1", "o_2"])).values(arrived_at=time.time() - 5.5 * day)
        )
        conn.execute(update(notices.notices).values(state="sent"))
    sender = sender_for(server, mail.url, reminder_every=0.1).start()
    try:
        assert wait_for(lambda: len(inbox.messages) == 1)
        msg = inbox.messages[0]
        assert "A1001" in msg["Subject"]
        assert "提醒" in msg["Subject"]
        time.sleep(0.5)
        assert len(inbox.messages) == 1  # one reminder, and none for the seed order A1002
        assert [n.kind for n in notice_rows(server, "o_1")] == ["arrival", "reminder"]
        assert notice_rows(server, "o_2") == []
    finally:
        sender.stop()


def test_no_reminder_when_reminder_days_is_zero(server):
    arrive(server, "PKG1001")
    with server.store.write() as conn:
        conn.execute(update(db.orders).where(db.orders.c.id == "o_1").values(arrived_at=time.time() - 6.5 * 86400))
    AdminClient(server).patch("/settings", json={"reminder_days": 0})
    with server.store.write() as conn:
        assert notices.queue_reminders(conn, time.time()) == 0
    AdminClient(server).patch("/settings", json={"reminder_days": 1})
    with server.store.write() as conn:
        assert notices.queue_reminders(conn, time.time()) == 1
        assert notices.queue_reminders(conn, time.time()) == 0  # once


def test_unsent_without_smtp_and_counted_in_metrics(server):
    arrive(server, "PKG1001")
    assert notice_rows(server, "o_1")[0].state == "unsent"
    text = requests.get(server.base_url + "/metrics", timeout=10).text
    assert "pickup_notices_unsent 1.0" in text


def test_mail_repr_hides_personal_data():
    m = Mail(to="ming@example.com", subject="訂單 A1 已到", body="取件碼：123456")
    assert "ming" not in repr(m)
    assert "123456" not in repr(m)


@pytest.mark.parametrize("workers", [1, 2])
def test_the_server_command_sends_notices_with_smtp(tmp_path, mail, inbox, workers):
    """``pickup-kiosk server --smtp … --mail-from …`` (and its worker processes) send each notice once."""
    import os
    import signal
    import subprocess
    import sys

    from kiosk.server.store import Store

    url = f"sqlite:///{tmp_path}/server.db"
    store = Store(url)
    store.load_seed(backoffice_seed())
    store.close()
    port = free_port()
    cmd = [sys.executable, "-m", "kiosk", "server", "--db", url, "--port", str(port), "--workers", str(workers),
           "--smtp", mail.url, "--mail-from", "shop@example.net", "--log-level", "warning"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        server = type("S", (), {"api_url": f"http://127.0.0.1:{port}/api/v1"})()
        assert wait_for(lambda: _healthy(server.api_url), 30)
        time.sleep(0.5 * workers)
        arrive(server, "PKG1001")
        assert inbox.arrived.wait(15)
        assert inbox.envelopes[0] == ("shop@example.net", ["ming@example.com"])
        time.sleep(2.5)  # every worker's sender has looked again
        assert len(inbox.messages) == 1
        # /metrics: one view whichever worker answers (latency histograms added up across workers)
        for _ in range(20):
            requests.get(server.api_url + "/health", timeout=5)  # a new connection each: any worker
        base = server.api_url.removesuffix("/api/v1")
        pattern = r'pickup_http_request_duration_seconds_count\{method="GET",route="/api/v1/health"\} (\d+)'
        for _ in range(3):
            found = re.search(pattern, requests.get(base + "/metrics", timeout=5).text)
            assert found is not None
            assert int(float(found.group(1))) >= 20
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)


def _healthy(api_url: str) -> bool:
    try:
        return requests.get(api_url + "/health", timeout=1).status_code == 200
    except requests.RequestException:
        return False
