"""Days left until a certificate expires: the one counting rule every output uses.

The scan table, the TUI, `ucterm scan --json` (`days_left`), `ucterm check` and the lint messages
all say how far away an expiry is. They used three rules (flooring the seconds, `timedelta.days`,
the elapsed time's days), so one screen said "expired 13d ago" beside its own lint "(12 days
ago)". Here is the only rule: whole days between now and notAfter, counted toward zero on either
side. A certificate with 12 days and 20 hours left has 12 days left; one that expired 3 days and
5 hours ago expired 3 days ago (`days_left` -3). On either side of the expiry's own moment the
count is 0 for a day, so whether it has expired is asked of :func:`is_expired`, never of the sign.
"""

from __future__ import annotations

import datetime as dt

__all__ = ["ago_words", "days_left", "is_expired", "left_short", "left_words"]

_DAY = dt.timedelta(days=1)


def days_left(not_after: dt.datetime, now: dt.datetime) -> int:
    """Whole days from `now` to `not_after`, toward zero: 12 days 20 hours → 12, -3 days 5 hours → -3."""
    delta = not_after - now
    whole = abs(delta) // _DAY
    return whole if delta >= dt.timedelta(0) else -whole


def is_expired(not_after: dt.datetime, now: dt.datetime) -> bool:
    """Past notAfter (RFC 5280: a certificate is valid through notAfter, inclusive)."""
    return now > not_after


def left_short(days: int, expired: bool) -> str:
    """`12d left`, `expired 3d ago`, `expires today`, `expired today`: for a table or a pane."""
    if expired:
        return "expired today" if days == 0 else f"expired {abs(days)}d ago"
    return "expires today" if days == 0 else f"{days}d left"


def left_words(days: int, expired: bool) -> str:
    """`12 days left`, `expired 3 days ago`, `1 day left`, `expired today`: for sentences."""
    if expired:
        return f"expired {ago_words(days)}"
    if days == 0:
        return "expires today"
    return f"{days} day{'s' if days != 1 else ''} left"


def ago_words(days: int) -> str:
    """`3 days ago`, `1 day ago`, `today`: how long ago an expiry was (`days` is <= 0)."""
    n = abs(days)
    if n == 0:
        return "today"
    return f"{n} day{'s' if n != 1 else ''} ago"
