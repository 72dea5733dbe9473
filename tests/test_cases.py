"""Escalation end to end: engine + conversation service + the real SQLite store."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.bootstrap import build_engine
from bot.config import new_data_key
from bot.conversation import ConversationService
from bot.engine.types import Inbound
from bot.hours import LIMA
from bot.store.crypto import Crypto
from bot.store.redis_store import RedisStore
from bot.store.sqlite import SQLiteStore

ALWAYS_OPEN = "mon-sun 00:00-23:59"
# Monday 2026-11-23 10:00 in Lima
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=LIMA).timestamp()
SATURDAY_22 = datetime(2026, 11, 28, 22, 0, tzinfo=LIMA).timestamp()


class Person:
    """One person writing through the conversation service (a terminal address)."""

    def __init__(
        self, service: ConversationService, lang: str | None = "es", address: str = "p1"
    ) -> None:
        self.service, self.lang, self.address = service, lang, address

    def say(self, text: str) -> list[str]:
        replies = self.service.handle(
            "terminal", self.address, Inbound(text=text, lang_hint=self.lang)
        )
        return [m.text for m in replies]

    @property
    def user(self) -> str:
        return self.service.user_for("terminal", self.address)


@pytest.fixture
def make_service(tmp_path: Path):
    created: list[SQLiteStore] = []

    def make(
        hours: str = ALWAYS_OPEN,
        now: float = MONDAY_10,
        alerts: list | None = None,
        on_call: bool = False,
    ):
        crypto = Crypto([new_data_key()])
        store = SQLiteStore(tmp_path / f"s{len(created)}.sqlite3", crypto)
        created.append(store)
        engine = build_engine(
            operator_hours=hours, clock=lambda: datetime.fromtimestamp(now, UTC), on_call=on_call
        )
        hooks = [alerts.append] if alerts is not None else []
        return ConversationService(engine, store, crypto, clock=lambda: now, on_urgent=hooks)

    yield make
    for store in created:
        store.close()


def started(service: ConversationService, lang: str = "es", address: str = "p1") -> Person:
    person = Person(service, lang, address)
    person.say("hola")
    person.say("1")
    return person


def cases(service: ConversationService):
    return service.store.list_cases(service.clock(), state=None)


def test_high_signal_asks_consent_and_yes_opens_a_case(make_service) -> None:
    service = make_service()
    person = started(service)
    replies = person.say("me quitaron el pasaporte y no me dejan salir")
    assert "¿Quieres que una persona de nuestro equipo lea tus mensajes" in replies[0]
    assert cases(service) == []  # nothing stored before consent
    replies = person.say("sí")
    assert "Una persona de nuestro equipo leerá tus mensajes" in replies[0]
    [case] = cases(service)
    assert case.level == "high" and case.consent_scope == "in_service"
    assert {"documents_withheld", "movement_restricted"} <= set(case.indicators)
    assert case.triggers["movement_restricted"] == ["no me dejan salir"]
    texts = [m.text for m in service.store.case_messages(case.id, service.clock())]
    assert texts == ["me quitaron el pasaporte y no me dejan salir"]  # from the trigger on
    person.say("el jefe también me amenaza")
    texts = [m.text for m in service.store.case_messages(case.id, service.clock())]
    assert texts[-1] == "el jefe también me amenaza"
    assert "threats" in service.store.get_case(case.id, service.clock()).indicators
    [consent] = service.store.consents(person.user, service.clock())
    assert consent.granted and consent.scope == "in_service" and consent.how == "asked"


def test_no_is_respected_recorded_and_not_asked_again(make_service) -> None:
    service = make_service()
    person = started(service)
    person.say("me quitaron el pasaporte y no me dejan salir")
    replies = person.say("no")
    assert "Respetamos tu decisión" in replies[0] and "«hablar con una persona»" in replies[0]
    assert cases(service) == []
    [refusal] = service.store.consents(person.user, service.clock())
    assert refusal.granted is False and "documents_withheld" in refusal.detail
    session = json.dumps(service.store.load_session(person.user, service.clock()))
    assert "pasaporte" not in session  # the held message is gone
    again = person.say("me quitaron el pasaporte")
    assert "¿Quieres que una persona" not in again[0]
    person.say("hablar con una persona")  # asking again any time opens a case
    [case] = cases(service)
    assert case.requested_human and case.consent_scope == "in_service"


def test_urgent_opens_a_case_at_once_with_the_numbers(make_service) -> None:
    alerts: list = []
    service = make_service(alerts=alerts)
    person = started(service)
    replies = person.say("tengo 15 años y me obligan a trabajar")
    numbers, notice = replies[0], replies[1]  # the numbers never wait for the notice
    for number in ("105", "113", "1810"):
        assert number in numbers
    assert "protección de la niñez" in numbers
    assert "en unos 15 minutos" in notice
    [case] = cases(service)
    assert case.level == "urgent" and "minor" in case.indicators
    assert [c.id for c in alerts] == [case.id]
    [consent] = service.store.consents(person.user, service.clock())
    assert consent.how == "notice" and consent.granted
    audit = [e.action for e in service.store.audit_log(service.clock(), case_id=case.id)]
    assert "alert.urgent" in audit and "case.open" in audit


def test_urgent_notice_can_be_refused(make_service) -> None:
    service = make_service()
    person = started(service)
    person.say("me tienen encerrada ahora mismo, ayuda")
    replies = person.say("No quiero que los lean")
    assert "nadie de nuestro equipo leerá tus mensajes" in replies[0]
    [case] = cases(service)
    assert case.consent_scope is None and case.state == "open"  # the case still reaches a person
    person.say("hoy me pegaron otra vez")
    texts = [m.text for m in service.store.case_messages(case.id, service.clock())]
    assert "hoy me pegaron otra vez" not in texts


def test_outside_hours_the_answer_time_is_honest(make_service) -> None:
    service = make_service(hours="mon-fri 08:00-18:00", now=SATURDAY_22)
    person = started(service)
    replies = person.say("quiero hablar con alguien")
    assert "fuera de horario" in replies[0] and "lunes 30" in replies[0] and "08:00" in replies[0]
    assert "100" in replies[0] and "1818" in replies[0]
    urgent = started(make_service(hours="mon-fri 08:00-18:00", now=SATURDAY_22), address="p2")
    numbers, notice = urgent.say("me quiero matar")
    assert numbers.index("113") < numbers.index("105") and "opción 5" in numbers
    assert "Dejamos aviso" in notice and "equipo de guardia" not in notice  # nobody on call
    assert "sábado 5" not in notice and "lunes 30" in notice and "líneas de 24 horas" in notice
    on_call = make_service(hours="mon-fri 08:00-18:00", now=SATURDAY_22, on_call=True)
    _, notice = started(on_call, address="p3").say("me quiero matar")
    assert notice.startswith("Ya avisamos a nuestro equipo de guardia.")
    assert "Ya avisamos a nuestro equipo de turno" not in notice


def test_explicit_request_for_a_person_opens_a_case(make_service) -> None:
    service = make_service()
    person = started(service, lang="en")
    replies = person.say("talk to a person")
    [case] = cases(service)
    assert case.requested_human and case.level == "normal" and case.lang == "en"
    assert replies and "105" in replies[0]


@pytest.mark.parametrize(
    ("first", "text", "lang", "sign"),
    [
        (None, "quiero hablar con una persona", "es", "Listo"),
        (None, "talk to a person please", "en", "105"),
        ("hola", "quero falar com uma pessoa", "pt", "105"),
        ("bonjour", "je veux parler à quelqu'un", "fr", "105"),
    ],
)
def test_asking_for_a_person_before_any_language_opens_a_case(
    make_service, first: str | None, text: str, lang: str, sign: str
) -> None:
    """The review: on WhatsApp (no language from the platform) the request, as the first
    message or typed at the language menu, only repeated the menu. Like urgent words,
    it is the welcome: a case, in the language it was written in."""
    service = make_service()
    person = Person(service, lang=None)
    if first:
        assert "Elige tu idioma" in person.say(first)[-1]  # the language menu
    replies = person.say(text)
    [case] = cases(service)
    assert case.requested_human and case.lang == lang
    assert sign in replies[0] and "Elige tu idioma" not in " ".join(replies)


@pytest.mark.parametrize(
    ("text", "lang", "sign"),
    [
        ("they locked me in and I am in danger now", "en", "If you are in danger"),
        ("emergency", "en", "If you are in danger"),
        ("urgence, il me frappe", "fr", "105"),
        # The persona review: a French teenager's first message got Spanish (the marker
        # words knew "j ai", not the "jai" that normalising makes of it).
        (
            "j'ai 15 ans et mon patron me garde enfermée dans la maison",
            "fr",
            "Appelle la ligne 1810",
        ),
    ],
)
def test_an_urgent_first_message_is_answered_in_its_language(
    make_service, text: str, lang: str, sign: str
) -> None:
    """The second review: urgent first messages on WhatsApp got Spanish numbers, a
    Spanish notice and a case marked `es`, whatever language they were written in."""
    service = make_service()
    replies = Person(service, lang=None).say(text)
    [case] = cases(service)
    assert case.level == "urgent" and case.lang == lang
    assert sign in replies[0] and "Si estás en peligro" not in " ".join(replies)


def test_forged_screening_answers_record_nothing(make_service) -> None:
    """A screening answer records a risk code: a button for a question never asked
    (`opt:screening.q6:0` from a chat that never started screening) is refused."""
    service = make_service()
    person = started(service)
    person.say("quiero hablar con una persona")
    [case] = cases(service)
    for forged in ("opt:screening.q6:0", "opt:screening.q1:0"):
        service.handle("terminal", "p1", Inbound(payload=forged))
    [after] = cases(service)
    assert after.level == case.level == "normal"


def test_weak_signal_offers_screening_without_a_case(make_service) -> None:
    service = make_service()
    person = started(service)
    replies = person.say("no tengo papeles")
    assert "preguntas cortas" in replies[0]
    assert cases(service) == []


def test_a_child_without_risk_is_not_escalated(make_service) -> None:
    service = make_service()
    person = started(service)
    person.say("mi hija de 8 años necesita un pediatra")
    assert cases(service) == []


def test_screening_yes_answers_lead_to_consent(make_service) -> None:
    service = make_service()
    person = started(service)
    person.say("¿soy víctima?")
    assert "1/6" in person.say("Empezar")[0]
    assert "2/6" in person.say("Sí")[0]  # q1: yes
    replies = person.say("Sí")  # q2: yes, then skip the rest
    for _ in range(4):
        replies = person.say("Prefiero no responder")
    assert "¿Quieres que una persona de nuestro equipo" in replies[0]
    person.say("Sí, quiero")
    [case] = cases(service)
    assert set(case.indicators) == {"documents_withheld", "movement_restricted"}
    assert case.triggers == {
        "documents_withheld": ["screening"],
        "movement_restricted": ["screening"],
    }


def test_screening_all_no(make_service) -> None:
    service = make_service()
    person = started(service)
    person.say("am i a victim")
    assert "1/6" in person.say("Empezar")[0]
    replies = []
    for _ in range(6):
        replies = person.say("No")
    assert "no vemos señales de riesgo" in replies[0]
    assert cases(service) == []


def test_delete_with_an_open_high_case_keeps_a_minimal_record(make_service) -> None:
    service = make_service()
    person = started(service)
    person.say("me quitaron el pasaporte y no me dejan salir")
    person.say("sí")
    user = person.user
    person.say("borrar mis datos")
    replies = person.say("Sí, borrar")
    assert "guardamos solo lo mínimo" in replies[0] and "30 días" in replies[0]
    assert "Telegram" in replies[1]
    [case] = cases(service)
    assert case.deleted_by_request and case.triggers == {}
    assert service.store.case_messages(case.id, service.clock()) == []
    assert service.store.load_session(user, service.clock()) is None


def test_delete_without_a_case_removes_everything(make_service) -> None:
    service = make_service()
    person = started(service)
    user = person.user
    person.say("borrar mis datos")
    replies = person.say("Sí, borrar")
    assert "guardamos" not in replies[0] and "borramos" in replies[0]
    assert service.store.load_session(user, service.clock()) is None
    assert service.store.get_contact(user, service.clock()) is None


def test_store_down_still_gives_the_emergency_numbers() -> None:
    crypto = Crypto([new_data_key()])
    dead = RedisStore("redis://127.0.0.1:1/0", crypto)  # nothing listens on port 1
    service = ConversationService(build_engine(), dead, crypto)
    replies = service.handle("terminal", "x", Inbound(text="hola", lang_hint="fr"))
    text = replies[0].text
    assert all(n in text for n in ("105", "113", "100", "1810"))


def test_forged_or_stale_buttons_record_no_consent(make_service) -> None:
    """Button data the bot did not offer in this person's current message records
    nothing: not the referral consent nobody asked for, not a case."""
    service = make_service()
    person = started(service)
    person.say("me quitaron el pasaporte y no me dejan salir")
    person.say("sí")  # in-service consent: a case
    [case] = cases(service)
    for forged in ("opt:referral.consent:0", "go:referral.consent", "opt:risk.consent:0"):
        service.handle("terminal", "p1", Inbound(payload=forged))
    assert [c.scope for c in service.store.consents(person.user, service.clock())] == ["in_service"]
    stranger = started(service, address="p2")
    stranger.service.handle("terminal", "p2", Inbound(payload="opt:risk.consent:0"))
    assert len(cases(service)) == 1 and case.id == cases(service)[0].id


def test_a_child_on_an_open_case_is_answered_as_a_child_with_1810(make_service) -> None:
    """After the alert for a child, what the child writes next is relayed with 1810 first
    and, in French, with "tu"; an adult writing about a child is still "vous"."""
    service = make_service()
    child = started(service, lang="fr", address="c1")
    child.say("j'ai 15 ans et mon patron ne me laisse pas sortir")
    assert cases(service) and cases(service)[0].level == "urgent"
    later = "\n".join(child.say("stp dis rien a ma mere"))
    assert "1810" in later and "Si tu es en danger" in later and "vous" not in later
    mother = started(service, lang="fr", address="m1")
    mother.say("ma fille a 15 ans et son patron ne la laisse pas sortir")
    follow = "\n".join(mother.say("je suis tres inquiete"))
    assert "1810" in follow and "n'attendez pas" in follow


def test_a_message_nothing_answers_while_the_offer_is_open_is_told_so(make_service) -> None:
    """The persona review: after the offer, "y si me despiden?" got only "Responde sí o
    no", as if it had not been read. A question with an answer gets it, then the offer."""
    service = make_service()
    person = started(service)
    person.say("mi jefe tiene mi pasaporte y no me paga")
    replies = person.say("y si me despiden?")
    assert len(replies) == 1 and replies[0].startswith("No tengo una respuesta escrita")
    assert "una persona de nuestro equipo sí puede responderte" in replies[0]
    assert cases(service) == []
    assert person.say("sí, por favor") and cases(service)[0].level == "high"

    other = started(make_service(), address="p2")
    other.say("mi jefe tiene mi pasaporte y no me paga")
    replies = other.say("me van a deportar?")
    assert "no debe ser detenida" in replies[0]
    assert replies[-1].endswith("Responde sí o no.")  # the offer again, after the answer
    assert not replies[-1].startswith("No tengo una respuesta escrita")


