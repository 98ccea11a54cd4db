"""arXiv API responses (Atom 1.0): one record per entry; error entries for unknown IDs are reported."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

from digestgen.links import Link
from digestgen.parse import Diagnostic, Listing, PaperRecord
from digestgen.sources.text import clean_line, split_arxiv_id, unwrap, links_in
from digestgen.sources.xmlsafe import ARXIV, ATOM, child_text, parse_xml


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text.strip()[:10])
    except ValueError:
        return None


def entry_id(entry: ET.Element) -> str:
    return child_text(entry, f"{ATOM}id").strip()


def is_error(entry: ET.Element) -> bool:
    return "/api/errors" in entry_id(entry) or clean_line(child_text(entry, f"{ATOM}title")) == "Error"


def _links(entry: ET.Element, arxiv: str, abstract: str) -> tuple[Link, ...]:
    found: dict[str, Link] = {}
    for link in entry.findall(f"{ATOM}link"):
        href = (link.get("href") or "").strip()
        if not href.lower().startswith(("http://", "https://")):
            continue
        if link.get("title") == "pdf":
            found.setdefault("pdf", Link("pdf", f"https://arxiv.org/pdf/{arxiv}"))
        elif link.get("rel") == "alternate":
            found.setdefault("arxiv", Link("arxiv", f"https://arxiv.org/abs/{arxiv}"))
    found.setdefault("arxiv", Link("arxiv", f"https://arxiv.org/abs/{arxiv}"))
    links = {link.url: link for link in found.values()}
    for link in links_in(abstract):
        links.setdefault(link.url, link)
    return tuple(links.values())


def entry_record(entry: ET.Element, index: int) -> PaperRecord | str:
    """One API entry as a record, or the reason it is not one."""
    raw_id = entry_id(entry)
    if is_error(entry):
        reason = unwrap(child_text(entry, f"{ATOM}summary")) or raw_id
        return f"entry {index}: arXiv answered with an error ({reason[:120]})"
    ident = split_arxiv_id(raw_id.split("/abs/", 1)[-1]) if "/abs/" in raw_id else None
    title = clean_line(child_text(entry, f"{ATOM}title"))
    abstract = unwrap(child_text(entry, f"{ATOM}summary"))
    if not title or not abstract:
        return f"entry {index} ({raw_id or 'no id'}) has no {'title' if not title else 'abstract'}"
    arxiv, version = ident if ident else (None, None)
    primary = entry.find(f"{ARXIV}primary_category")
    primary_term = clean_line(primary.get("term") or "") if primary is not None else ""
    terms = [clean_line(c.get("term") or "") for c in entry.findall(f"{ATOM}category")]
    categories = tuple(dict.fromkeys(t for t in [primary_term, *terms] if t))
    names = tuple(n for n in (clean_line(child_text(a, f"{ATOM}name")) for a in entry.findall(f"{ATOM}author")) if n)
    return PaperRecord(
        title=title,
        abstract=abstract,
        line=index + 1,
        published=_date(child_text(entry, f"{ATOM}published")),
        links=_links(entry, arxiv, abstract) if arxiv else links_in(abstract),
        names=names,
        arxiv_given=arxiv,
        arxiv_version=version,
        categories=categories,
        primary_category=primary_term or None,
        comment=clean_line(child_text(entry, f"{ARXIV}comment")) or None,
        journal_ref=clean_line(child_text(entry, f"{ARXIV}journal_ref")) or None,
        doi=clean_line(child_text(entry, f"{ARXIV}doi")) or None,
        has_upvotes=False,
    )


def parse_arxiv_api(text: str) -> Listing:
    root, line, problem = parse_xml(text)
    if root is None:
        return Listing(None, (), (Diagnostic(line, problem or "unreadable XML"),))
    if root.tag != f"{ATOM}feed":
        return Listing(None, (), (Diagnostic(1, "XML, but not an Atom feed from the arXiv API"),))
    records: list[PaperRecord] = []
    diagnostics: list[Diagnostic] = []
    for index, entry in enumerate(root.findall(f"{ATOM}entry")):
        result = entry_record(entry, index)
        if isinstance(result, str):
            diagnostics.append(Diagnostic(0, f"{result}; skipped"))
        else:
            records.append(result)
    return Listing(None, tuple(records), tuple(diagnostics))
