"""Risk-indicator detection: message text -> level, codes and the words that triggered them.

A missed danger signal can cost someone their safety; a false alarm spends a caseworker's
scarce time. The detector is therefore a transparent lexicon (editable by protection
staff, every entry citing its seed section) plus a few context rules that remove the
commonest false alarms without hiding real ones:

- **Negation.** "no me quitaron nada", "nadie me amenaza": a negation cue that is the
  nearest word before a phrase (skipping clitics and auxiliaries like "me", "lo", "ha")
  cancels it. Phrases that *begin* with a negation ("no me dejan salir") are the
  indicator itself and are never cancelled by it.
- **Hypothetical or general questions.** "¿qué pasa si me quitan el pasaporte?", "what is
  debt bondage?": from the cue to the end of the clause, trafficking indicators are not
  counted. A plain "si/if" only suppresses entries that are not conditional by nature:
  "dice que si me voy me denuncia a migraciones" is still a threat.
- **Right now.** An indicator marked `escalate_now` with an urgency cue ("ahora", "right
  now", "agora", "maintenant") in the same clause adds `immediate_danger`, and so does a
  cry for help ("socorro", "au secours", "help me") anywhere in the message: someone
  who cries out while telling that they are locked in or threatened is in danger now.
- **Laughter.** A clause that laughs ("me tiene secuestrada todo el domingo jajaja",
  "me mata com tanto turno kkkk") may joke: its death threat, kidnapping or danger now
  is held back (latent), and so are confinement, a phone or papers kept when the clause
  names family ("my mom took my phone lol"), unless the message cries for help, says
  it is serious, or shows any other risk. Nervous laughter is common in real danger:
  from anyone else, confinement, papers and debts always count ("estoy encerrada
  jaja"), and self-harm and injuries always do.
- **Children.** A person who says they are under 18 is `minor`. A child merely mentioned
  ("mi hija de 8 años necesita un pediatra") only counts when a risk signal is present,
  so a parent asking about school is not escalated, but "mi hija de 15 ... no la deja
  salir" is urgent. `unaccompanied_minor` phrases ("estoy sola", "sin mis papás") count
  only together with a minor.

All four lexicons are applied to every message, whatever `lang` says: people mix
languages ("mwen pa gen papye, un monsieur m'offre du travail"). Matching is linear in
the message length (see `bot.risk.patterns`) and stops at `MAX_MATCH_CHARS`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from bot.engine.normalize import MAX_MATCH_CHARS
from bot.risk import codes as C
from bot.risk.lexicon import CUE_KINDS, Lexicon, Rule, load
from bot.risk.patterns import Match, Matcher, Work
from bot.risk.second_opinion import Model, opinion
from bot.risk.text import Segmented, segment

# Emoji carry meaning that normalisation throws away. 🆘 is an explicit call for help in
# danger; the others only add to a message that already shows a risk (a 🔪 in a recipe or a
# 🩸 about a period is no emergency).
EMOJI: dict[str, tuple[tuple[str, ...], bool]] = {
    "🆘": ((C.IMMEDIATE_DANGER, C.ASKS_FOR_HELP), False),
    "🔪": ((C.THREATS,), True),
    "🗡": ((C.THREATS,), True),
    "🔫": ((C.THREATS,), True),
    "🩸": ((C.MEDICAL_EMERGENCY,), True),
    "🚑": ((C.MEDICAL_EMERGENCY,), True),
}

_TRAFFICKING = frozenset(C.TRAFFICKING)
# What a laughing clause may mean as a figure of speech ("mi suegra me tiene secuestrada
# haciendo hallacas jajaja", "meu chefe me mata com tanto turno kkkk"): a death threat, a
# kidnapping, danger now. Nothing else: nervous laughter is common in real danger ("estoy
# encerrada jaja"), so confinement, papers, debts, self-harm and injuries always count.
_FIGURATIVE = frozenset({C.THREATS, C.ABDUCTION, C.IMMEDIATE_DANGER})
# ...and the home-life codes when the laughing clause names family: "my mom took my phone
# till i finish my homework lol", "sogra me prende em casa todo domingo kkkk". Never
# exploitation, debts or a marriage: relatives traffic too ("lol my uncle makes me...").
_HOME_LIFE = frozenset({C.MOVEMENT_RESTRICTED, C.ISOLATION, C.DOCUMENTS_WITHHELD})
KIN = "kin"

# A message that is exactly the help command shows the menu (DESIGN.md "Matching": the
# help command differs from the emergency words). It is not, by itself, a request for a
# person; "ayuda por favor", "necesito ayuda" or "help me" still are.
HELP_COMMANDS = frozenset({"ayuda", "help", "aide", "ajuda", "menu"})


@dataclass(frozen=True)
class Assessment:
    """The outcome for one message, as `python -m bot assess` prints it."""

    level: str
    indicators: tuple[str, ...]
    triggers: dict[str, list[str]] = field(default_factory=dict)
    # Codes said but not counted because this message shows no risk ("mi hija de 15"
    # with no risk signal): a conversation may count them once a risk appears later.
    latent: tuple[str, ...] = ()
    # Codes said but not counted because what they require was not in this message
    # ("estoy sola" needs `minor`): code -> the codes it needs, for a conversation that
    # may have seen them in another message ("tengo 15", later "estoy sola").
    conditional: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Exactly {"level", "indicators", "triggers"} (DESIGN.md "Command line")."""
        return {
            "level": self.level,
            "indicators": list(self.indicators),
            "triggers": {code: list(words) for code, words in self.triggers.items()},
        }

    def dumps(self) -> str:
        """One JSON line, non-ASCII kept readable."""
        return json.dumps(self.to_json(), ensure_ascii=False)


