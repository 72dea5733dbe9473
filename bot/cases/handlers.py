"""Escalation in the conversation: every typed message is assessed, in every state.

- `urgent` opens a case at once, with the emergency numbers in the same reply and
  notice that a caseworker may now read the messages (with a way to say no).
- `high` offers a caseworker and asks consent; a refusal is respected, recorded, and
  the person hears they can ask again any time. It is not asked again in this session.
- `normal` gives information: when nothing else understood the message, the person is
  offered a short optional screening or a person.
- An explicit request for a person always opens a case.

Pure conversation logic: what must be stored leaves as events (bot.cases.events),
and only inside the in-service consent scope does any of the person's text travel.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from babel.dates import format_date, format_time

from bot.cases import events as ev
from bot.engine.actions import ActionResult, Context, Registry
from bot.engine.engine import Interceptor
from bot.engine.i18n import N_
from bot.engine.types import Event
from bot.hours import LIMA, OperatorHours
from bot.risk import Assessment
from bot.risk.codes import level_for, severity

IN_SERVICE = "in_service"
URGENT_NODE = "risk.urgent"
CONSENT_NODE = "risk.consent"
NORMAL_NODE = "risk.normal"
RELAYED_NODE = "risk.relayed"
REFERRAL_CONSENT_NODE = "referral.consent"  # shown when an operator asks from the console
# Nodes shown without the person navigating there: flow validation counts them as entry points.
ENTRY_NODES = (URGENT_NODE, CONSENT_NODE, NORMAL_NODE, RELAYED_NODE, REFERRAL_CONSENT_NODE)
YES = {"si", "sí", "yes", "sim", "oui", "s", "y", "dale", "ok", "claro", "quiero", "bueno"}
NO = {"no", "nao", "não", "non", "nope", "n"}

# Screening: at most six yes/no/skip questions from the SOP's risk indicators
# (001 §3.3.1), each mapped to one code. Never a story, a name or a place.
SCREENING = (
    ("documents_withheld", "screening.q1"),
    ("movement_restricted", "screening.q2"),
    ("debt_bondage", "screening.q3"),
    ("threats", "screening.q4"),
    ("labour_exploitation", "screening.q5"),
    ("isolation", "screening.q6"),
)

Assess = Callable[[str, str | None], Assessment]


def case_state(ctx: Context) -> dict:
    return ctx.session.data.get("case") or {}


def when_text(ctx: Context, hours: OperatorHours, level: str) -> str:
    """When a person will answer, honestly, from OPERATOR_HOURS (America/Lima)."""
    now: datetime = ctx.now
    if hours.is_open(now):
        return {
            "urgent": ctx.t(
                N_(
                    "Nuestro equipo está de turno: una persona te escribirá aquí en unos 15 minutos."
                )
            ),
            "high": ctx.t(
                N_(
                    "Nuestro equipo está de turno: una persona te escribirá aquí en las próximas 4 horas."
                )
            ),
        }.get(level, ctx.t(N_("Una persona te escribirá aquí en las próximas 24 horas.")))
    back = hours.next_open(now).astimezone(LIMA)
    day = format_date(back, "EEEE d", locale=ctx.t.lang)
    at = format_time(back, "HH:mm", locale=ctx.t.lang)
    if level == "urgent":
        return ctx.t(
            N_(
                "Estamos fuera de horario. Avisamos a nuestro equipo de guardia, pero puede que no te respondan hasta el {day} a las {time}. No esperes: llama a las líneas de 24 horas."
            ),
            day=day,
            time=at,
        )
    return ctx.t(
        N_(
            "Estamos fuera de horario. Nuestro equipo vuelve el {day} a las {time} (hora de Lima) y te escribirá entonces."
        ),
        day=day,
        time=at,
    )


def _open_case(
    ctx: Context,
    assessment: dict,
    how: str,
    text: str | None,
    requested_human: bool = False,
) -> Event:
    level = assessment.get("level") or "normal"
    if level == "none":
        level = "normal"
    previous = case_state(ctx)
    if previous.get("open") and severity(previous.get("level", "normal")) < severity(level):
        level = previous["level"]  # never lower an open case's level
    ctx.session.data["case"] = {"open": True, "level": level, "scope": IN_SERVICE}
    ctx.session.data.pop("risk", None)
    return Event(
        ev.CASE_OPEN,
        {
            "level": level,
            "indicators": list(assessment.get("indicators") or []),
            "triggers": dict(assessment.get("triggers") or {}),
            "consent": IN_SERVICE,
            "how": how,
            "text": text,
            "requested_human": requested_human,
            "region": (ctx.session.data.get("services") or {}).get("region"),
            "lang": ctx.t.lang,
        },
    )


def interceptor(assess: Assess) -> Interceptor:
    def intercept(ctx: Context, text: str) -> ActionResult | None:
        if ctx.session.node != CONSENT_NODE and "risk" in ctx.session.data:
            # They moved on without answering: the held message is dropped, never kept.
            ctx.session.data["risk"].pop("pending", None)
        case = case_state(ctx)
        found: list[Event] = []
        relayed = bool(case.get("open")) and case.get("scope") == IN_SERVICE
        if relayed:
            # Free text the bot does not understand is for the caseworker: say it arrived.
            found.append(Event(ev.CASE_MESSAGE, {"text": text}))
        fallback = RELAYED_NODE if relayed else None
        assessment = assess(text, ctx.session.lang)
        if assessment.level == "none":
            return ActionResult(events=found, fallback=fallback) if found else None
        data = assessment.to_json()
        if case.get("open"):
            found.append(Event(ev.CASE_ASSESSED, data))
            if assessment.level == "urgent" and case.get("level") != "urgent":
                found.append(_open_case(ctx, data, "notice", None))
                return ActionResult(outcome=URGENT_NODE, events=found)
            return ActionResult(events=found, fallback=fallback or NORMAL_NODE)
        if assessment.level == "urgent":
            found.append(_open_case(ctx, data, "notice", text))
            return ActionResult(outcome=URGENT_NODE, events=found)
        risk = ctx.session.data.setdefault("risk", {})
        if assessment.level == "high" and not risk.get("refused"):
            # Held (encrypted, in the session) only until the person answers.
            risk["pending"] = {"text": text, "assessment": data}
            return ActionResult(outcome=CONSENT_NODE, events=found)
        risk["last"] = data
        return ActionResult(events=found, fallback=NORMAL_NODE)

    return intercept


def handlers(hours: OperatorHours) -> Registry:
    registry = Registry()

    def answered(ctx: Context, level: str) -> ActionResult:
        return ActionResult(params={"when": when_text(ctx, hours, level)})

    @registry.register("cases.urgent_notice")
    def urgent_notice(ctx: Context) -> ActionResult:
        return answered(ctx, "urgent")

    @registry.register("cases.consent_yes")
    def consent_yes(ctx: Context) -> ActionResult:
        pending = (ctx.session.data.get("risk") or {}).get("pending") or {}
        assessment = pending.get("assessment") or {"level": "high"}
        event = _open_case(ctx, assessment, "asked", pending.get("text"))
        return ActionResult(outcome="done", events=[event])

    @registry.register("cases.consent_no")
    def consent_no(ctx: Context) -> ActionResult:
        risk = ctx.session.data.setdefault("risk", {})
        pending = risk.pop("pending", None) or {}
        risk["refused"] = True
        assessment = pending.get("assessment") or {}
        return ActionResult(
            outcome="done",
            events=[
                Event(
                    ev.CONSENT,
                    {
                        "scope": IN_SERVICE,
                        "granted": False,
                        "how": "asked",
                        "level": assessment.get("level"),
                        "indicators": assessment.get("indicators", []),
                    },
                )
            ],
        )

    @registry.register("cases.consent_text")
    def consent_text(ctx: Context) -> ActionResult:
        words = set(ctx.inbound.text.lower().replace("!", " ").replace(".", " ").split())
        if words & YES and not words & NO:
            return ActionResult(outcome="accepted")
        if words & NO:
            return ActionResult(outcome="declined")
        return ActionResult(outcome="unclear")

    def external(ctx: Context, granted: bool) -> ActionResult:
        event = Event(ev.CONSENT, {"scope": "external", "granted": granted, "how": "asked"})
        return ActionResult(events=[event])

    @registry.register("cases.external_yes")
    def external_yes(ctx: Context) -> ActionResult:
        return external(ctx, True)

    @registry.register("cases.external_no")
    def external_no(ctx: Context) -> ActionResult:
        return external(ctx, False)

    @registry.register("cases.scheduled")
    def scheduled(ctx: Context) -> ActionResult:
        return answered(ctx, case_state(ctx).get("level", "high"))

    @registry.register("cases.request_human")
    def request_human(ctx: Context) -> ActionResult:
        last = (ctx.session.data.get("risk") or {}).get("last") or {}
        event = _open_case(ctx, last or {"level": "normal"}, "request", None, requested_human=True)
        level = ctx.session.data["case"]["level"]
        return ActionResult(events=[event], params={"when": when_text(ctx, hours, level)})

    @registry.register("cases.withdraw")
    def withdraw(ctx: Context) -> ActionResult:
        case = ctx.session.data.setdefault("case", {})
        case["scope"] = None
        return ActionResult(
            events=[Event(ev.CONSENT, {"scope": IN_SERVICE, "granted": False, "how": "withdrawn"})]
        )

    @registry.register("cases.no_complaint")
    def no_complaint(ctx: Context) -> ActionResult:
        """Opening the non-reporting route is a choice a caseworker should know about."""
        if case_state(ctx).get("open"):
            return ActionResult(
                outcome="done", events=[Event(ev.CHOICE, {"choice": "no_complaint"})]
            )
        return ActionResult(outcome="done")

    @registry.register("session.delete")
    def delete(ctx: Context) -> ActionResult:
        case = case_state(ctx)
        kept = bool(case.get("open")) and case.get("level") in ("urgent", "high")
        ctx.session.data.clear()
        ctx.session.stack.clear()
        return ActionResult(outcome="kept" if kept else "done", events=[Event(ev.SESSION_DELETE)])

    # screening -------------------------------------------------------------------
    @registry.register("screening.answer")
    def answer(ctx: Context) -> ActionResult:
        code, value = str(ctx.params.get("code")), str(ctx.params.get("answer"))
        answers = ctx.session.data.setdefault("screening", {})
        answers[code] = value
        return ActionResult()

    @registry.register("screening.result")
    def result(ctx: Context) -> ActionResult:
        answers = ctx.session.data.pop("screening", {}) or {}
        codes = sorted(code for code, value in answers.items() if value == "yes")
        level = level_for(codes)
        data = {"level": level, "indicators": codes, "triggers": {c: ["screening"] for c in codes}}
        if level == "urgent":
            return ActionResult(outcome="urgent", events=[_open_case(ctx, data, "notice", None)])
        if level == "high":
            if case_state(ctx).get("open"):
                return ActionResult(outcome="open", events=[Event(ev.CASE_ASSESSED, data)])
            ctx.session.data.setdefault("risk", {})["pending"] = {"text": None, "assessment": data}
            return ActionResult(outcome="high")
        ctx.session.data.setdefault("risk", {})["last"] = data
        return ActionResult(outcome="normal" if codes else "none")

    return registry
