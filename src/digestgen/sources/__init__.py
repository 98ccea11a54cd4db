"""Every input format, each a pure function text → records and diagnostics; `read_text` picks one."""

from __future__ import annotations

from digestgen.errors import DigestgenError
from digestgen.parse import Listing
from digestgen.sources.detect import ANNOUNCE_TYPES, DEFAULT_ANNOUNCE, FORMATS, detect
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
    # Each parser is imported when its format turns up: a text listing pays for none of them.
    if kind == "hf-json":
        from digestgen.sources.hfjson import parse_hf_json

        return kind, parse_hf_json(text)
    if kind == "hf-page":
        from digestgen.sources.hfpage import parse_hf_page

        return kind, parse_hf_page(text)
    if kind == "arxiv-api":
        from digestgen.sources.arxiv_atom import parse_arxiv_api

        return kind, parse_arxiv_api(text)
    if kind == "arxiv-feed":
        from digestgen.sources.arxiv_feed import parse_arxiv_feed

        return kind, parse_arxiv_feed(text, announce)
    if kind == "arxiv-mail":
        from digestgen.sources.arxiv_mail import parse_arxiv_mail

        return kind, parse_arxiv_mail(text, announce)
    if kind == "id-list":
        return kind, parse_id_list(text)
    return kind, Listing(None, (), ())


__all__ = ["ANNOUNCE_TYPES", "DEFAULT_ANNOUNCE", "FORMATS", "IdList", "TRIED", "detect", "read_text"]
