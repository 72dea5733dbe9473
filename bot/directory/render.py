"""Search results as short messages for a phone, and as JSON for the command line.

Only public fields are rendered. Caseworker-only focal points never reach this module:
it reads `Service` attributes that do not include them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.directory.hotlines import DISPLAY_ORDER, localized, paginate
from bot.directory.model import Directory, Service
from bot.directory.search import Hit, SearchResult
from bot.engine.flows import MAX_CHARS
from bot.engine.i18n import N_, Translator

MONTHS = {
    "es": "ene feb mar abr may jun jul ago sep oct nov dic",
    "en": "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec",
    "pt": "jan fev mar abr mai jun jul ago set out nov dez",
    "fr": "janv. févr. mars avr. mai juin juil. août sept. oct. nov. déc.",
}


def month(verified: str, lang: str) -> str:
    year, _, mon = verified.partition("-")
    names = MONTHS.get(lang, MONTHS["es"]).split()
    return f"{names[int(mon) - 1]} {year}" if mon.isdigit() else verified


def contacts(service: Service, directory: Directory, phones: tuple[str, ...] = ()) -> str:
    parts: list[str] = []
    if service.hotline and service.hotline in directory.hotlines:
        parts.append(directory.hotlines[service.hotline].number)
    parts += [*phones, *service.phones][:2]
    line = "☎️ " + " / ".join(parts) if parts else ""
    if service.whatsapp:
        line += (" · " if line else "") + "WhatsApp " + service.whatsapp[0]
    if not line and service.emails:
        line = "✉️ " + service.emails[0]
    if not line and service.web:
        line = "🌐 " + service.web[0]
    return line


def title(organisation: str, name: str) -> str:
    """ "Cáritas Cusco", not "Cáritas Cusco: Cáritas Cusco": the organisation only when
    the name does not already say it."""
    if organisation.casefold() in name.casefold():
        return name
    return f"{organisation}: {name}"


def hit_block(hit: Hit, directory: Directory, t: Translator, with_distance: bool) -> str:
    service, office = hit.service, hit.office
    lines = [f"🏢 {title(service.organisation, service.name)}"]
    lines.append(service.text(service.description, t.lang))
    where = office.place()
    if with_distance and hit.distance_km is not None and hit.distance_km >= 1:
        where += f" (~{hit.distance_km:.0f} km)"
    if office.type == "service_area":
        lines.append("📍 " + t(N_("Atiende en: {place}"), place=where))
    else:
        lines.append(f"📍 {where}")
    contact = contacts(service, directory, office.phones)
    lines.append(contact or through_us(t))
    if service.hours:
        lines.append("🕒 " + service.text(service.hours, t.lang))
    lines.append(t(N_("Datos de {date}"), date=month(service.verified, t.lang)))
    return "\n".join(lines)


# The same sentence as in the non-reporting and reflection flows (one catalog entry).
REPORTING_DUTY = N_(
    "Ojo: los servicios del Estado deben denunciar si te atienden. CHS Alternativo, CARE Perú "
    "y OIM ayudan sin denuncia; si pides refugio o ya eres refugiada/o, ACNUR."
)


def through_us(t: Translator) -> str:
    """For an office with no public contact in the sources: a way to reach it that
    invents nothing, through this service's own caseworkers."""
    return "☎️ " + t(
        N_(
            "Sin contacto público: nuestro equipo puede derivarte. Escribe «hablar con una persona»."
        )
    )


def national_line(service: Service, directory: Directory, t: Translator) -> str:
    contact = contacts(service, directory) or through_us(t)
    head = f"• {service.organisation}: {service.text(service.description, t.lang)}"
    return f"{head} {contact}".strip()


def header(result: SearchResult, directory: Directory, t: Translator) -> str:
    """What was found, said honestly: outside Peru, unknown place, nothing local."""
    if result.outside_peru:
        return t(N_("Parece que estás fuera del Perú. Estas opciones atienden en todo el país:"))
    if result.unknown_place:
        return t(N_("No encontré ese lugar. Estas opciones atienden en todo el Perú:"))
    if result.origin and not result.local and result.continued:
        return t(
            N_("Ya viste todas las oficinas cerca de {place}. También:"), place=result.origin.name
        )
    if result.origin and not result.local:
        return t(
            N_("No encontramos oficinas en {region} para lo que buscas. Lo más cercano:"),
            region=result.origin.region,
        )
    if result.origin and result.need:
        need = directory.need_label(result.need, t.lang)
        return t(N_("{need} cerca de {place}:"), need=need, place=result.origin.name)
    if result.origin:
        return t(N_("Ayuda cerca de {place}:"), place=result.origin.name)
    return t(N_("Estas opciones atienden en todo el Perú:"))


