"""Loads and validates the risk lexicon files ({es,en,pt,fr}.yaml, format in README.md).

The files are data that protection staff edit, so loading is strict: an unknown code,
an unknown key or a pattern that cannot compile stops start-up with a message naming the
file and the entry. A typo must never silently disable an indicator.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.risk.codes import ALL_CODES
from bot.risk.patterns import PatternError, compile_pattern
from bot.risk.text import word_tokens

LEXICON_DIR = Path(__file__).resolve().parent
LANG_FILES: tuple[str, ...] = ("es", "en", "pt", "fr")

CUE_KINDS: tuple[str, ...] = (
    "negation",
    "hypothetical",
    "conditional",
    "urgency",
    "distress",
    "laughter",
    "serious",
)

_ENTRY_KEYS = {
    "code",
    "source",
    "patterns",
    "unless_prev",
    "unless_next",
    "negatable",
    "conditional",
    "requires",
    "only_with_risk",
    "escalate_now",
    "context",
    "note",
}
_CUE_KEYS = {"patterns", "unless_prev", "unless_next", "note"}
_FILE_KEYS = {"lang", "skip", "spellings", "concepts", "cues", "contexts", "entries"}


class LexiconError(ValueError):
    """A lexicon file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class Rule:
    """One lexicon entry (an indicator) or one cue, ready for the matcher.

    `kind` is "indicator", a cue kind (negation, hypothetical, conditional, urgency) or
    "context" (then `code` is the context name, e.g. job_offer).
    """

    kind: str
    code: str
    lang: str
    source: str
    patterns: tuple[str, ...]
    unless_prev: tuple[str, ...] = ()
    unless_next: tuple[str, ...] = ()
    negatable: bool = True
    conditional: bool = False
    requires: tuple[str, ...] = ()
    only_with_risk: bool = False
    escalate_now: bool = False
    context: str = ""


@dataclass(frozen=True)
class Lexicon:
    """All rules of all languages, plus the words skipped when looking for a negation."""

    rules: tuple[Rule, ...]
    skip: frozenset[str]

    def count(self, lang: str, kind: str = "indicator") -> int:
        """Number of patterns of one language and kind (for reports)."""
        return sum(len(r.patterns) for r in self.rules if r.lang == lang and r.kind == kind)


Rewrite = Callable[[str], str]


