"""Action handlers: the plug-in point between flows (data) and capabilities (code).

A flow node says `action: services.search`; the engine looks the name up in a
registry it was given. New capabilities register handlers without touching the flow
format or the engine. Handlers receive a `Context` and return an `ActionResult`;
they may change the session but never talk to a channel or a database directly:
whatever must be stored or sent leaves as an `Event`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.engine.i18n import Translator
from bot.engine.types import LANGS, Button, Event, Inbound, Outbound, Session


@dataclass
class Context:
    session: Session
    inbound: Inbound
    params: Mapping[str, Any]
    now: datetime
    translator: Callable[[str | None], Translator]

    @property
    def t(self) -> Translator:
        """The translator for the session's current language (handlers may change it)."""
        return self.translator(self.session.lang)


@dataclass
class ActionResult:
    """What a handler did.

    `outcome` selects the next node through the node's `outcomes:` map. `pages` is text
    shown as the node's own message (with its navigation); without pages, an action
    node that has its own `text` shows it filled with `params`. `before` are messages
    sent ahead of it. `buttons` are extra choices offered with the pages.
    """

    outcome: str | None = None
    fallback: str | None = None  # an interceptor's node for text nothing else understood
    # An interceptor's nodes around the normal route: `lead` before it (the emergency
    # numbers), `follow` after it (the urgent notice, the consent offer), `reprompt`
    # after it only when the route answered a typed message (a question asked again),
    # `reprompt_alone` instead when the route found nothing to say to it.
    lead: str | None = None
    follow: str | None = None
    reprompt: str | None = None
    reprompt_alone: str | None = None
    params: dict[str, object] = field(default_factory=dict)  # fill the node's own text
    pages: list[str] = field(default_factory=list)
    before: list[Outbound] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    request_location: bool = False
    # Pages are kept in the session for "more" unless they derive from something the
    # session must not keep (search results computed from a shared location).
    keep_pages: bool = True


Handler = Callable[[Context], ActionResult]

# A button a handler offers: `act:<handler>:<value>` runs that handler with
# params {"value": value}. A handler named `*.more` continues a long result when the
# person types "more".
ACT = "act"
MORE_SUFFIX = ".more"

# Session data keys the engine itself owns.
STOPPED = "stopped"  # the person asked not to be written to, until they write again
MORE_OF = "more_of"  # [node, page]: the paged answer a question after it covered (one turn)
CHOICES = "choices"  # [[code, unix time], ...]: flow choices, codes only, no words
PENDING = "pending"  # the node a first message asked for, answered after the welcome

# Events the engine itself emits (bot.cases.events names the rest).
STOP_EVENT = "session.stop"  # the person asked not to be written to
RESUME_EVENT = "session.resume"  # ...and wrote again
CHOICE_EVENT = "choice"  # {choice}: a flow choice, e.g. no_complaint
DELETE_EVENT = "session.delete"


# The outcome of a fallback handler for text that is not for it: the engine then says
# it did not understand. Shown directly (a stale button), the node maps it somewhere.
NOT_FOR_ME = "not_for_me"


def act(handler: str, value: str = "") -> str:
    return f"{ACT}:{handler}:{value}"


class Registry:
    """Handlers by name. The app composes one registry from all capabilities."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def register(self, name: str) -> Callable[[Handler], Handler]:
        def decorator(fn: Handler) -> Handler:
            self._handlers[name] = fn
            return fn

        return decorator

    def add(self, name: str, fn: Handler) -> None:
        self._handlers[name] = fn

    def get(self, name: str) -> Handler:
        return self._handlers[name]

    def names(self) -> set[str]:
        return set(self._handlers)

    def update(self, other: Registry | Mapping[str, Handler]) -> None:
        items = other._handlers if isinstance(other, Registry) else other
        self._handlers.update(items)


builtin = Registry()


@builtin.register("session.set_language")
def set_language(ctx: Context) -> ActionResult:
    lang = str(ctx.params.get("lang", ""))
    if lang in LANGS:
        ctx.session.lang = lang
    return ActionResult(outcome="done")


@builtin.register("session.delete")
def delete_data(ctx: Context) -> ActionResult:
    """Forget the conversation.

    The engine drops the whole session (language included) once the confirmation
    is rendered; the store acts on the event and deletes everything it holds.
    """
    ctx.session.data.clear()
    ctx.session.stack.clear()
    return ActionResult(outcome="done", events=[Event(DELETE_EVENT)])


@builtin.register("session.pending")
def pending(ctx: Context) -> ActionResult:
    """After the welcome: what the first message asked for, or the menu."""
    wanted = ctx.session.data.pop(PENDING, None)
    return ActionResult(lead=str(wanted)) if wanted else ActionResult(outcome="none")


@builtin.register("session.stop")
def stop(ctx: Context) -> ActionResult:
    """Stop means stop: nobody writes until the person writes again (the engine lifts
    the flag on their next message; the console refuses an operator's message)."""
    ctx.session.data.pop("screening", None)
    ctx.session.data[STOPPED] = True
    return ActionResult(outcome="done", events=[Event(STOP_EVENT)])
