"""The scanner: de-dup and hold-off on the kiosk clock, classification, junk, reconnects."""

from __future__ import annotations

import logging
import queue
import time

import numpy as np
import pytest
from test_camera_sources import FakeDevice  # same folder (pytest prepends it to sys.path)

from kiosk.camera import synth
from kiosk.camera.decoder import Decoder, Detection
from kiosk.camera.scanner import Scanner
from kiosk.camera.sources import OpenCVSource, SyntheticSource
from kiosk.clock import SimClock
from kiosk.codes import CodePatterns
from kiosk.events import CameraState, Scan

QR = Detection("QRCODE", "MEMBER-000123")
PKG = Detection("CODE128", "PKG-2024-0001")


def drain(q: queue.Queue) -> list:
    out = []
    while True:
        try:
            out.append(q.get_nowait())
        except queue.Empty:
            return out


def wait_for(pred, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.01)
    return False


@pytest.fixture
def clock():
    return SimClock()


@pytest.fixture
def posted():
    return queue.Queue()


@pytest.fixture
def scanner(clock, posted):
    return Scanner(SyntheticSource(320, 240), posted.put, clock=clock, hold_off=3.0, leave_frames=3)


def test_a_code_held_in_view_is_one_scan_until_hold_off_passes(scanner, clock, posted):
    (scan,) = scanner.handle([QR])
    assert isinstance(scan, Scan)
    assert (scan.symbology, scan.text, scan.kind, scan.source, scan.at) == (
        "QRCODE",
        "MEMBER-000123",
        "member",
        "camera",
        clock.monotonic(),
    )
    for _ in range(10):
        assert scanner.handle([QR]) == []
        clock.advance(0.25)
    clock.advance(0.6)  # 3.1 s since it was posted: hold-off passed, still in view
    assert len(scanner.handle([QR])) == 1
    assert [type(e) for e in drain(posted)] == [Scan, Scan]


def test_a_code_that_leaves_view_scans_again(scanner, clock):
    assert len(scanner.handle([QR, PKG])) == 2
    assert scanner.handle([]) == []
    assert scanner.handle([PKG]) == []
    assert scanner.handle([QR]) == []  # still the same presentation
    for _ in range(3):
        scanner.handle([])  # gone for three frames
    assert [s.text for s in scanner.handle([QR])] == ["MEMBER-000123"]
    # discrete frames (the synthetic camera): one empty frame means it left
    scanner.handle([], discrete=True)
    assert len(scanner.handle([QR], discrete=True)) == 1


def test_classification_and_runtime_pattern_updates(scanner):
    kinds = {
        s.text: s.kind for s in scanner.handle([QR, PKG, Detection("QRCODE", "STAFF-0042"), Detection("QRCODE", "x!")])
    }
    assert kinds == {"MEMBER-000123": "member", "PKG-2024-0001": "member", "STAFF-0042": "staff", "x!": "unknown"}
    scanner.set_patterns(CodePatterns(member=r"MEMBER-\d{6}", parcel=r"PKG-[0-9-]+"))
    for _ in range(3):
        scanner.handle([])
    kinds = {s.text: s.kind for s in scanner.handle([QR, PKG])}
    assert kinds == {"MEMBER-000123": "member", "PKG-2024-0001": "parcel"}


def test_junk_is_dropped_with_a_log_line_without_the_code(scanner, posted, caplog):
    caplog.set_level(logging.INFO, logger="kiosk.camera.scanner")
    junk = [
        Detection("CODE128", "PKG\x1d0001SECRET"),
        Detection("QRCODE", "A" * 129 + "SECRET"),
        Detection("QRCODE", "   "),
    ]
    assert scanner.handle(junk) == []
    assert drain(posted) == []
    assert scanner.stats["junk"] == 3
    assert caplog.text.count("event=scan_dropped") == 3
    assert "SECRET" not in caplog.text
    scanner.handle([QR])
    assert "MEMBER-000123" not in caplog.text  # accepted codes are logged by reference only


def test_outer_spaces_are_trimmed(scanner):
    (scan,) = scanner.handle([Detection("QRCODE", " MEMBER-000999 ")])
    assert scan.text == "MEMBER-000999"


