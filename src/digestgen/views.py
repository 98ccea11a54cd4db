"""Plain data prepared for templates, feeds and JSON: no I/O, no live objects."""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable
from urllib.parse import quote, urlsplit

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml

from digestgen import bibtex, urls
from digestgen.frontmatter import unescape_markdown
from digestgen.links import find_urls
from digestgen.model import Digest, Paper, Site
from digestgen.parse import MONTHS
from digestgen.people import Group, People
from digestgen.plainmd import plain_paragraphs, render_body
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


def arxiv_links(arxiv: str) -> list[dict[str, str]]:
    """The paper's own pages, derived from its arXiv ID."""
    return [
        {"kind": "abstract", "label": "arXiv abstract", "url": f"https://arxiv.org/abs/{arxiv}"},
        {"kind": "pdf", "label": "PDF", "url": f"https://arxiv.org/pdf/{arxiv}"},
        {"kind": "huggingface", "label": "Hugging Face page", "url": f"https://huggingface.co/papers/{arxiv}"},
    ]


def paper_links(paper: Paper) -> list[dict[str, str]]:
    """Known links in a fixed order: arXiv abstract, PDF, Hugging Face page, code, project page,
    then the other links the abstract mentions (datasets, models, demos), in their order."""
    row = arxiv_links(paper.arxiv) if paper.arxiv else []
    rest = [link for link in paper.links if not (paper.arxiv and link.kind == "arxiv" and link.url.endswith("/" + paper.arxiv))]
    for kind, label in (("code", "Code"), ("project", "Project page")):
        first = next((link for link in rest if link.kind == kind), None)
        if first is not None:
            row.append({"kind": kind, "label": label, "url": first.url})
            rest.remove(first)
    return row + [{"kind": link.kind, "label": link.label, "url": link.url} for link in rest]


def title_searches(title: str) -> list[dict[str, str]]:
    """Where to look for a paper whose ID is not known: its exact title on arXiv, Scholar and Hugging Face."""
    exact = quote(f'"{title}"', safe="")
    return [
        {"label": "arXiv", "url": f"https://arxiv.org/search/?searchtype=title&query={exact}"},
        {"label": "Google Scholar", "url": f"https://scholar.google.com/scholar?q={exact}"},
        {"label": "Hugging Face", "url": f"https://huggingface.co/papers?q={quote(title, safe='')}"},
    ]


def linked_html(text: str) -> str:
    """Plain text as HTML, with every web address it mentions a link."""
    out, end = [], 0
    for start, stop, url in find_urls(text):
        out += [escapeHtml(text[end:start]), f'<a href="{escapeHtml(url)}" rel="noopener">{escapeHtml(text[start:stop])}</a>']
        end = stop
    out.append(escapeHtml(text[end:]))
    return "".join(out)


def abstract_html(md: MarkdownIt, body: str) -> str:
    """A paper body as HTML; in plain (escaped) text, the web addresses become links."""
    paragraphs = plain_paragraphs(body)
    if paragraphs is None or any(md.options.get(option) for option in ("breaks", "linkify", "typographer")):
        return render_body(md, body)
    return "".join(f"<p>{linked_html(unescape_markdown(paragraph))}</p>\n" for paragraph in paragraphs)


def author_links(paper: Paper, people: People | None, links: Urls) -> list[dict[str, str]]:
    """Each author with the page of their papers, or a search for their name when they have none."""
    search = links.path(urls.search())
    result = []
    for name in paper.authors:
        slug = people.author_slug(name) if people else None
        url = links.path(urls.author(slug)) if slug else search + urls.search_query(name)
        result.append({"name": name, "url": url, "has_page": bool(slug)})
    return result


Neighbours = dict[str, list[tuple[dt.date, str | None, str | None]]]


def digest_neighbours(site: Site) -> Neighbours:
    """For each paper, in each digest showing it: the papers before and after it, in the reader's order."""
    found: Neighbours = {}
    for digest in site.digests:
        order = site.digest_order(digest)
        for index, slug in enumerate(order):
            before = order[index - 1] if index > 0 else None
            after = order[index + 1] if index + 1 < len(order) else None
            found.setdefault(slug, []).append((digest.date, before, after))
    return found


def _short_ref(site: Site, slug: str | None, links: Urls) -> dict[str, str] | None:
    if slug is None:
        return None
    return {"title": site.papers[slug].title, "url": links.path(urls.paper(slug))}


def paper_page(
    site: Site, paper: Paper, links: Urls, md: MarkdownIt, cite_key: str | None = None,
    people: People | None = None, neighbours: list[tuple[dt.date, str | None, str | None]] = (),
) -> dict[str, Any]:
    """Everything a paper page shows; `cite_key` is its site-wide BibTeX key (bibtex.citation_keys)."""
    view = paper_card(site, paper, links)
    around = {date: (before, after) for date, before, after in neighbours}
    org_slug = people.org_slug(paper.organization) if people and paper.organization else None
    view.update(
        abstract_html=abstract_html(md, paper.body),
        links=paper_links(paper),
        title_searches=[] if paper.arxiv else title_searches(paper.title),
        authors=author_links(paper, people, links),
        author_count=paper.author_count,
        organization=paper.organization or "",
        organization_url=links.path(urls.org(org_slug)) if org_slug else "",
        categories=list(paper.categories),
        primary_category=paper.primary_category or "",
        arxiv=paper.arxiv or "",
        comment=paper.comment or "",
        journal_ref=paper.journal_ref or "",
        doi=paper.doi or "",
        doi_url=f"https://doi.org/{quote(paper.doi, safe='/:;()._-')}" if paper.doi else "",
        digests=[
            {
                "label": long_date(d), "url": links.path(urls.digest(d)),
                "previous": _short_ref(site, around.get(d, (None, None))[0], links),
                "next": _short_ref(site, around.get(d, (None, None))[1], links),
            }
            for d in paper.digests
        ],
        bibtex=bibtex.entry(paper, cite_key or bibtex.base_key(paper)),
        cite_key=cite_key or bibtex.base_key(paper),
        absolute_url=links.absolute(urls.paper(paper.slug)),
        pdf_url=f"https://arxiv.org/pdf/{paper.arxiv}" if paper.arxiv else "",
        description=snippet(paper.text, 200),
    )
    return view


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


def group_summaries(groups: tuple[Group, ...], page_url: Callable[[str], str], links: Urls) -> list[dict[str, Any]]:
    """Authors or organizations for an index page: by name, each with its page and paper count."""
    return [
        {"slug": g.slug, "name": g.name, "url": links.path(page_url(g.slug)), "count": len(g.papers)}
        for g in sorted(groups, key=lambda g: (g.name.casefold(), g.slug))
    ]
