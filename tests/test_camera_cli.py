"""``pickup-kiosk decode``: real generated images in, DESIGN.md's output out."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from kiosk.camera import cli, synth


@pytest.fixture
def images(tmp_path):
    qr = tmp_path / "member.png"
    cv2.imwrite(str(qr), synth.camera_frame("MEMBER-000123", "QRCODE", (640, 480), np.random.default_rng(1)))
    two = tmp_path / "two codes.jpg"
    frame = synth.CASES["several"](np.random.default_rng(2), [("QRCODE", "会員-0001"), ("CODE128", "PKG-2024-0001")])
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
    assert lines[0] == json.dumps(first)  # exactly DESIGN.md's shape and key order
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
