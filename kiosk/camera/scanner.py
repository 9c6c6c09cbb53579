"""The camera scanner: a worker thread from frame source to ``Scan`` events.

source -> :class:`~kiosk.camera.decoder.Decoder` -> clean (junk dropped, logged without the
code) -> classify (:class:`kiosk.codes.CodePatterns`, replaceable at runtime) -> de-duplicate ->
``post(Scan(...))``.

De-duplication: a code held in front of the camera is one scan. It scans again once it has left
the view (missing from ``leave_frames`` decoded frames in a row; from one frame when the
source's frames are discrete, like the synthetic camera's) or once ``hold_off`` seconds of kiosk
time have passed since it was posted.

Camera health: a camera that gives no good frame (or the same frozen frame, which OpenCV's
``read()`` may keep returning) for ``stall_timeout`` seconds of kiosk time is ``lost``: it is
released and reopened with exponential backoff (kiosk clock, capped at ``reopen_backoff_max``),
at once when the device reappears (``source.present()``). Each state change is posted once as
:class:`kiosk.events.CameraState` and logged once; scanning resumes on its own.

The loop pulls frames in real time, decoding at most ``fps`` frames a second and skipping
frames the source says are unchanged (``frame_id``), so an idle kiosk costs little CPU. All
kiosk timing (hold-off, stall, backoff) is on the injected clock, so a ``SimClock`` controls it.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from kiosk.camera.decoder import Decoder, Detection
from kiosk.camera.sources import FrameSource
from kiosk.clock import Clock
from kiosk.codes import CodeKind, CodePatterns, clean
from kiosk.errors import CameraError
from kiosk.events import CameraState, Scan
from kiosk.journal import log_event
from kiosk.lifecycle import Worker
from kiosk.privacy import code_ref

logger = logging.getLogger(__name__)


@dataclass
class _Seen:
    posted_at: float
    misses: int = 0


class Scanner(Worker):
    """Reads codes from a frame source on a worker thread and posts ``Scan`` events.

    ``source``: an open :class:`FrameSource` (or None with ``source_factory``, a callable that
    opens one: used when the camera is absent at start). ``post``: called with each
    :class:`Scan` and :class:`CameraState` (from the worker thread; it must be thread-safe,
    e.g. ``queue.put``). ``clock``: the kiosk clock.
    """

    def __init__(
        self,
        source: FrameSource | None,
        post: Callable[[object], None],
        *,
        clock: Clock | None = None,
        decoder: Decoder | None = None,
        patterns: CodePatterns | None = None,
        hold_off: float = 3.0,
        fps: float = 15.0,
        stall_timeout: float = 3.0,
        reopen_backoff: float = 1.0,
        reopen_backoff_max: float = 30.0,
        leave_frames: int = 3,
        effort: str = "normal",
        source_factory: Callable[[], FrameSource] | None = None,
        poll: float = 0.01,
    ) -> None:
        if source is None and source_factory is None:
            raise ValueError("a scanner needs a source or a source_factory")
        super().__init__("scanner")
        self.source = source
        self._factory = source_factory
        self._post = post
        self.clock = clock or Clock()
        self.decoder = decoder or Decoder()
        self._patterns = patterns or CodePatterns()
        self.hold_off = hold_off
        self.fps = fps
        self.stall_timeout = stall_timeout
        self.reopen_backoff = reopen_backoff
        self.reopen_backoff_max = reopen_backoff_max
        self.leave_frames = leave_frames
        self.effort = effort
        self.poll = poll
        self.state = "starting"
        self._seen: dict[tuple[str, str], _Seen] = {}
        self._lock = threading.RLock()
        self._busy = False
        self._last_good = self.clock.monotonic()
        self._last_fid: object = None
        self._fingerprint: bytes | None = None
        self._fingerprint_at = self.clock.monotonic()
        self._backoff = reopen_backoff
        self._reopen_timer = None
        self._reopen_due = threading.Event()
        self._present: bool | None = None
        self._frames = 0
        self._thumb: np.ndarray | None = None
        self._thumb_at = 0.0
        self._last_empty = False
        self.static_refresh = 1.0  # seconds (real time): a static view is still decoded this often
        self.stats = {"frames": 0, "decoded": 0, "skipped": 0, "scans": 0, "junk": 0, "duplicates": 0}

    @classmethod
    def from_config(
        cls,
        config: object,
        post: Callable[[object], None],
        clock: Clock | None = None,
        source: FrameSource | None = None,
        patterns: CodePatterns | None = None,
        source_factory: Callable[[], FrameSource | None] | None = None,
    ) -> Scanner:
        """A scanner from the ``[camera]`` and ``[scanner]`` config sections, on ``source`` or, without
        one, on what ``source_factory`` opens (by default the ``[camera]`` source)."""
        from kiosk.camera.sources import open_source

        camera, scanner = config.camera, config.scanner
        decoder = Decoder(engine=scanner.engine, symbologies=scanner.symbologies, effort="normal")
        return cls(
            source,
            post,
            clock=clock,
            decoder=decoder,
            patterns=patterns,
            hold_off=scanner.hold_off,
            fps=camera.fps,
            stall_timeout=camera.stall_timeout,
            reopen_backoff_max=camera.reopen_backoff_max,
            effort=getattr(scanner, "effort", "normal"),
            source_factory=None if source is not None else (source_factory or (lambda: open_source(camera))),
        )

    # -- control ----------------------------------------------------------------------------------

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread, then cancel a pending reopen and close the source."""
        super().stop(timeout)
        if self._reopen_timer is not None:
            self._reopen_timer.cancel()
        if self.source is not None:
            self.source.close()

    def set_patterns(self, patterns: CodePatterns) -> None:
        """New code patterns (the backend's settings changed); used from the next frame on."""
        self._patterns = patterns

    @property
    def patterns(self) -> CodePatterns:
        return self._patterns

    def wake(self) -> None:
        """Look at the source now (e.g. right after a code was shown to the synthetic camera)."""
        self._wake.set()

    def quiet(self) -> bool:
        """Nothing to wait for: no shown frame waits to be decoded, none is being decoded, and a
        source with frame ids has had its current frame looked at (the empty view after a code
        too, so the same code shown again is a new scan). A camera that is away is quiet: what
        is shown to it waits for the reopen (kiosk clock). Not quiet: a camera just reopened
        (its first frame is on the way, then ``ok`` is posted), and one whose stall time has
        passed on the kiosk clock without the worker having looked since (it is about to be
        called lost: the kiosk must show that before anyone relies on the camera)."""
        src = self.source
        if src is None:
            return True
        if self.state in ("lost", "absent"):
            if self._running() and self._reopen_imminent(src):
                self._wake.set()
                return False
            return True
        if self._running() and (self.state == "reopening" or self._stall_due()):
            self._wake.set()
            return False
        if self._busy or src.pending:
            return False
        fid = src.frame_id
        return fid is None or fid == self._last_fid

    def _running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stop.is_set()

    def _reopen_imminent(self, src: FrameSource) -> bool:
        """The worker is about to try the camera again: its reopen timer is due, or the device
        has reappeared since it last looked (it reopens at once then)."""
        if self._reopen_due.is_set():
            return True
        try:
            return self.state == "absent" and self._present is False and src.present() is True
        except Exception:
            return False

    def _stall_due(self) -> bool:
        return self.state in ("ok", "starting") and self.clock.monotonic() - self._last_good >= self.stall_timeout

    def wait_quiet(self, timeout: float = 5.0) -> bool:
        """Wait (real time) until :meth:`quiet`; True if it became quiet in time."""
        end = time.monotonic() + timeout
        while not self.quiet():
            if time.monotonic() >= end:
                return False
            self._wake.set()
            time.sleep(0.005)
        return True

    # -- one frame ---------------------------------------------------------------------------------

    def process(self, frame: np.ndarray, frame_id: object = None, effort: str | None = None) -> list[Scan]:
        """Decode one frame and post its new scans (the worker calls this; tests may too)."""
        try:
            detections = self.decoder.decode(frame, effort=effort or self.effort)
        except Exception:
            logger.exception("event=decode_failed")
            detections = []
        self.stats["decoded"] += 1
        return self.handle(detections, discrete=frame_id is not None)

    def handle(self, detections: list[Detection], discrete: bool = False) -> list[Scan]:
        """De-duplicate, clean and classify detections; post and return the new scans."""
        now = self.clock.monotonic()
        scans = []
        with self._lock:
            keys = set()
            for d in detections:
                key = (d.symbology, d.text)
                if key in keys:
                    continue
                keys.add(key)
                seen = self._seen.get(key)
                if seen is not None and now - seen.posted_at < self.hold_off:
                    seen.misses = 0
                    self.stats["duplicates"] += 1
                    continue
                self._seen[key] = _Seen(now)
                code = clean(d.text)
                if code is None:
                    self.stats["junk"] += 1
                    log_event(
                        logger,
                        "scan_dropped",
                        logging.WARNING,
                        reason="junk",
                        symbology=d.symbology,
                        length=len(d.text),
                    )
                    continue
                kind = self._patterns.classify(code)
                kind_name = kind.value if kind is not CodeKind.JUNK else CodeKind.UNKNOWN.value
                scans.append(Scan(d.symbology, code, now, kind=kind_name, source="camera"))
            # codes not in this frame: after enough misses they have left the view
            need = 1 if discrete else self.leave_frames
            for key in list(self._seen):
                if key in keys:
                    continue
                seen = self._seen[key]
                seen.misses += 1
                if seen.misses >= need:
                    del self._seen[key]
        for scan in scans:
            self.stats["scans"] += 1
            log_event(logger, "scan", symbology=scan.symbology, kind=scan.kind, code=code_ref(scan.text))
            self._safe_post(scan)
        return scans

    # -- the worker --------------------------------------------------------------------------------

    def _safe_post(self, event: object) -> None:
        try:
            self._post(event)
        except Exception:
            logger.exception("event=scanner_post_failed")

    def _set_state(self, state: str, detail: str = "") -> None:
        if state == self.state:
            return
        self.state = state
        level = logging.INFO if state == "ok" else logging.WARNING
        log_event(logger, "camera_state", level, state=state, detail=detail or None)
        self._safe_post(CameraState(state, detail))

    def _run(self) -> None:
        if self.source is None:
            self._try_open()
        else:
            self._last_good = self.clock.monotonic()
        period = 1.0 / self.fps if self.fps > 0 else 0.0
        while not self._stop.is_set():
            started = time.monotonic()
            if self.source is None or self.state in ("lost", "absent"):
                self._wait_reopen()
                continue
            try:
                self._busy = bool(self.source.pending)
                frame, fid = self.source.grab()
            except Exception:
                logger.debug("event=camera_read_failed", exc_info=True)
                frame, fid = None, None
            if frame is None:
                self._busy = False
                self._no_frame()
                self._pause(self.poll)
                continue
            if self._frozen(frame, fid):
                self._busy = False
                self._no_frame("frozen")
                self._pause(self.poll)
                continue
            self._last_good = self.clock.monotonic()
            self._set_state("ok")
            self._backoff = self.reopen_backoff
            if (fid is not None and fid == self._last_fid) or (fid is None and self._static(frame)):
                self.stats["skipped"] += 1
                self._busy = False
                self._pause(self.poll * 3 if fid is not None else max(self.poll, period - (time.monotonic() - started)))
                continue
            self.stats["frames"] += 1
            pending = self.source.pending
            self._busy = True
            try:
                effort = self._effort_for(pending)
                detections = self.decoder.decode(frame, effort=effort)
            except Exception:
                logger.exception("event=decode_failed")
                detections = []
            self.stats["decoded"] += 1
            self.handle(detections, discrete=fid is not None)
            self._last_fid = fid
            self._last_empty = not detections
            try:
                self.source.decoded(detections, fid)
            except Exception:
                logger.exception("event=source_decoded_failed")
            self._busy = False
            rest = period - (time.monotonic() - started)
            if rest > 0 and not self.source.pending:
                self._pause(rest)

    def _effort_for(self, pending: bool) -> str:
        """A deliberately shown still frame gets every fallback; live frames are paced."""
        if pending:
            return "full"
        if self.effort == "normal":
            self._frames += 1
            return "normal" if self._frames % 3 == 0 else "fast"
        return self.effort

    def _static(self, frame: np.ndarray) -> bool:
        """A live view that has not changed since the last frame decoded (and that one held no
        code): skipped, so an idle kiosk does not decode the same empty counter all day. A
        frame is still decoded at least once a second (``static_refresh``)."""
        try:
            thumb = cv2.resize(frame, (32, 18), interpolation=cv2.INTER_AREA)
        except cv2.error:
            return False
        now = time.monotonic()
        if (
            self._last_empty
            and not self._seen  # a code that just left is still counted out frame by frame
            and self._thumb is not None
            and thumb.shape == self._thumb.shape
            and now - self._thumb_at < self.static_refresh
            and int(cv2.absdiff(thumb, self._thumb).max()) < 6
        ):
            return True
        self._thumb, self._thumb_at = thumb, now
        return False

    def _pause(self, seconds: float) -> None:
        if self._wake.wait(seconds):
            self._wake.clear()

    def _frozen(self, frame: np.ndarray, fid: object) -> bool:
        """The same frame over and over from a live camera (discrete sources are exempt)."""
        if fid is not None:
            return False
        sample = np.ascontiguousarray(frame[:: max(1, frame.shape[0] // 24), :: max(1, frame.shape[1] // 32)])
        if float(sample.std()) < 2.0:  # a dark or covered view repeats itself: that is no stall
            self._fingerprint = None
            return False
        fp = hashlib.blake2b(sample.tobytes(), digest_size=8).digest()
        now = self.clock.monotonic()
        if fp != self._fingerprint:
            self._fingerprint, self._fingerprint_at = fp, now
            return False
        return now - self._fingerprint_at >= self.stall_timeout

    def _no_frame(self, why: str = "no frame") -> None:
        if self.state in ("lost", "absent"):
            return
        if self.clock.monotonic() - self._last_good >= self.stall_timeout:
            self._set_state("lost", f"{why} for {self.stall_timeout:g} s")
            if self.source is not None:
                self.source.close()
            self._fingerprint = None
            self._try_open()  # the first attempt at once, then backoff on the kiosk clock

    def _schedule_reopen(self, delay: float) -> None:
        if self._reopen_timer is not None:
            self._reopen_timer.cancel()
        self._reopen_due.clear()
        self._reopen_timer = self.clock.call_later(delay, self._reopen_due.set)

    def _wait_reopen(self) -> None:
        """Wait (short real polls) for the reopen timer, or for the device to reappear."""
        src = self.source
        back = False
        if src is not None and self.state == "absent":
            present = src.present()
            back = present is True and self._present is False  # the device came back: no waiting
            self._present = present
        if self._reopen_due.is_set() or back:
            self._try_open()
        else:
            self._pause(self.poll * 3)

    def _try_open(self) -> None:
        self._reopen_due.clear()
        try:
            if self.source is None:
                self.source = self._factory()
                if self.source is None:
                    raise CameraError("no camera configured")
            else:
                self.source.open()
        except Exception as exc:
            delay = self._backoff
            self._backoff = min(self._backoff * 2, self.reopen_backoff_max)
            self._schedule_reopen(delay)  # before the state is posted: its reader may advance the clock
            self._present = self.source.present() if self.source is not None else None
            self._set_state("absent", str(exc) if isinstance(exc, CameraError) else type(exc).__name__)
            return
        log_event(logger, "camera_opened", source=getattr(self.source, "name", "?"))
        self._last_good = self.clock.monotonic()
        self._fingerprint = None
        self._last_fid = None
        self.state = "reopening"  # "ok" is posted with the first good frame
