"""Escalation in the conversation: every typed message is assessed, in every state.

- Risk adds up over turns: the level is computed over every code seen in this
  conversation (`bot.cases.state`), and an open case is raised when it rises.
- `urgent` opens a case at once. The numbers come first, in the order the danger asks
  for (113 for a medical emergency, 113 option 5 for self-harm, 1810 for a child, 105
  otherwise); then one honest notice says who will read the messages and when, with a
  way to say no. Emergency words and the menu's emergency option do exactly the same.
- `high` offers a caseworker and asks consent. Only a whole yes or no answers it
  (`bot.engine.answers`); anything else is a new message, answered on its own, and the
  question is asked again once, briefly. A refusal is respected and recorded; the offer
  comes back only if the level rises.
- `normal` gives information: a child with no risk signal gets the children's page
  (1810); others, when nothing else understood them, a short optional screening.
- A helper (someone writing for a friend or a daughter) gets a helper's words; the
  level is the one of the person described.
- An explicit request for a person always opens a case.

Pure conversation logic: what must be stored leaves as events (bot.cases.events),
and only inside the in-service consent scope does any of the person's text travel.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from babel.dates import format_date, format_time

from bot.cases import events as ev
from bot.cases.others import about_someone_else
from bot.cases.refusal import asks_not_to_read
from bot.cases.state import IN_SERVICE, RiskState
from bot.engine.actions import CHOICES, ActionResult, Context, Registry
from bot.engine.answers import read_answer
from bot.engine.engine import Interceptor
from bot.engine.flows import EMERGENCY
from bot.engine.i18n import N_
from bot.engine.normalize import tokens
from bot.engine.types import Event, Session
from bot.hours import LIMA, OperatorHours
from bot.risk import Assessment
from bot.risk.codes import (
    ASKS_FOR_HELP,
    IMMEDIATE_DANGER,
    MEDICAL_EMERGENCY,
    MINOR,
    NONE,
    SELF_HARM,
    URGENCY,
    URGENT,
    level_for,
    severity,
)
from bot.risk.detector import HELP_COMMANDS

URGENT_NODE = "risk.urgent"  # the notice after the numbers
URGENT_LEADS = {  # the numbers first, in the order this danger asks for
    SELF_HARM: "risk.self_harm",
    MEDICAL_EMERGENCY: "risk.medical",
    "child": "risk.child",
    "helper": "risk.helper_urgent",
    "helper_child": "risk.helper_child",
    IMMEDIATE_DANGER: EMERGENCY,
}
EMERGENCY_NODE = "risk.emergency"  # after the numbers an emergency word or button shows
CONSENT_NODE = "risk.consent"
HELPER_CONSENT_NODE = "risk.consent.helper"
CONSENT_AGAIN_NODE = "risk.consent.again"
CONSENT_AGAIN_ALONE_NODE = "risk.consent.again_unanswered"
CONSENT_DISCLOSED_NODE = "risk.consent.disclosed"
CONSENT_UNSURE_NODE = "risk.consent.unsure"
CONSENT_YES_NODE = "risk.consent.yes"
CONSENT_NO_NODE = "risk.consent.no"
NORMAL_NODE = "risk.normal"
RELAYED_NODE = "risk.relayed"
RELAYED_MEDIA_NODE = "risk.relayed.media"
RELAYED_CHILD_NODE = "risk.relayed.child"
RELAYED_HELPER_CHILD_NODE = "risk.relayed.helper_child"
ABOUT_NODE = "about"  # who reads, and that nobody does without the person's word
RELAYED_SELF_HARM_NODE = "risk.relayed.self_harm"
RELAYED_MEDICAL_NODE = "risk.relayed.medical"
CHILDREN_NODE = "children"
REFERRAL_CONSENT_NODE = "referral.consent"  # shown when an operator asks from the console
WITHDRAW_NODE = "risk.withdraw"
NOTICE_NODES = frozenset({"risk.urgent", "human"})  # where a bare "no" refuses the reading
ASKING_NODES = frozenset(
    {
        CONSENT_NODE,
        HELPER_CONSENT_NODE,
        CONSENT_AGAIN_NODE,
        CONSENT_AGAIN_ALONE_NODE,
        CONSENT_DISCLOSED_NODE,
        CONSENT_UNSURE_NODE,
    }
)
# Nodes shown without the person navigating there: flow validation counts them as entry points.
ENTRY_NODES = (
    URGENT_NODE,
    *sorted(set(URGENT_LEADS.values()) - {EMERGENCY}),
    EMERGENCY_NODE,
    *sorted(ASKING_NODES),
    CONSENT_YES_NODE,
    CONSENT_NO_NODE,
    WITHDRAW_NODE,
    NORMAL_NODE,
    RELAYED_NODE,
    RELAYED_SELF_HARM_NODE,
    RELAYED_MEDICAL_NODE,
    RELAYED_MEDIA_NODE,
    RELAYED_CHILD_NODE,
    RELAYED_HELPER_CHILD_NODE,
    REFERRAL_CONSENT_NODE,
)

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

OPENED_NOW = "opened_now"  # a case opened in this turn (cleared on every message)
Assess = Callable[[str, str | None], Assessment]
AboutOther = Callable[[str], bool]


def case_state(ctx: Context) -> dict:
    return ctx.session.data.get("case") or {}


def _when(ctx: Context, hours: OperatorHours) -> tuple[bool, str, str]:
    """(open now, the day and the time the team is next back, in the person's language)."""
    now: datetime = ctx.now
    if hours.is_open(now):
        return True, "", ""
    back = hours.next_open(now).astimezone(LIMA)
    return (
        False,
        format_date(back, "EEEE d", locale=ctx.t.lang),
        format_time(back, "HH:mm", locale=ctx.t.lang),
    )


def when_text(ctx: Context, hours: OperatorHours, level: str) -> str:
    """When a person will answer, honestly, from OPERATOR_HOURS (America/Lima)."""
    is_open, day, at = _when(ctx, hours)
    if is_open:
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
    return ctx.t(
        N_(
            "Estamos fuera de horario. Nuestro equipo vuelve el {day} a las {time} (hora de Lima) y te escribirá entonces."
        ),
        day=day,
        time=at,
    )


def urgent_notice_text(
    ctx: Context, hours: OperatorHours, on_call: bool, already: bool, helper: bool, child: bool
) -> str:
    """One coherent notice: who is told now, when a person reads, how to say no.

    A child gets words of their own (and French says "tu" to a child, "vous" to an adult).
    """
    is_open, day, at = _when(ctx, hours)
    t = ctx.t
    if already:
        first = t(N_("Tu caso ya está con nuestro equipo."))
    elif child:
        first = t(N_("Ya le contamos a nuestro equipo."))
    elif is_open:
        first = t(N_("Ya avisamos a nuestro equipo de turno."))
    elif on_call:
        first = t(N_("Ya avisamos a nuestro equipo de guardia."))
    else:
        first = t(N_("Dejamos aviso a nuestro equipo."))
    if is_open:
        when = t(N_("Una persona de nuestro equipo te va a escribir aquí en unos 15 minutos."))
        if not child:
            when = t(N_("Una persona te escribirá aquí en unos 15 minutos."))
    elif child:
        when = t(
            N_(
                "Ahora no hay nadie en la oficina: puede que nadie lea tus mensajes hasta el {day} a las {time}. No esperes: llama a las líneas de arriba."
            ),
            day=day,
            time=at,
        )
    else:
        when = t(
            N_(
                "Estamos fuera de horario: puede que nadie lea tus mensajes hasta el {day} a las {time} (hora de Lima). No esperes: llama a las líneas de 24 horas."
            ),
            day=day,
            time=at,
        )
    if child:
        reads = t(
            N_(
                "Esa persona va a poder leer tus mensajes para cuidarte. Si no quieres que los lea, toca el botón. El aviso a protección de la niñez se hace igual."
            )
        )
    elif helper:
        reads = t(
            N_(
                "Una persona de nuestro equipo podrá leer tus mensajes para ver contigo cómo ayudar. Si no quieres, toca el botón."
            )
        )
    else:
        reads = t(
            N_(
                "Una persona de nuestro equipo podrá leer tus mensajes para ayudarte. Si no quieres, toca el botón."
            )
        )
    return "\n".join((first, when, reads))


def _open_case(
    ctx: Context,
    assessment: dict,
    how: str,
    texts: list[str] | None,
    requested_human: bool = False,
) -> Event:
    level = assessment.get("level") or "normal"
    if level == NONE:
        level = "normal"
    previous = case_state(ctx)
    if previous.get("open") and severity(previous.get("level", "normal")) < severity(level):
        level = previous["level"]  # never lower an open case's level
    ctx.session.data["case"] = {"open": True, "level": level, "scope": IN_SERVICE}
    risk = RiskState(ctx.session)
    risk.drop_pending()
    risk.data[OPENED_NOW] = True  # the notice that follows the numbers says it
    return Event(
        ev.CASE_OPEN,
        {
            "level": level,
            "indicators": list(assessment.get("indicators") or []),
            "triggers": dict(assessment.get("triggers") or {}),
            "consent": IN_SERVICE,
            "how": how,
            "texts": [t for t in texts or [] if t],
            "requested_human": requested_human,
            "region": (ctx.session.data.get("services") or {}).get("region"),
            "lang": ctx.t.lang,
            "choices": list(ctx.session.data.get(CHOICES) or []),
        },
    )


def relayed_node(risk: RiskState) -> str:
    """ "Your message arrived", with the line this person needs most."""
    if SELF_HARM in risk.seen:
        return RELAYED_SELF_HARM_NODE
    if MEDICAL_EMERGENCY in risk.seen:
        return RELAYED_MEDICAL_NODE
    if risk.minor:  # a child (French "tu"), or an adult writing about one: 1810 first
        return RELAYED_HELPER_CHILD_NODE if risk.helper else RELAYED_CHILD_NODE
    return RELAYED_NODE


def urgent_lead(risk: RiskState, new: set[str]) -> str:
    """The numbers to put first: what just arrived decides, else what was seen."""
    for codes in (new, risk.seen):
        for code in (SELF_HARM, MEDICAL_EMERGENCY):
            if code in codes:
                return URGENT_LEADS[code]
    if risk.helper:
        return URGENT_LEADS["helper_child" if risk.minor else "helper"]
    if risk.minor:
        return URGENT_LEADS["child"]
    return URGENT_LEADS[IMMEDIATE_DANGER]


def lead_for_words(assess: Assess, text: str, lang: str | None) -> str | None:
    """The lead node for a message that is urgent on its own words, before any state
    is read (the webhook answers it inline, so a slow store cannot delay the numbers);
    None when the words alone are not urgent."""
    assessment = assess(text, lang)
    if assessment.level != URGENT:
        return None
    risk = RiskState(Session())
    new = risk.add(assessment.indicators, assessment.latent, assessment.conditional)
    return urgent_lead(risk, new) if risk.level == URGENT else None


def _escalate_urgent(
    ctx: Context,
    risk: RiskState,
    new: set[str],
    text: str | None,
    triggers: dict,
    events: list[Event],
) -> ActionResult:
    held = list((risk.pending or {}).get("texts") or [])
    events.append(_open_case(ctx, risk.assessment(triggers), "notice", [*held, text or ""]))
    return ActionResult(lead=urgent_lead(risk, new), events=events)


def _media_event(ctx: Context) -> Event | None:
    """The event that brings a voice note or photo to the caseworker, if there is one."""
    inbound = ctx.inbound
    if not inbound.media_ref or inbound.media_type not in ev.MEDIA_KINDS:
        return None
    data = {"ref": inbound.media_ref, "mime": inbound.media_mime, "type": inbound.media_type}
    return Event(ev.CASE_MEDIA, data)


CRIES_FOR_HELP = frozenset((w,) for w in HELP_COMMANDS - {"menu"})


def cried_for_help(text: str) -> bool:
    """The message is only a help word ("ayuda", "help!!", "aide"), not "menu"."""
    return tokens(text) in CRIES_FOR_HELP


def interceptor(assess: Assess, about_other: AboutOther = about_someone_else) -> Interceptor:
    def intercept(ctx: Context, text: str) -> ActionResult | None:
        risk = RiskState(ctx.session)
        media = _media_event(ctx) if risk.relayed else None
        if ctx.inbound.kind == "media":
            # A voice note or photo reaches the caseworker only within in-service
            # consent; the worker fetches it. Otherwise the engine says it cannot use it.
            return ActionResult(outcome=RELAYED_MEDIA_NODE, events=[media]) if media else None
        if not risk.relayed and not risk.pending and asks_not_to_read(text):
            return ActionResult(outcome=ABOUT_NODE)  # nobody reads unless they ask: say so
        risk.data.pop(OPENED_NOW, None)
        events: list[Event] = []
        node = ctx.session.node or ""
        own_options = [p for p in ctx.session.options if not p.startswith("cmd:")]
        if risk.relayed and (
            asks_not_to_read(text) or (node in NOTICE_NODES and read_answer(text) == "no")
        ):
            return ActionResult(outcome=WITHDRAW_NODE)  # typed, it is the button
        if risk.pending and asks_not_to_read(text):
            return ActionResult(outcome=CONSENT_NO_NODE)  # "nobody read this" is a no
        if (risk.pending or risk.case_open) and cried_for_help(text):
            # "ayuda" alone is the help command (how to use the chat), but from someone
            # who has just told us of a risk it is a cry for help: the emergency reply.
            return ActionResult(outcome=EMERGENCY)
        if risk.pending and (node in ASKING_NODES or not own_options):
            # The offer stays open until it is answered: a whole yes or no answers it
            # on the offer itself, or on a page with no choices of its own ("ok" on
            # another menu answers that menu, not the offer).
            answer = read_answer(text)
            if answer == "yes":
                return ActionResult(outcome=CONSENT_YES_NODE)
            if answer == "no":
                return ActionResult(outcome=CONSENT_NO_NODE)
            if answer == "unsure" and not risk.pending.get("reasked"):
                risk.mark_reasked()  # said kindly once; after that it is a new message
                return ActionResult(outcome=CONSENT_UNSURE_NODE)

        if risk.relayed:
            # Free text the bot does not understand is for the caseworker: say it arrived.
            events.append(Event(ev.CASE_MESSAGE, {"text": text}))
            if media:  # a captioned photo: the photo too
                events.append(media)
        assessment = assess(text, ctx.session.lang)
        if about_other(text):
            risk.mark_helper()
        new = risk.add(assessment.indicators, assessment.latent, assessment.conditional)
        level = risk.level
        triggers = assessment.triggers

        if risk.case_open:
            if new or severity(level) < severity(risk.case.get("level", "normal")):
                events.append(Event(ev.CASE_ASSESSED, risk.assessment(triggers)))
            if level == URGENT and risk.case.get("level") != URGENT:
                return _escalate_urgent(ctx, risk, new, None, triggers, events)
            if new & set(URGENCY):
                # A new danger on an urgent case: the right numbers again, first.
                return ActionResult(lead=urgent_lead(risk, new), events=events)
            fallback = relayed_node(risk) if risk.relayed else None
            if assessment.level != NONE and not fallback:
                fallback = NORMAL_NODE
            return ActionResult(events=events, fallback=fallback)

        if level == URGENT:
            return _escalate_urgent(ctx, risk, new, text, triggers, events)
        if risk.may_offer():
            risk.hold(text, triggers)
            consent = HELPER_CONSENT_NODE if risk.helper else CONSENT_NODE
            return ActionResult(follow=consent, events=events)
        if risk.pending:
            # Not an answer: a new message, answered on its own; the offer stays open
            # and is asked again once, briefly, after that answer. Something new told
            # ("además me pega") is acknowledged and the offer asked again each time: it
            # must never get "not understood" or the optional screening instead.
            if new:
                risk.hold(text, triggers)
                return ActionResult(reprompt=CONSENT_DISCLOSED_NODE, events=events)
            if not risk.pending.get("reasked"):
                risk.mark_reasked()
                return ActionResult(
                    reprompt=CONSENT_AGAIN_NODE,
                    reprompt_alone=CONSENT_AGAIN_ALONE_NODE,
                    events=events,
                )
        if MINOR in new:  # a child, or someone writing about one: 1810 and what to do
            return ActionResult(follow=CHILDREN_NODE, events=events)
        if assessment.level != NONE:
            return ActionResult(events=events, fallback=NORMAL_NODE)
        return ActionResult(events=events) if events else None

    return intercept


def handlers(hours: OperatorHours, on_call: bool = False) -> Registry:
    """The escalation handlers. `on_call`: urgent cases alert an on-call chat
    (OPERATOR_ALERT_TELEGRAM_CHAT), so the out-of-hours notice may say so."""
    registry = Registry()

    def answered(ctx: Context, level: str) -> ActionResult:
        return ActionResult(params={"when": when_text(ctx, hours, level)})

    @registry.register("cases.urgent_notice")
    def urgent_notice(ctx: Context) -> ActionResult:
        risk = RiskState(ctx.session)
        already = not risk.data.pop(OPENED_NOW, False)
        child = risk.minor and not risk.helper
        text = urgent_notice_text(ctx, hours, on_call, already, risk.helper, child)
        return ActionResult(params={"notice": text})

    @registry.register("cases.emergency")
    def emergency(ctx: Context) -> ActionResult:
        """An emergency word or the menu's emergency option: an urgent case, as a
        typed emergency would open (the numbers were shown just before)."""
        risk = RiskState(ctx.session)
        if risk.data.get(OPENED_NOW):  # the interceptor opened it for these very words
            return ActionResult(outcome="done")
        risk.add([IMMEDIATE_DANGER, ASKS_FOR_HELP])
        if case_state(ctx).get("open") and case_state(ctx).get("level") == URGENT:
            return ActionResult(outcome="done")
        text = ctx.inbound.text if ctx.inbound.text and not ctx.inbound.payload else None
        event = _open_case(ctx, risk.assessment({}), "notice", [text or ""])
        return ActionResult(outcome="done", events=[event])

    @registry.register("cases.consent_yes")
    def consent_yes(ctx: Context) -> ActionResult:
        risk = RiskState(ctx.session)
        pending = risk.pending or {}
        assessment = pending.get("assessment") or risk.assessment()
        if assessment.get("level") in (None, NONE):
            assessment = {**assessment, "level": "high"}
        event = _open_case(ctx, assessment, "asked", pending.get("texts"))
        return ActionResult(outcome="done", events=[event])

    @registry.register("cases.consent_no")
    def consent_no(ctx: Context) -> ActionResult:
        risk = RiskState(ctx.session)
        pending = risk.drop_pending()
        risk.refuse()
        assessment = pending.get("assessment") or risk.assessment()
        event = Event(
            ev.CONSENT,
            {
                "scope": IN_SERVICE,
                "granted": False,
                "how": "asked",
                "level": assessment.get("level"),
                "indicators": assessment.get("indicators", []),
            },
        )
        return ActionResult(outcome="helper" if risk.helper else "done", events=[event])

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
        risk = RiskState(ctx.session)
        risk.add([ASKS_FOR_HELP])
        assessment = risk.assessment()
        held = (risk.pending or {}).get("texts")
        event = _open_case(ctx, assessment, "request", held, requested_human=True)
        level = ctx.session.data["case"]["level"]
        return ActionResult(events=[event], params={"when": when_text(ctx, hours, level)})

    @registry.register("cases.no_report")
    def no_report(ctx: Context) -> ActionResult:
        """Who decides about a complaint: the adult, or nobody when a child is involved."""
        return ActionResult(outcome="child" if RiskState(ctx.session).minor else "adult")

    @registry.register("cases.withdraw")
    def withdraw(ctx: Context) -> ActionResult:
        case = ctx.session.data.setdefault("case", {})
        case["scope"] = None
        event = Event(ev.CONSENT, {"scope": IN_SERVICE, "granted": False, "how": "withdrawn"})
        child = RiskState(ctx.session).minor and level_for(RiskState(ctx.session).seen) == URGENT
        return ActionResult(outcome="child" if child else "done", events=[event])

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
        risk = RiskState(ctx.session)
        risk.add(codes)
        data = risk.assessment({c: ["screening"] for c in codes})
        level = data["level"]
        if level == URGENT:
            event = _open_case(ctx, data, "notice", None)
            return ActionResult(
                outcome="urgent", lead=urgent_lead(risk, set(codes)), events=[event]
            )
        if level == "high":
            if case_state(ctx).get("open"):
                return ActionResult(outcome="open", events=[Event(ev.CASE_ASSESSED, data)])
            risk.hold(None, data["triggers"])
            return ActionResult(outcome="high")
        return ActionResult(outcome="normal" if codes else "none")

    return registry
