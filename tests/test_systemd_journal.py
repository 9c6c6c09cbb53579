"""Journal lines (stable event names, key=value fields, priority prefixes) and the personal-data check."""

from __future__ import annotations

import io
import logging
import re

import pytest

from kiosk.journal import format_event, log_event, setup_logging
from kiosk.privacy import assert_no_personal_data, code_ref, find_personal_data, mask_email, mask_name, mask_phone

SEED = {
    "kiosks": [{"id": "k_1", "token": "dev-kiosk-token"}],
    "staff": [{"id": "s_1", "name": "陳小華", "badge_code": "STAFF-0001", "pin": "2468"}],
    "members": [
        {
            "id": "m_1",
            "name": "王小明",
            "phone": "0912345678",
            "email": "ming@example.com",
            "member_code": "MEMBER-0000001",
        }
    ],
    "orders": [{"id": "o_1", "number": "A1001", "member_id": "m_1", "package_code": "PKG1001", "status": "shipped"}],
}


@pytest.fixture(autouse=True)
def _restore_root_logger():
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    root.setLevel(level)
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)


# journald's event grep: every line the kiosk logs on purpose looks like this
EVENT_LINE = re.compile(r"^<[0-7]>[\w.]+: event=[a-z][a-z0-9_]*( [a-z][a-z0-9_]*=(\"(\\.|[^\"\\])*\"|[^\s\"=]+))*$")


def test_clean_text_has_no_findings():
    text = "\n".join(
        [
            "<6>kiosk.flow: event=lookup member=" + code_ref("MEMBER-0000001") + " orders=2 ms=35",
            "<6>kiosk.flow: event=pickup order=A1001 door=3 ms=182",
            "<6>kiosk.flow: event=staff_login staff=s_1 badge=" + code_ref("STAFF-0001"),
            f"<6>kiosk.screens: event=show customer={mask_name('王小明')} phone={mask_phone('0912345678')}",
            f"<6>kiosk.screens: event=show email={mask_email('ming@example.com')} port=24680 ms=12468",
        ]
    )
    assert find_personal_data(text, SEED) == []
    assert_no_personal_data(text, SEED)


@pytest.mark.parametrize(
    ("line", "where"),
    [
        ("event=lookup name=王小明", "members[m_1].name"),
        ("event=lookup phone=0912345678", "members[m_1].phone"),
        ("event=lookup phone=0912-345-678", "members[m_1].phone"),
        ("event=lookup phone=+886 912345678", "members[m_1].phone"),
        ("event=lookup email=Ming@Example.COM", "members[m_1].email"),
        ("event=scan text=MEMBER-0000001", "members[m_1].member_code"),
        ("event=staff_login badge=STAFF-0001", "staff[s_1].badge_code"),
        ("event=staff_login pin=2468", "staff[s_1].pin"),
        ('event=keypad typed="2468"', "staff[s_1].pin"),
        ("event=staff name=陳小華", "staff[s_1].name"),
        ("event=scan code=PKG1001", "orders[o_1].package_code"),
        ("event=request auth=Bearer dev-kiosk-token", "kiosks[k_1].token"),
    ],
)
def test_each_kind_of_personal_data_is_found(line, where):
    found = find_personal_data("event=start\n" + line, SEED)
    assert found == [f"{where} in line 2"]
    with pytest.raises(AssertionError) as info:
        assert_no_personal_data(line, SEED)
    # the finding names the field, never the value
    assert where in str(info.value)
    assert line.split("=")[-1] not in str(info.value)


def test_empty_or_missing_seed_fields_are_ignored():
    seed = {"members": [{"id": "m_2", "name": "", "phone": None}], "staff": [{"id": "s_2"}]}
    assert find_personal_data("event=idle\n", seed) == []


