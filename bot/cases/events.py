"""Event names between the conversation (engine handlers) and the case store.

Events carry codes, levels and, only inside the in-service consent scope, the
person's text. They are the single vocabulary the conversation service acts on, and
what `python -m bot chat --events` shows (codes and levels only: `PUBLIC_FIELDS`).
"""

from bot.engine.actions import CHOICE_EVENT, DELETE_EVENT, RESUME_EVENT, STOP_EVENT

# {level, indicators, triggers, consent, how, texts?, requested_human, choices}
CASE_OPEN = "case.open"
CASE_ASSESSED = "case.assessed"  # {level, indicators, triggers}: the cumulative assessment
CASE_MESSAGE = "case.message"  # {text}: only while in-service consent holds
CASE_MEDIA = "case.media"  # {ref, mime, type}: a voice note or photo, same scope
MEDIA_KINDS = ("audio", "photo")  # what a caseworker can hear or see in the console
CONSENT = "consent"  # {scope, granted, how}
URGENT_ALERT = "alert.urgent"  # {case}: content-free alert to on-call caseworkers
CHOICE = CHOICE_EVENT  # {choice}: a flow choice, e.g. no_complaint, not_safe_to_write
SESSION_DELETE = DELETE_EVENT
SESSION_STOP = STOP_EVENT  # the person asked not to be written to
SESSION_RESUME = RESUME_EVENT  # ...and wrote again

# What may leave the conversation in an event line: never text, never triggering words.
PUBLIC_FIELDS = (
    "level", "indicators", "consent", "scope", "granted", "how", "choice", "requested_human",
)  # fmt: skip


def public(name: str, data: dict) -> dict:
    """An event as a line for protection staff and tests: codes and levels only."""
    line: dict = {"event": name}
    line.update({key: data[key] for key in PUBLIC_FIELDS if key in data})
    return line
