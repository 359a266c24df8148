"""Maintenance windows: when a cluster's restarts that drop calls or clients may run.

Written in the inventory as a person would say it (design.md §3), `maintenance_window =
"Sat 01:00-05:00 Europe/Berlin"`:

- days: one (`Sat`), a list (`Sat,Sun`), a range (`Mon-Fri`, wrapping: `Fri-Mon`), or `daily`;
- a time range `HH:MM-HH:MM`; an end at or before the start runs past midnight
  (`Sat 23:00-03:00` is Saturday 23:00 to Sunday 03:00: the day names the start);
- an IANA time zone (`Europe/Berlin`, `UTC`); without one, the time zone of the machine ucterm
  runs on, which :meth:`MaintenanceWindow.describe` then says.

Several windows are separated by `;` (`Sat 01:00-05:00; Wed 22:00-23:30 Europe/Berlin`: a part
without a zone takes the zone written after it, so both parts here are in Berlin). Times are
wall-clock times in the zone, so a window keeps its local hours across daylight-saving changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["DAY_NAMES", "MaintenanceWindow", "WindowError", "parse_window"]

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_DAY_INDEX = {name.lower(): i for i, name in enumerate(DAY_NAMES)}
_DAY_INDEX.update({name: i for i, name in enumerate(
    ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))})
_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


class WindowError(ValueError):
    """The text is not a maintenance window; the message says what part is wrong and how to write it."""


@dataclass(frozen=True)
class _Slot:
    """One part of a window: these weekdays, from `start` for `length`, in `zone`."""

    days: frozenset[int]
    #: The days as the user wrote them, capitalised (`Fri-Mon` stays a range across the week's end).
    days_label: str
    start: time
    length: timedelta
    zone: tzinfo
    zone_name: str | None  # None: the machine's local zone

    def opening(self, day: date) -> tuple[datetime, datetime] | None:
        """(opens, closes) of the slot that starts on `day`, as instants (UTC); None if `day` is not one of its
        days. Both ends are wall-clock times in the zone, so a night with a clock change is shorter or longer."""
        if day.weekday() not in self.days:
            return None
        begin = datetime.combine(day, self.start)
        return _real(begin.replace(tzinfo=self.zone)), _real((begin + self.length).replace(tzinfo=self.zone))

    def text(self) -> str:
        end = (datetime.combine(date(2000, 1, 3), self.start) + self.length).time()
        end_text = "24:00" if end == time(0, 0) else f"{end:%H:%M}"
        return f"{self.days_label} {self.start:%H:%M}–{end_text}"


@dataclass(frozen=True)
class MaintenanceWindow:
    """One or more weekly slots; asks `contains`, `next_opening`, `closes_at` in real time."""

    slots: tuple[_Slot, ...]
    source: str

    def contains(self, moment: datetime) -> bool:
        return self.closes_at(moment) is not None

    def closes_at(self, moment: datetime) -> datetime | None:
        """When the slot `moment` falls in closes (UTC), or None outside every slot."""
        moment = _aware(moment)
        ends: list[datetime] = []
        for slot in self.slots:
            local = moment.astimezone(slot.zone).date()
            for back in (0, 1, 2):  # a slot that opened yesterday may still run (past midnight)
                opening = slot.opening(local - timedelta(days=back))
                if opening is None:
                    continue
                begin, end = opening
                if begin <= moment < end:
                    ends.append(end)
        return max(ends).astimezone(UTC) if ends else None

    def next_opening(self, moment: datetime) -> datetime:
        """The next time a slot opens at or after `moment` (UTC); `moment` itself when it is inside one."""
        moment = _aware(moment)
        if self.contains(moment):
            return moment.astimezone(UTC)
        best: datetime | None = None
        for slot in self.slots:
            local = moment.astimezone(slot.zone).date()
            for ahead in range(0, 9):
                opening = slot.opening(local + timedelta(days=ahead))
                if opening is None or opening[0] < moment:
                    continue
                if best is None or opening[0] < best:
                    best = opening[0]
                break
        assert best is not None  # every slot has at least one day in any 9-day span
        return best.astimezone(UTC)

    def describe(self) -> str:
        """`Sat 01:00–05:00 Europe/Berlin`: what the user wrote, normalised, with each zone named."""
        parts: list[str] = []
        for i, slot in enumerate(self.slots):
            last_of_zone = i + 1 == len(self.slots) or self.slots[i + 1].zone_name != slot.zone_name
            text = slot.text()
            if last_of_zone:
                text += f" {slot.zone_name}" if slot.zone_name else f" (this machine's time, {_local_name()})"
            parts.append(text)
        return "; ".join(parts)

    def __str__(self) -> str:
        return self.describe()


def parse_window(text: str) -> MaintenanceWindow:
    """Parse the inventory's `maintenance_window`; :class:`WindowError` says what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise WindowError('it is empty; write it as "Sat 01:00-05:00 Europe/Berlin"')
    raw_parts = [p.strip() for p in text.split(";")]
    if any(not p for p in raw_parts):
        raise WindowError(f'"{text}" has an empty part between ";"; write "Sat 01:00-05:00; Sun 01:00-05:00 UTC"')
    parsed: list[tuple[frozenset[int], str, time, timedelta, str | None]] = []
    for part in raw_parts:
        words = part.split()
        if len(words) not in (2, 3):
            raise WindowError(f'"{part}" is not "<days> HH:MM-HH:MM [time zone]", e.g. "Sat 01:00-05:00 Europe/Berlin"')
        days = _parse_days(words[0])
        start, length = _parse_times(words[1])
        parsed.append((days, _days_label(words[0]), start, length, words[2] if len(words) == 3 else None))
    # A part without a zone takes the zone of the next part that names one ("Sat 01:00-05:00; Sun 02:00-04:00
    # Europe/Berlin" is both in Berlin); parts after the last named zone use the machine's zone.
    slots: list[_Slot] = []
    zone_name: str | None = None
    for days, label, start, length, name in reversed(parsed):
        if name is not None:
            zone_name = name
        slots.append(_Slot(days, label, start, length, _zone(zone_name), zone_name))
    return MaintenanceWindow(tuple(reversed(slots)), text.strip())


