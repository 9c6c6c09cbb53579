"""Camera and decoding: frame sources, the decoder (zbar; zxing-cpp where installed), the scanner.

* :mod:`kiosk.camera.decoder`: ``Decoder(engine, symbologies, effort).decode(frame)`` -> ``Detection``;
  its parts: :mod:`~kiosk.camera.locate` (candidate patches), :mod:`~kiosk.camera.engines`
  (zxing-cpp, zbar), :mod:`~kiosk.camera.guards` (no wrong read), :mod:`~kiosk.camera.passes`
  (the named passes of each effort), :mod:`~kiosk.camera.detection` (the records).
* :mod:`kiosk.camera.sources`: ``FrameSource`` and ``OpenCVSource``, ``FileSource``,
  ``SyntheticSource``, ``Picamera2Source``; ``open_source(config.camera)``.
* :mod:`kiosk.camera.scanner`: ``Scanner`` (worker thread posting ``Scan``/``CameraState``).
* :mod:`kiosk.camera.synth`: generated codes and camera-like frames (the decode benchmark's
  hard cases and photo stills are in ``benchmarks/decode_sets.py``).
* :mod:`kiosk.camera.cli`: ``pickup-kiosk decode``.

Modules are imported on use (``pickup-kiosk server`` never loads OpenCV).
"""
