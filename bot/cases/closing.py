"""What a closed case leaves behind once its retention period ends: anonymous counts.

A supervisor needs to know how many people the service reached, at which level and
through which channel, long after the conversations themselves are gone. The counts
carry no case id, user id, word or outcome text (an outcome is free text an operator
wrote), so they can be kept for a year.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from bot.hours import LIMA
from bot.store.records import DAY, Case, CaseMessage, CaseStats


def closing_stats(case: Case, messages: list[CaseMessage], now: float) -> CaseStats:
    month = datetime.fromtimestamp(now, UTC).astimezone(LIMA).strftime("%Y-%m")
    return CaseStats(
        month=month,
        level=case.level,
        indicators=sorted(case.indicators),
        channel=case.channel,
        lang=case.lang,
        messages=dict(Counter(m.direction for m in messages)),
        days_open=max(0, int((now - case.opened_at) // DAY)),
    )