def test_worker_scans_shown_codes_once_and_goes_quiet(clock, posted):
    src = SyntheticSource(640, 360)
    with Scanner(src, posted.put, clock=clock, fps=30) as sc:
        shows = [("MEMBER-000123", "QRCODE"), ("MEMBER-000123", "QRCODE"), ("PKG-2024-0001", "CODE128")]
        for text, sym in shows:  # the same code shown twice is two scans: it left the view between
            src.show(text, sym)
            assert not sc.quiet()
            assert sc.wait_quiet(10)
            scans = [e for e in drain(posted) if isinstance(e, Scan)]
            assert [(s.symbology, s.text) for s in scans] == [(sym, text)]
        assert sc.state == "ok"
        # an idle view: the same empty frame is not decoded again and again
        decoded = sc.stats["decoded"]
        time.sleep(0.3)
        assert sc.stats["decoded"] <= decoded + 1
        # a control character in a shown code: decoded, then dropped
        src.show_image(synth.render_code("MEMBER\t01", "QRCODE", module=4))
        assert sc.wait_quiet(10)
        assert [e for e in drain(posted) if isinstance(e, Scan)] == []
        assert sc.stats["junk"] == 1


def test_unplugged_synthetic_camera_is_lost_and_comes_back(clock, posted):
    src = SyntheticSource(320, 240)
    with Scanner(src, posted.put, clock=clock, stall_timeout=3.0) as sc:
        assert wait_for(lambda: sc.state == "ok")
        src.unplug()
        time.sleep(0.1)
        clock.advance(2.0)
        time.sleep(0.1)
        assert sc.state == "ok"  # 2 s without a frame is not yet a stall
        clock.advance(1.5)
        assert wait_for(lambda: sc.state == "absent")
        src.plug()  # the device reappears: reopened at once, no backoff wait
        assert wait_for(lambda: sc.state == "ok")
        src.show("MEMBER-000777")
        assert sc.wait_quiet(10)
    states = [e.state for e in drain(posted) if isinstance(e, CameraState)]
    assert states == ["ok", "lost", "absent", "ok"]


class NodeDevice(FakeDevice):
    """A fake camera whose device node can vanish; present() is not known (a URL-like source)."""


def test_opencv_camera_reopens_with_backoff_on_the_kiosk_clock(clock, posted, caplog):
    caplog.set_level(logging.INFO, logger="kiosk.camera.scanner")
    dev = NodeDevice()
    src = OpenCVSource("http://cam.local/video", capture_factory=dev.capture)
    with Scanner(src, posted.put, clock=clock, stall_timeout=2.0, reopen_backoff=1.0, reopen_backoff_max=4.0) as sc:
        assert wait_for(lambda: sc.state == "ok")
        dev.plugged = False
        time.sleep(0.05)
        clock.advance(2.5)
        assert wait_for(lambda: sc.state == "absent")
        opens = dev.opens
        time.sleep(0.2)
        assert dev.opens == opens  # no retry until kiosk time passes
        clock.advance(1.0)  # backoff 1 s
        assert wait_for(lambda: dev.opens == opens + 1)
        clock.advance(1.0)  # next backoff is 2 s: nothing yet
        time.sleep(0.1)
        assert dev.opens == opens + 1
        dev.plugged = True
        clock.advance(1.0)
        assert wait_for(lambda: sc.state == "ok")
    states = [e.state for e in drain(posted) if isinstance(e, CameraState)]
    assert states == ["ok", "lost", "absent", "ok"]
    assert caplog.text.count("state=absent") == 1  # logged once, not per attempt


class FrozenCapture:
    """OpenCV's read() keeps returning True with the same stale frame."""

    def __init__(self, *_):
        self.frame = np.random.default_rng(1).integers(0, 255, (60, 80, 3), dtype=np.uint8)

    def isOpened(self):
        return True

    def set(self, *_):
        return True

    def read(self):
        return True, self.frame

    def release(self):
        pass


def test_a_frozen_camera_counts_as_lost(clock, posted):
    src = OpenCVSource("http://cam.local/video", capture_factory=FrozenCapture)
    with Scanner(src, posted.put, clock=clock, stall_timeout=3.0) as sc:
        assert wait_for(lambda: sc.state == "ok")
        time.sleep(0.1)
        clock.advance(3.5)
        # the state it posted, not sc.state: reopening a frozen camera succeeds at once, and a
        # poll of sc.state can miss the moment it was lost (seen under load)
        assert wait_for(lambda: any(s in ("lost", "reopening", "absent") for s in _posted_states(posted)))
    assert [e.state for e in drain(posted) if isinstance(e, CameraState)][:2] == ["ok", "lost"]


def _posted_states(q: queue.Queue) -> list[str]:
    """The camera states posted so far, left in the queue."""
    with q.mutex:
        return [e.state for e in q.queue if isinstance(e, CameraState)]


