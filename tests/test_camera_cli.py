"""``pickup-kiosk decode``: real generated images in, docs/design.md's output out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.camera import cli, synth

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import decode_sets


@pytest.fixture
def images(tmp_path):
    qr = tmp_path / "member.png"
    cv2.imwrite(str(qr), synth.camera_frame("MEMBER-000123", "QRCODE", (640, 480), np.random.default_rng(1)))
    two = tmp_path / "two codes.jpg"
    frame = decode_sets.CASES["several"](
        np.random.default_rng(2), [("QRCODE", "会員-0001"), ("CODE128", "PKG-2024-0001")]
    )
    cv2.imwrite(str(two), frame, [cv2.IMWRITE_JPEG_QUALITY, 90])
    empty = tmp_path / "empty.png"
    cv2.imwrite(str(empty), synth.background(320, 240, np.random.default_rng(3)))
    bad = tmp_path / "notes.jpg"
    bad.write_text("this is not a picture")
    return qr, two, empty, bad


def test_json_output_one_line_per_image(images, capsys):
    qr, two, empty, _ = images
    assert cli.main(["--json", str(qr), str(two), str(empty)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    first = json.loads(lines[0])
    assert first == {"path": str(qr), "codes": [{"symbology": "QRCODE", "text": "MEMBER-000123"}]}
    assert lines[0] == json.dumps(first)  # exactly docs/design.md's shape and key order
    second = json.loads(lines[1])
    assert second["path"] == str(two)
    assert sorted((c["symbology"], c["text"]) for c in second["codes"]) == [
        ("CODE128", "PKG-2024-0001"),
        ("QRCODE", "会員-0001"),
    ]
    assert json.loads(lines[2]) == {"path": str(empty), "codes": []}


def test_a_bad_image_is_an_error_but_the_others_decode(images, capsys):
    qr, _, _, bad = images
    missing = bad.parent / "missing.png"
    assert cli.main(["--json", str(bad), str(qr), str(missing)]) != 0
    out, err = capsys.readouterr()
    assert [json.loads(line)["path"] for line in out.splitlines()] == [str(qr)]
    assert f"{bad}: not an image" in err
    assert f"{missing}: no such file" in err


def test_plain_output(images, capsys):
    qr, _, empty, _ = images
    assert cli.main([str(qr), str(empty)]) == 0
    assert capsys.readouterr().out.splitlines() == [f"{qr}: QRCODE MEMBER-000123", f"{empty}: no code found"]


def test_through_the_kiosk_command_line(images):
    qr, _, _, bad = images
    run = subprocess.run(
        [sys.executable, "-m", "kiosk", "decode", "--json", "--engine", "zbar", str(qr), str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode != 0
    assert json.loads(run.stdout) == {"path": str(qr), "codes": [{"symbology": "QRCODE", "text": "MEMBER-000123"}]}
    assert "not an image" in run.stderr


def test_a_folder_is_not_an_image(tmp_path, capsys):
    assert cli.main([str(tmp_path)]) == 2
    assert "a folder, not an image" in capsys.readouterr().err


def _codes(out: str) -> list[list[tuple[str, str]]]:
    return [sorted((c["symbology"], c["text"]) for c in json.loads(line)["codes"]) for line in out.splitlines()]


def test_exif_rotated_jpeg_is_turned_upright(tmp_path, capsys):
    """A phone stores a portrait photo sideways with an EXIF orientation; the reading is the same."""
    from PIL import Image

    code = synth.render_code("PKG-ROT-0001", "CODE39", module=3)
    stored = np.ascontiguousarray(np.rot90(code, 1))  # bars lie horizontal in the stored pixels
    exif = Image.Exif()
    exif[0x0112] = 8  # "rotate 90 degrees clockwise to view"
    path = tmp_path / "sideways.jpg"
    Image.fromarray(stored).save(path, exif=exif, quality=95)
    assert cv2.imread(str(path)).shape[:2] == code.shape  # OpenCV applies the orientation
    assert cli.main(["--json", str(path)]) == 0
    assert _codes(capsys.readouterr().out) == [[("CODE39", "PKG-ROT-0001")]]


def test_formats_depths_transparency_and_a_corrupt_file(tmp_path, capsys):
    frame = synth.camera_frame("MEMBER-FMT-1", "QRCODE", (640, 480), np.random.default_rng(4))
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    paths = []
    for name, img in [
        ("a.png", frame),
        ("b.webp", frame),
        ("c.bmp", frame),
        ("d16.png", gray.astype(np.uint16) * 257),  # 16-bit grayscale
        ("e.png", gray),
    ]:
        assert cv2.imwrite(str(tmp_path / name), img)
        paths.append(str(tmp_path / name))
    # black modules on a transparent background (what a code generator exports)
    q = synth.render_code("MEMBER-ALPHA", "QRCODE", module=6)
    rgba = np.zeros((*q.shape, 4), np.uint8)
    rgba[..., 3] = np.where(q < 128, 255, 0)
    assert cv2.imwrite(str(tmp_path / "f.png"), rgba)
    corrupt = tmp_path / "cut.jpg"
    cv2.imwrite(str(corrupt), frame)
    corrupt.write_bytes(corrupt.read_bytes()[:200])  # a truncated download
    paths += [str(corrupt), str(tmp_path / "f.png")]
    assert cli.main(["--json", *paths]) == 2
    out = capsys.readouterr()
    assert _codes(out.out) == [[("QRCODE", "MEMBER-FMT-1")]] * 5 + [[("QRCODE", "MEMBER-ALPHA")]]
    assert "cut.jpg" in out.err
    assert "not an image" in out.err


def test_a_big_photo(tmp_path, capsys):
    """8000x6000 (48 MP): read, at a still's effort."""
    big = np.full((6000, 8000), 190, np.uint8)
    code = synth.render_code("MEMBER-HUGE-1", "QRCODE", module=24)
    big[2500 : 2500 + code.shape[0], 4000 : 4000 + code.shape[1]] = code
    path = tmp_path / "big.jpg"
    cv2.imwrite(str(path), big, [cv2.IMWRITE_JPEG_QUALITY, 80])
    assert cli.main(["--json", str(path)]) == 0
    assert _codes(capsys.readouterr().out) == [[("QRCODE", "MEMBER-HUGE-1")]]
