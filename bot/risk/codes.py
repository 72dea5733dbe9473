"""The risk vocabulary (DESIGN.md "Risk vocabulary"): the one place for codes and levels.

Codes are stable: they are stored in cases, shown in the console, written in the lexicon
files and asserted in tests. Everything else imports them from here so that a typo in a
code is an import error, not a silently missed danger signal.
"""

from __future__ import annotations

from collections.abc import Iterable

# Trafficking indicators (001 §3.3.1 "indicadores de riesgo" and Anexo 4, UNODC 2010).
DECEPTIVE_OFFER = "deceptive_offer"
DOCUMENTS_WITHHELD = "documents_withheld"
MOVEMENT_RESTRICTED = "movement_restricted"
DEBT_BONDAGE = "debt_bondage"
THREATS = "threats"
VIOLENCE = "violence"
SEXUAL_EXPLOITATION = "sexual_exploitation"
LABOUR_EXPLOITATION = "labour_exploitation"
FORCED_CRIME = "forced_crime"
ISOLATION = "isolation"
ABDUCTION = "abduction"
FORCED_MARRIAGE = "forced_marriage"

# Vulnerability and context (001 §3.3.1 "factores de vulnerabilidad").
MINOR = "minor"
UNACCOMPANIED_MINOR = "unaccompanied_minor"
UNDOCUMENTED = "undocumented"
ASKS_FOR_HELP = "asks_for_help"

# Urgency.
IMMEDIATE_DANGER = "immediate_danger"
MEDICAL_EMERGENCY = "medical_emergency"
SELF_HARM = "self_harm"

TRAFFICKING: tuple[str, ...] = (
    DECEPTIVE_OFFER,
    DOCUMENTS_WITHHELD,
    MOVEMENT_RESTRICTED,
    DEBT_BONDAGE,
    THREATS,
    VIOLENCE,
    SEXUAL_EXPLOITATION,
    LABOUR_EXPLOITATION,
    FORCED_CRIME,
    ISOLATION,
    ABDUCTION,
    FORCED_MARRIAGE,
)
VULNERABILITY: tuple[str, ...] = (MINOR, UNACCOMPANIED_MINOR, UNDOCUMENTED, ASKS_FOR_HELP)
URGENCY: tuple[str, ...] = (IMMEDIATE_DANGER, MEDICAL_EMERGENCY, SELF_HARM)
ALL_CODES: tuple[str, ...] = TRAFFICKING + VULNERABILITY + URGENCY

# Most severe first. Severity comparisons (recall "at least this level") use this order.
URGENT = "urgent"
HIGH = "high"
NORMAL = "normal"
NONE = "none"
LEVELS: tuple[str, ...] = (URGENT, HIGH, NORMAL, NONE)

# Codes that make a case a child-at-risk case when a minor is involved (DOMAIN.md
# "Children and adolescents": a minor together with any trafficking indicator or urgency
# signal is urgent). Also used by the detector: a child merely *mentioned* by a parent
# only counts as `minor` when one of these is present.
RISK_CODES: frozenset[str] = frozenset(TRAFFICKING) | frozenset(URGENCY) | {UNACCOMPANIED_MINOR}

PLAIN_ES: dict[str, str] = {
    DECEPTIVE_OFFER: "Oferta de trabajo o estudio engañosa o con lugar o empleador desconocido",
    DOCUMENTS_WITHHELD: "Le quitaron o retienen sus documentos",
    MOVEMENT_RESTRICTED: "No puede salir: encerrada, vigilada o acompañada a todas partes",
    DEBT_BONDAGE: "La obligan a trabajar para pagar una deuda (pasaje, cuarto, multas)",
    THREATS: "Recibe amenazas contra ella o su familia, o de denunciarla a migraciones",
    VIOLENCE: "Sufre maltrato físico, sexual o psicológico",
    SEXUAL_EXPLOITATION: "La obligan a prostituirse o a tener sexo con clientes",
    LABOUR_EXPLOITATION: "No le pagan, le retienen el sueldo, jornadas excesivas o sin descanso",
    FORCED_CRIME: "La obligan a vender droga, robar o pedir dinero",
    ISOLATION: "Le quitaron el celular o no puede comunicarse con su familia",
    ABDUCTION: "Fue secuestrada o se la llevaron a la fuerza",
    FORCED_MARRIAGE: "La obligan a casarse",
    MINOR: "Es menor de edad (o habla de una persona menor)",
    UNACCOMPANIED_MINOR: "Menor de edad sin padres ni tutores",
    UNDOCUMENTED: "No tiene documentos",
    ASKS_FOR_HELP: "Pide ayuda expresamente",
    IMMEDIATE_DANGER: "Está en peligro ahora mismo",
    MEDICAL_EMERGENCY: "Emergencia médica: herida, sangrado, enfermedad grave o embarazo",
    SELF_HARM: "Piensa en quitarse la vida o hacerse daño",
}

_TRAFFICKING = frozenset(TRAFFICKING)
_URGENCY = frozenset(URGENCY)


def level_for(codes: Iterable[str]) -> str:
    """The level for a set of codes, exactly as DESIGN.md's table says.

    urgent: any urgency code, or unaccompanied_minor, or minor with any trafficking code.
    high:   any trafficking code other than deceptive_offer alone, or two or more codes.
    normal: exactly one weak signal (minor, undocumented, deceptive_offer, asks_for_help).
    none:   no codes.
    """
    found = set(codes)
    unknown = found - set(ALL_CODES)
    if unknown:
        raise ValueError(f"unknown risk codes: {sorted(unknown)}")
    trafficking = found & _TRAFFICKING
    if found & _URGENCY or UNACCOMPANIED_MINOR in found or (MINOR in found and trafficking):
        return URGENT
    if trafficking - {DECEPTIVE_OFFER} or len(found) >= 2:
        return HIGH
    if found:
        return NORMAL
    return NONE


def severity(level: str) -> int:
    """0 for urgent ... 3 for none, so that `severity(a) <= severity(b)` means a >= b."""
    return LEVELS.index(level)