@dataclass
class Screen:
    text: str
    hits_shown: int
    national_shown: int


def screen(
    result: SearchResult,
    directory: Directory,
    t: Translator,
    with_distance: bool,
    max_hits: int = 3,
    max_national: int = 3,
    limit: int = MAX_CHARS,
    duty: bool = False,
) -> Screen:
    """One phone screen: the header, as many results as fit, the national options that
    fit, and always the 24-hour lines and the advice to call before going. `duty`: the
    search was reached from the non-reporting or reflection routes, so wherever a state
    service is listed the screen says that state services must report (DOMAIN.md)."""
    lines_24h = " · ".join(
        h.number for h in result.hotlines if h.hours_24h and h.id in DISPLAY_ORDER
    )
    medical = next((h.number for h in result.hotlines if h.id == "113"), None)
    lines_note = t(N_("Líneas 24 horas, gratis: {numbers}"), numbers=lines_24h)
    if medical:  # 113 is not a 24-hour line as a whole (only option 5 is): said apart
        lines_note += "\n" + t(N_("Emergencia médica: {number}"), number=medical)
    footer = [
        lines_note,
        t(N_("Llama antes de ir: horarios y direcciones pueden cambiar.")),
    ]
    listed = [h.service for h in (*result.local, *result.nearby)] + result.national
    if duty and any(s.kind == "state" for s in listed):
        footer.insert(0, t(REPORTING_DUTY))

    def join(parts: list[str]) -> str:
        return "\n\n".join(p for p in parts if p)

    parts = [header(result, directory, t)]
    hits = 0
    for hit in [*result.local, *result.nearby][:max_hits]:
        block = hit_block(hit, directory, t, with_distance)
        if len(join([*parts, block, *footer])) > limit and hits:
            break
        parts.append(block)
        hits += 1
    national = 0
    for count in range(min(max_national, len(result.national)), 0, -1):
        block = (
            t(N_("En todo el país:"))
            + "\n"
            + "\n".join(national_line(s, directory, t) for s in result.national[:count])
        )
        if len(join([*parts, block, *footer])) <= limit:
            parts.append(block)
            national = count
            break
    return Screen(join([*parts, *footer]), hits, national)


def pages(
    result: SearchResult, directory: Directory, t: Translator, with_distance: bool
) -> list[str]:
    """Every result as phone-sized pages (for a complete listing)."""
    blocks = [hit_block(h, directory, t, with_distance) for h in (*result.local, *result.nearby)]
    if result.national:
        blocks.append(
            t(N_("En todo el país:"))
            + "\n"
            + "\n".join(national_line(s, directory, t) for s in result.national)
        )
    return paginate(blocks, header(result, directory, t))


def as_json(result: SearchResult, directory: Directory, lang: str) -> dict[str, Any]:
    def hit(h: Hit) -> dict[str, Any]:
        s, o = h.service, h.office
        return {
            "id": s.id,
            "organisation": s.organisation,
            "name": s.name,
            "kind": s.kind,
            "needs": list(s.needs),
            "description": s.text(s.description, lang),
            "region": o.region,
            "place": o.place(),
            "office_type": o.type,
            "precision": o.precision,
            "lat": o.lat,
            "lon": o.lon,
            "distance_km": None if h.distance_km is None else round(h.distance_km, 1),
            "phones": ([directory.hotlines[s.hotline].number] if s.hotline else [])
            + list(o.phones + s.phones),
            "whatsapp": list(o.whatsapp + s.whatsapp),
            "emails": list(s.emails),
            "web": list(s.web),
            "hours": s.text(s.hours, lang) or None,
            "verified": s.verified,
            "source": s.source,
        }

    return {
        "need": result.need,
        "origin": None
        if result.origin is None
        else {"name": result.origin.name, "region": result.origin.region},
        "outside_peru": result.outside_peru,
        "unknown_place": result.unknown_place,
        "local": [hit(h) for h in result.local],
        "nearby": [hit(h) for h in result.nearby],
        "national": [
            {
                "id": s.id,
                "organisation": s.organisation,
                "name": s.name,
                "description": s.text(s.description, lang),
                "phones": ([directory.hotlines[s.hotline].number] if s.hotline else [])
                + list(s.phones),
                "web": list(s.web),
                "verified": s.verified,
                "source": s.source,
            }
            for s in result.national
        ],
        "hotlines": [
            {"id": h.id, "number": h.number, "name": localized(h.name, lang)}
            for h in result.hotlines
        ],
    }