# Matcher targets: (rule index, role) where role is "match", "prev" or "next".
Target = tuple[int, str]


@dataclass(frozen=True)
class _Compiled:
    lexicon: Lexicon
    matcher: Matcher[Target]


def _targets(rules: Iterable[Rule]) -> Iterable[tuple[str, Target]]:
    for n, rule in enumerate(rules):
        for pattern in rule.patterns:
            yield pattern, (n, "match")
        for pattern in rule.unless_prev:
            yield pattern, (n, "prev")
        for pattern in rule.unless_next:
            yield pattern, (n, "next")


@lru_cache(maxsize=1)
def _compiled() -> _Compiled:
    lexicon = load()
    return _Compiled(lexicon, Matcher(_targets(lexicon.rules)))


@dataclass
class _Hit:
    rule: Rule
    start: int
    end: int


def _valid_hits(rules: tuple[Rule, ...], matches: list[Match[Target]]) -> list[_Hit]:
    """Matches of rules and cues, minus those excluded by their unless_prev/unless_next."""
    prev_ends: dict[int, set[int]] = {}
    next_starts: dict[int, set[int]] = {}
    for m in matches:
        n, role = m.target
        if role == "prev":
            prev_ends.setdefault(n, set()).add(m.end)
        elif role == "next":
            next_starts.setdefault(n, set()).add(m.start)
    hits: list[_Hit] = []
    for m in matches:
        n, role = m.target
        if role != "match":
            continue
        if m.start in prev_ends.get(n, ()) or m.end in next_starts.get(n, ()):
            continue
        hits.append(_Hit(rules[n], m.start, m.end))
    return hits


# How many clitics/auxiliaries may sit between a negation and its phrase ("nadie ME LO HA
# quitado"). A bound keeps the look-back constant per match: linear even on "me me me ...".
MAX_SKIP = 4


def _negated(hit: _Hit, seg: Segmented, neg_ends: set[int], skip: frozenset[str]) -> bool:
    """Is the nearest content word before the phrase (same clause) a negation cue?"""
    j = hit.start - 1
    clause = seg.clause[hit.start]
    for _ in range(MAX_SKIP + 1):
        if j < 0 or seg.clause[j] != clause:
            return False
        if j + 1 in neg_ends:
            return True
        if seg.tokens[j] not in skip:
            return False
        j -= 1
    return False


def _first_cue(seg: Segmented, cues: list[_Hit]) -> dict[int, int]:
    """Per clause, where the earliest cue of a kind starts: a cue reaches from there to the
    end of its clause. One dict lookup per phrase keeps the scope check linear."""
    first: dict[int, int] = {}
    for cue in cues:
        clause = seg.clause[cue.start]
        first[clause] = min(first.get(clause, cue.start), cue.start)
    return first


def _in_scope(hit: _Hit, seg: Segmented, first: dict[int, int]) -> bool:
    """Does a cue start before (or at) the phrase, in the same clause?"""
    start = first.get(seg.clause[hit.start])
    return start is not None and start <= hit.start