def _parse_days(word: str) -> frozenset[int]:
    lowered = word.lower()
    if lowered in ("daily", "*", "every"):
        return frozenset(range(7))
    days: set[int] = set()
    for item in lowered.split(","):
        if "-" in item:
            first, _, last = item.partition("-")
            a, b = _day(first, word), _day(last, word)
            span = (b - a) % 7
            days.update((a + k) % 7 for k in range(span + 1))
        else:
            days.add(_day(item, word))
    return frozenset(days)


def _day(name: str, word: str) -> int:
    index = _DAY_INDEX.get(name.strip().lower())
    if index is None:
        raise WindowError(f'"{word}" names no weekday; use Mon, Tue, Wed, Thu, Fri, Sat, Sun, a range such as '
                          'Mon-Fri, a list such as Sat,Sun, or daily')
    return index


def _parse_times(word: str) -> tuple[time, timedelta]:
    m = _TIME_RE.match(word)
    if not m:
        raise WindowError(f'"{word}" is not a time range such as 01:00-05:00')
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
        raise WindowError(f'"{word}" has a time that does not exist; use 00:00 to 23:59 (24:00 for midnight at '
                          "the end)")
    start = h1 * 60 + m1
    end = h2 * 60 + m2
    length = (end - start) % (24 * 60) or (24 * 60 if end != start else 0)
    if length == 0:
        raise WindowError(f'"{word}" starts and ends at the same minute; give the window a length')
    return time(h1, m1), timedelta(minutes=length)


def _zone(name: str | None) -> tzinfo:
    if name is None:
        local = datetime.now().astimezone().tzinfo
        assert local is not None
        return local
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise WindowError(f'"{name}" is not a time zone this machine knows; use an IANA name such as '
                          "Europe/Berlin, America/New_York or UTC") from None


def _days_label(word: str) -> str:
    lowered = word.lower()
    if lowered in ("daily", "*", "every"):
        return "daily"
    return re.sub(r"[a-z]+", lambda m: DAY_NAMES[_DAY_INDEX[m.group(0)]], lowered)


def _real(local: datetime) -> datetime:
    """A zone-aware wall-clock time as an absolute instant (UTC), so that lengths are real durations."""
    return local.astimezone(UTC)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _local_name() -> str:
    return datetime.now().astimezone().tzname() or "local"
