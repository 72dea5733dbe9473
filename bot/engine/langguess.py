"""A guess at the language of a first message, for when a reply cannot wait for the
language menu (urgent words, a request for a person as the very first message).

Deliberately small: the commonest short words of each language, counted over the
normalised tokens; no guess (None) unless one language clearly leads. A wrong guess costs
little (the reply carries the numbers, and the menu can change the language later); a
Spanish reply to "talk to a person" costs an English speaker the one answer they asked for.
"""

from __future__ import annotations

from bot.engine.normalize import tokens

# Words frequent in one language and rare or absent in the other three (after accents
# are removed). Shared ones ("a", "de", "que", "me", "no", "con"...) are left out.
MARKERS: dict[str, frozenset[str]] = {
    "es": frozenset(
        "quiero hablar una persona alguien necesito ayuda estoy tengo pero por favor hay usted mi soy emergencia peligro".split()
    ),
    "en": frozenset(
        "i want to talk speak the someone please help my is am im with anyone there need emergency danger".split()
    ),
    "pt": frozenset(
        "quero falar uma pessoa alguem preciso ajuda estou tenho voce ta tem nao sou com obrigado".split()
    ),
    "fr": frozenset(
        "je veux parler avec quelqu une personne besoin aide suis j ai il y moi svp aidez urgence secours danger".split()
    ),
}


def guess_lang(text: str) -> str | None:
    """The language most of the message's marker words belong to, if one leads."""
    words = tokens(text)
    scores = {lang: sum(w in markers for w in words) for lang, markers in MARKERS.items()}
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    (best, top), (_, second) = ranked[0], ranked[1]
    return best if top > second else None
