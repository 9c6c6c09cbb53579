"""Frame sources: where the scanner's frames come from (the kiosk owns the camera seam: docs/design.md, Architecture).

Every source has ``read() -> ndarray | None`` (a BGR or grayscale frame, or None when no frame
is available right now), ``open()`` (may raise :class:`kiosk.errors.CameraError`), ``close()``,
and is a context manager. A source may also offer:

* ``present() -> bool | None``: whether the device is there at all (a V4L2 device node exists,
  the simulated camera is plugged in); ``None`` when it cannot tell. The scanner uses it to
  reopen at once when a lost camera comes back.
* ``frame_id``: changes whenever the view changes; equal ids mean the same frame (the scanner
  skips decoding it again).
* ``pending``: a shown frame is waiting to be decoded (the synthetic source, scenario rule 4).
* ``decoded(detections)``: the scanner tells the source a frame was decoded.

Sources: :class:`OpenCVSource` (V4L2 index or path, video file, RTSP/HTTP URL),
:class:`FileSource` (an image, a folder of images, a video file), :class:`SyntheticSource`
(rendered codes, for the demo and the scenario runner), :class:`Picamera2Source` (Raspberry Pi
camera modules; used when ``picamera2`` is importable). :func:`open_source` picks one from the
``[camera]`` config.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from kiosk.errors import CameraError
from kiosk.journal import log_event
from kiosk.lifecycle import Closing

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mjpeg", ".mjpg"}


class FrameSource(Closing):
    """The interface; subclasses override :meth:`read` and usually :meth:`open`, which keeps the
    device it opened in ``_device`` for :meth:`close` (a device that is not a
    ``cv2.VideoCapture`` says how to let go of it in :meth:`_release`)."""

    name = "source"
    frame_id: object = None  # None: every frame may differ
    _device: Any = None  # what open() opened (a cv2.VideoCapture, a Picamera2), None while closed

    def open(self) -> None:
        """(Re)open the device; raises CameraError when it cannot."""

    def read(self) -> np.ndarray | None:
        raise NotImplementedError

    def close(self) -> None:
        """Release the device; safe to call twice, and never raises (a failure is logged)."""
        device, self._device = self._device, None
        if device is not None:
            try:
                self._release(device)
            except Exception:
                logger.debug("event=camera_release_failed source=%s", self.name, exc_info=True)

    def _release(self, device: Any) -> None:
        """Let go of an open device: a ``cv2.VideoCapture``'s ``release()`` unless overridden."""
        device.release()

    def present(self) -> bool | None:
        return None

    @property
    def pending(self) -> bool:
        return False

    def grab(self) -> tuple[np.ndarray | None, object]:
        """A frame and its ``frame_id``, read together."""
        return self.read(), self.frame_id

    def decoded(self, detections: Sequence[object], frame_id: object = None) -> None:
        """Called by the scanner after each decoded frame."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


# --- OpenCV ------------------------------------------------------------------------------


def parse_device(source: str | int) -> int | str:
    """``"0"`` -> 0 (a V4L2 index); anything else (path, URL) unchanged."""
    if isinstance(source, int):
        return source
    text = str(source).strip()
    return int(text) if text.isdigit() else text


class OpenCVSource(FrameSource):
    """``cv2.VideoCapture`` on a V4L2 index or device path, a video file or a stream URL.

    ``capture_factory`` builds the capture (``cv2.VideoCapture`` by default; tests pass a fake
    that behaves like an unplugged device).
    """

    def __init__(
        self,
        device: int | str = 0,
        width: int = 1280,
        height: int = 720,
        fps: int = 30,
        capture_factory: Callable[..., object] | None = None,
        open_now: bool = True,
    ) -> None:
        self.device = parse_device(device)
        self.width, self.height, self.fps = width, height, fps
        self._factory = capture_factory or cv2.VideoCapture
        self.name = f"opencv:{self._describe()}"
        if open_now:
            self.open()

    def _describe(self) -> str:
        d = self.device
        if isinstance(d, str) and "://" in d:  # a URL may hold a password: keep the scheme and host
            scheme, _, rest = d.partition("://")
            host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
            return f"{scheme}://{host}"
        return str(d)

    def _node(self) -> str | None:
        if isinstance(self.device, int):
            return f"/dev/video{self.device}"
        if isinstance(self.device, str) and self.device.startswith("/dev/"):
            return self.device
        return None

    def present(self) -> bool | None:
        node = self._node()
        if node is None or not os.path.exists("/dev"):
            return None
        return os.path.exists(node)

    def open(self) -> None:
        self.close()
        try:
            if isinstance(self.device, int) and self._factory is cv2.VideoCapture:
                cap = cv2.VideoCapture(self.device, cv2.CAP_V4L2)
            else:
                cap = self._factory(self.device)
        except Exception as exc:
            raise CameraError(f"cannot open camera {self._describe()}: {exc}") from exc
        if not cap.isOpened():
            cap.release()
            raise CameraError(f"cannot open camera {self._describe()}")
        live = isinstance(self.device, int) or str(self.device).startswith("/dev/")
        if live:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
            cap.set(cv2.CAP_PROP_FPS, self.fps)
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # the newest frame, not a queue of old ones
        self._device = cap

    def read(self) -> np.ndarray | None:
        cap = self._device
        if cap is None:
            return None
        try:
            ok, frame = cap.read()
        except Exception:
            return None
        if not ok or frame is None or getattr(frame, "size", 0) == 0:
            return None
        return frame


# --- files --------------------------------------------------------------------------------


def load_image(path: str | os.PathLike) -> np.ndarray:
    """An image file as a BGR array; CameraError with the path when it is not a readable image."""
    p = Path(path)
    if p.is_dir():
        raise CameraError(f"{p}: a folder, not an image")
    if not p.is_file():
        raise CameraError(f"{p}: no such file")
    data = np.fromfile(str(p), dtype=np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if img is None and data.size:  # formats OpenCV lacks (GIF, some TIFFs): try Pillow
        try:
            from PIL import Image, ImageOps

            with Image.open(p) as im:
                img = cv2.cvtColor(np.asarray(ImageOps.exif_transpose(im).convert("RGB")), cv2.COLOR_RGB2BGR)
        except Exception:
            img = None
    if img is None:
        raise CameraError(f"{p}: not an image (or a format OpenCV cannot read)")
    return img


class FileSource(FrameSource):
    """An image (the same frame every read), a folder of images (in name order), or a video file.

    After the last frame of a folder or video, ``read()`` returns None, or starts again with
    ``loop=True``.
    """

    def __init__(self, path: str | os.PathLike, loop: bool = False) -> None:
        self.path = Path(path)
        self.loop = loop
        self.name = f"file:{self.path.name}"
        self._images: list[Path] = []
        self._index = 0
        self._still: np.ndarray | None = None
        self.frame_id = None
        self.open()

    def open(self) -> None:
        self.close()
        p = self.path
        if p.is_dir():
            self._images = sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
            if not self._images:
                raise CameraError(f"{p}: no images in this folder")
            self._index = 0
        elif p.suffix.lower() in VIDEO_SUFFIXES:
            if not p.is_file():
                raise CameraError(f"{p}: no such file")
            cap = cv2.VideoCapture(str(p))
            if not cap.isOpened():
                cap.release()
                raise CameraError(f"{p}: not a video OpenCV can read")
            self._device = cap
        else:
            self._still = load_image(p)
            self.frame_id = ("still", str(p))

    def read(self) -> np.ndarray | None:
        if self._still is not None:
            return self._still
        video = self._device
        if video is not None:
            ok, frame = video.read()
            if not ok and self.loop:
                video.set(cv2.CAP_PROP_POS_FRAMES, 0)
                ok, frame = video.read()
            return frame if ok else None
        while self._images:
            if self._index >= len(self._images):
                if not self.loop:
                    return None
                self._index = 0
            path = self._images[self._index]
            self._index += 1
            try:
                return load_image(path)
            except CameraError as exc:
                log_event(logger, "camera_file_skipped", logging.WARNING, reason=str(exc))
        return None


# --- synthetic ------------------------------------------------------------------------------


class SyntheticSource(FrameSource):
    """A simulated camera for the demo and the scenario runner.

    :meth:`show` renders a code (full QR via segno, or a 1D symbology via python-barcode) into a
    realistic frame; :meth:`show_image` shows an image file or array. A shown frame stays in view
    until the scanner has decoded it once (or tried ``max_attempts`` times), then the view is
    empty (scenario rule 4): ``pending`` is True meanwhile. :meth:`unplug` makes the device vanish
    (``read()`` returns None, ``open()`` fails) until :meth:`plug`.
    """

    name = "synthetic"

    def __init__(self, width: int = 1280, height: int = 720, seed: int = 0, max_attempts: int = 5) -> None:
        from kiosk.camera import synth

        self._synth = synth
        self.width, self.height = width, height
        self.max_attempts = max_attempts
        self._rng = np.random.default_rng(seed)
        self._lock = threading.Lock()
        self._empty = synth.finish(synth.background(width, height, self._rng), self._rng, noise=1.5)
        self._frame = self._empty
        self._shown = False
        self._attempts = 0
        self._plugged = True
        self._open = True
        self._seq = 0
        self.shown_count = 0  # how many frames were shown, for tests and the runner
        self.decoded_count = 0

    @property
    def frame_id(self) -> int:  # type: ignore[override]
        return self._seq

    def show(self, text: str, symbology: str = "QRCODE") -> None:
        """Render ``text`` as a code and show it until it has been decoded once."""
        try:
            frame = self._synth.camera_frame(text, symbology.upper(), (self.width, self.height), self._rng)
        except Exception as exc:  # the message leaves the code out: it may be a member's
            raise ValueError(
                f"cannot render a {symbology} code of {len(text)} characters: {type(exc).__name__}"
            ) from None
        self._put(frame)

    def show_image(self, image: str | os.PathLike | np.ndarray) -> None:
        """Show an image file (a real photo) or array until it has been decoded once."""
        frame = image if isinstance(image, np.ndarray) else load_image(image)
        self._put(frame)

    def clear(self) -> None:
        """An empty view."""
        with self._lock:
            self._frame, self._shown = self._empty, False
            self._seq += 1

    def _put(self, frame: np.ndarray) -> None:
        with self._lock:
            self._frame, self._shown, self._attempts = frame, True, 0
            self._seq += 1
            self.shown_count += 1

    def unplug(self) -> None:
        with self._lock:
            self._plugged = False

    def plug(self) -> None:
        with self._lock:
            self._plugged = True

    @property
    def plugged(self) -> bool:
        return self._plugged

    def present(self) -> bool:
        return self._plugged

    @property
    def pending(self) -> bool:
        """A shown frame waits to be decoded (False while unplugged: nothing can happen then)."""
        return self._shown and self._plugged

    def open(self) -> None:
        if not self._plugged:
            raise CameraError("synthetic camera is unplugged")
        self._open = True

    def read(self) -> np.ndarray | None:
        return self.grab()[0]

    def grab(self) -> tuple[np.ndarray | None, object]:
        with self._lock:
            if not self._plugged or not self._open:
                return None, self._seq
            return self._frame, self._seq

    def decoded(self, detections: Sequence[object], frame_id: object = None) -> None:
        with self._lock:
            if not self._shown or (frame_id is not None and frame_id != self._seq):
                return
            self._attempts += 1
            if detections or self._attempts >= self.max_attempts:
                self.decoded_count += 1 if detections else 0
                self._frame, self._shown = self._empty, False
                self._seq += 1

    def close(self) -> None:
        self._open = False


# --- Picamera2 ---------------------------------------------------------------------------------


def picamera2_available() -> bool:
    try:
        import picamera2  # noqa: F401
    except Exception:
        return False
    return True


class Picamera2Source(FrameSource):  # pragma: no cover - needs a Raspberry Pi camera module
    """A Raspberry Pi camera module through picamera2 (libcamera; V4L2 VideoCapture does not work)."""

    name = "picamera2"

    def __init__(self, width: int = 1280, height: int = 720, fps: int = 30) -> None:
        self.width, self.height, self.fps = width, height, fps
        self.open()

    def open(self) -> None:
        self.close()
        try:
            from picamera2 import Picamera2

            cam = Picamera2()
            config = cam.create_video_configuration(
                main={"size": (self.width, self.height), "format": "RGB888"},
                controls={"FrameRate": float(self.fps)},
                buffer_count=2,
            )
            cam.configure(config)
            cam.start()
        except Exception as exc:
            raise CameraError(f"cannot open the Pi camera: {exc}") from exc
        self._device = cam

    def read(self) -> np.ndarray | None:
        cam = self._device
        if cam is None:
            return None
        try:
            return cam.capture_array("main")  # RGB888 is BGR in memory
        except Exception:
            return None

    def _release(self, device: Any) -> None:
        device.stop()
        device.close()


# --- from config -------------------------------------------------------------------------------


def open_source(camera: object) -> FrameSource | None:
    """The source the ``[camera]`` config names (``source``, ``width``, ``height``, ``fps``).

    ``"none"``: None (no camera). ``"synthetic"``: a :class:`SyntheticSource`. ``"picamera2"``:
    a :class:`Picamera2Source`. ``"auto"``: Picamera2 when importable, else V4L2 index 0. A
    file, folder or video path: a :class:`FileSource`. Otherwise an :class:`OpenCVSource`
    (index, device path, URL). Raises CameraError when the device cannot be opened.
    """
    source = str(getattr(camera, "source", "0")).strip()
    width = int(getattr(camera, "width", 1280))
    height = int(getattr(camera, "height", 720))
    fps = int(getattr(camera, "fps", 30))
    if source in ("none", ""):
        return None
    if source == "synthetic":
        return SyntheticSource(width, height)
    if source == "picamera2" or (source == "auto" and picamera2_available()):
        return Picamera2Source(width, height, fps)
    if source == "auto":
        source = "0"
    path = Path(source)
    local = "://" not in source and not source.startswith("/dev/") and not source.isdigit()
    if local and (path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES):
        return FileSource(path, loop=True)
    return OpenCVSource(source, width, height, fps)
