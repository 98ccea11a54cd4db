"""How search reads text: the one normalisation the index (here) and the browser's queries share.

The worker (static/search-worker.js, `wordsOf`) has a line-for-line twin of `words`; the tests run
both on every seed text and require the same words. A text becomes words, each written as its
`joined` form (the letters and digits of a hyphenated or camel-case compound run together, lower
case) and its `parts` (the pieces, when there is more than one):

    "pre-training"  -> joined "pretraining", parts ["pre", "training"]
    "PriorCLIP"     -> joined "priorclip",   parts ["prior", "clip"]
    "LLMs"          -> joined "llms"         (a plural of capitals is one word)

The index holds every part and every joined form, so `pretraining`, `pre-training` and `pre
training` meet (a query joins two neighbouring words that the index knows joined), and `CLIP`
finds PriorCLIP. Apostrophes vanish ("model's" -> "models"); decimals, percentages and ranges
("3.5%", "1/3") are dropped as noise; a link leaves only its repository's name (see `link_names`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# Hyphens of every kind join the pieces of a compound; apostrophes are deleted.
_HYPHENS = "-\u2010\u2011\u2012\u2013"
_APOSTROPHES = re.compile("['\u2019]")
# A compound: letters and digits, hyphenated pieces allowed. Underscore is not a word character here.
_COMPOUND = re.compile(rf"[^\W_]+(?:[{_HYPHENS}][^\W_]+)*")
_PIECE = re.compile(rf"[{_HYPHENS}]")
# Camel-case boundaries, ASCII only (the browser's twin uses the same classes): before a capital that
# follows a small letter ("priorC"), and before the last capital of a run followed by two small
# letters ("CLIPSeg" -> CLIP|Seg, while "LLMs" stays whole).
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z]{2})")
_NUMERIC_NOISE = re.compile(r"^[\d.,/%+~^]*\d[\d.,/%+~^]*[.,/%+~^][\d.,/%+~^]*$")
_LINK = re.compile(r"^(?:https?://|www\.)", re.IGNORECASE)
_EDGE = re.compile(r"^\W+|\W+$")
# Hosts whose path starts with owner/name: the name is what people call the code.
_REPOSITORY = re.compile(
    r"^(?:https?://)?(?:www\.)?(?:github\.com|gitlab\.com|huggingface\.co|bitbucket\.org)/(?:(?:spaces|datasets)/)?"
    r"[^/\s]+/([^/\s?#]+)",
    re.IGNORECASE,
)
# Pieces of fewer letters than this are not split off a camel-case word ("iPhone" stays whole).
MIN_CAMEL_PART = 2


@dataclass(frozen=True)
class Word:
    joined: str
    parts: tuple[str, ...]  # empty unless the compound has two pieces or more

    def terms(self) -> tuple[str, ...]:
        """What the index holds for this word: its parts, then the joined form."""
        return (*self.parts, self.joined)


def _camel_parts(piece: str) -> list[str]:
    parts = _CAMEL.split(piece)
    return parts if len(parts) > 1 and all(len(p) >= MIN_CAMEL_PART for p in parts) else [piece]


@lru_cache(maxsize=65536)
def _compound(compound: str) -> Word:
    pieces = [part for piece in _PIECE.split(compound) for part in _camel_parts(piece)]
    joined = "".join(pieces).lower()
    parts = tuple(p.lower() for p in pieces) if len(pieces) > 1 else ()
    return Word(joined, parts)


@lru_cache(maxsize=65536)
def _chunk_words(chunk: str) -> tuple[Word, ...]:
    trimmed = _EDGE.sub("", chunk)
    if not trimmed or _NUMERIC_NOISE.match(trimmed) or _LINK.match(trimmed):
        return ()
    return tuple(_compound(c) for c in _COMPOUND.findall(_APOSTROPHES.sub("", trimmed)))


# Greek letters are also words spelt out, so that `alpha` finds α (formulas read as Unicode) and `α` finds alpha.
GREEK = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ϵ": "epsilon", "ζ": "zeta", "η": "eta",
    "θ": "theta", "ϑ": "theta", "ι": "iota", "κ": "kappa", "λ": "lambda", "μ": "mu", "ν": "nu", "ξ": "xi", "π": "pi",
    "ρ": "rho", "σ": "sigma", "ς": "sigma", "τ": "tau", "υ": "upsilon", "φ": "phi", "ϕ": "phi", "χ": "chi",
    "ψ": "psi", "ω": "omega", "Γ": "gamma", "Δ": "delta", "Θ": "theta", "Λ": "lambda", "Ξ": "xi", "Π": "pi",
    "Σ": "sigma", "Φ": "phi", "Ψ": "psi", "Ω": "omega",
}
_GREEK = re.compile("[" + "".join(GREEK) + "]")


def spell_greek(text: str) -> str:
    """'α=0.5' -> ' alpha =0.5': each Greek letter becomes its name, a word of its own (an ASCII text is given back as is)."""
    if text.isascii():  # O(1) for a str: most texts need no search
        return text
    return _GREEK.sub(lambda m: f" {GREEK[m.group(0)]} ", text) if _GREEK.search(text) else text


def words(text: str) -> list[Word]:
    """The words of a text, in order."""
    out: list[Word] = []
    for chunk in spell_greek(text).split():
        out += _chunk_words(chunk)
    return out


def chunks(text: str) -> list[str]:
    """The text's white-space-separated chunks, Greek letters spelt out: what `chunk_terms` takes."""
    return spell_greek(text).split()


@lru_cache(maxsize=65536)
def chunk_terms(chunk: str) -> tuple[str, ...]:
    """What the index holds for one chunk: every term of each of its words."""
    return tuple(term for word in _chunk_words(chunk) for term in word.terms())


def link_names(urls: list[str]) -> list[str]:
    """Repository names of code links ("https://github.com/openai/CLIP" -> "CLIP"), without ".git"."""
    names = []
    for url in urls:
        found = _REPOSITORY.match(url.strip())
        if found:
            names.append(re.sub(r"\.git$", "", found.group(1)))
    return names


def urls_in(text: str, chunks: list[str] | None = None) -> list[str]:
    """The links written in a text; `chunks`, if given, is `text.split()` already made."""
    has_www = "www." in text.lower()
    if "://" not in text and not has_www:
        return []  # most abstracts: no need to look at every chunk
    chunks = text.split() if chunks is None else chunks
    # The lower-case test only where some chunk can pass it.
    found = [c for c in chunks if "://" in c or "www." in c.lower()] if has_www else [c for c in chunks if "://" in c]
    trimmed = [_EDGE.sub("", c) for c in found]
    return [chunk for chunk in trimmed if _LINK.match(chunk)]
