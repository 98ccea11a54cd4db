"""Every input format, each a pure function text → records and diagnostics; `read_text` picks one."""

from __future__ import annotations

from digestgen.errors import DigestgenError
from digestgen.parse import Listing
from digestgen.sources.arxiv_atom import parse_arxiv_api
from digestgen.sources.arxiv_feed import ANNOUNCE_TYPES, DEFAULT_ANNOUNCE, parse_arxiv_feed
from digestgen.sources.arxiv_mail import parse_arxiv_mail
from digestgen.sources.detect import FORMATS, detect
from digestgen.sources.hfjson import parse_hf_json
from digestgen.sources.hfpage import parse_hf_page
from digestgen.sources.idlist import IdList, parse_id_list

TRIED = ", ".join(name for key, name in FORMATS.items() if key != "text")
_NOT_THESE = {
    "json": "this is JSON, but not a Hugging Face shape (a list of items with 'paper', an object with 'dailyPapers', or a paper with id, title, summary and authors)",
    "html": "this is an HTML page: save it as text, or give the page's JSON",
    "xml": "this is XML, but neither an arXiv API response nor an arXiv announcement feed",
}


def read_text(text: str, name: str, fmt: str | None = None, announce: frozenset[str] = DEFAULT_ANNOUNCE) -> tuple[str, Listing | IdList]:
    """(format, what it holds) for a non-text format; the saved Daily Papers text is the caller's (it needs dates)."""
    kind = fmt or detect(text)
    if kind in _NOT_THESE:
        raise DigestgenError(_NOT_THESE[kind], path=name)
    parsers = {
        "hf-json": parse_hf_json,
        "hf-page": parse_hf_page,
        "arxiv-api": parse_arxiv_api,
        "arxiv-feed": lambda t: parse_arxiv_feed(t, announce),
        "arxiv-mail": lambda t: parse_arxiv_mail(t, announce),
        "id-list": parse_id_list,
    }
    if kind == "text":
        return kind, Listing(None, (), ())
    return kind, parsers[kind](text)


__all__ = ["ANNOUNCE_TYPES", "DEFAULT_ANNOUNCE", "FORMATS", "IdList", "TRIED", "detect", "read_text"]
