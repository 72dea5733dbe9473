"""The conversation engine: (session, inbound) -> (session, outbound messages, events).

Pure and channel-neutral: it imports no web framework, platform SDK or database.
The terminal channel, the tests and production all drive this same function.

Every typed message first goes through the interceptors (risk assessment), in every
state. An interceptor may take over the reply (`outcome`), or add a node shown before
the normal route (`lead`: the emergency numbers) and one shown after it (`follow`: the
consent offer, the urgent notice), so that a question gets its answer and the safety
net in the same turn. Then, in order of precedence, chosen so that safety always wins:
1. an emergency word anywhere in the message (not negated: "no es urgente");
2. a number or a button payload picking one of the options last shown;
3. the label of one of the options last shown (the context wins over a command:
   "Empezar" on the screening screen starts it, it does not restart the chat);
4. a global command typed on its own ("menú", "atrás", "idioma", ...);
5. a topic phrase anywhere in the message (the longest match wins, so
   "no quiero denunciar" beats "quiero denunciar");
6. the current node's free-text handler (e.g. a typed place name);
7. otherwise a short "I did not understand", the emergency line and the menu.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.engine.actions import (
    ACT,
    CHOICE_EVENT,
    CHOICES,
    DELETE_EVENT,
    MORE_OF,
    MORE_SUFFIX,
    NOT_FOR_ME,
    PENDING,
    RESUME_EVENT,
    STOP_EVENT,
    STOPPED,
    ActionResult,
    Context,
    Registry,
    builtin,
)
from bot.engine.answers import read_answer, without_politeness
from bot.engine.flows import (
    ASK_PERSON,
    DELETE,
    EMERGENCY,
    HELP,
    HOTLINES,
    LANGUAGE,
    LOCATION_UNHANDLED,
    MEDIA,
    MENU,
    NO_MORE,
    NOT_NOW,
    QUICK_EXIT,
    SAFETY_CHECK,
    STOP,
    THANKS,
    UNKNOWN,
    WELCOME,
    FlowSet,
    Node,
)
from bot.engine.i18n import N_, Catalogs, Translator
from bot.engine.langguess import guess_lang
from bot.engine.matching import PhraseIndex
from bot.engine.types import (
    LANGS,
    SOURCE_LANG,
    Button,
    Event,
    Inbound,
    Outbound,
    Result,
    Session,
)

log = logging.getLogger(__name__)

MAX_STACK = 12
MAX_CHAIN = 5
MAX_CHOICES = 20

LABEL_MORE = N_("Más ▶")
LABEL_BACK = N_("◀ Atrás")
LABEL_MENU = N_("Menú")

# An interceptor sees every typed message before routing (risk assessment plugs in
# here). It may return a result whose `outcome` names a node to show instead of the
# normal route, or only `before` messages and events to add to it.
Interceptor = Callable[[Context, str], ActionResult | None]


@dataclass
class _Reply:
    session: Session
    messages: list[Outbound] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    fallback: str | None = None
    # The static reply of a store or engine failure: it must not open anything.
    static: bool = False
    led: bool = False  # an interceptor put the emergency numbers first this turn
    answered: bool = False  # the route answered with a topic, an input or "not understood"
    quiet: bool = False  # an escalation answers this turn: no "I did not understand"
    shown: set[str] = field(default_factory=set)
    exit: bool = False  # the quick-exit word: a neutral line, then nothing left to see
    # The language a first message's words are in, if clear (guessed once per message).
    guessed: str | None = None
    # The paged answer a question asked after it covered last turn: "more" turns it.
    more_of: tuple[str, int] | None = None


def _first_contact(node: Node | None) -> bool:
    """The safety check and the discreet exit read every message themselves: whatever
    comes first must be the neutral question again, never a screen that names the topic."""
    return node is not None and node.id in (SAFETY_CHECK, NOT_NOW)


# Handler name prefixes whose options write to a case (consent, refusal, a request for a
# person): pressed only when offered in the person's current message.
RECORDING_ACTIONS = ("cases.", "screening.")  # a screening answer records a risk code


class Engine:
    def __init__(
        self,
        flows: FlowSet,
        catalogs: Catalogs,
        phones: Mapping[str, str],
        handlers: Registry | None = None,
        interceptors: Sequence[Interceptor] = (),
        location_node: str | None = None,
        fallback_node: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        emergency_follow: str | None = None,
    ) -> None:
        self.flows = flows
        self.catalogs = catalogs
        self.phones = dict(phones)
        self.handlers = Registry()
        self.handlers.update(builtin)
        if handlers:
            self.handlers.update(handlers)
        self.interceptors = list(interceptors)
        self.location_node = location_node
        # An action node tried on text nothing else understood (a services request in
        # the person's own words); an empty result means "not understood" after all.
        self.fallback_node = fallback_node
        self.clock = clock
        # Shown after the emergency numbers when a person asks for them (an emergency
        # word, the menu's emergency option): it opens the urgent case and says when a
        # person answers. Never after the static reply of a failure.
        self.emergency_follow = emergency_follow
        self._emergency = PhraseIndex((w, EMERGENCY) for w in flows.emergency_words)
        self._commands = PhraseIndex(
            (w, name) for name, words in flows.commands.items() for w in words
        )
        self._topics = PhraseIndex(flows.topics())
        self._lost = PhraseIndex(flows.lost())
        self._language_names = PhraseIndex(
            (str(name), f"opt:{LANGUAGE}:{i}")
            for i, option in enumerate(flows.node(LANGUAGE).options)
            for name in option.params.get("names", ())
        )
        self._negations = {tok for w in flows.negations for tok in self._emergency.prepare(w)}

    # ------------------------------------------------------------------ helpers
    def translator(self, lang: str | None) -> Translator:
        return Translator(self.catalogs, lang or "es", self._phone)

    def _phone(self, hotline_id: str) -> str:
        return self.phones.get(hotline_id, self.phones.get("105", ""))

    def _context(self, reply: _Reply, inbound: Inbound, params: Mapping[str, Any]) -> Context:
        return Context(reply.session, inbound, params, self.clock(), self.translator)

    # --------------------------------------------------------------- public API
    def handle(self, session: Session, inbound: Inbound) -> Result:
        """Process one inbound message. Never raises: a bug yields the emergency reply."""
        reply = _Reply(session.clone())
        try:
            self._route(reply, inbound)
        except Exception:  # a person must never get silence because of a bug here
            log.exception("engine failure; answering with the emergency message")
            reply = _Reply(session.clone(), static=True)
            self._show(reply, inbound, EMERGENCY, push=False)
        if any(e.name == DELETE_EVENT for e in reply.events):
            reply.session = Session()
        if reply.exit:
            # Nothing of the conversation stays in the session, and nobody writes until
            # the person does: someone may be looking at the phone.
            reply.session = Session(data={STOPPED: True})
            reply.events.append(Event(STOP_EVENT, {"exit": True}))
        return Result(reply.session, reply.messages, reply.events)

    def emergency(self, lang: str | None = None) -> list[Outbound]:
        """The static emergency message, for when nothing else can run (store down)."""
        return self.say(EMERGENCY, lang)

    def say(self, node_id: str, lang: str | None = None) -> list[Outbound]:
        """One message node's own text, outside any conversation (no session, no `next`):
        what a webhook can answer before the store has been read."""
        hint = (lang or "es").lower().split("-")[0].split("_")[0]
        reply = _Reply(Session(lang=hint if hint in LANGS else "es", welcomed=True), static=True)
        self._emit_node(reply, self.flows.node(node_id), 0)
        return reply.messages

    def start(self, session: Session, inbound: Inbound | None = None) -> Result:
        """First contact without a message (e.g. Telegram /start)."""
        return self.handle(session, inbound or Inbound(text="/start"))

    # ------------------------------------------------------------------ routing
    def _route(self, reply: _Reply, inbound: Inbound) -> None:
        s = reply.session
        if s.lang is None and inbound.lang_hint:
            hint = inbound.lang_hint.lower().split("-")[0].split("_")[0]
            if hint in LANGS:
                s.lang = hint

        if s.data.pop(STOPPED, None):
            reply.events.append(Event(RESUME_EVENT))  # they wrote again: stop is over
        paged = s.data.pop(MORE_OF, None)
        if isinstance(paged, list) and len(paged) == 2 and paged[0] in self.flows.nodes:
            reply.more_of = (str(paged[0]), int(paged[1]))

        if inbound.kind == "media":
            found = self._intercept(reply, inbound, "")  # a case may take it for the caseworker
            if found.outcome:
                self._show(reply, inbound, found.outcome, push=False)
                return
            # A reply suited to what was sent (a document is not a voice note).
            suited = f"{MEDIA}.{inbound.media_type}"
            self._show(reply, inbound, suited if suited in self.flows.nodes else MEDIA, push=False)
            return
        if inbound.kind == "location":
            self._on_location(reply, inbound)
            return

        text = inbound.text or ""
        # A first message that will be answered at once (urgent words) is answered, and
        # its case opened, in its own language when the words say which; otherwise the
        # language menu comes as usual.
        guessed = reply.guessed = guess_lang(text) if s.lang is None else None
        s.lang = s.lang or guessed
        found = self._intercept(reply, inbound, text) if text.strip() else ActionResult()
        if guessed and not (found.lead or found.follow or found.outcome):
            s.lang = None
        if found.outcome:
            self._show(reply, inbound, found.outcome)
            return
        reply.led = bool(found.lead)
        reply.quiet = bool(found.lead or found.follow or found.reprompt)
        if found.lead:
            self._show(reply, inbound, found.lead)
        reprompt = found.reprompt
        if (found.lead or found.follow) and (s.lang is None or not s.welcomed):
            # A first message that already asks for help: the escalation is the welcome
            # (it carries the numbers and what happens next); no greeting afterwards.
            s.lang, s.welcomed = s.lang or SOURCE_LANG, True
        else:
            said = len(reply.messages)
            self._dispatch(reply, inbound, text)
            if reprompt and reply.answered and len(reply.messages) == said:
                # Nothing answered the message itself ("y si me despiden?"): the
                # question again must say so, not just repeat itself.
                reprompt = found.reprompt_alone or reprompt
        if NOT_NOW in reply.shown:
            return  # someone is there: the discreet line is the last thing on the screen
        if found.follow:
            self._ask_after(reply, inbound, found.follow)
        elif reprompt and reply.answered:
            self._ask_after(reply, inbound, reprompt)

    def _ask_after(self, reply: _Reply, inbound: Inbound, node_id: str) -> None:
        """A question asked after the answer (the consent offer, asked again). The
        person was reading the answer: if it has more pages, "more" next turn turns
        them, instead of finding nothing more in the question (the reflection period's
        honest pages were out of reach while a consent question was open)."""
        s = reply.session
        at = [s.node, s.page] if self._has_more(reply) else None
        self._show(reply, inbound, node_id)
        if at:
            s.data[MORE_OF] = at

    def _dispatch(self, reply: _Reply, inbound: Inbound, text: str) -> None:
        """The normal route of a message, once the interceptors have seen it."""
        s = reply.session
        toks = self._emergency.prepare(text)
        # "emergency numbers" asks for the list, which the hotlines page is (105 first),
        # not to open an urgent case.
        if not reply.led and self._is_emergency(toks) and self._best_topic(text) != HOTLINES:
            # "socorro ele trancou a porta" as a first message: the numbers in Portuguese.
            s.lang = s.lang or reply.guessed
            self._show(reply, inbound, EMERGENCY)
            return

        if inbound.payload:
            if not self._on_payload(reply, inbound, inbound.payload):
                self._unknown(reply, inbound)
            return

        # Every command the words are, with or without politeness ("efface tout stp").
        commands = [
            found
            for v in without_politeness(text)
            if (found := self._commands.exact(self._commands.prepare(v)))
        ]
        if "exit" in commands:
            # Before any welcome or language menu: the quick exit must say nothing,
            # even as a first message or typed twice.
            self._command(reply, inbound, "exit")
            return
        if "delete" in commands and not s.welcomed:
            # "apaga tudo o que eu escrevi" at the language menu or the welcome: asking
            # to erase what one wrote is answered at once (with its confirmation), never
            # held behind the first-contact questions.
            # Its answer must reach the confirmation, so the first contact counts as done.
            s.lang, s.welcomed = s.lang or reply.guessed or SOURCE_LANG, True
            self._command(reply, inbound, "delete")
            return

        # What a first contact asks for: answered at once, or held for after the welcome.
        wanted = self._best_topic(text) if s.lang is None or not s.welcomed else None
        if wanted in (ASK_PERSON, HOTLINES) and not inbound.payload:
            # "quiero hablar con una persona" or "dame los números" as a first message, or
            # typed at the language menu or the welcome: like urgent words, the request
            # is the welcome. Held behind "can you write safely?", the numbers were lost
            # to whoever answered "gracias" (the tenth persona review).
            s.lang, s.welcomed = s.lang or reply.guessed or SOURCE_LANG, True
            self._show(reply, inbound, wanted)
            return

        if s.lang is None or (not s.welcomed and s.node == LANGUAGE):
            picked = self._pick(s, text)
            if not picked and s.node == LANGUAGE and reply.guessed and len(text.split()) > 1:
                # The menu was shown and they wrote on in words whose language is clear
                # ("mi marido lee todos mis mensajes"): that is their answer. Shown again,
                # it is a loop for whoever does not think of typing a number. One word
                # says too little ("ok" is everybody's).
                self._hold(s, wanted)
                picked = self._language_option(reply.guessed)
            if not (picked and self._on_payload(reply, inbound, picked)):
                self._hold(s, wanted)
                self._show(reply, inbound, LANGUAGE, push=False)
            return

        if not s.welcomed:
            self._hold(s, wanted)
            self._show(reply, inbound, WELCOME, push=False)
            return
        if s.node != SAFETY_CHECK:
            s.data.pop(PENDING, None)  # only the welcome's "yes" answers what was held

        if text.strip().isdigit():
            picked = self._pick(s, text)
            if not (picked and self._on_payload(reply, inbound, picked)):
                self._unknown(reply, inbound)
            return

        label_payload = self._option_by_label(s, text) or self._option_by_answer(s, text)
        if label_payload and self._on_payload(reply, inbound, label_payload):
            return

        if commands:
            self._command(reply, inbound, commands[0])
            return

        topic = self._best_topic(text)
        reply.answered = True
        if topic:
            self._show(reply, inbound, topic)
            return

        node = self.flows.nodes.get(s.node or "")
        if node and node.input:
            self._run_input(reply, inbound, node, node.input)
            return
        if not self._fallback(reply, inbound):
            self._unknown(reply, inbound)

    def _fallback(self, reply: _Reply, inbound: Inbound) -> bool:
        node = self.flows.nodes.get(self.fallback_node or "")
        if node is None or node.action is None or reply.quiet:
            return False
        result = self.handlers.get(node.action)(self._context(reply, inbound, node.params))
        if result.outcome == NOT_FOR_ME:
            return False
        s = reply.session
        if s.node not in (None, node.id, LANGUAGE, MENU):
            s.stack = [*s.stack, s.node][-MAX_STACK:]  # "back" returns where they were
        reply.answered = True
        self._continue(reply, inbound, node, result)
        return True

    def _intercept(self, reply: _Reply, inbound: Inbound, text: str) -> ActionResult:
        """Run every interceptor on a typed message; return what they ask the route to do.

        Interceptors see every message in every state (risk assessment must), before
        the emergency words: an urgent escalation carries the emergency numbers itself.
        The first interceptor that names a node wins; events and messages add up.
        """
        plan = ActionResult()
        for interceptor in self.interceptors:
            found = interceptor(self._context(reply, inbound, {}), text)
            if found is None:
                continue
            reply.messages.extend(found.before)
            reply.events.extend(found.events)
            reply.fallback = reply.fallback or found.fallback
            if found.outcome:
                return ActionResult(outcome=found.outcome)
            plan.lead = plan.lead or found.lead
            plan.follow = plan.follow or found.follow
            if not plan.reprompt:
                plan.reprompt, plan.reprompt_alone = found.reprompt, found.reprompt_alone
        return plan

    def _hold(self, s: Session, wanted: str | None) -> None:
        """A first message that asks for something ("¿cuáles son mis derechos?") waits
        for the language and the safety check, then gets its answer instead of the menu.
        Only the topic's node id (`_best_topic`) is kept, never the words."""
        if wanted:
            s.data[PENDING] = wanted

    def _pick(self, s: Session, text: str) -> str | None:
        """The payload of the option chosen by its number or its label, if any."""
        stripped = text.strip()
        if stripped.isdigit():
            index = int(stripped[:4]) - 1
            return s.options[index] if 0 <= index < len(s.options) else None
        if s.node == LANGUAGE:  # "inglish", "portugues"
            named = self._language_names.exact(self._language_names.prepare(text))
            if named in s.options:
                return named
        return self._option_by_label(s, text)

    def _negated(self, toks: tuple[str, ...], start: int, window: int) -> bool:
        return any(tok in self._negations for tok in toks[max(0, start - window) : start])

    def _is_emergency(self, toks: tuple[str, ...]) -> bool:
        return any(not self._negated(toks, m.start, 2) for m in self._emergency.find(toks))

    def _best_topic(self, text: str) -> str | None:
        """The longest topic phrase; a negated one leads to its `if_negated` node or
        is skipped ("no quiero hablar con nadie" must not open a case)."""
        toks = self._topics.prepare(text)
        best: tuple[int, int, str] | None = None
        for match in self._topics.find(toks):
            target: str | None = match.target
            if self._negated(toks, match.start, 3):
                target = self.flows.node(match.target).if_negated
            if target and (best is None or (match.length, -match.start) > best[:2]):
                best = (match.length, -match.start, target)
        return best[2] if best else None

    def _lost_target(self, text: str) -> str | None:
        """The node of a `when_lost` phrase that is half the message at least: "ya llegó"
        alone is someone arriving, "ya llegó el dinero que me mandó mi mamá" is not."""
        toks = self._lost.prepare(text)
        return next((m.target for m in self._lost.find(toks) if 2 * m.length >= len(toks)), None)

    def _language_option(self, lang: str) -> str | None:
        """The language menu's option for `lang`."""
        node = self.flows.node(LANGUAGE)
        for index, option in enumerate(node.options):
            if option.params.get("lang") == lang:
                return f"opt:{LANGUAGE}:{index}"
        return None

    def _option_by_label(self, s: Session, text: str) -> str | None:
        wanted = self._commands.prepare(text)
        if not wanted:
            return None
        tr = self.translator(s.lang)
        for payload in s.options:
            label = self._label_for(payload, tr, s)
            if label and self._commands.prepare(label) == wanted:
                return payload
        return None

    def _option_by_answer(self, s: Session, text: str) -> str | None:
        """A whole yes/no typed on a yes/no screen ("si", "ok", "non merci")."""
        node = self.flows.nodes.get(s.node or "")
        if node is None or not node.answers:
            return None
        index = node.answers.get(read_answer(text) or "")
        payload = f"opt:{node.id}:{index}"
        return payload if index is not None and payload in s.options else None

    def _label_for(self, payload: str, tr: Translator, s: Session) -> str | None:
        kind, _, rest = payload.partition(":")
        if kind == ACT:
            return (s.data.get("_labels") or {}).get(payload)
        if kind == "cmd":
            return {"more": tr(LABEL_MORE), "back": tr(LABEL_BACK), "menu": tr(LABEL_MENU)}.get(
                rest
            )
        node_id, _, index = rest.rpartition(":") if kind == "opt" else (rest, "", "")
        node = self.flows.nodes.get(node_id if kind == "opt" else "")
        if node and index.isdigit() and int(index) < len(node.options):
            label = node.options[int(index)].label
            return tr(label) if node.translate else label
        return None

    def _on_payload(self, reply: _Reply, inbound: Inbound, payload: str) -> bool:
        """Act on a button payload. Stale or forged payloads return False."""
        kind, _, rest = payload.partition(":")
        if kind == "cmd" and rest in self.flows.commands:
            self._command(reply, inbound, rest)
            return True
        if kind == "opt":
            node_id, _, index = rest.rpartition(":")
            node = self.flows.nodes.get(node_id)
            if not node or not index.isdigit() or int(index) >= len(node.options):
                return False
            option = node.options[int(index)]
            if self._consequential(option) and payload not in reply.session.options:
                return False  # a consent or a case is recorded only from what was offered
            if option.action:
                ctx = self._context(reply, inbound, option.params)
                result = self.handlers.get(option.action)(ctx)
                reply.messages.extend(result.before)
                reply.events.extend(result.events)
            if option.goto:
                self._show(reply, inbound, option.goto)
            return True
        if kind == "go" and rest in self.flows.nodes and inbound.internal:
            self._show(reply, inbound, rest)
            return True
        if kind == ACT:
            name, _, value = rest.partition(":")
            node = self.flows.nodes.get(reply.session.node or "")
            if node is None or name not in self.handlers.names():
                return False
            result = self.handlers.get(name)(self._context(reply, inbound, {"value": value}))
            target = self._apply(reply, inbound, node, result, page=0)
            if target:
                self._show(reply, inbound, target)
            return True
        return False

    def _consequential(self, option: Any) -> bool:
        """An option that records something about the person's case (a consent, a
        refusal, a request): a stale or forged button must not press it."""
        actions = [option.action]
        target = self.flows.nodes.get(option.goto or "")
        if target is not None and target.type == "action":
            actions.append(target.action)
        return any(a and a.startswith(RECORDING_ACTIONS) for a in actions)

    def _command(self, reply: _Reply, inbound: Inbound, command: str) -> None:
        s = reply.session
        if command == "exit":
            self._show(reply, inbound, QUICK_EXIT, push=False)
        elif s.lang is None and command != "delete":
            self._show(reply, inbound, LANGUAGE, push=False)
        elif command == "menu":
            s.stack.clear()
            self._show(reply, inbound, MENU if s.welcomed else WELCOME, push=False)
        elif command == "start" and s.node == NOT_NOW:
            self._show(reply, inbound, SAFETY_CHECK, push=False)  # is it safe now? first
        elif command == "start":
            self._show(reply, inbound, MENU if s.welcomed else WELCOME, push=False)
        elif command == "back":
            previous = s.stack.pop() if s.stack else MENU
            self._show(reply, inbound, previous, push=False)
        elif command == "more":
            more = [p for p in s.options if p.startswith(ACT) and MORE_SUFFIX + ":" in p]
            if self._has_more(reply):
                self._show(reply, inbound, str(s.node), page=s.page + 1, push=False)
            elif reply.more_of:
                self._show(reply, inbound, reply.more_of[0], page=reply.more_of[1] + 1)
            elif more and self._on_payload(reply, inbound, more[0]):
                return
            else:
                self._show(reply, inbound, NO_MORE, push=False)
        else:
            target = {"help": HELP, "language": LANGUAGE, "stop": STOP, "delete": DELETE,
                      "thanks": THANKS}  # fmt: skip
            self._show(reply, inbound, target[command])

    def _on_location(self, reply: _Reply, inbound: Inbound) -> None:
        """A shared location: the node's own handler, else the global location node."""
        s = reply.session
        node = self.flows.nodes.get(s.node or "")
        if (not s.welcomed or s.lang is None) and self.location_node:
            # A location as the very first message: the nearest help at once, in the
            # phone's language or Spanish, then the language choice and the welcome.
            s.lang = s.lang or SOURCE_LANG
            self._show(reply, inbound, self.location_node, push=False)
            s.welcomed = False
            self._show(reply, inbound, LANGUAGE, push=False)
        elif not s.welcomed or s.lang is None:
            self._show(reply, inbound, LOCATION_UNHANDLED, push=False)
        elif node and node.location:
            self._run_input(reply, inbound, node, node.location)
        elif self.location_node:
            self._show(reply, inbound, self.location_node)
        else:
            self._show(reply, inbound, LOCATION_UNHANDLED, push=False)

    def _run_input(self, reply: _Reply, inbound: Inbound, node: Node, handler: str) -> None:
        result = self.handlers.get(handler)(self._context(reply, inbound, node.params))
        self._continue(reply, inbound, node, result)

    def _continue(self, reply: _Reply, inbound: Inbound, node: Node, result: ActionResult) -> None:
        """A handler's result on `node`, then the node it leads to, if any."""
        target = self._apply(reply, inbound, node, result, page=0)
        if target:
            self._show(reply, inbound, target, push=False)

    def _unknown(self, reply: _Reply, inbound: Inbound) -> None:
        """Never a dead end: say so kindly, give the emergency line, offer the way on."""
        if reply.fallback and not reply.quiet:  # e.g. an open case's own answer (113 ...)
            self._show(reply, inbound, reply.fallback)
            return
        current = self.flows.nodes.get(reply.session.node or "")
        lost = None
        if not (reply.led or reply.fallback or inbound.payload or _first_contact(current)):
            lost = self._lost_target(inbound.text or "")
        if lost:
            # "¿y ahora qué hago?": "no entendí" would answer a question nobody misread,
            # and a pending question alone ("answer yes or no") would not answer it.
            self._show(reply, inbound, lost)
            return
        if reply.quiet:
            return
        if inbound.payload or not (current and current.unknown):  # a stale button too
            self._emit_text(reply, self.flows.node(UNKNOWN), 0, buttons=[])
        if current and current.unknown:  # e.g. the safety check: on, without a loop
            self._show(reply, inbound, current.unknown, push=False)
            return
        if current and current.type == "menu" and current.id != UNKNOWN:
            self._show(reply, inbound, current.id, push=False)
        else:
            self._show(reply, inbound, MENU if reply.session.lang else LANGUAGE, push=False)

    # ---------------------------------------------------------------- rendering
    def _show(
        self, reply: _Reply, inbound: Inbound, node_id: str, page: int = 0, push: bool = True
    ) -> None:
        s = reply.session
        for _ in range(MAX_CHAIN):
            node = self.flows.node(node_id)
            if node_id in reply.shown:
                return  # a node is said once per turn, however many routes lead to it
            reply.shown.add(node_id)
            reply.exit = reply.exit or node_id == QUICK_EXIT
            if node.choice:
                self._record_choice(reply, node.choice)
            if push and s.node not in (None, node_id, LANGUAGE) and node_id not in (MENU, LANGUAGE):
                s.stack = [*s.stack, s.node][-MAX_STACK:]
            if node_id == MENU:
                s.stack.clear()
            if node_id == WELCOME:
                s.welcomed = True
            s.node, s.page = node_id, page
            if node.type == "action":
                result = self.handlers.get(node.action or "")(
                    self._context(reply, inbound, node.params)
                )
                target = self._apply(reply, inbound, node, result, page)
                if target is None:
                    return
                node_id, page, push = target, 0, False
                continue
            self._emit_node(reply, node, page)
            after = node.next
            if node_id == EMERGENCY and self.emergency_follow and not reply.static:
                after = self.emergency_follow
            if not after:
                return
            node_id, page, push = after, 0, False
        log.error("flow chain too long at node %s", node_id)

    def _record_choice(self, reply: _Reply, choice: str) -> None:
        """A flow choice a caseworker should know of ("no quiero denunciar"): codes and
        times only, kept in the session until a case can hold them."""
        at = int(self.clock().timestamp())
        kept = [c for c in reply.session.data.get(CHOICES) or [] if c[0] != choice]
        reply.session.data[CHOICES] = [*kept, [choice, at]][-MAX_CHOICES:]
        reply.events.append(Event(CHOICE_EVENT, {"choice": choice}))

    def _apply(
        self, reply: _Reply, inbound: Inbound, node: Node, result: ActionResult, page: int
    ) -> str | None:
        """Apply a handler's result; return the node to continue with, if any."""
        reply.messages.extend(result.before)
        reply.events.extend(result.events)
        if result.lead:  # e.g. the emergency numbers before an urgent notice
            self._show(reply, inbound, result.lead, push=False)
        if result.outcome and result.outcome in node.outcomes:
            return node.outcomes[result.outcome]
        if not result.pages and node.pages:
            reply.session.node, reply.session.page = node.id, page
            self._emit_node(reply, node, page, result.params)
            return node.next
        if result.pages:
            page = min(page, len(result.pages) - 1)
            if result.keep_pages:
                reply.session.data["_pages"] = result.pages
            else:
                reply.session.data.pop("_pages", None)
                result.pages = result.pages[:1]
                page = 0
            labels = {b.payload: b.label for b in result.buttons if b.payload.startswith(ACT)}
            reply.session.data["_labels"] = labels
            reply.session.node, reply.session.page = node.id, page
            self._emit(
                reply,
                result.pages[page],
                [*result.buttons, *self._nav(reply, node, page, len(result.pages))],
                request_location=result.request_location or node.request_location,
            )
        return None

    def _has_more(self, reply: _Reply) -> bool:
        """Whether the node on screen has a page after the one shown."""
        s = reply.session
        node = self.flows.nodes.get(s.node or "")
        return node is not None and s.page + 1 < len(self._pages(reply, node))

    def _pages(self, reply: _Reply, node: Node) -> list[str]:
        if node.type == "action":
            return list(reply.session.data.get("_pages") or [])
        return list(node.pages)

    def _nav(self, reply: _Reply, node: Node, page: int, pages: int) -> list[Button]:
        tr = self.translator(reply.session.lang)
        buttons: list[Button] = []
        if page + 1 < pages:
            buttons.append(Button(tr(LABEL_MORE), "cmd:more"))
        if node.nav and node.id != MENU:
            if reply.session.stack:
                buttons.append(Button(tr(LABEL_BACK), "cmd:back"))
            buttons.append(Button(tr(LABEL_MENU), "cmd:menu"))
        return buttons

    def _emit_node(
        self, reply: _Reply, node: Node, page: int, params: dict[str, object] | None = None
    ) -> None:
        tr = self.translator(reply.session.lang)
        buttons = [
            Button(tr(o.label) if node.translate else o.label, f"opt:{node.id}:{i}")
            for i, o in enumerate(node.options)
        ]
        last = node.next is None
        if last:
            buttons += self._nav(reply, node, page, len(node.pages))
        self._emit_text(reply, node, page, buttons, params)

    def _emit_text(
        self,
        reply: _Reply,
        node: Node,
        page: int,
        buttons: list[Button],
        params: dict[str, object] | None = None,
    ) -> None:
        tr = self.translator(reply.session.lang)
        raw = node.pages[min(page, len(node.pages) - 1)]
        text = tr(raw, **(params or {})) if node.translate else tr.fill(raw, params)
        self._emit(reply, text, buttons, request_location=node.request_location)

    def _emit(
        self, reply: _Reply, text: str, buttons: list[Button], request_location: bool = False
    ) -> None:
        reply.messages.append(Outbound(text, tuple(buttons), request_location))
        if buttons:
            reply.session.options = [b.payload for b in buttons]
