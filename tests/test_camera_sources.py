"""Frame sources: files, the synthetic camera, OpenCV with a fake capture, config."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from kiosk.camera import synth
from kiosk.camera.sources import (
    FileSource,
    FrameSource,
    OpenCVSource,
    SyntheticSource,
    load_image,
    open_source,
    parse_device,
)
from kiosk.errors import CameraError


class FakeDevice:
    """What a USB camera does: frames while plugged; read() fails and open fails when unplugged."""

    def __init__(self, shape=(120, 160, 3)):
        self.plugged = True
        self.opens = 0
        self.releases = 0
        self.props = {}
        self.rng = np.random.default_rng(0)
        self.shape = shape

    def capture(self, device):
        self.opens += 1
        return FakeCapture(self)


class FakeCapture:
    def __init__(self, dev: FakeDevice):
        self.dev = dev
        self.open = dev.plugged

    def isOpened(self):
        return self.open

    def set(self, prop, value):
        self.dev.props[prop] = value
        return True

    def read(self):
        if not (self.open and self.dev.plugged):
            return False, None
        return True, self.dev.rng.integers(0, 255, self.dev.shape, dtype=np.uint8)

    def release(self):
        self.dev.releases += 1
        self.open = False


def test_opencv_source_reads_and_releases_with_a_fake_capture():
    dev = FakeDevice()
    with OpenCVSource("/dev/video7", 640, 480, 15, capture_factory=dev.capture) as src:
        assert src.read().shape == (120, 160, 3)
        assert dev.props[cv2.CAP_PROP_FRAME_WIDTH] == 640
        assert dev.props[cv2.CAP_PROP_FPS] == 15
        dev.plugged = False
        assert src.read() is None
        with pytest.raises(CameraError, match="cannot open camera /dev/video7"):
            src.open()
        dev.plugged = True
        src.open()
        assert src.read() is not None
    assert dev.releases >= 2


def test_closing_a_source_whose_release_fails_logs_it_and_forgets_the_device(caplog):
    """A camera unplugged mid-session may fail to let go; close() must not raise (the scanner and
    the kiosk's shutdown call it), and a second close() does not try the dead device again."""
    dev = FakeDevice()

    def broken_release():
        dev.releases += 1
        raise cv2.error("VIDEOIO: device gone")

    src = OpenCVSource("rtsp://user:secret@10.0.0.5:554/stream", capture_factory=dev.capture)
    src._device.release = broken_release
    with caplog.at_level(logging.DEBUG, logger="kiosk.camera.sources"):
        src.close()
        src.close()
    assert dev.releases == 1
    assert src.read() is None
    (record,) = [r for r in caplog.records if "camera_release_failed" in r.getMessage()]
    assert "source=opencv:rtsp://10.0.0.5:554" in record.getMessage()
    assert "secret" not in caplog.text


def test_opencv_source_name_hides_url_credentials():
    dev = FakeDevice()
    src = OpenCVSource("rtsp://user:secret@10.0.0.5:554/stream", capture_factory=dev.capture)
    assert "secret" not in src.name
    assert "10.0.0.5" in src.name
    assert src.present() is None
    src.close()


def test_parse_device():
    assert parse_device("0") == 0
    assert parse_device(" 2 ") == 2
    assert parse_device("/dev/video0") == "/dev/video0"


def test_file_source_image_folder_and_bad_files(tmp_path):
    img = synth.render_code("MEMBER-1", "QRCODE")
    cv2.imwrite(str(tmp_path / "a.png"), img)
    cv2.imwrite(str(tmp_path / "b.jpg"), img)
    (tmp_path / "notes.txt").write_text("not an image")
    with FileSource(tmp_path / "a.png") as still:
        assert still.read().shape[:2] == img.shape
        assert still.read() is still.read()  # the same frame, a stable frame_id
        assert still.frame_id is not None
    folder = FileSource(tmp_path)
    assert folder.read() is not None
    assert folder.read() is not None
    assert folder.read() is None  # the end, without loop
    looping = FileSource(tmp_path, loop=True)
    assert all(looping.read() is not None for _ in range(5))
    with pytest.raises(CameraError, match="not an image"):
        FileSource(tmp_path / "notes.txt")
    with pytest.raises(CameraError, match="no such file"):
        load_image(tmp_path / "missing.png")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CameraError, match="no images"):
        FileSource(empty)


def test_file_source_video(tmp_path):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (160, 120))
    if not writer.isOpened():
        pytest.skip("no MJPG writer in this OpenCV build")
    for i in range(3):
        writer.write(np.full((120, 160, 3), i * 50, np.uint8))
    writer.release()
    src = FileSource(path)
    frames = [src.read() for _ in range(4)]
    assert [f is not None for f in frames] == [True, True, True, False]
    src.close()


def test_synthetic_source_show_until_decoded_then_empty():
    src = SyntheticSource(640, 480)
    assert isinstance(src, FrameSource)
    empty, fid0 = src.grab()
    assert not src.pending
    src.show("MEMBER-0001")
    frame, fid1 = src.grab()
    assert src.pending
    assert fid1 != fid0
    assert frame is not empty
    assert frame.shape == (480, 640, 3)
    src.decoded([], fid0)  # a stale frame's result does not count
    assert src.pending
    src.decoded(["something"], fid1)
    assert not src.pending
    assert src.read() is empty
    src.show("PKG-1", "CODE128")
    for _ in range(src.max_attempts):  # never decoded: given up after max_attempts
        src.decoded([], src.frame_id)
    assert not src.pending


def test_synthetic_source_unplug_and_plug(tmp_path):
    src = SyntheticSource(320, 240)
    src.show_image(np.zeros((50, 50, 3), np.uint8))
    src.unplug()
    assert src.read() is None
    assert src.present() is False
    assert not src.pending  # nothing can be decoded while unplugged
    with pytest.raises(CameraError, match="unplugged"):
        src.open()
    src.plug()
    src.open()
    assert src.read().shape == (50, 50, 3)
    assert src.pending
    with pytest.raises(CameraError, match="no such file"):
        src.show_image(tmp_path / "nope.jpg")


def test_open_source_from_config(tmp_path):
    cfg = SimpleNamespace(source="synthetic", width=320, height=240, fps=10)
    assert isinstance(open_source(cfg), SyntheticSource)
    assert open_source(SimpleNamespace(source="none")) is None
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((10, 10), np.uint8))
    assert isinstance(open_source(SimpleNamespace(source=str(tmp_path / "a.png"))), FileSource)
    with pytest.raises(CameraError):
        open_source(SimpleNamespace(source=str(tmp_path / "missing.mp4")))


def test_synthetic_source_refuses_what_it_cannot_render():
    src = SyntheticSource(320, 240)
    with pytest.raises(ValueError, match="cannot render a EAN13 code of 6 characters") as err:
        src.show("SECRET", "EAN13")
    assert "SECRET" not in str(err.value)
    with pytest.raises(ValueError, match="AZTEC"):
        src.show("X", "AZTEC")
    assert not src.pending
