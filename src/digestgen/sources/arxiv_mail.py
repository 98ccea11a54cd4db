"""The arXiv listing e-mail: `\\\\`-delimited blocks of header lines, then the abstract."""

from __future__ import annotations

import re

from digestgen.links import Link
from digestgen.parse import Diagnostic, Listing, PaperRecord, split_lines
from digestgen.sources.arxiv_feed import DEFAULT_ANNOUNCE, _rfc822_date, split_authors
from digestgen.sources.text import clean_line, split_arxiv_id, unwrap, links_in

_DELIMITER = "\\\\"
_ID_LINE = re.compile(r"^arXiv:(\S+)(.*)$")
_FIELD = re.compile(r"^([A-Z][A-Za-z-]*(?: \(revised v(\d+)\))?):\s?(.*)$")


def _fields(lines: list[str]) -> tuple[dict[str, str], int | None, bool]:
    """Header fields (continuation lines joined), the revised version, and whether it is a replacement."""
    fields: dict[str, str] = {}
    revised: int | None = None
    replaced = False
    key = None
    for line in lines:
        if line.startswith((" ", "\t")) and key:
            fields[key] += " " + line.strip()
            continue
        if line.startswith("replaced with revised version"):
            replaced, key = True, None
            continue
        match = _FIELD.match(line)
        if match:
            key = match.group(1).split(" (", 1)[0]
            if match.group(2):
                revised = int(match.group(2))
                key = "Revised"
            fields.setdefault(key, "")
            fields[key] = (fields[key] + " " + match.group(3)).strip()
        else:
            key = None
    return fields, revised, replaced


def _entry(header: list[str], abstract: list[str], line: int) -> tuple[PaperRecord | str, str]:
    match = _ID_LINE.match(header[0].strip())
    assert match is not None
    ident = split_arxiv_id(match.group(1))
    fields, revised, replaced = _fields(header[1:])
    cross = "cross-list" in match.group(2)
    kind = ("replace-cross" if cross else "replace") if replaced or revised else ("cross" if cross else "new")
    title = clean_line(fields.get("Title", ""))
    text = unwrap("\n".join(abstract))
    if not ident:
        return f"{match.group(1)!r} is not an arXiv ID; entry skipped", kind
    if not title or not text:
        return f"arXiv:{ident[0]} has no {'title' if not title else 'abstract'}; skipped", kind
    arxiv = ident[0]
    categories = tuple(dict.fromkeys(fields.get("Categories", "").split()))
    links = (Link("arxiv", f"https://arxiv.org/abs/{arxiv}"), Link("pdf", f"https://arxiv.org/pdf/{arxiv}"))
    return PaperRecord(
        title=title,
        abstract=text,
        line=line,
        published=_rfc822_date(fields["Date"].split("(", 1)[0]) if fields.get("Date") else None,
        links=links + tuple(link for link in links_in(text) if link not in links),
        names=split_authors(fields.get("Authors", "")),
        arxiv_given=arxiv,
        arxiv_version=revised or ident[1],
        categories=categories,
        primary_category=categories[0] if categories else None,
        comment=clean_line(fields.get("Comments", "")) or None,
        journal_ref=clean_line(fields.get("Journal-ref", "")) or None,
        doi=clean_line(fields.get("DOI", "")) or None,
        has_upvotes=False,
    ), kind


def _blocks(lines: list[str]) -> list[tuple[int, list[str], list[str]]]:
    """(line of the arXiv: line, header lines, abstract lines) for every entry."""
    found = []
    index = 0
    while index < len(lines):
        if lines[index].strip() == _DELIMITER and index + 1 < len(lines) and _ID_LINE.match(lines[index + 1].strip()):
            end = next((j for j in range(index + 1, len(lines)) if lines[j].strip().startswith(_DELIMITER)), len(lines))
            header = [line for line in lines[index + 1 : end] if line.strip()]
            stop = end
            abstract: list[str] = []
            if end < len(lines) and lines[end].strip() == _DELIMITER:
                stop = next((j for j in range(end + 1, len(lines)) if lines[j].strip().startswith(_DELIMITER)), len(lines))
                abstract = lines[end + 1 : stop]
                if stop < len(lines) and lines[stop].strip() == _DELIMITER and stop + 1 < len(lines) and _ID_LINE.match(lines[stop + 1].strip()):
                    stop -= 1  # that delimiter opens the next entry (no closing link line)
            found.append((index + 2, header, abstract))
            index = stop + 1
        else:
            index += 1
    return found


def parse_arxiv_mail(text: str, announce: frozenset[str] = DEFAULT_ANNOUNCE) -> Listing:
    lines = split_lines(text)
    records: list[PaperRecord] = []
    diagnostics: list[Diagnostic] = []
    left_out: dict[str, int] = {}
    for line, header, abstract in _blocks(lines):
        result, kind = _entry(header, abstract, line)
        if kind not in announce:
            left_out[kind] = left_out.get(kind, 0) + 1
        elif isinstance(result, str):
            diagnostics.append(Diagnostic(line, result))
        else:
            records.append(result)
    for kind, count in sorted(left_out.items()):
        diagnostics.append(Diagnostic(0, f"{count} '{kind}' entries left out (pass --announce {kind} to include them)"))
    return Listing(None, tuple(records), tuple(diagnostics))
