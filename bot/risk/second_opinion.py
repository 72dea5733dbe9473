"""A learned second opinion that can only raise what the lexicon found.

The lexicon (bot/risk/detector.py) is exact and explainable but knows only the words
somebody wrote down; on messages by writers who never saw it, it missed half of the
urgent ones (issue 11). This module is a small linear model over the message's words,
word pairs and letter groups (so "encerradita", "enserrada" and "locked" share evidence
with what it was trained on), trained by `make model` (bot/risk/model_tools.py) on the
labelled messages listed in `learned/weights.json.gz`. It answers two questions:

- for each risk code, is the code present? (a code head, probability >= its threshold);
- is the message, as a whole, urgent, or high or more? (two level heads).

It never lowers anything and never replaces a lexicon code. When a level head is more
severe than the codes justify, the most probable code that would justify it is added,
so the level still follows DESIGN.md's table exactly (level_for(indicators)). Every code
it adds names the written words that pushed it most: a caseworker sees why.

Inference is a dictionary lookup per feature, linear in the message; no numpy at run
time. A missing weights file means no second opinion (the lexicon alone), never an error;
a malformed one stops start-up, like a malformed lexicon.
"""

from __future__ import annotations

import gzip
import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from bot.risk import codes as C
from bot.risk.text import Segmented

WEIGHTS_PATH = Path(__file__).resolve().parent / "learned" / "weights.json.gz"
LEVEL_HEADS = ("urgent", "high")  # "high" means high or urgent
# Letter groups of 3 to 5 characters inside " word ": robust to typos and endings.
GRAM_MIN, GRAM_MAX = 3, 5
MAX_TRIGGER_WORDS = 3
MIN_WORDS = 10
# A level head is followed only with a code it finds at least this likely: the code
# decides the reply (113 first for a medical emergency), so it must not be a wild guess.
JUSTIFY_MIN = 0.7
TOKEN_CACHE = 50_000
NOTHING: dict[int, float] = {}
# The codes a level head may add to justify itself, by the level it asks for.
JUSTIFY: dict[str, tuple[str, ...]] = {
    C.URGENT: C.URGENCY,
    C.HIGH: tuple(c for c in C.TRAFFICKING if c != C.DECEPTIVE_OFFER),
}


def token_features(token: str) -> list[str]:
    """The features one token contributes on its own (the word, its letter groups)."""
    padded = f" {token} "
    out = [f"w:{token}"]
    for n in range(GRAM_MIN, GRAM_MAX + 1):
        out.extend(f"c:{padded[i : i + n]}" for i in range(len(padded) - n + 1))
    return out


def features(tokens: tuple[str, ...]) -> list[str]:
    """Every feature occurrence of a tokenised message, repeats included: each token's
    own (`token_features`), then the pair it starts. Training counts exactly these;
    inference adds up the same weights token by token."""
    out: list[str] = []
    for i, tok in enumerate(tokens):
        out.extend(token_features(tok))
        if i + 1 < len(tokens):
            out.append(f"b:{tok}_{tokens[i + 1]}")
    return out


@dataclass(frozen=True, eq=False)  # hashed by identity: one trained model
class Model:
    """Heads (code or level name) with bias and threshold; per-feature sparse weights."""

    heads: tuple[str, ...]
    bias: tuple[float, ...]
    threshold: tuple[float, ...]
    weights: dict[str, dict[int, float]]
    _tokens: dict[str, tuple[dict[int, float], int]] = field(default_factory=dict, repr=False)

    def token_vector(self, token: str) -> tuple[dict[int, float], int]:
        """The summed weights of one token's own features, and how many there are.
        Cached: people reuse words, so a message costs about one lookup per word."""
        cached = self._tokens.get(token)
        if cached is None:
            if len(self._tokens) > TOKEN_CACHE:
                self._tokens.clear()
            vector: dict[int, float] = {}
            feats = token_features(token)
            for feat in feats:
                for head, weight in self.weights.get(feat, {}).items():
                    vector[head] = vector.get(head, 0.0) + weight
            cached = self._tokens[token] = (vector, len(feats))
        return cached

    @classmethod
    def from_json(cls, raw: dict) -> Model:
        heads = tuple(raw["heads"])
        unknown = [h for h in heads if h not in C.ALL_CODES and h not in LEVEL_HEADS]
        if unknown:
            raise ValueError(f"{WEIGHTS_PATH.name}: unknown heads {unknown}")
        bias = tuple(float(b) for b in raw["bias"])
        threshold = tuple(float(t) for t in raw["threshold"])
        if not len(heads) == len(bias) == len(threshold):
            raise ValueError(f"{WEIGHTS_PATH.name}: heads, bias and threshold differ in length")
        if not all(0.0 < t < 1.0 for t in threshold):
            raise ValueError(f"{WEIGHTS_PATH.name}: a threshold outside (0, 1)")
        weights = {
            feat: {int(h): float(w) for h, w in by_head.items()}
            for feat, by_head in raw["weights"].items()
        }
        if any(not 0 <= h < len(heads) for by in weights.values() for h in by):
            raise ValueError(f"{WEIGHTS_PATH.name}: a weight names a head that does not exist")
        return cls(heads, bias, threshold, weights)