def _strings(value: Any, where: str, what: str, rewrite: Rewrite | None = None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise LexiconError(f"{where}: '{what}' must be a list of non-empty strings")
    if what not in {"patterns", "unless_prev", "unless_next"}:
        return tuple(value)
    out = []
    for v in value:
        try:
            v = rewrite(v) if rewrite else v
            compile_pattern(v)
        except PatternError as exc:
            raise LexiconError(f"{where}: {exc}") from exc
        out.append(v)
    return tuple(out)


_CONCEPT_REF = re.compile(r"@([a-z_]+)")
# `~lemma` as lexicon files write it (the loader adds the language: `~es:lemma`).
LEMMA_REF = re.compile(r"~(?![a-z]{2}:)([^\s()|?<>]+)")


def _rewriter(
    lang: str,
    concepts: dict[str, tuple[str, ...]],
    spellings: dict[str, tuple[str, ...]] | None = None,
) -> Rewrite:
    """`@concept` becomes the group of its patterns; `~lemma` gets the file's language;
    a word of `spellings` becomes the group of its written forms ("nao" -> "(nao|n)")."""
    spelled = (
        re.compile(r"(?<![\w~:*])(" + "|".join(map(re.escape, spellings)) + r")(?![\w*])")
        if spellings
        else None
    )

    def rewrite(pattern: str) -> str:
        def concept(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in concepts:
                raise PatternError(f"pattern {pattern!r}: unknown concept @{name}")
            return "(" + "|".join(concepts[name]) + ")"

        out = _CONCEPT_REF.sub(concept, pattern)
        if spelled is not None and spellings is not None:
            out = spelled.sub(lambda m: "(" + "|".join((m[1], *spellings[m[1]])) + ")", out)
        return LEMMA_REF.sub(lambda m: f"~{lang}:{m.group(1)}", out)

    return rewrite


def _spellings(data: dict[str, Any], name: str) -> dict[str, tuple[str, ...]]:
    """Words people write another way in this language ("n" for Portuguese "não"). They
    apply to entries and contexts, never to cues: all four files read every message,
    and an English "n" (= "and") must not become a negation."""
    raw = data.get("spellings") or {}
    if not isinstance(raw, dict):
        raise LexiconError(f"{name}: 'spellings' must map a word to the ways it is written")
    out = {}
    for word, forms in raw.items():
        where = f"{name} spellings.{word}"
        if not isinstance(word, str) or not re.fullmatch(r"[a-z]+", word):
            raise LexiconError(f"{where}: a spelling is one normalised word")
        values = _strings(forms, where, "forms")
        if not all(re.fullmatch(r"[a-z]+", v) for v in values):
            raise LexiconError(f"{where}: each form is one normalised word")
        out[word] = values
    return out


def _flag(entry: dict[str, Any], key: str, default: bool, where: str) -> bool:
    value = entry.get(key, default)
    if not isinstance(value, bool):
        raise LexiconError(f"{where}: '{key}' must be true or false")
    return value


def _cue(kind: str, item: Any, lang: str, where: str, rewrite: Rewrite | None = None) -> Rule:
    if isinstance(item, str):
        patterns = _strings(item, where, "patterns", rewrite)
        return Rule(kind=kind, code=kind, lang=lang, source="", patterns=patterns)
    if not isinstance(item, dict) or set(item) - _CUE_KEYS or "patterns" not in item:
        raise LexiconError(f"{where}: a cue is a pattern or {{patterns, unless_prev, unless_next}}")
    return Rule(
        kind=kind,
        code=kind,
        lang=lang,
        source="",
        patterns=_strings(item["patterns"], where, "patterns", rewrite),
        unless_prev=_strings(item.get("unless_prev"), where, "unless_prev", rewrite),
        unless_next=_strings(item.get("unless_next"), where, "unless_next", rewrite),
    )


def _entry(entry: Any, lang: str, where: str, rewrite: Rewrite | None = None) -> Rule:
    if not isinstance(entry, dict):
        raise LexiconError(f"{where}: an entry must be a mapping")
    unknown = set(entry) - _ENTRY_KEYS
    if unknown:
        raise LexiconError(f"{where}: unknown keys {sorted(unknown)}")
    code = entry.get("code")
    if code not in ALL_CODES:
        raise LexiconError(f"{where}: unknown code {code!r}")
    source = entry.get("source")
    if not isinstance(source, str) or not source.strip():
        raise LexiconError(f"{where}: every entry needs a 'source' (seed reference)")
    patterns = _strings(entry.get("patterns"), where, "patterns", rewrite)
    if not patterns:
        raise LexiconError(f"{where}: no patterns")
    context = entry.get("context", "")
    if not isinstance(context, str):
        raise LexiconError(f"{where}: 'context' must be the name of a context")
    requires = _strings(entry.get("requires"), where, "requires")
    if set(requires) - set(ALL_CODES):
        raise LexiconError(f"{where}: 'requires' names an unknown code")
    return Rule(
        kind="indicator",
        code=code,
        lang=lang,
        source=source,
        patterns=patterns,
        unless_prev=_strings(entry.get("unless_prev"), where, "unless_prev", rewrite),
        unless_next=_strings(entry.get("unless_next"), where, "unless_next", rewrite),
        negatable=_flag(entry, "negatable", True, where),
        conditional=_flag(entry, "conditional", False, where),
        requires=requires,
        only_with_risk=_flag(entry, "only_with_risk", False, where),
        escalate_now=_flag(entry, "escalate_now", False, where),
        context=context,
    )


def _concepts(data: dict[str, Any], lang: str, name: str) -> dict[str, tuple[str, ...]]:
    """Named groups of words (confinement verbs, night workplaces...) that patterns use
    as `@name`. A concept holds words, lemmas and phrases, not other concepts."""
    raw = data.get("concepts") or {}
    if not isinstance(raw, dict):
        raise LexiconError(f"{name}: 'concepts' must map a name to a list of patterns")
    qualify = _rewriter(lang, {})
    out: dict[str, tuple[str, ...]] = {}
    for concept, items in raw.items():
        where = f"{name} concepts.{concept}"
        if not isinstance(concept, str) or not re.fullmatch(r"[a-z_]+", concept):
            raise LexiconError(f"{where}: a concept name is lower-case letters and _")
        if any("@" in str(i) for i in items or []):
            raise LexiconError(f"{where}: a concept may not use another concept")
        out[concept] = _strings(items, where, "patterns", qualify)
        if not out[concept]:
            raise LexiconError(f"{where}: no patterns")
    return out


def load_file(path: Path) -> tuple[list[Rule], set[str], set[str]]:
    """Rules, skip words and concept names of one language file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    name = path.name
    if not isinstance(data, dict) or set(data) - _FILE_KEYS:
        raise LexiconError(f"{name}: top level must be a mapping of {sorted(_FILE_KEYS)}")
    lang = data.get("lang")
    if not isinstance(lang, str):
        raise LexiconError(f"{name}: 'lang' is required")
    concepts = _concepts(data, lang, name)
    rewrite = _rewriter(lang, concepts)
    spelled = _rewriter(lang, concepts, _spellings(data, name))
    rules: list[Rule] = []
    cues = data.get("cues") or {}
    if not isinstance(cues, dict) or set(cues) - set(CUE_KINDS):
        raise LexiconError(f"{name}: 'cues' keys must be among {list(CUE_KINDS)}")
    for kind, items in cues.items():
        if not isinstance(items, list):
            raise LexiconError(f"{name}: cues.{kind} must be a list")
        for n, item in enumerate(items):
            rules.append(_cue(kind, item, lang, f"{name} cues.{kind}[{n}]", rewrite))
    contexts = data.get("contexts") or {}
    if not isinstance(contexts, dict):
        raise LexiconError(f"{name}: 'contexts' must map a name to a list of patterns")
    for ctx, items in contexts.items():
        where = f"{name} contexts.{ctx}"
        if not isinstance(items, list):
            raise LexiconError(f"{where}: must be a list")
        for n, item in enumerate(items):
            rule = _cue("context", item, lang, f"{where}[{n}]", spelled)
            rules.append(
                Rule(
                    kind="context",
                    code=str(ctx),
                    lang=lang,
                    source="",
                    patterns=rule.patterns,
                    unless_prev=rule.unless_prev,
                    unless_next=rule.unless_next,
                )
            )
    entries = data.get("entries") or []
    if not isinstance(entries, list):
        raise LexiconError(f"{name}: 'entries' must be a list")
    for n, entry in enumerate(entries):
        code = entry.get("code") if isinstance(entry, dict) else None
        rules.append(_entry(entry, lang, f"{name} entries[{n}] ({code})", spelled))
    skip = set(_strings(data.get("skip"), f"{name} skip", "skip"))
    return rules, skip, set(concepts)


def load(directory: Path = LEXICON_DIR) -> Lexicon:
    """All four language files, always all of them: people mix languages in one message."""
    rules: list[Rule] = []
    skip: set[str] = set()
    concepts: dict[str, set[str]] = {}
    for lang in LANG_FILES:
        file_rules, file_skip, concepts[lang] = load_file(directory / f"{lang}.yaml")
        rules.extend(file_rules)
        skip |= file_skip
    every = set().union(*concepts.values())
    for lang, names in concepts.items():
        if names != every:
            raise LexiconError(
                f"{lang}.yaml: every concept exists in all four languages; "
                f"missing {sorted(every - names)}"
            )

    skip_tokens = {tok for word in skip for tok in word_tokens(word)}
    names = {r.code for r in rules if r.kind == "context"}
    for rule in rules:
        if rule.context and rule.context not in names:
            raise LexiconError(f"entry {rule.code} ({rule.lang}): unknown context {rule.context!r}")
    return Lexicon(rules=tuple(rules), skip=frozenset(skip_tokens))
