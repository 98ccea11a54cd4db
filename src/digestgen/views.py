"""Plain data prepared for templates, feeds and JSON: no I/O, no live objects."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Callable
from urllib.parse import urlsplit

from markdown_it import MarkdownIt

from digestgen import urls
from digestgen.model import Digest, Paper, Site
from digestgen.parse import MONTHS
from digestgen.plainmd import render_body
from digestgen.urls import Urls

_SAFE_SCHEMES = ("http", "https", "mailto")
_MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)


def _validate_link(url: str) -> bool:
    """Only http(s), mailto and relative links survive Markdown rendering."""
    scheme = urlsplit(url.strip()).scheme.lower()
    return scheme in _SAFE_SCHEMES or (scheme == "" and not url.strip().startswith("//"))


def markdown_renderer() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "typographer": False})
    md.validateLink = _validate_link
    return md


def human_date(date: dt.date | None) -> str:
    """'Oct 31, 2025', independent of the machine's locale."""
    if date is None:
        return "date unknown"
    return f"{MONTHS[date.month - 1]} {date.day}, {date.year}"


def long_date(date: dt.date) -> str:
    return f"{_MONTH_NAMES[date.month - 1]} {date.day}, {date.year}"


def month_name(month: int) -> str:
    return _MONTH_NAMES[month - 1]


def snippet(text: str, limit: int) -> str:
    """The start of `text`, cut at a word boundary, with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;:.-")
    return cut + "…"


def byline(paper: Paper) -> str:
    if paper.organization:
        return paper.organization
    if paper.authors:
        return paper.authors[0] + (" et al." if len(paper.authors) > 2 else f" and {paper.authors[1]}" if len(paper.authors) == 2 else "")
    if paper.author_count is not None:
        return f"{paper.author_count} author" + ("" if paper.author_count == 1 else "s")
    return ""


def _bibtex_escape(text: str) -> str:
    return re.sub(r"([&%$#_{}])", r"\\\1", text).replace("~", r"\textasciitilde{}")


def bibtex(paper: Paper, url: str) -> str:
    year = paper.published.year if paper.published else None
    first_word = re.sub(r"[^a-z0-9]", "", paper.slug.split("-")[0]) or "paper"
    key = f"{first_word}{year or ''}"
    fields = [("title", "{" + _bibtex_escape(paper.title) + "}")]
    if year:
        fields.append(("year", str(year)))
    if paper.arxiv:
        fields += [("eprint", paper.arxiv), ("archivePrefix", "arXiv")]
    fields.append(("url", url))
    if paper.organization:
        fields.append(("note", _bibtex_escape(paper.organization)))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@misc{{{key},\n{body}\n}}"


def tag_links(site: Site, paper: Paper, links: Urls) -> list[dict[str, str]]:
    return [{"slug": t, "label": site.tag_label(t), "url": links.path(urls.tag(t))} for t in paper.tags]


def paper_card(site: Site, paper: Paper, links: Urls) -> dict[str, Any]:
    code = paper.code_link
    return {
        "slug": paper.slug,
        "title": paper.title,
        "url": links.path(urls.paper(paper.slug)),
        "published": paper.published.isoformat() if paper.published else "",
        "published_label": human_date(paper.published),
        "upvotes": paper.upvotes,
        "byline": byline(paper),
        "tags": tag_links(site, paper, links),
        "code_url": code.url if code else "",
        "snippet": snippet(paper.text, site.config.snippet_chars),
    }


def paper_page(site: Site, paper: Paper, links: Urls, md: MarkdownIt) -> dict[str, Any]:
    view = paper_card(site, paper, links)
    view.update(
        abstract_html=render_body(md, paper.body),
        links=[{"label": link.label, "kind": link.kind, "url": link.url} for link in paper.links],
        digests=[{"label": long_date(d), "url": links.path(urls.digest(d))} for d in paper.digests],
        bibtex=bibtex(paper, links.absolute(urls.paper(paper.slug))),
        absolute_url=links.absolute(urls.paper(paper.slug)),
    )
    return view


def related_rows(site: Site, paper: Paper, links: Urls) -> list[dict[str, Any]]:
    """The paper's related papers (related.py), most alike first: title, link, date, byline."""
    rows = []
    for slug in site.related.get(paper.slug, ()):
        other = site.papers[slug]
        rows.append({"title": other.title, "url": links.path(urls.paper(slug)), "published": other.published.isoformat() if other.published else "",
                     "published_label": human_date(other.published), "byline": byline(other)})
    return rows


def digest_summary(digest: Digest, links: Urls) -> dict[str, Any]:
    return {
        "date": digest.date.isoformat(),
        "label": long_date(digest.date),
        "url": links.path(urls.digest(digest.date)),
        "count": len(digest.slugs),
    }


def digest_page(
    site: Site, index: int, links: Urls, card: Callable[[str], dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A digest with its papers' cards; `card` may supply cards already built."""
    digest = site.digests[index]
    view = digest_summary(digest, links)
    view["papers"] = [card(s) if card else paper_card(site, site.papers[s], links) for s in digest.slugs]
    view["previous"] = digest_summary(site.digests[index - 1], links) if index > 0 else None
    view["next"] = digest_summary(site.digests[index + 1], links) if index + 1 < len(site.digests) else None
    return view


def archive_view(site: Site, links: Urls) -> list[dict[str, Any]]:
    """Digests newest first, grouped by year and month."""
    years: dict[int, dict[int, list[dict[str, Any]]]] = {}
    for digest in reversed(site.digests):
        years.setdefault(digest.date.year, {}).setdefault(digest.date.month, []).append(digest_summary(digest, links))
    return [
        {"year": year, "months": [{"name": month_name(m), "digests": ds} for m, ds in months.items()]}
        for year, months in years.items()
    ]


def tag_summaries(site: Site, links: Urls) -> list[dict[str, Any]]:
    return [
        {"slug": t.slug, "label": t.label, "url": links.path(urls.tag(t.slug)), "count": len(t.papers)}
        for t in sorted(site.tags, key=lambda t: t.label.casefold())
    ]
