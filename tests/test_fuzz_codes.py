"""Fuzzing what reads codes (issue 7): ``kiosk.codes`` (clean, classify), the decoder's text
handling of raw symbol bytes, the scanner's junk filter and the USB keyboard wedge. Any input
gives an answer of the documented shape and never an exception; junk never becomes a scan and
its log line never holds the code."""

from __future__ import annotations

import logging
import re
import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.camera.decoder import Detection, _zbar_text, code39_full_ascii
from kiosk.camera.scanner import Scanner
from kiosk.clock import SimClock
from kiosk.codes import MAX_CODE_LENGTH, CodeKind, CodePatterns, clean
from kiosk.events import Scan
from kiosk.screens.inputs import USB_SYMBOLOGY, KeyboardWedge
from kiosk.screens.view import Typed

FUZZ = settings(max_examples=200, deadline=None)
LOG_LINE = re.compile(
    r"event=scan_dropped reason=junk symbology=[A-Z0-9]+ length=\d+"
    r"|event=scan symbology=[A-Z0-9]+ kind=[a-z]+ code=h:[0-9a-f]{10}"
)
HOSTILE = st.sampled_from(
    [
        "MEMBER-0000001",
        "STAFF-0001",
        "PKG1001",
        "' OR 1=1 --",
        "../../etc/passwd",
        "https://evil.example/x?y=1",
        "MEMBER-0000001\x00",
        "\u202emoc.live",
        "A" * 129,
        " MEMBER-0000001 ",
        "\ud800",
        "STAFF-0001\n",
        "",
    ]
)
codes_text = st.one_of(st.text(max_size=160), HOSTILE, st.text(alphabet="MEBRSTAFPKG0123456789-:_ ", max_size=20))


@FUZZ
@given(codes_text)
def test_clean_gives_a_usable_code_or_none(text):
    code = clean(text)
    if code is None:
        return
    assert code == text.strip(" ")
    assert 0 < len(code) <= MAX_CODE_LENGTH
    assert not any(unicodedata.category(ch) == "Cc" for ch in code)


@FUZZ
@given(codes_text)
def test_classify_answers_for_any_text(text):
    kind = CodePatterns().classify(text)
    assert isinstance(kind, CodeKind)
    assert (kind is CodeKind.JUNK) == (clean(text) is None)
    if kind is CodeKind.STAFF:
        assert clean(text).startswith("STAFF-")


@FUZZ
@given(st.sampled_from(["QRCODE", "CODE128", "CODE39", "EAN13", "I25", "DATAMATRIX", "?"]), st.binary(max_size=200))
def test_symbol_bytes_always_become_text(symbology, data):
    text = _zbar_text(symbology, data)
    assert isinstance(text, str)
    if symbology not in ("QRCODE", "CODE39"):
        assert text.encode("latin-1") == data  # exactly as encoded


@FUZZ
@given(st.text(alphabet="ABCXYZ0123456789-. $%/+", max_size=30))
def test_code39_full_ascii_never_fails(text):
    out = code39_full_ascii(text)
    assert isinstance(out, str)
    assert len(out) <= len(text)
    if not any(c in text for c in "$%/+"):
        assert out == text


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["QRCODE", "CODE128"]), codes_text), max_size=6))
def test_the_scanner_posts_only_clean_codes_and_logs_no_junk(caplog, detections):
    posted = []
    scanner = Scanner(source=None, post=posted.append, clock=SimClock(), source_factory=lambda: None)
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        scans = scanner.handle([Detection(s, t) for s, t in detections], discrete=True)
    assert posted == scans
    wanted = {(s, clean(t)) for s, t in detections if clean(t) is not None}
    assert {(s.symbology, s.text) for s in scans} == wanted
    for scan in scans:
        assert isinstance(scan, Scan)
        assert clean(scan.text) == scan.text
        assert scan.kind in ("member", "parcel", "staff", "unknown")
    # the junk line and the scan line hold no code, only its length or a salted hash of it
    for record in caplog.records:
        assert LOG_LINE.fullmatch(record.getMessage()), record.getMessage()


keys = st.lists(
    st.tuples(
        st.one_of(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), st.just("\n")),
        st.sampled_from([0.0, 0.001, 0.01, 0.049, 0.051, 0.2, 2.0]),
    ),
    max_size=40,
)


@FUZZ
@given(keys, st.integers(1, 8))
def test_the_keyboard_wedge_loses_and_invents_nothing(strokes, min_length):
    """Every printable key ends up in exactly one Typed or Scan, in order; Enters end scans."""
    wedge = KeyboardWedge(min_length=min_length)
    now = 100.0
    out = []
    expected = []
    for ch, gap in strokes:
        now += gap
        out += wedge.poll(now)
        if ch == "\n":
            got, consumed = wedge.enter(now)
            out += got
            if not consumed:
                out.append(Typed("\n"))
                expected.append("\n")
        else:
            out += wedge.feed(ch, now)
            expected.append(ch)
    out += wedge.flush()
    assert not wedge.pending
    text = []
    for item in out:
        if isinstance(item, Scan):
            assert item.symbology == USB_SYMBOLOGY
            assert len(item.text) >= min_length
            assert item.source == "usb"
        else:
            assert isinstance(item, Typed)
            assert item.text
        text.append(item.text)
    assert "".join(text) == "".join(expected)


def test_a_fast_burst_ending_in_enter_is_one_scan():
    wedge = KeyboardWedge()
    out = []
    for i, ch in enumerate("MEMBER-0000001"):
        out += wedge.feed(ch, 10.0 + i * 0.005)
    got, consumed = wedge.enter(10.0 + 14 * 0.005)
    assert consumed
    assert out == []
    assert [s.text for s in got] == ["MEMBER-0000001"]
