"""The kiosk's exceptions: one root, short classes that also derive from a fitting builtin.

Callers catch :class:`KioskError` (or one of its children); no ``requests``, ``sqlite3`` or
``cv2`` exception crosses a module boundary of this package.
"""

from __future__ import annotations


class KioskError(Exception):
    """Root of every error the kiosk raises on purpose."""


class ConfigError(KioskError, ValueError):
    """A config file that cannot be used: names the file, the key and the reason."""

    def __init__(self, reason: str, *, path: str | None = None, key: str | None = None):
        self.path = path
        self.key = key
        self.reason = reason
        where = ": ".join(p for p in (path, key) if p)
        super().__init__(f"{where}: {reason}" if where else reason)


class BackendError(KioskError):
    """Anything that went wrong talking to the backend."""


class BackendUnavailable(BackendError, ConnectionError):
    """The backend could not be reached, timed out, answered 5xx or answered garbage."""


class Rejected(BackendError):
    """The backend understood the request and refused it (a 4xx with the contract's error shape)."""

    def __init__(self, code: str, message: str = "", status: int = 400):
        self.code = code
        self.message = message
        self.status = status
        self.retry_after = 0  # docs/api.md r2: a 429's whole seconds until the lockout ends (0: not said)
        super().__init__(f"{status} {code}: {message}" if message else f"{status} {code}")


class HardwareError(KioskError, OSError):
    """A peripheral (camera, GPIO, display) failed."""


class CameraError(HardwareError):
    """The camera could not be opened or stopped delivering frames."""


class GPIOError(HardwareError):
    """Pins could not be claimed or driven."""


class FontError(KioskError, FileNotFoundError):
    """No usable CJK font was found."""
