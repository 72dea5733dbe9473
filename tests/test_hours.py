"""OPERATOR_HOURS in America/Lima."""

from datetime import datetime

import pytest

from bot.hours import LIMA, HoursError, OperatorHours

HOURS = OperatorHours.parse("mon-fri 08:00-20:00; sat 09:00-13:00")


@pytest.mark.parametrize(("when", "is_open"), [
    (datetime(2026, 11, 23, 8, 0, tzinfo=LIMA), True),    # Monday opening
    (datetime(2026, 11, 23, 19, 59, tzinfo=LIMA), True),
    (datetime(2026, 11, 23, 20, 0, tzinfo=LIMA), False),  # closing time is closed
    (datetime(2026, 11, 28, 10, 0, tzinfo=LIMA), True),   # Saturday
    (datetime(2026, 11, 28, 13, 30, tzinfo=LIMA), False),
    (datetime(2026, 11, 29, 10, 0, tzinfo=LIMA), False),  # Sunday
])  # fmt: skip
def test_is_open(when: datetime, is_open: bool) -> None:
    assert HOURS.is_open(when) is is_open


def test_utc_instants_are_read_in_lima_time() -> None:
    from datetime import UTC

    # 13:30 UTC on Monday is 08:30 in Lima (UTC-5)
    assert HOURS.is_open(datetime(2026, 11, 23, 13, 30, tzinfo=UTC))
    assert not HOURS.is_open(datetime(2026, 11, 23, 12, 30, tzinfo=UTC))


def test_next_open() -> None:
    saturday_night = datetime(2026, 11, 28, 22, 0, tzinfo=LIMA)
    assert HOURS.next_open(saturday_night) == datetime(2026, 11, 30, 8, 0, tzinfo=LIMA)
    friday_evening = datetime(2026, 11, 27, 21, 0, tzinfo=LIMA)
    assert HOURS.next_open(friday_evening) == datetime(2026, 11, 28, 9, 0, tzinfo=LIMA)
    open_now = datetime(2026, 11, 24, 9, 0, tzinfo=LIMA)
    assert HOURS.next_open(open_now) == open_now


def test_wrapping_day_range() -> None:
    hours = OperatorHours.parse("sat-mon 10:00-12:00")
    assert {w.day for w in hours.windows} == {5, 6, 0}


@pytest.mark.parametrize("spec", ["", "monday 8-18", "mon-fri 18:00-08:00", "xyz 08:00-10:00"])
def test_bad_specs_are_clear_errors(spec: str) -> None:
    with pytest.raises(HoursError, match="OPERATOR_HOURS"):
        OperatorHours.parse(spec)
