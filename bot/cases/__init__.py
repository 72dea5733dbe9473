"""Escalation to a human caseworker: risk interception, consent, cases, screening."""
