"""The "services near me" capability, plugged into the flows by handler name.

The flow asks what kind of help (or any), then where: a shared location, a typed
place, or a region from a list. The session keeps the need, the region, the name of
the known place the search started from and the offices already shown, so that "see
more" continues the same list from the same place. A shared point is never kept
(the bot says so): "see more" continues from the known place nearest to it.
"""

from __future__ import annotations

from bot.directory import render
from bot.directory.gazetteer import Gazetteer
from bot.directory.model import NEEDS, Directory
from bot.directory.search import ANY, Searcher, SearchResult
from bot.directory.typed import TypedRequest
from bot.engine.actions import NOT_FOR_ME, ActionResult, Context, Registry, act
from bot.engine.i18n import N_
from bot.engine.normalize import normalize
from bot.engine.types import Button

# session.data key: the need and region chosen, and how far "see more" has paged.
STATE = "services"
ALL = 10_000  # "see more" asks for the whole ordered list and skips what was shown
CHAT_NEEDS = (
    "legal", "psychosocial", "shelter", "health", "report", "child_protection",
    "refugee", "migration_status", "labour", "basic_needs",
)  # fmt: skip


def handlers(directory: Directory, gazetteer: Gazetteer) -> Registry:
    searcher = Searcher(directory, gazetteer)
    typed = TypedRequest(gazetteer)
    registry = Registry()

    def state(ctx: Context) -> dict:
        return ctx.session.data.setdefault(STATE, {"need": None, "region": None})

    def reply(ctx: Context, result: SearchResult, with_distance: bool) -> ActionResult:
        """One screen of results and, when there is more, a "see more" button."""
        st = state(ctx)
        if result.region:
            st["region"] = result.region
        if result.origin is not None:  # the known place, never a shared point
            st["origin"] = result.origin.name
        result.national = result.national[st.get("national_skip", 0) :]
        shown = render.screen(result, directory, ctx.t, with_distance, duty=bool(st.get("duty")))
        text = shown.text
        result.more_local += len(result.local) - min(shown.hits_shown, len(result.local))
        shown_hits = [*result.local, *result.nearby][: shown.hits_shown]
        st["seen"] = [*(st.get("seen") or []), *(h.service.id for h in shown_hits)]
        st["national_skip"] = st.get("national_skip", 0) + shown.national_shown
        shown_national = shown.national_shown
        buttons = []
        if result.more_local or len(result.national) > shown_national:
            buttons.append(Button(ctx.t(N_("Ver más")), act("services.more")))
        buttons.append(Button(ctx.t(N_("Buscar otra ayuda")), act("services.restart")))
        return ActionResult(pages=[text], buttons=buttons, keep_pages=False)

    def fresh(ctx: Context) -> dict:
        st = state(ctx)
        st.update({"national_skip": 0, "origin": None, "seen": []})
        return st

    def new_search(ctx: Context, place: str | None = None) -> None:
        """A fresh search state; `place` waits for the kind of help to be chosen."""
        came_from = ctx.session.stack[-1] if ctx.session.stack else ""
        ctx.session.data[STATE] = {
            "need": None, "region": None, "place": place,
            "duty": came_from.startswith(("no_report", "reflection")),
        }  # fmt: skip

    def chosen(ctx: Context, need: str | None, place: str | None = None) -> ActionResult:
        """The kind of help is known: search the place named now or earlier, else ask where."""
        st = state(ctx)
        st["need"] = need
        stored = st.pop("place", None)
        place = place or stored
        return from_place(ctx, place) if place else ActionResult(outcome="where")

    def begin(ctx: Context, need: str | None, place: str | None) -> ActionResult:
        """A new search; what the asking sentence already said is not asked again."""
        new_search(ctx, place)
        return ActionResult(outcome="ask") if need is None else chosen(ctx, need)

    @registry.register("services.start")
    def start(ctx: Context) -> ActionResult:
        """A place or a kind of help named in the asking sentence ("¿dónde me ayudan en
        Tacna?", "hay algún albergue?") is kept, so that it is not asked again."""
        text = ctx.inbound.text or ""
        named = gazetteer.resolve(text) if text else None
        return begin(ctx, typed.need(text) if text else None, named.name if named else None)

    @registry.register("services.typed")
    def typed_anywhere(ctx: Context) -> ActionResult:
        """Words the conversation did not otherwise understand that ask for help in a
        place or name a kind of help ("estoy en tacna", "alojamiento"): a search.
        Anything else passes, and the engine says it did not understand."""
        text = ctx.inbound.text or ""
        place, need = typed.place_asked(text), typed.need(text)
        if place is None and need is None:
            return ActionResult(outcome=NOT_FOR_ME)
        if place is None:
            return begin(ctx, need, None)
        new_search(ctx)
        return chosen(ctx, need, place.name)

    @registry.register("services.restart")
    def restart(ctx: Context) -> ActionResult:
        return ask_need(ctx)

    @registry.register("services.ask_need")
    def ask_need(ctx: Context) -> ActionResult:
        buttons = [Button(ctx.t(N_("Cualquier ayuda")), act("services.set_need", ANY))]
        buttons += [
            Button(directory.need_label(code, ctx.t.lang), act("services.set_need", code))
            for code in CHAT_NEEDS
            if code in NEEDS
        ]
        return ActionResult(pages=[ctx.t(N_("¿Qué tipo de ayuda buscas?"))], buttons=buttons)

    @registry.register("services.typed_need")
    def typed_need(ctx: Context) -> ActionResult:
        """Typed words instead of a button: a place ("lima") means any help there;
        a word of a need's label ("abogado" does not, "legal" does) picks that need."""
        text = ctx.inbound.text or ""
        words = set(normalize(text).split())
        picked = typed.need(text) or next(
            (code for code in CHAT_NEEDS if words & need_words(code, ctx.t.lang)), None
        )
        named = gazetteer.resolve(text)
        if picked or named:
            return chosen(ctx, picked, named.name if named else None)
        shown = ask_need(ctx)
        shown.pages = [ctx.t(N_("Elige un tipo de ayuda, o escribe tu ciudad o distrito."))]
        return shown

    def need_words(code: str, lang: str) -> set[str]:
        label = normalize(directory.need_label(code, lang))
        return {w for w in label.split() if len(w) >= 5}

    @registry.register("services.set_need")
    def set_need(ctx: Context) -> ActionResult:
        value = str(ctx.params.get("value") or ANY)
        return chosen(ctx, None if value == ANY or value not in NEEDS else value)

    @registry.register("services.list_regions")
    def list_regions(ctx: Context) -> ActionResult:
        buttons = [
            Button(region.name, act("services.set_region", region.name))
            for region in sorted(gazetteer.regions, key=lambda r: r.name)
        ]
        return ActionResult(pages=[ctx.t(N_("Elige tu región:"))], buttons=buttons)

    @registry.register("services.set_region")
    def set_region(ctx: Context) -> ActionResult:
        st = fresh(ctx)
        result = searcher.search(region=str(ctx.params.get("value", "")), need=st["need"])
        return reply(ctx, result, with_distance=False)

    def from_place(ctx: Context, place: str | None) -> ActionResult:
        st = fresh(ctx)
        return reply(ctx, searcher.search(place=place, need=st["need"]), with_distance=False)

    @registry.register("services.place")
    def typed_place(ctx: Context) -> ActionResult:
        return from_place(ctx, ctx.inbound.text)

    @registry.register("services.near")
    def near(ctx: Context) -> ActionResult:
        st = fresh(ctx)
        lat, lon = ctx.inbound.latitude, ctx.inbound.longitude
        if lat is None or lon is None:
            result = searcher.search(place="", need=st["need"])
        else:
            result = searcher.search(point=(lat, lon), need=st["need"])
        return reply(ctx, result, with_distance=True)

    @registry.register("services.more")
    def more(ctx: Context) -> ActionResult:
        """The same ordered list, from the same origin, one screen further."""
        st = state(ctx)
        seen = set(st.get("seen") or ())
        if st.get("origin"):
            result = searcher.search(place=st["origin"], need=st["need"], limit=ALL)
        elif st.get("region"):
            result = searcher.search(region=st["region"], need=st["need"], limit=ALL)
        else:
            result = searcher.search(need=st["need"])
        rest = [hit for hit in result.local if hit.service.id not in seen]
        result.continued = bool(result.local)
        result.local, result.more_local = rest[:3], max(0, len(rest) - 3)
        return reply(ctx, result, with_distance=False)

    return registry
