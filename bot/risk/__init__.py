"""Risk-indicator detection for messages (DESIGN.md "Risk vocabulary").

`assess(text, lang=None)` returns an `Assessment` with the level (urgent, high, normal,
none), the sorted indicator codes and the words that triggered each code.
"""

from __future__ import annotations

from bot.risk.detector import Assessment, assess

__all__ = ["Assessment", "assess"]
