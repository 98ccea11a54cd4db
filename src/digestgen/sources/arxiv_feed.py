"""arXiv announcement feeds (RSS 2.0 and Atom): new and cross-listed entries by default, replacements counted."""

from __future__ import annotations

import datetime as dt
import email.utils
import re
import xml.etree.ElementTree as ET

from digestgen.links import Link
from digestgen.parse import Diagnostic, Listing, PaperRecord
from digestgen.sources.detect import DEFAULT_ANNOUNCE
from digestgen.sources.text import clean_line, split_arxiv_id, tex_name, unwrap, links_in
from digestgen.sources.xmlsafe import ARXIV, ATOM, child_text, parse_xml

DC = "{http://purl.org/dc/elements/1.1/}"
_DESCRIPTION = re.compile(r"^\s*arXiv:(\S+)\s+Announce Type:\s*(\S+)\s*(?:Abstract:\s*)?", re.DOTALL)
_AUTHOR_SPLIT = re.compile(r"\s*,\s*(?:and\s+)?|\s+and\s+")


def _rfc822_date(text: str) -> dt.date | None:
    try:
        return email.utils.parsedate_to_datetime(text.strip()).date()
    except (TypeError, ValueError, IndexError):
        return _iso_date(text)


def _iso_date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text.strip()[:10])
    except ValueError:
        return None


def split_authors(text: str) -> tuple[str, ...]:
    """`dc:creator` holds every author in one comma-separated string."""
    return tuple(name for name in (tex_name(part) for part in _AUTHOR_SPLIT.split(clean_line(text))) if name)


def _identifier(*candidates: str) -> tuple[str, int | None] | None:
    for text in candidates:
        text = text.strip()
        for prefix in ("oai:arXiv.org:", "arXiv:", "https://arxiv.org/abs/", "http://arxiv.org/abs/"):
            if text.startswith(prefix):
                found = split_arxiv_id(text[len(prefix):])
                if found:
                    return found
    return None


def _record(item: ET.Element, index: int, atom: bool, announce: frozenset[str]) -> tuple[PaperRecord | str | None, str]:
    """The record (or why not; None when its announce type is not wanted) and the entry's announce type."""
    ns = ATOM if atom else ""
    raw = child_text(item, f"{ns}summary" if atom else "description")
    described = _DESCRIPTION.match(raw)
    kind = clean_line(child_text(item, f"{ARXIV}announce_type")) or (described.group(2) if described else "new")
    if kind not in announce:
        return None, kind
    abstract = unwrap(raw[described.end():] if described else raw)
    title = clean_line(child_text(item, f"{ns}title"))
    link = item.find(f"{ns}link")
    href = (link.get("href") or "") if atom and link is not None else child_text(item, "link")
    ident = _identifier(child_text(item, f"{ns}id" if atom else "guid"), described.group(1) if described else "", href)
    if not title or not abstract:
        return f"entry {index} has no {'title' if not title else 'abstract'}", kind
    arxiv, version = ident if ident else (None, None)
    if atom and item.find(f"{ATOM}author") is not None:
        names = tuple(tex_name(child_text(a, f"{ATOM}name")) for a in item.findall(f"{ATOM}author"))
    else:
        names = split_authors(child_text(item, f"{DC}creator"))
    terms = [c.get("term") or "" for c in item.findall(f"{ATOM}category")] if atom else [c.text or "" for c in item.findall("category")]
    links = (Link("arxiv", f"https://arxiv.org/abs/{arxiv}"), Link("pdf", f"https://arxiv.org/pdf/{arxiv}")) if arxiv else ()
    extra = tuple(link for link in links_in(abstract) if link not in links)
    announced = child_text(item, f"{ATOM}published") if atom else child_text(item, "pubDate")
    return PaperRecord(
        title=title,
        abstract=abstract,
        line=index + 1,
        links=links + extra,
        names=tuple(n for n in names if n),
        arxiv_given=arxiv,
        arxiv_version=version,
        categories=tuple(dict.fromkeys(t for t in (clean_line(t) for t in terms) if t)),
        doi=clean_line(child_text(item, f"{ARXIV}DOI")) or None,
        journal_ref=clean_line(child_text(item, f"{ARXIV}journal_reference")) or None,
        has_upvotes=False,
        listed=(_iso_date(announced) if atom else _rfc822_date(announced)) if announced.strip() else None,
    ), kind


def parse_arxiv_feed(text: str, announce: frozenset[str] = DEFAULT_ANNOUNCE) -> Listing:
    root, line, problem = parse_xml(text)
    if root is None:
        return Listing(None, (), (Diagnostic(line, problem or "unreadable XML"),))
    atom = root.tag == f"{ATOM}feed"
    if not atom and root.tag != "rss":
        return Listing(None, (), (Diagnostic(1, "XML, but not an RSS or Atom feed"),))
    items = root.findall(f"{ATOM}entry") if atom else root.findall("channel/item")
    records: list[PaperRecord] = []
    diagnostics: list[Diagnostic] = []
    left_out: dict[str, int] = {}
    for index, item in enumerate(items):
        result, kind = _record(item, index, atom, announce)
        if result is None:
            left_out[kind] = left_out.get(kind, 0) + 1
        elif isinstance(result, str):
            diagnostics.append(Diagnostic(0, f"{result}; skipped"))
        else:
            records.append(result)
    for kind, count in sorted(left_out.items()):
        diagnostics.append(Diagnostic(0, f"{count} '{kind}' entries left out (pass --announce {kind} to include them)"))
    channel = root if atom else root.find("channel")
    stamp = ""
    if channel is not None:
        stamp = child_text(channel, f"{ATOM}updated") if atom else child_text(channel, "pubDate") or child_text(channel, "lastBuildDate")
    date = (_iso_date(stamp) if atom else _rfc822_date(stamp)) if stamp.strip() else None
    return Listing(date, tuple(records), tuple(diagnostics))
