"""The api worker: interactive backend calls off the main loop (docs/design.md: the loop never blocks).

The flow asks for a call (a :mod:`kiosk.api.requests` record); the app hands it to :meth:`ApiWorker.ask`
with the flow's request token; one background
thread runs the calls in order and posts an :class:`~kiosk.events.ApiResult` for each, carrying
the same token so the flow can ignore answers to questions it no longer asks.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from kiosk.api.requests import Request
from kiosk.errors import BackendUnavailable, KioskError
from kiosk.events import ApiResult
from kiosk.lifecycle import Closing

logger = logging.getLogger(__name__)

_STOP = object()


class ApiWorker(Closing):
    """One thread that runs submitted calls in order and posts their results.

    ``post`` receives every :class:`ApiResult` (it runs on the worker thread: typically it puts
    the event on the app's queue). A call raising a :class:`KioskError` gives ``ok=False`` with
    that error; any other exception is logged with its traceback and reported as a
    :class:`BackendUnavailable`, and the thread carries on.
    """

    def __init__(self, post: Callable[[ApiResult], None], *, client: Any = None, name: str = "api"):
        self._post = post
        self._client = client
        self._queue: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self._outstanding = 0  # queued + in flight
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(
        self, request: str, fn: Callable[..., Any], *args: Any, token: int = 0, meta: dict | None = None, **kwargs: Any
    ) -> None:
        """Run ``fn(*args, **kwargs)`` on the worker; post ``ApiResult(request, ok, value|error, token, meta)``."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the api worker is closed")
            self._outstanding += 1
        self._queue.put((request, fn, args, kwargs, token, dict(meta or {})))

    def ask(self, request: Request, *, token: int = 0) -> None:
        """Run a backend request record on the client; its answer is ``ApiResult(request.name, ...)``."""
        if self._client is None:
            raise RuntimeError("the api worker has no backend client")
        self.submit(request.name, request.run, self._client, token=token)

    def busy(self) -> bool:
        """A call is queued or in flight (the scenario runner waits until this is False)."""
        with self._lock:
            return self._outstanding > 0

    def close(self, timeout: float = 10.0) -> None:
        """Finish what is queued, then stop the thread (waits at most ``timeout`` seconds)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._queue.put(_STOP)
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            request, fn, args, kwargs, token, meta = item
            try:
                result = self._call(request, fn, args, kwargs, token, meta)
                try:
                    self._post(result)
                except Exception:
                    logger.exception("event=api_post_failed request=%s", request)
            finally:
                with self._lock:
                    self._outstanding -= 1

    def _call(self, request: str, fn: Callable, args: tuple, kwargs: dict, token: int, meta: dict) -> ApiResult:
        try:
            value = fn(*args, **kwargs)
        except KioskError as exc:
            return ApiResult(request=request, ok=False, error=exc, token=token, meta=meta)
        except Exception as exc:
            logger.exception("event=api_call_failed request=%s error=%s", request, type(exc).__name__)
            error = BackendUnavailable(f"{request}: internal error ({type(exc).__name__})")
            return ApiResult(request=request, ok=False, error=error, token=token, meta=meta)
        return ApiResult(request=request, ok=True, value=value, token=token, meta=meta)
