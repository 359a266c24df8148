"""The lab's notion of "now".

Certificate validity in the demo estate is laid out relative to now (expired, due in days, due
in weeks, fine). Tests inject a fixed `now` so that days-left values never change from day to day;
the clock then advances from that instant at the real pace, so that timed behaviour (restarts,
HA settling) still works.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class LabClock:
    """Wall-clock time for certificates: the injected instant plus the real time elapsed since."""

    def __init__(self, start: datetime | None = None) -> None:
        if start is not None and start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        self._start = start
        self._t0 = time.monotonic()

    @property
    def fixed(self) -> bool:
        return self._start is not None

    def now(self) -> datetime:
        if self._start is None:
            return datetime.now(UTC)
        return self._start + timedelta(seconds=time.monotonic() - self._t0)

    @staticmethod
    def monotonic() -> float:
        """Seconds for timers (service restarts, HA settling): never jumps."""
        return time.monotonic()

