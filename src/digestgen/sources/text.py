"""Cleaning the text fields every source gives: hostile characters out, hard wraps joined, TeX names decoded."""

from __future__ import annotations

import re
import unicodedata

from digestgen.links import Link, extract_links

# Bidi embeddings, overrides, isolates and marks: a title must not reorder the page around it.
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# Invisible in a title: zero-width spaces and joiners, word joiner, BOM, soft hyphen.
_INVISIBLE = "\u00ad\u180e\u200b\u200c\u200d\u2060\ufeff"
# Unicode noncharacters: U+FDD0..U+FDEF and the last two code points of every plane.
_NONCHARACTERS = "\ufdd0-\ufdef" + "".join(f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(17))
_ASCII_CONTROLS = re.compile("[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]")
# Lone surrogates (a JSON "\\ud800" escape) too: no UTF-8 file can hold them.
_DROP_ALWAYS = re.compile(f"[{_BIDI}\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f\\ud800-\\udfff{_NONCHARACTERS}]")
_DROP_IN_TITLES = re.compile(f"[{_INVISIBLE}]")
# Whatever links.extract_links can find contains one of these (see its patterns).
_LINKISH = ("http", "github", "gitlab", "huggingface", "arxiv")
_PARAGRAPH = re.compile(r"\n[ \t]*\n\s*")
# "unit tests . Instead": Hugging Face's highlighted keywords leave a space before punctuation.
_SPACE_BEFORE_PUNCT = re.compile(r"(?<=\w) +([.,;:!?])(?=\s|$)")
_NEW_ID = re.compile(r"^(\d{4}\.\d{4,5})(?:v(\d+))?$")
_OLD_ID = re.compile(r"^([a-z][a-z-]*(?:\.[A-Z]{2})?/\d{7})(?:v(\d+))?$")


def clean(text: str) -> str:
    """Control characters (but newlines and tabs), Unicode noncharacters, lone surrogates and bidi controls removed."""
    if text.isascii() and text.isprintable():  # the usual case, with nothing to remove (a title, a name)
        return text
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.isascii():  # most text: only ASCII controls can be there, and a simpler scan finds them
        return _ASCII_CONTROLS.sub("", text)
    return _DROP_ALWAYS.sub("", text)


def links_in(text: str) -> tuple[Link, ...]:
    """The links an abstract mentions; most have none, and a cheap look first saves the full scan."""
    lowered = text.lower()
    return extract_links(text) if any(word in lowered for word in _LINKISH) else ()


def clean_line(text: str) -> str:
    """One line of text (a title, a name): cleaned, invisible characters removed, spacing collapsed."""
    if text.isascii():  # no invisible characters to look for
        return " ".join(clean(text).split())
    return " ".join(_DROP_IN_TITLES.sub("", clean(text)).split())


def unwrap(text: str) -> str:
    """Hard line breaks joined, paragraphs (blank lines) kept, each paragraph's spacing collapsed."""
    paragraphs = _PARAGRAPH.split(clean(text).strip())
    return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())


def fix_highlight_spacing(text: str) -> str:
    return _SPACE_BEFORE_PUNCT.sub(r"\1", text)


def tex_name(name: str) -> str:
    """An author name with TeX accents decoded (`Sa\\v{s}a` → Saša); plain names are left as they are."""
    name = clean_line(name)
    if ("\\" not in name and "{" not in name) or len(name) > 300:  # no TeX, or not a name
        return name
    from pylatexenc.latex2text import LatexNodes2Text  # slow to import: only for names that need it

    try:
        decoded = LatexNodes2Text(math_mode="verbatim").latex_to_text(name)
    except Exception:  # pylatexenc is lenient; keep the name as written if it still gives up
        return name
    return unicodedata.normalize("NFC", " ".join(decoded.split())) or name


def split_arxiv_id(text: str) -> tuple[str, int | None] | None:
    """`2510.01234v2` → ("2510.01234", 2); old-style `math/0501001` too; None if not an ID."""
    text = text.strip()
    for pattern in (_NEW_ID, _OLD_ID):
        match = pattern.match(text)
        if match:
            return match.group(1), int(match.group(2)) if match.group(2) else None
    return None


def whole_number(value: object) -> int | None:
    """A non-negative integer from JSON, else None (a string, a bool, a float are not counts)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value