NEGATED_WORDS = 2  # content words a negation reaches, for the second opinion


def _muted(
    seg: Segmented,
    hypothetical: dict[int, int],
    cues: dict[str, list[_Hit]],
    compiled: _Compiled,
    laughing: set[int],
) -> frozenset[int]:
    """Tokens the second opinion may not take as evidence of a trafficking code, as the
    lexicon would not: from a "what if" to the end of its clause ("¿y si me quitan el
    pasaporte?"), a clause that laughs, and the next two content words after a negation
    ("nadie me quitó el pasaporte", but "no me paga hace meses y amenaza a mi familia"
    keeps the threat).
    Phrases that are themselves indicators ("no me dejan salir") are the lexicon's."""
    end = len(seg.tokens)
    muted = {
        i for i in range(end)
        if hypothetical.get(seg.clause[i], end) <= i or seg.clause[i] in laughing
    }  # fmt: skip
    skip = compiled.lexicon.skip
    for cue in cues["negation"]:
        j, content = cue.end, 0
        while j < end and content < NEGATED_WORDS and seg.clause[j] == seg.clause[cue.start]:
            muted.add(j)
            content += seg.tokens[j] not in skip
            j += 1
    return frozenset(muted)


@dataclass(frozen=True)
class _Found:
    """One indicator kept after the context rules, with where it was found."""

    code: str
    rule: Rule | None
    start: int
    end: int
    words: str


def _drop_contained(found: list[_Found]) -> list[_Found]:
    """Keep, per code, only matches not inside a longer one ("me quitaron el pasaporte"
    and "quitaron el pasaporte" are one trigger, the longer). Sort and sweep: n log n."""
    out: list[_Found] = []
    last_code = ""
    reach = -2
    for f in sorted(found, key=lambda f: (f.code, f.start, -f.end)):
        if f.code != last_code:
            last_code, reach = f.code, -2
        if f.start >= 0 and f.end <= reach:
            continue  # inside an earlier, longer match of the same code
        out.append(f)
        reach = max(reach, f.end)
    return out


