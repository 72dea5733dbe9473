"""Operator hours (OPERATOR_HOURS, America/Lima): when a person can expect an answer.

"mon-fri 08:00-20:00; sat 09:00-13:00". The bot must be honest: inside hours it states
our response target; outside hours it says when the team is back, and the 24-hour
lines are always given so nobody waits for us in an emergency.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

LIMA = ZoneInfo("America/Lima")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_PART = re.compile(
    r"^\s*(?P<d1>[a-z]{3})(?:\s*-\s*(?P<d2>[a-z]{3}))?\s+"
    r"(?P<h1>\d{1,2}):(?P<m1>\d{2})\s*-\s*(?P<h2>\d{1,2}):(?P<m2>\d{2})\s*$"
)


class HoursError(ValueError):
    pass


@dataclass(frozen=True)
class Window:
    day: int  # 0 = Monday
    start: time
    end: time


@dataclass(frozen=True)
class OperatorHours:
    windows: tuple[Window, ...]
    spec: str

    @classmethod
    def parse(cls, spec: str) -> OperatorHours:
        windows: list[Window] = []
        for part in filter(str.strip, spec.lower().split(";")):
            match = _PART.match(part)
            if not match or match["d1"] not in DAYS or (match["d2"] and match["d2"] not in DAYS):
                raise HoursError(f"OPERATOR_HOURS: cannot read {part.strip()!r}")
            first = DAYS.index(match["d1"])
            last = DAYS.index(match["d2"]) if match["d2"] else first
            start = time(int(match["h1"]), int(match["m1"]))
            end = time(int(match["h2"]), int(match["m2"]))
            if end <= start:
                raise HoursError(f"OPERATOR_HOURS: {part.strip()!r} ends before it starts")
            day = first
            while True:
                windows.append(Window(day, start, end))
                if day == last:
                    break
                day = (day + 1) % 7
        if not windows:
            raise HoursError("OPERATOR_HOURS is empty")
        return cls(tuple(windows), spec)

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(LIMA)
        return any(
            w.day == local.weekday() and w.start <= local.time() < w.end for w in self.windows
        )

    def next_open(self, at: datetime) -> datetime:
        """When the team is next on duty (now, if it is)."""
        local = at.astimezone(LIMA)
        if self.is_open(local):
            return local
        for offset in range(8):
            day = (local + timedelta(days=offset)).date()
            starts = sorted(
                datetime.combine(day, w.start, LIMA) for w in self.windows if w.day == day.weekday()
            )
            for start in starts:
                if start > local:
                    return start
        raise HoursError("OPERATOR_HOURS has no opening")  # unreachable with a valid spec
