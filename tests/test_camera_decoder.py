"""The decoder on real generated images: every symbology, character sets, the hard cases."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.camera import synth
from kiosk.camera.decoder import Decoder, Detection, code39_full_ascii, locate, to_gray

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import decode_sets

zxingcpp = pytest.importorskip("zxingcpp")


@pytest.fixture(scope="module")
def decoder():
    return Decoder()


def read(decoder, image, effort=None):
    return {(d.symbology, d.text) for d in decoder.decode(image, effort=effort)}


@pytest.mark.parametrize(
    ("symbology", "text"),
    [
        ("QRCODE", "MEMBER-0000001"),
        ("CODE128", "PKG-2024-000123"),
        ("CODE39", "ABC-123"),
        ("EAN13", "4006381333931"),
        ("I25", "12345678"),
    ],
)
def test_each_symbology_in_a_camera_frame(decoder, symbology, text):
    frame = synth.camera_frame(text, symbology, (1280, 720), np.random.default_rng(3))
    assert frame.shape == (720, 1280, 3)
    assert read(decoder, frame) == {(symbology, text)}


def test_grayscale_and_bgra_frames_are_accepted(decoder):
    frame = synth.camera_frame("MEMBER-42", "QRCODE", (640, 480), np.random.default_rng(1))
    assert read(decoder, cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)) == {("QRCODE", "MEMBER-42")}
    assert read(decoder, cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA)) == {("QRCODE", "MEMBER-42")}


def test_an_empty_view_has_no_codes(decoder):
    rng = np.random.default_rng(5)
    for busy in (False, True):
        frame = synth.finish(synth.background(1280, 720, rng, busy=busy), rng)
        assert decoder.decode(frame) == []
    assert locate(to_gray(synth.background(1280, 720, rng))) == []


def test_a_uniform_frame_and_a_tiny_frame(decoder):
    assert decoder.decode(np.zeros((720, 1280), np.uint8)) == []
    assert decoder.decode(np.full((8, 8, 3), 255, np.uint8)) == []


@pytest.mark.parametrize(
    ("text", "mode"),
    [("会員コード テスト", "kanji"), ("Grüße café", "byte"), ("Grüße café 会員", "byte")],
)
def test_qr_text_exactly_as_encoded(decoder, text, mode):
    """Shift_JIS (kanji mode), Latin-1 and UTF-8 byte contents all come back as the same str."""
    import segno

    qr = segno.make_qr(text, encoding="utf-8" if "会員" in text and mode == "byte" else None)
    img = synth.render_code(text, "QRCODE", module=5) if qr.mode == mode else None
    if img is None:  # segno chose another mode: render that QR ourselves
        img = np.kron(np.where(np.array(qr.matrix, bool), 0, 255).astype(np.uint8), np.ones((5, 5), np.uint8))
        img = cv2.copyMakeBorder(img, 20, 20, 20, 20, cv2.BORDER_CONSTANT, value=255)
    assert read(decoder, img, effort="full") == {("QRCODE", text)}
    # zbar alone too (it guesses Shift_JIS for UTF-8 bytes; the decoder undoes that)
    assert read(Decoder(engine="zbar"), img, effort="full") == {("QRCODE", text)}


def test_code128_latin1_and_code39_full_ascii(decoder):
    latin = synth.render_code("Café-Zoë 12", "CODE128", module=3)
    assert read(decoder, latin, effort="full") == {("CODE128", "Café-Zoë 12")}
    full_ascii = synth.render_code("pkg-ab12", "CODE39", module=3)
    assert read(decoder, full_ascii, effort="full") == {("CODE39", "pkg-ab12")}
    assert code39_full_ascii("+P+K+G-+A+B12") == "pkg-ab12"
    assert code39_full_ascii("AB+") == "AB+"  # an invalid escape leaves the text as it is
    assert code39_full_ascii("%U$J") == "\x00\n"


def test_upca_is_reported_as_ean13_like_pyzbar(decoder):
    img = synth.render_code("03600029145", "UPCA", module=3)
    (det,) = decoder.decode(img, effort="full")
    assert (det.symbology, det.text) == ("EAN13", "0036000291452")


def test_data_matrix_with_zxing(decoder):
    img = synth.render_code("PKG-DM-0001", "DATAMATRIX", module=6)
    assert read(decoder, img, effort="full") == {("DATAMATRIX", "PKG-DM-0001")}


def test_symbologies_restrict_what_is_read():
    frame = synth.camera_frame("PKG-123456", "CODE128", (1280, 720), np.random.default_rng(2))
    assert Decoder(symbologies=["QRCODE"]).decode(frame, effort="full") == []
    assert read(Decoder(symbologies=["CODE128"]), frame) == {("CODE128", "PKG-123456")}


@pytest.mark.parametrize("engine", ["zbar", "zxing"])
def test_each_engine_alone(engine):
    frame = synth.camera_frame("MEMBER-7", "QRCODE", (1280, 720), np.random.default_rng(4))
    d = Decoder(engine=engine)
    assert d.engines == (engine,)
    assert read(d, frame) == {("QRCODE", "MEMBER-7")}


def test_several_codes_in_one_frame(decoder):
    codes = [("QRCODE", "MEMBER-ABC123"), ("CODE128", "PKG-000777"), ("EAN13", "4006381333931")]
    frame = decode_sets.CASES["several"](np.random.default_rng(9), codes)
    assert read(decoder, frame) == set(codes)


def qr_beside_a_label(lines: int, label_top: int) -> np.ndarray:
    """1280x720: a clean QR code (174 px with its quiet zone) at the top left, a Code128 label
    (``lines`` of print above the code) below it; close enough to make one candidate patch."""
    import barcode
    import segno
    from barcode.writer import ImageWriter
    from PIL import Image

    frame = np.full((720, 1280), 120, np.uint8)
    buf = io.BytesIO()
    segno.make_qr("MEMBER-0042").save(buf, kind="png", scale=6, border=4)
    qr = np.asarray(Image.open(buf).convert("L"))
    frame[40 : 40 + qr.shape[0], 56 : 56 + qr.shape[1]] = qr
    buf = io.BytesIO()
    barcode.get("code128", "PKG-0042-K1", writer=ImageWriter()).write(
        buf, options={"module_width": 0.3, "module_height": 14.0, "quiet_zone": 3.0}
    )
    code = np.asarray(Image.open(buf).convert("L"))
    label = np.full((30 * lines + 30 + code.shape[0], code.shape[1] + 40), 250, np.uint8)
    for i, line in enumerate(("Pickup Store 12", "Counter B, shelf 4", "Handle with care")[:lines]):
        cv2.putText(label, line, (15, 25 + 30 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.7, 30, 2, cv2.LINE_AA)
    label[30 * lines + 15 : 30 * lines + 15 + code.shape[0], 20 : 20 + code.shape[1]] = code
    label = label[: 720 - label_top]
    frame[label_top : label_top + label.shape[0], 46 : 46 + label.shape[1]] = label
    return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)


@pytest.mark.parametrize(("lines", "label_top"), [(0, 240), (0, 248), (2, 232), (3, 240)])
def test_a_qr_code_and_a_label_in_one_patch_are_both_read(decoder, lines, label_top):
    """Issue 10: the QR code and the label made one candidate patch; the patch's first read looked
    only for the kind it resembled (1D) and the QR code beside the Code128 was never returned."""
    from pyzbar import pyzbar

    frame = qr_beside_a_label(lines, label_top)
    both = {("QRCODE", "MEMBER-0042"), ("CODE128", "PKG-0042-K1")}
    # a fair frame: each plain engine reads both codes from the whole frame
    assert {(d.type, d.data.decode()) for d in pyzbar.decode(frame)} == both
    names = {"QRCode": "QRCODE", "Code128": "CODE128"}
    assert {(names[b.format.name], b.text) for b in zxingcpp.read_barcodes(frame)} == both
    assert read(decoder, frame) == both
    assert read(decoder, frame, effort="normal") == both
    assert read(decoder, frame, effort="full") == both
    # one candidate patch holds both (what made the first read miss the other code)
    r = locate(to_gray(frame))[0]
    for x, y in ((143, 127), (400, label_top + 100)):  # the QR code's centre, a point on the bars
        assert r.x <= x <= r.x + r.w
        assert r.y <= y <= r.y + r.h


def test_a_turned_1d_reading_is_boxed_where_the_bars_are(decoder):
    """A 1D code read turned upright is boxed in the frame where its bars are (not the whole crop
    round it, which would hide a code beside it from the later candidates)."""
    code = synth.render_code("PKG-12345ABCDE", "CODE128", module=3, bar_height=80)
    for angle in (30.0, 90.0):
        frame = synth.place(
            np.full((720, 1280, 3), 128, np.uint8),
            code,
            synth.Placement(center=(0.4, 0.5), angle=angle),
            np.random.default_rng(1),
        )
        (d,) = decoder.decode(frame)
        ys, xs = np.nonzero(frame[..., 1] < 60)  # the bars
        x, y, w, h = d.rect
        assert x <= xs.mean() <= x + w
        assert y <= ys.mean() <= y + h
        # the box hugs the bars: no more than their extent plus a little
        assert w <= xs.max() - xs.min() + 40
        assert h <= ys.max() - ys.min() + 40


def test_inverted_codes_dark_mode_screens(decoder):
    for i, sym in enumerate(("QRCODE", "CODE128")):
        codes = [(sym, decode_sets.random_text(sym, np.random.default_rng(i)))]
        frame = decode_sets.CASES["inverted"](np.random.default_rng(i), codes)
        assert read(decoder, frame, effort="fast") == set(codes)


def test_hard_cases_sample(decoder):
    """Two frames of every hard case (the full table is in benchmarks/decode.py)."""
    samples = decode_sets.evaluation_set(per_case=2, seed=7)
    misses = []
    for s in samples:
        got = read(decoder, s.image)
        misses += [(s.case, sym) for sym, _ in set(s.expected) - got]
        assert got <= set(s.expected), f"{s.case}: read something that is not there"
    total = sum(len(s.expected) for s in samples)
    assert len(misses) <= total // 10, misses


def test_bad_input_is_refused_clearly(decoder):
    with pytest.raises(TypeError, match="numpy array"):
        decoder.decode("photo.jpg")
    with pytest.raises(ValueError, match="channels"):
        decoder.decode(np.zeros((10, 10, 2), np.uint8))
    with pytest.raises(ValueError, match="empty"):
        decoder.decode(np.zeros((0, 0), np.uint8))
    with pytest.raises(ValueError, match="unknown symbology"):
        Decoder(symbologies=["QRCODE", "AZTEC"])
    with pytest.raises(ValueError, match="engine"):
        Decoder(engine="magic")
    with pytest.raises(ValueError, match="effort"):
        decoder.decode(np.zeros((10, 10), np.uint8), effort="max")


def test_float_and_bool_images_are_converted(decoder):
    img = synth.render_code("MEMBER-FLOAT", "QRCODE", module=4)
    assert read(decoder, img.astype(np.float32) / 255.0, effort="full") == {("QRCODE", "MEMBER-FLOAT")}
    assert read(decoder, img > 128, effort="full") == {("QRCODE", "MEMBER-FLOAT")}


def test_detections_are_frozen_and_keep_the_code_out_of_repr():
    d = Detection("QRCODE", "MEMBER-SECRET", (1, 2, 3, 4), "zxing")
    assert d == Detection("QRCODE", "MEMBER-SECRET")
    assert (d.type, d.data) == ("QRCODE", b"MEMBER-SECRET")
    assert "SECRET" not in repr(d)
    with pytest.raises(AttributeError):
        d.text = "x"


def test_a_part_of_an_itf_is_not_a_reading():
    """ITF has no check digit: a run of digit pairs inside the bars decodes validly. A reading whose
    scan line has bars running on past its end is a part, and is dropped."""
    from kiosk.camera.decoder import _itf_complete

    img = synth.render_code("12345678901234", "I25", module=3)  # 10 modules (30 px) of quiet zone
    h, w = img.shape
    assert _itf_complete(img, (30, h / 2), (w - 30, h / 2), 14)
    part = 30 + 0.45 * (w - 60)
    assert not _itf_complete(img, (30, h / 2), (part, h / 2), 6)
    assert not _itf_complete(img, (part, h / 2), (w - 30, h / 2), 8)


def test_check_digits_and_digit_pairs():
    from kiosk.camera.decoder import _plausible

    assert _plausible(Detection("EAN13", "4006381333931"))
    assert not _plausible(Detection("EAN13", "4006381333932"))
    assert not _plausible(Detection("EAN13", "400638133393"))
    assert _plausible(Detection("I25", "123456"))
    assert not _plausible(Detection("I25", "12345"))


def test_a_bare_decode_of_a_photo_gets_the_still_effort():
    """ITF-14 with bearer bars (a thick frame 10 modules out) in a 3 MP photo: plain engines read
    nothing; Decoder().decode(photo) with no effort named reads it, and never a part of it."""
    rng = np.random.default_rng(21)
    text = decode_sets.itf14(rng)
    img = decode_sets.photo(rng, [("I25", text)], sizes=((2048, 1536),), fill=(0.2, 0.3), bearer=True, blur=0.8)
    assert read(Decoder(), img) == {("I25", text)}
    assert read(Decoder(), img, effort="fast") <= {("I25", text)}


@pytest.mark.parametrize("case", ["p_cylinder", "p_steep", "p_low_light", "p_textured", "p_screen"])
def test_photo_like_stills_sample(decoder, case, monkeypatch):
    """One 3 MP still of some photo cases (the full table: benchmarks/decode.py --eval)."""
    monkeypatch.setattr(decode_sets, "PHOTO_SIZES", ((2048, 1536),))
    fn, syms = decode_sets.PHOTO_CASES[case]
    rng = np.random.default_rng([5, len(case)])
    codes = [(syms[0], decode_sets.random_text(syms[0], rng))]
    assert read(decoder, fn(rng, codes)) == set(codes)


def test_engines_that_disagree_about_a_1d_code_give_no_reading():
    from kiosk.camera.decoder import _merge_detections

    zx = Detection("CODE39", "PKG12345", (100, 100, 300, 60), "zxing")
    zb = Detection("CODE39", "PKG12B45", (102, 98, 298, 64), "zbar")
    assert _merge_detections([zx], [zb]) == []
    # the same reading twice, a part of it, or a different code elsewhere: kept
    assert _merge_detections([zx], [Detection("CODE39", "PKG12345", (0, 0, 5, 5), "zbar")]) == [zx]
    other = Detection("CODE39", "OTHER-1", (600, 100, 300, 60), "zbar")
    assert _merge_detections([zx], [other]) == [zx, other]
