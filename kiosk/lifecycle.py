"""How the kiosk's long-lived parts start and end, written once.

* :class:`Closing`: a part that owns something (a device, a session, a file, a thread) is a
  context manager whose ``with`` block ends in ``close()``: the backend client, the outbox, the api
  worker, the frame sources, the locker bank, the indicators.
"""

from __future__ import annotations

from typing import Self


class Closing:
    """``with part:`` hands the part back and calls its :meth:`close` at the end."""

    def close(self) -> None:  # pragma: no cover - every part defines it
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