def test_camera_absent_at_start_is_retried(clock, posted):
    dev = FakeDevice()
    dev.plugged = False

    def factory():
        return OpenCVSource("http://cam.local/video", capture_factory=dev.capture)

    with Scanner(None, posted.put, clock=clock, source_factory=factory) as sc:
        assert wait_for(lambda: sc.state == "absent")
        dev.plugged = True
        clock.advance(1.0)
        assert wait_for(lambda: sc.state == "ok")


def test_process_decodes_a_frame_synchronously(clock, posted):
    sc = Scanner(SyntheticSource(320, 240), posted.put, clock=clock, decoder=Decoder(symbologies=["QRCODE"]))
    frame = synth.camera_frame("MEMBER-000321", "QRCODE", (640, 480), np.random.default_rng(0))
    assert [s.text for s in sc.process(frame)] == ["MEMBER-000321"]
    assert sc.process(frame) == []


def test_a_scanner_needs_a_source():
    with pytest.raises(ValueError, match="source"):
        Scanner(None, print)


class BusyNodeSource(OpenCVSource):
    """A device node that is there but cannot be opened (another process holds the camera)."""

    def present(self):
        return True


def test_a_present_but_busy_camera_is_retried_on_the_backoff_only(clock, posted):
    dev = FakeDevice()
    src = BusyNodeSource("/dev/video9", capture_factory=dev.capture)
    with Scanner(src, posted.put, clock=clock, stall_timeout=1.0, reopen_backoff=2.0) as sc:
        assert wait_for(lambda: sc.state == "ok")
        dev.plugged = False
        time.sleep(0.05)
        clock.advance(1.5)
        assert wait_for(lambda: sc.state == "absent")
        opens = dev.opens
        time.sleep(0.3)
        assert dev.opens == opens  # not hammered while the node exists
        clock.advance(2.0)
        assert wait_for(lambda: dev.opens == opens + 1)


def test_a_dark_still_view_is_not_a_stall(clock, posted):
    class DarkCapture(FrozenCapture):
        def __init__(self, *_):
            self.frame = np.zeros((60, 80, 3), np.uint8)

    src = OpenCVSource("http://cam.local/video", capture_factory=DarkCapture)
    with Scanner(src, posted.put, clock=clock, stall_timeout=1.0) as sc:
        assert wait_for(lambda: sc.state == "ok")
        clock.advance(5.0)
        time.sleep(0.2)
        assert sc.state == "ok"


def test_scanner_from_config_with_the_synthetic_camera(clock, posted):
    from kiosk import config

    cfg = config.parse('[camera]\nsource = "synthetic"\nwidth = 640\nheight = 360\n[scanner]\nhold_off = 1.5\n')
    sc = Scanner.from_config(cfg, posted.put, clock=clock)
    assert (sc.hold_off, sc.effort, sc.source) == (1.5, "normal", None)
    with sc:
        assert wait_for(lambda: sc.state == "ok")
        assert isinstance(sc.source, SyntheticSource)
        sc.source.show("STAFF-0042")
        assert sc.wait_quiet(10)
    assert [(e.text, e.kind) for e in drain(posted) if isinstance(e, Scan)] == [("STAFF-0042", "staff")]


class SceneCapture:
    """A live camera: the current scene plus a little sensor noise on every frame."""

    def __init__(self, scene):
        self.scene = scene
        self.rng = np.random.default_rng(3)

    def __call__(self, *_):
        return self

    def isOpened(self):
        return True

    def set(self, *_):
        return True

    def read(self):
        noise = self.rng.integers(-2, 3, self.scene.shape, dtype=np.int16)
        return True, np.clip(self.scene.astype(np.int16) + noise, 0, 255).astype(np.uint8)

    def release(self):
        pass


def test_an_unchanging_live_view_is_not_decoded_over_and_over(clock, posted):
    rng = np.random.default_rng(0)
    empty = synth.background(640, 360, rng)
    cap = SceneCapture(empty)
    src = OpenCVSource("http://cam.local/video", capture_factory=cap)
    with Scanner(src, posted.put, clock=clock, fps=50) as sc:
        assert wait_for(lambda: sc.stats["skipped"] >= 10)
        assert sc.stats["decoded"] < sc.stats["skipped"]
        assert sc.state == "ok"  # noisy frames: not a frozen camera
        cap.scene = synth.camera_frame("MEMBER-000555", "QRCODE", (640, 360), rng)  # someone shows a code
        assert wait_for(lambda: any(isinstance(e, Scan) for e in list(posted.queue)))
    assert [e.text for e in drain(posted) if isinstance(e, Scan)] == ["MEMBER-000555"]
