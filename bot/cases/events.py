"""Event names between the conversation (engine handlers) and the case store.

Events carry codes, levels and, only inside the in-service consent scope, the
person's text. They are the single vocabulary the conversation service acts on.
"""

CASE_OPEN = "case.open"  # {level, indicators, triggers, consent, how, text?, requested_human}
CASE_ASSESSED = "case.assessed"  # {level, indicators, triggers}: new signals on an open case
CASE_MESSAGE = "case.message"  # {text}: only while in-service consent holds
CONSENT = "consent"  # {scope, granted, how}
CHOICE = "case.choice"  # {choice}: e.g. no_complaint, refused_caseworker
URGENT_ALERT = "alert.urgent"  # {case}: content-free alert to on-call caseworkers
SESSION_DELETE = "session.delete"
