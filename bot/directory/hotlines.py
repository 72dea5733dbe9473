"""The vetted hotline table: the one place where the bot's phone numbers live.

Flows reference lines as `{tel:ID}`; the engine fills the number from here, and the
hotline list is rendered from here too. Changing a number means editing one entry of
directory.json, and a typo in a flow's reference is a load error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.engine.actions import ActionResult, Context, Registry
from bot.engine.flows import MAX_CHARS
from bot.engine.i18n import N_, Translator

# The order people see: the five lines of the mission first, emergencies on top.
DISPLAY_ORDER = ("105", "113", "100", "1818", "1884", "1810")


def localized(values: dict[str, str] | None, lang: str) -> str:
    """A directory text in the person's language, else the Spanish source."""
    if not values:
        return ""
    return values.get(lang) or values.get("es", "")


@dataclass(frozen=True)
class Hotline:
    id: str
    number: str
    organisation: str
    name: dict[str, str]
    what: dict[str, str]
    hours: dict[str, str] | None
    hours_24h: bool | None
    free: bool | None
    anonymous: bool
    whatsapp: str | None
    source: str
    needs: tuple[str, ...] = ()
    short: dict[str, str] | None = None

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> Hotline:
        return cls(
            id=raw["id"],
            number=raw["number"],
            organisation=raw["organisation"],
            name=raw["name"],
            what=raw["what"],
            hours=raw.get("hours"),
            short=raw.get("short"),
            hours_24h=raw.get("hours_24h"),
            free=raw.get("free"),
            anonymous=bool(raw.get("anonymous")),
            whatsapp=raw.get("whatsapp"),
            source=raw["source"],
            needs=tuple(raw.get("needs") or ()),
        )


def describe(line: Hotline, t: Translator) -> str:
    """One hotline as a short block: number, name, what for, hours, free, anonymous."""
    lang = t.lang
    facts: list[str] = []
    if line.hours_24h:
        facts.append(t(N_("24 horas")))
    elif line.hours:
        facts.append(localized(line.hours, lang))
    if line.free:
        facts.append(t(N_("gratis")))
    if line.anonymous:
        facts.append(t(N_("puede ser anónima")))
    tail = f" ({', '.join(facts)})" if facts else ""
    text = f"📞 {line.number} · {localized(line.name, lang)}\n"
    text += f"{localized(line.what, lang)}{tail}"
    if line.whatsapp:
        text += "\n" + t(N_("WhatsApp: {number}"), number=line.whatsapp)
    return text


def summary(lines: dict[str, Hotline], t: Translator) -> str:
    """The six main lines, one short line each, so that all fit the first screen."""
    rows = [
        f"📞 {lines[i].number} · {localized(lines[i].short or lines[i].name, t.lang)}"
        for i in DISPLAY_ORDER
        if i in lines
    ]
    return "\n".join([t(N_("Líneas de ayuda en el Perú, gratis:")), *rows])


def paginate(blocks: list[str], header: str = "", limit: int = MAX_CHARS) -> list[str]:
    """Join text blocks into pages that each fit a phone screen."""
    pages: list[str] = []
    current = header
    for block in blocks:
        candidate = f"{current}\n\n{block}" if current else block
        if len(candidate) > limit and current and current != header:
            pages.append(current)
            current = block
        else:
            current = candidate
    if current:
        pages.append(current)
    return pages


def ordered(lines: dict[str, Hotline]) -> list[Hotline]:
    first = [lines[i] for i in DISPLAY_ORDER if i in lines]
    return first + [h for i, h in lines.items() if i not in DISPLAY_ORDER]


def handlers(lines: dict[str, Hotline]) -> Registry:
    registry = Registry()

    @registry.register("directory.hotlines")
    def hotlines(ctx: Context) -> ActionResult:
        """The main numbers on one screen, without a tap; the details follow."""
        blocks = [describe(h, ctx.t) for h in ordered(lines)]
        header = ctx.t(N_("Más sobre cada línea:"))
        return ActionResult(pages=[summary(lines, ctx.t), *paginate(blocks, header)])

    return registry