def test_event_lines_through_the_journal_handler_are_greppable(caplog):
    stream = io.StringIO()
    handler = setup_logging(logging.INFO, stream, prefix=True)
    try:
        log = logging.getLogger("kiosk.test_journal")
        log_event(log, "door_forced", logging.WARNING, door=3, order="A1002")
        log_event(log, "pickup", order="A1002", door=3, ms=182)
        log_event(log, "backend_down", logging.ERROR, reason="connection refused", retry_in=2.5)
        log_event(log, "outbox_sent", key=None, ok=True)
    finally:
        logging.getLogger().removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert lines == [
        "<4>kiosk.test_journal: event=door_forced door=3 order=A1002",
        "<6>kiosk.test_journal: event=pickup order=A1002 door=3 ms=182",
        '<3>kiosk.test_journal: event=backend_down reason="connection refused" retry_in=2.5',
        "<6>kiosk.test_journal: event=outbox_sent key=- ok=1",
    ]
    for line in lines:
        assert EVENT_LINE.match(line), line
    # what `journalctl -u pickup-kiosk -g event=door_forced` finds
    assert [line for line in lines if re.search("event=door_forced", line)] == [lines[0]]


def test_a_value_cannot_forge_another_field_or_line():
    line = format_event("scan", note='x event=door_forced\nevent=fake "q"')
    assert "\n" not in line
    assert line.count(" event=") == 0 or line.index(" event=") > line.index('"')
    assert re.findall(r"(?:^| )event=(\w+)", line.split('"')[0]) == ["scan"]


# -- the journal's native protocol (opt-in: PICKUP_KIOSK_JOURNAL=native) --------------------------


@pytest.fixture
def journal_socket(tmp_path):
    import socket

    path = tmp_path / "journal"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(2.0)
    yield str(path), sock
    sock.close()


def test_native_handler_sends_event_fields(journal_socket):
    from kiosk.journal import JournalHandler, decode_fields

    path, sock = journal_socket
    handler = JournalHandler(address=path)
    log = logging.getLogger("kiosk.test_native")
    log.addHandler(handler)
    log.propagate = False
    log.setLevel(logging.INFO)
    try:
        log_event(log, "door_forced", logging.WARNING, door=3, order="A1002", note="two words", ok=True)
    finally:
        log.removeHandler(handler)
        log.propagate = True
        handler.close()
    fields = dict(decode_fields(sock.recv(65536)))
    assert fields["MESSAGE"] == 'kiosk.test_native: event=door_forced door=3 order=A1002 note="two words" ok=1'
    assert fields["PRIORITY"] == "4"
    assert fields["SYSLOG_IDENTIFIER"] == "pickup-kiosk"
    assert fields["EVENT"] == "door_forced"
    assert (fields["KIOSK_DOOR"], fields["KIOSK_ORDER"], fields["KIOSK_NOTE"], fields["KIOSK_OK"]) == (
        "3",
        "A1002",
        "two words",
        "1",
    )
    # the caller, not journal.py, is where the line came from
    assert fields["CODE_FILE"].endswith("test_systemd_journal.py")


def test_native_handler_multiline_and_fallback(journal_socket, tmp_path):
    from kiosk.journal import JournalHandler, decode_fields, encode_fields

    raw = [("MESSAGE", "line one\nline two"), ("PRIORITY", "3")]
    assert decode_fields(encode_fields(raw)) == raw

    path, sock = journal_socket
    stream = io.StringIO()
    fallback = logging.StreamHandler(stream)
    handler = JournalHandler(address=path, fallback=fallback)
    log = logging.getLogger("kiosk.test_native2")
    log.addHandler(handler)
    log.propagate = False
    try:
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("event=crash")
        fields = dict(decode_fields(sock.recv(65536)))
        assert "Traceback" in fields["MESSAGE"]
        assert "ValueError: boom" in fields["MESSAGE"]
        # no journal there: the record goes to stderr, with its priority prefix
        handler.address = str(tmp_path / "no-journal")
        log_event(log, "backend_down", logging.ERROR, reason="refused")
    finally:
        log.removeHandler(handler)
        log.propagate = True
        handler.close()
    assert stream.getvalue() == "<3>kiosk.test_native2: event=backend_down reason=refused\n"


def test_setup_logging_native_only_when_asked(monkeypatch):
    from kiosk.journal import JournalHandler

    monkeypatch.delenv("PICKUP_KIOSK_JOURNAL", raising=False)
    handler = setup_logging(logging.INFO)
    try:
        assert not isinstance(handler, JournalHandler)
    finally:
        logging.getLogger().removeHandler(handler)
    handler = setup_logging(logging.INFO, native=True)
    try:
        assert isinstance(handler, JournalHandler)
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