def assess(
    text: str,
    lang: str | None = None,
    work: Work | None = None,
    *,
    second_opinion: bool = True,
    model: Model | None = None,
) -> Assessment:
    """Assess one message. `lang` is accepted but every lexicon is applied (see module doc).

    `work`, when given, counts automaton steps (tests use it to check linear cost).
    `second_opinion`: add what the learned model (bot/risk/second_opinion.py, `model` or
    the trained one) is sure of; it only ever adds codes, never removes one.
    """
    del lang  # all four lexicons always apply; kept in the signature for callers
    compiled = _compiled()
    text = text if isinstance(text, str) else str(text)
    seg = segment(text)
    hits = _valid_hits(compiled.lexicon.rules, compiled.matcher.find(seg, work))

    cues: dict[str, list[_Hit]] = {kind: [] for kind in CUE_KINDS}
    indicators: list[_Hit] = []
    contexts: set[str] = set()
    kin_clauses: set[int] = set()  # clauses that name family ("mi suegra", "my mom")
    for hit in hits:
        if hit.rule.kind == "indicator":
            indicators.append(hit)
        elif hit.rule.kind == "context":
            contexts.add(hit.rule.code)
            if hit.rule.code == KIN:
                kin_clauses.add(seg.clause[hit.start])
        else:
            cues[hit.rule.kind].append(hit)
    neg_ends = {c.end for c in cues["negation"]}
    neg_starts = {c.start for c in cues["negation"]}
    hypothetical = _first_cue(seg, cues["hypothetical"])
    conditional = _first_cue(seg, cues["conditional"])
    now_by_clause: dict[int, _Hit] = {}
    for cue in cues["urgency"]:
        now_by_clause.setdefault(seg.clause[cue.start], cue)
    distress = cues["distress"][0] if cues["distress"] else None
    # A clause that laughs (jaja, kkk, lol, mdr) may joke, unless the message cries for
    # help or says it is serious ("no es broma") anywhere.
    serious = distress is not None or bool(cues["serious"])
    laughing = set() if serious else {seg.clause[c.start] for c in cues["laughter"]}
    joked: list[_Found] = []  # figurative codes of a laughing clause, held back

    bare_command = len(seg.tokens) == 1 and seg.tokens[0] in HELP_COMMANDS
    found: list[_Found] = []
    for hit in indicators:
        rule = hit.rule
        if rule.context and rule.context not in contexts:
            continue
        if bare_command and rule.code == C.ASKS_FOR_HELP:
            continue
        if (
            rule.negatable
            and hit.start not in neg_starts
            and _negated(hit, seg, neg_ends, compiled.lexicon.skip)
        ):
            continue
        clause = seg.clause[hit.start]
        if clause in laughing and (
            rule.code in _FIGURATIVE or (rule.code in _HOME_LIFE and clause in kin_clauses)
        ):
            joked.append(_Found(rule.code, rule, hit.start, hit.end, seg.words(hit.start, hit.end)))
            continue
        if rule.code in _TRAFFICKING and (
            _in_scope(hit, seg, hypothetical)
            or (not rule.conditional and _in_scope(hit, seg, conditional))
        ):
            continue
        found.append(_Found(rule.code, rule, hit.start, hit.end, seg.words(hit.start, hit.end)))
        now = now_by_clause.get(seg.clause[hit.start])
        if rule.escalate_now and now is not None:
            start, end = min(hit.start, now.start), max(hit.end, now.end)
            found.append(_Found(C.IMMEDIATE_DANGER, rule, start, end, seg.words(start, end)))
        elif rule.escalate_now and distress is not None:
            # "socorro!! me encerraron": a cry for help anywhere in the message is "now".
            words = f"{seg.words(distress.start, distress.end)} … {seg.words(hit.start, hit.end)}"
            found.append(_Found(C.IMMEDIATE_DANGER, rule, hit.start, hit.end, words))

    # Emoji: one pass over the (truncated) raw text. Positions -1 keep them apart.
    emoji: list[tuple[str, bool, str]] = []
    for ch in text[:MAX_MATCH_CHARS]:
        if ch in EMOJI:
            codes, needs_risk = EMOJI[ch]
            emoji.extend((code, needs_risk, ch) for code in codes)

    # A joke stays a joke only if nothing else in the message is a risk: "me quitó el
    # teléfono y dice q me denuncia a migraciones jaja" is a threat all the same.
    if joked and {f.code for f in found} & C.RISK_CODES:
        found.extend(joked)
        joked = []
    # Conditions: `requires` against everything matched, then `only_with_risk` against what
    # is left (a mentioned child counts only when there is a risk signal).
    potential = {f.code for f in found} | {code for code, _, _ in emoji}
    conditional = {
        f.code: tuple(f.rule.requires)
        for f in found
        if f.rule is not None and not set(f.rule.requires) <= potential
    }
    found = [f for f in found if f.rule is None or set(f.rule.requires) <= potential]
    firm = {f.code for f in found if f.rule is None or not f.rule.only_with_risk}
    firm |= {code for code, needs_risk, _ in emoji if not needs_risk}
    has_risk = bool(firm & C.RISK_CODES)
    latent = (
        ()
        if has_risk
        else tuple(sorted(({f.code for f in found} - firm) | {f.code for f in joked}))
    )
    waiting = [f for f in found if not has_risk and f.rule is not None and f.rule.only_with_risk]
    found = [f for f in found if has_risk or f.rule is None or not f.rule.only_with_risk]
    found.extend(
        _Found(code, None, -1, -1, ch)
        for code, needs_risk, ch in emoji
        if has_risk or not needs_risk
    )
    if any(f.code == C.UNACCOMPANIED_MINOR for f in found) and not any(
        f.code == C.MINOR for f in found
    ):
        found.extend(
            _Found(C.MINOR, f.rule, f.start, f.end, f.words)
            for f in found
            if f.code == C.UNACCOMPANIED_MINOR
        )

    triggers: dict[str, list[str]] = {}
    for f in _drop_contained(found):
        bucket = triggers.setdefault(f.code, [])
        if f.words not in bucket:
            bucket.append(f.words)
    if second_opinion:
        muted = _muted(seg, hypothetical, cues, compiled, laughing)
        learned = opinion(seg, set(triggers), model, muted)
        for code, words in learned.triggers.items():
            triggers[code] = [words]
        if set(learned.triggers) & C.RISK_CODES and waiting:  # "mi hija de 14" now counts
            for f in waiting:
                triggers.setdefault(f.code, []).append(f.words)
            latent = ()
    codes = tuple(sorted(triggers))
    return Assessment(
        level=C.level_for(codes),
        indicators=codes,
        triggers=triggers,
        latent=latent,
        conditional=conditional,
    )
