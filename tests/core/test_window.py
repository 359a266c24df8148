"""Maintenance windows: parsed as a person writes them, asked in real time across zones and DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ucterm.window import WindowError, parse_window


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_inside_and_outside_a_weekly_window() -> None:
    w = parse_window("Sat 01:00-05:00 Europe/Berlin")  # UTC+1 in December
    assert w.describe() == "Sat 01:00–05:00 Europe/Berlin"
    assert not w.contains(utc(2026, 12, 4, 23, 59))  # Sat 00:59 Berlin
    assert w.contains(utc(2026, 12, 5, 0, 0))  # Sat 01:00 Berlin
    assert w.closes_at(utc(2026, 12, 5, 2, 0)) == utc(2026, 12, 5, 4, 0)
    assert not w.contains(utc(2026, 12, 5, 4, 0))  # the end is outside
    assert w.next_opening(utc(2026, 12, 2, 13, 0)) == utc(2026, 12, 5, 0, 0)
    assert w.next_opening(utc(2026, 12, 5, 4, 0)) == utc(2026, 12, 12, 0, 0)
    assert w.next_opening(utc(2026, 12, 5, 1, 0)) == utc(2026, 12, 5, 1, 0)  # inside: now


def test_a_window_past_midnight_belongs_to_the_day_it_starts() -> None:
    w = parse_window("Fri-Mon 23:00-03:00 UTC")
    assert w.describe() == "Fri-Mon 23:00–03:00 UTC"
    assert w.contains(utc(2026, 12, 8, 2, 0))  # Tue 02:00: Monday's window
    assert not w.contains(utc(2026, 12, 9, 2, 0))  # Wed 02:00: Tuesday has none
    assert w.contains(utc(2026, 12, 4, 23, 30))  # Fri 23:30


def test_local_hours_hold_across_daylight_saving() -> None:
    w = parse_window("Sun 01:00-05:00 Europe/Berlin")
    # 2027-03-28 is the last Sunday of March: clocks jump from 02:00 to 03:00 (UTC+1 → UTC+2).
    assert w.contains(utc(2027, 3, 28, 0, 0))  # 01:00 CET
    assert w.closes_at(utc(2027, 3, 28, 0, 30)) == utc(2027, 3, 28, 3, 0)  # 05:00 CEST: three real hours
    assert w.next_opening(utc(2027, 3, 29, 0, 0)) == utc(2027, 4, 3, 23, 0)  # 01:00 CEST next Sunday


def test_several_parts_share_the_zone_written_after_them() -> None:
    w = parse_window("Sat 01:00-05:00; wed 22:00-23:30 Europe/Berlin")
    assert w.describe() == "Sat 01:00–05:00; Wed 22:00–23:30 Europe/Berlin"
    assert w.contains(utc(2026, 12, 9, 21, 0))  # Wed 22:00 Berlin
    assert w.contains(utc(2026, 12, 5, 0, 30))  # Sat 01:30 Berlin


def test_daily_and_until_midnight() -> None:
    assert parse_window("daily 00:00-24:00 UTC").contains(utc(2026, 12, 2, 13, 0))
    w = parse_window("Sat,Sun 20:00-24:00 UTC")
    assert w.describe() == "Sat,Sun 20:00–24:00 UTC"
    assert w.closes_at(utc(2026, 12, 6, 21, 0)) == utc(2026, 12, 7, 0, 0)


def test_without_a_zone_the_machine_s_time_is_used_and_said() -> None:
    w = parse_window("Sat 01:00-05:00")
    assert "this machine's time" in w.describe()
    local = datetime(2026, 12, 5, 2, 0).astimezone()  # Saturday 02:00 here, whatever "here" is
    assert w.contains(local) and not w.contains(local + timedelta(hours=4))


@pytest.mark.parametrize("text", ["", "   ", "Sat", "Sat 1-5", "Sot 01:00-02:00", "Sat 25:00-26:00",
                                  "Sat 01:00-01:00", "Sat 01:00-02:00 Mars/Olympus", "Sat 01:00-05:00;",
                                  "Sat 01:00-05:00 UTC extra", "Sat 24:30-01:00"])
def test_what_is_not_a_window(text: str) -> None:
    with pytest.raises(WindowError):
        parse_window(text)
