"""Camera and decoding: frame sources, the decoder (zbar; zxing-cpp where installed), the scanner.

* :mod:`kiosk.camera.decoder`: ``Decoder(engine, symbologies, effort).decode(frame)`` -> ``Detection``.
* :mod:`kiosk.camera.sources`: ``FrameSource`` and ``OpenCVSource``, ``FileSource``,
  ``SyntheticSource``, ``Picamera2Source``; ``open_source(config.camera)``.
* :mod:`kiosk.camera.scanner`: ``Scanner`` (worker thread posting ``Scan``/``CameraState``).
* :mod:`kiosk.camera.synth`: generated codes, camera-like frames, the evaluation set.
* :mod:`kiosk.camera.cli`: ``pickup-kiosk decode``.

Modules are imported on use (``pickup-kiosk server`` never loads OpenCV).
"""
