"""Paper identity and file-name slugs."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Container

MAX_SLUG = 80
# Names Windows refuses as file names, whatever the extension.
_RESERVED = frozenset({"con", "prn", "aux", "nul"} | {f"{p}{n}" for p in ("com", "lpt") for n in range(1, 10)})
_DASHES = re.compile(r"[\u2010-\u2015\u2212]")
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
# Zero-width characters, soft hyphens, BOM and bidi controls: invisible, so they never make a different paper.
_INVISIBLE = re.compile("[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def normalise_title(title: str) -> str:
    """Case, width, spacing, dash style and invisible characters do not make a different paper."""
    text = unicodedata.normalize("NFKC", _INVISIBLE.sub("", title)).translate(_QUOTES)
    text = _DASHES.sub("-", text).casefold()
    return " ".join(text.split()).rstrip(".")


def identity(title: str, arxiv: str | None) -> str:
    return f"arxiv:{arxiv}" if arxiv else f"title:{normalise_title(title)}"


def short_hash(text: str, length: int = 6) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def base_slug(title: str) -> str:
    """A readable lowercase ASCII slug: letters, digits and single hyphens."""
    ascii_text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    slug = ""
    for word in words:
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > MAX_SLUG:
            break
        slug = candidate
    if not slug and words:
        slug = words[0][:MAX_SLUG]
    if slug in _RESERVED:
        slug += "-paper"
    return slug


def unique_slug(title: str, key: str, taken: Container[str]) -> str:
    """The base slug, or it with a hash of the paper's identity when another paper has it."""
    base = base_slug(title) or "paper"
    for candidate in (base, f"{base}-{short_hash(key)}", f"{base}-{short_hash(key, 16)}"):
        if candidate not in taken and candidate != "paper":
            return candidate
    return f"paper-{short_hash(key, 32)}"
