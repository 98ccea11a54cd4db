"""Tell a file's format from its content (the first 64 KB), first match wins; see FORMATS.md."""

from __future__ import annotations

import re

from digestgen.sources.idlist import looks_like_id_list

HEAD = 64 * 1024
ANNOUNCE_TYPES = ("new", "cross", "replace", "replace-cross")  # arXiv's announce_type values
DEFAULT_ANNOUNCE = frozenset({"new", "cross"})
FORMATS = {
    "hf-json": "Hugging Face JSON",
    "hf-page": "saved Hugging Face page",
    "arxiv-api": "arXiv API response",
    "arxiv-feed": "arXiv announcement feed",
    "arxiv-mail": "arXiv listing e-mail",
    "id-list": "list of arXiv IDs",
    "text": "saved Daily Papers text",
}
_HTML = re.compile(r"(?is)^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)\b")
_XML = re.compile(r"(?s)^\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*)*(?:<!DOCTYPE[^>]*(?:\[.*?\])?\s*>\s*)?<")
_API_ID = re.compile(r"<id>\s*https?://(?:export\.)?arxiv\.org/(?:abs|api/errors)")
_MAIL = (re.compile(r"(?m)^arXiv:\S+"), re.compile(r"(?m)^Title: "), re.compile(r"(?m)^\\\\[ \t]*$"))


def _json_kind(head: str) -> str | None:
    if head.startswith("[") and '"paper"' in head:
        return "hf-json"
    if head.startswith("{") and ('"dailyPapers"' in head or all(f'"{k}"' in head for k in ("id", "title", "summary", "authors"))):
        return "hf-json"
    return None


def detect(text: str) -> str:
    """The format name; "text" (the saved Daily Papers text) when nothing else matches."""
    head = text[:HEAD].lstrip("\ufeff \t\r\n")
    if head[:1] and head[:1] in "[{":
        return _json_kind(head) or "json"
    if _HTML.match(head):
        return "hf-page" if 'data-target="DailyPapers"' in text and "data-props=" in text else "html"
    if _XML.match(head):
        if "http://www.w3.org/2005/Atom" in head and _API_ID.search(head):
            return "arxiv-api"
        if "announce_type" in head or "oai:arXiv.org:" in head:
            return "arxiv-feed"
        return "xml"
    if all(pattern.search(head) for pattern in _MAIL):
        return "arxiv-mail"
    if looks_like_id_list(head):
        return "id-list"
    return "text"
