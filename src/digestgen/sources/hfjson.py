"""Hugging Face JSON: a /api/daily_papers list, a /api/papers/{id} object, or an object with `dailyPapers`."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any, Iterator

from digestgen.links import Link, classify
from digestgen.parse import Diagnostic, Listing, PaperRecord
from digestgen.sources.text import clean_line, fix_highlight_spacing, split_arxiv_id, unwrap, whole_number, links_in

_DAILY_KEY = re.compile(r'"dailyPapers"\s*:\s*\[')


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _items(text: str, start: int, diagnostics: list[Diagnostic]) -> Iterator[tuple[int, int, Any]]:
    """(index, line, value) of each element of the JSON array opening at `start`, as far as it is whole."""
    decoder = json.JSONDecoder(strict=False)  # raw control characters in strings are cleaned later, not fatal
    position = start + 1
    index = 0
    while True:
        while position < len(text) and text[position] in " \t\r\n,":
            position += 1
        if position >= len(text):
            diagnostics.append(Diagnostic(_line_of(text, position), f"the JSON ends after item {index} (truncated?); the items before it were read"))
            return
        if text[position] == "]":
            return
        try:
            value, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            diagnostics.append(Diagnostic(_line_of(text, exc.pos), f"item {index}: broken JSON ({exc.msg}); the items before it were read"))
            return
        except RecursionError:
            diagnostics.append(Diagnostic(_line_of(text, position), f"item {index}: JSON nested too deeply; the items before it were read"))
            return
        yield index, _line_of(text, position), value
        index += 1
        position = end


def _whole_or_items(text: str, diagnostics: list[Diagnostic]) -> Iterator[tuple[int, int, Any]]:
    try:
        data = json.loads(text, strict=False)
    except RecursionError:
        diagnostics.append(Diagnostic(1, "JSON nested too deeply to be a list of papers"))
        return
    except json.JSONDecodeError as exc:
        stripped = text.lstrip()
        if stripped.startswith("["):
            yield from _items(text, text.index("["), diagnostics)
            return
        found = _DAILY_KEY.search(text)
        if found:
            yield from _items(text, found.end() - 1, diagnostics)
            return
        diagnostics.append(Diagnostic(_line_of(text, exc.pos), f"broken JSON ({exc.msg})"))
        return
    if isinstance(data, dict) and isinstance(data.get("dailyPapers"), list):
        data = data["dailyPapers"]
    elif isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        diagnostics.append(Diagnostic(1, "JSON, but not a Hugging Face shape (a list of papers, a paper, or dailyPapers)"))
        return
    for index, value in enumerate(data):
        yield index, 0, value


def _get(item: dict[str, Any], paper: dict[str, Any], key: str) -> Any:
    """Optional fields sit on the item or on its `paper`: the paper's win."""
    value = paper.get(key)
    return value if value not in (None, "", []) else item.get(key)


def _date(value: Any) -> dt.date | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    return clean_line(value) or None if isinstance(value, str) else None


def _names(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    names = []
    for author in value:
        if isinstance(author, dict):
            if author.get("hidden") is True:
                continue
            author = author.get("name")
        name = clean_line(author) if isinstance(author, str) else ""
        if name:
            names.append(name)
    return tuple(names)


def _organization(value: Any) -> str | None:
    if isinstance(value, dict):
        return _text(value.get("fullname")) or _text(value.get("name"))
    return _text(value)


def _links(arxiv: str | None, summary: str, repo: Any, project: Any) -> tuple[Link, ...]:
    found: dict[str, Link] = {}
    if arxiv:
        for link in (Link("arxiv", f"https://arxiv.org/abs/{arxiv}"), Link("pdf", f"https://arxiv.org/pdf/{arxiv}")):
            found[link.url] = link
    for url, kind in ((repo, "code"), (project, "project")):
        if isinstance(url, str) and url.lower().startswith(("http://", "https://")):
            link = classify(clean_line(url))
            link = link if link.kind == kind or kind == "project" else Link(kind, link.url)
            found.setdefault(link.url, link)
    for link in links_in(summary):
        found.setdefault(link.url, link)
    return tuple(found.values())


def record(index: int, line: int, value: Any, *, html: bool = False) -> PaperRecord | str:
    """One item (or bare paper object) as a record, or the reason it cannot be one."""
    if not isinstance(value, dict):
        return f"item {index} is not an object"
    paper = value.get("paper") if isinstance(value.get("paper"), dict) else value
    title = _text(_get(value, paper, "title"))
    summary = _get(value, paper, "summary")
    if not title:
        return f"item {index} has no title"
    abstract = unwrap(summary) if isinstance(summary, str) else ""
    if not abstract:
        return f"item {index} ({title[:60]!r}) has no abstract"
    if html:
        abstract = fix_highlight_spacing(abstract)
    ident = split_arxiv_id(str(paper.get("id", ""))) if isinstance(paper.get("id"), str) else None
    arxiv = ident[0] if ident else None
    keywords = _get(value, paper, "ai_keywords")
    is_item = paper is not value
    return PaperRecord(
        title=title,
        abstract=abstract,
        line=line or index + 1,
        published=_date(paper.get("publishedAt")),
        upvotes=whole_number(_get(value, paper, "upvotes")) or 0,
        organization=_organization(_get(value, paper, "organization")),
        links=_links(arxiv, abstract, _get(value, paper, "githubRepo"), _get(value, paper, "projectPage")),
        names=_names(paper.get("authors")),
        arxiv_given=arxiv,
        keywords=tuple(dict.fromkeys(clean_line(k) for k in keywords if isinstance(k, str) and clean_line(k))) if isinstance(keywords, list) else (),
        comments=whole_number(_get(value, paper, "numComments")),
        listed=_date(value.get("publishedAt")) if is_item else None,
    )


def parse_hf_json(text: str, *, html: bool = False) -> Listing:
    """Every readable paper; one diagnostic per unreadable item, the rest kept."""
    diagnostics: list[Diagnostic] = []
    records: list[PaperRecord] = []
    for index, line, value in _whole_or_items(text, diagnostics):
        result = record(index, line, value, html=html)
        if isinstance(result, str):
            diagnostics.append(Diagnostic(line, f"{result}; skipped"))
        else:
            records.append(result)
    return Listing(None, tuple(records), tuple(diagnostics))