def test_something_new_told_while_the_offer_is_open_is_acknowledged_every_time(
    make_service,
) -> None:
    """The persona review: "ademas me pega" after the offer got the optional screening,
    "also the husband touches me" got "No problem, answer yes or no"."""
    service = make_service()
    person = started(service)
    person.say("mi jefe tiene mi pasaporte y no me paga")
    person.say("y si me despiden?")  # the one brief re-ask is used up
    for disclosure in ("ademas me pega", "y me quito el celular"):
        replies = person.say(disclosure)
        assert replies[-1].startswith("Gracias por contármelo"), replies
        assert "preguntas cortas" not in " ".join(replies)
    assert cases(service) == []
    person.say("sí")
    [case] = cases(service)
    assert {"violence", "isolation", "documents_withheld"} <= set(case.indicators)


def test_ayuda_after_telling_of_a_risk_is_a_cry_for_help(make_service) -> None:
    """The persona review: after "mi jefe me tiene encerrada", "ayuda" (the help command)
    returned how to use the chat. From someone who has told of a risk it is the
    emergency: the numbers, and an urgent case. Before that, it stays the help command."""
    service = make_service()
    before = started(service, address="p0")
    assert "105" not in " ".join(before.say("ayuda"))
    person = started(service)
    person.say("mi jefe tiene mi pasaporte y no me paga")
    replies = person.say("ayuda")
    assert "105" in replies[0] and "113" in replies[0]
    [case] = cases(service)
    assert case.level == "urgent"


@pytest.mark.parametrize(
    ("lang", "text", "sign"),
    [("es", "no puedo llamar me escuchan", "No necesitas llamar"),
     ("en", "i cant call, they can hear me", "You don't need to call"),
     ("pt", "nao posso ligar eles escutam", "Você não precisa ligar"),
     ("fr", "je peux pas appeler ils entendent tout", "Vous n'avez pas besoin d'appeler")],
)  # fmt: skip
def test_someone_who_cannot_call_is_not_told_to_call(make_service, lang, text, sign) -> None:
    """The persona review: "no puedo llamar, me escuchan" got "llama al 105" again."""
    person = started(make_service(), lang=lang)
    replies = person.say(text)
    assert sign in replies[0], replies