@lru_cache(maxsize=1)
def load() -> Model | None:
    """The trained model, or None when `make model` has never run."""
    if not WEIGHTS_PATH.exists():
        return None
    return Model.from_json(json.loads(gzip.decompress(WEIGHTS_PATH.read_bytes())))


@dataclass(frozen=True)
class Opinion:
    """What the model adds: code -> the written words that pushed it most."""

    triggers: dict[str, str]
    probability: dict[str, float]


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x > -60 else 0.0


def opinion(
    seg: Segmented,
    found: set[str],
    model: Model | None = None,
    muted: frozenset[int] = frozenset(),
) -> Opinion:
    """The codes the model adds to `found` (the lexicon's codes) for this message.

    `muted`: indices of tokens inside a "what if" ("¿qué pasa si me quitan el
    pasaporte?") or a negation ("nadie me quitó el pasaporte"). As in the lexicon,
    they are no evidence of a trafficking code (nor of "high"), but still are of
    self-harm or an emergency ("y si me mato", "no quiero vivir").

    A message of fewer than `MIN_WORDS` different words gets no opinion: so little text
    gives a linear model too little evidence ("tengo 16 años", "ayuda"), and short,
    explicit messages are what the lexicon reads best.
    """
    model = model if model is not None else load()
    if model is None or len(set(seg.tokens)) < MIN_WORDS:
        return Opinion({}, {})
    tokens = seg.tokens
    heads_muted = _muted_heads(model)
    n = len(model.heads)
    score = [0.0] * n
    # Per token: its own summed weights and those of the pair it starts (no copies: the
    # words behind an added code are looked up again only when there is one).
    shares: list[tuple[dict[int, float], dict[int, float]]] = []
    occurrences = 0
    for i, tok in enumerate(tokens):
        vector, count = model.token_vector(tok)
        pair = (
            model.weights.get(f"b:{tok}_{tokens[i + 1]}", NOTHING)
            if i + 1 < len(tokens)
            else NOTHING
        )
        occurrences += count + (i + 1 < len(tokens))
        silenced = i in muted
        for part in (vector, pair):
            for head, weight in part.items():
                if not (silenced and head in heads_muted):
                    score[head] += weight
        shares.append((vector, pair))
    scale = 1.0 / math.sqrt(occurrences)  # as in training (model_tools.fit)
    prob = {model.heads[h]: _sigmoid(model.bias[h] + score[h] * scale) for h in range(n)}
    sure = {model.heads[h] for h in range(n) if prob[model.heads[h]] >= model.threshold[h]}

    # The level heads decide how far the model may raise the level; the code heads name
    # what is there. The level heads judge the risk leaving the child out (see
    # model_tools._targets), and DESIGN.md's table adds the child: a child at risk is
    # urgent, a schoolgirl's question about enrolment is not. A code head alone never
    # escalates.
    codes = sure & set(C.ALL_CODES)
    support = set(found) | (codes & {C.MINOR})
    for level in (C.URGENT, C.HIGH):
        if level not in sure or C.severity(C.level_for(support)) <= C.severity(level):
            continue  # not judged, or already that severe: nothing to justify
        group = set(JUSTIFY[level])
        best = max(codes & group or group, key=lambda code: prob.get(code, 0.0))
        if prob.get(best, 0.0) >= JUSTIFY_MIN:  # a code that is at least plausible
            support.add(best)
    cap = C.severity(C.level_for(support))
    added = support - found
    for code in sorted(codes - found - added, key=lambda c: -prob[c]):
        if C.severity(C.level_for(found | added | {code})) >= cap:
            added.add(code)
    index = {head: h for h, head in enumerate(model.heads)}
    silenced = (muted, heads_muted)
    triggers = {code: _words(seg, shares, silenced, index.get(code)) for code in sorted(added)}
    return Opinion(triggers, {code: round(prob.get(code, 0.0), 3) for code in sorted(added)})


@lru_cache(maxsize=4)
def _muted_heads(model: Model) -> frozenset[int]:
    return frozenset(
        h for h, head in enumerate(model.heads) if head in C.TRAFFICKING or head == C.HIGH
    )


def _words(
    seg: Segmented,
    shares: list[tuple[dict[int, float], dict[int, float]]],
    silenced: tuple[frozenset[int], frozenset[int]],
    head: int | None,
) -> str:
    """The written words (up to three, in message order) that pushed `head` most."""
    if head is None:
        return ""
    muted, heads_muted = silenced
    muted_head = head in heads_muted
    push = [
        0.0 if i in muted and muted_head else own.get(head, 0.0) + pair.get(head, 0.0)
        for i, (own, pair) in enumerate(shares)
    ]
    ranked = sorted(range(len(push)), key=lambda i: -push[i])
    chosen = sorted(i for i in ranked[:MAX_TRIGGER_WORDS] if push[i] > 0)
    words: list[str] = []
    for i in chosen:
        word = seg.words(i, i + 1)
        if word not in words:
            words.append(word)
    return " … ".join(words)
