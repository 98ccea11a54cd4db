"""Plain data prepared for templates, feeds and JSON: no I/O, no live objects."""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable
from urllib.parse import quote, urlsplit

from markdown_it import MarkdownIt
from markupsafe import Markup
from markdown_it.common.utils import escapeHtml

from digestgen import bibtex, mathtext, urls
from digestgen.frontmatter import unescape_markdown
from digestgen.links import find_urls
from digestgen.model import Digest, Paper, Pick, Site, Tag
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


CHIPS_PER_CARD = 3


def tags_by_slug(site: Site) -> dict[str, Tag]:
    return {tag.slug: tag for tag in site.tags}


def card_chips(paper: Paper, tags: dict[str, Tag]) -> tuple[str, ...]:
    """At most three of the paper's tags for its card: the rarest (most specific) first, leaving out the tags
    that tagging marked common (tagging.common_share), which the build also warns about."""
    specific = [t for t in paper.tags if not (t in tags and tags[t].common)]
    position = {t: n for n, t in enumerate(paper.tags)}
    specific.sort(key=lambda t: (tags[t].share if t in tags else 0.0, position[t]))
    return tuple(specific[:CHIPS_PER_CARD])


def arxiv_abs_url(arxiv: str) -> str:
    return f"https://arxiv.org/abs/{arxiv}"


def link_row(paper: Paper) -> list[dict[str, str]]:
    """The card's links in a fixed order (arXiv, PDF, Code, Project); the ones a paper lacks are left out."""
    by_kind = {}
    for link in paper.links:
        by_kind.setdefault(link.kind, link.url)
    arxiv = by_kind.get("arxiv") or (arxiv_abs_url(paper.arxiv) if paper.arxiv else "")
    row = [
        ("arXiv", arxiv),
        ("PDF", f"https://arxiv.org/pdf/{paper.arxiv}" if paper.arxiv else ""),
        ("Code", by_kind.get("code", "")),
        ("Project", by_kind.get("project", "")),
    ]
    return [{"label": label, "url": url} for label, url in row if url]


def render_note(md: MarkdownIt | None, note: str) -> str:
    """A person's Markdown note as safe HTML ('' when there is none)."""
    if not note.strip():
        return ""
    return (md or markdown_renderer()).render(note)


def paper_card(
    site: Site, paper: Paper, links: Urls, md: MarkdownIt | None = None, chips: tuple[str, ...] | None = None
) -> dict[str, Any]:
    """A paper as digest, tag and home pages list it. `chips` (from card_chips) saves working out the tag shares."""
    code = paper.code_link
    if chips is None:
        chips = card_chips(paper, tags_by_slug(site))
    return {
        "slug": paper.slug,
        "title": paper.plain_title,
        "title_html": title_html(paper),
        "url": links.path(urls.paper(paper.slug)),
        "published": paper.published.isoformat() if paper.published else "",
        "published_label": human_date(paper.published),
        "upvotes": paper.upvotes,
        "byline": byline(paper),
        "tags": tag_links(site, paper, links),
        "chips": [{"slug": t, "label": site.tag_label(t), "url": links.path(urls.tag(t))} for t in chips],
        "links": link_row(paper),
        "code_url": code.url if code else "",
        "note_html": render_note(md, paper.note),
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


def title_html(paper: Paper) -> Markup:
    """The title as HTML: its TeX formulas as MathML, the rest escaped text."""
    return Markup(mathtext.to_html(paper.title))


def abstract_html(md: MarkdownIt, body: str) -> str:
    """A paper body as HTML; in plain (escaped) text, the web addresses become links."""
    paragraphs = plain_paragraphs(body)
    if paragraphs is None or any(md.options.get(option) for option in ("breaks", "linkify", "typographer")):
        return render_body(md, body)
    return "".join(f"<p>{linked_html(unescape_markdown(paragraph))}</p>\n" for paragraph in paragraphs)


def author_links(paper: Paper, links: Urls, slugs: list[str | None]) -> list[dict[str, str]]:
    """Each author with the page of their papers, or a search for their name when they have none.
    `slugs` are people.author_slug of each name, in order."""
    search = links.path(urls.search())
    result = []
    for name, slug in zip(paper.authors, slugs, strict=True):
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
    return {"title": site.papers[slug].plain_title, "url": links.path(urls.paper(slug))}


def paper_page(
    site: Site, paper: Paper, links: Urls, md: MarkdownIt, cite_key: str | None = None,
    people: People | None = None, neighbours: list[tuple[dt.date, str | None, str | None]] = (),
    chips: tuple[str, ...] | None = None, *, author_slugs: list[str | None],
) -> dict[str, Any]:
    """Everything a paper page shows; `cite_key` is its site-wide BibTeX key (bibtex.citation_keys),
    `author_slugs` its authors' page slugs (people.author_slug of each, None for no page)."""
    view = paper_card(site, paper, links, chips=chips)
    around = {date: (before, after) for date, before, after in neighbours}
    org_slug = people.org_slug(paper.organization) if people and paper.organization else None
    view.update(
        abstract_html=mathtext.html_with_math(abstract_html(md, paper.body)),
        note_html=render_note(md, paper.note),
        links=paper_links(paper),
        title_searches=[] if paper.arxiv else title_searches(paper.title),
        authors=author_links(paper, links, author_slugs),
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


def related_rows(site: Site, paper: Paper, links: Urls) -> list[dict[str, Any]]:
    """The paper's related papers (related.py), most alike first: title, link, date, byline."""
    rows = []
    for slug in site.related.get(paper.slug, ()):
        other = site.papers[slug]
        rows.append({"title": other.plain_title, "url": links.path(urls.paper(slug)), "published": other.published.isoformat() if other.published else "",
                     "published_label": human_date(other.published), "byline": byline(other)})
    return rows


def digest_title(digest: Digest) -> str:
    return digest.title or f"Digest of {long_date(digest.date)}"


def digest_summary(digest: Digest, links: Urls) -> dict[str, Any]:
    return {
        "date": digest.date.isoformat(),
        "label": long_date(digest.date),
        "title": digest_title(digest),
        "url": links.path(urls.digest(digest.date)),
        "count": len(digest.shown),
    }


_ORDER_WORDS = {
    "upvotes": "most upvoted first",
    "listing": "in the order of the listing",
    "curated": "in the curator's order",
}


def effective_order(site: Site, digest: Digest) -> str:
    """The order the digest is shown in: auto resolved to upvotes or listing, as Site.digest_order does."""
    if digest.order != "auto":
        return digest.order
    return "upvotes" if any(site.papers[s].upvotes for s in digest.shown) else "listing"


def digest_rest(site: Site, digest: Digest) -> tuple[str, ...]:
    """The shown papers that are not picks, in the digest's order."""
    picked = {p.slug for p in digest.picks}
    return tuple(s for s in site.digest_order(digest) if s not in picked)


def shown_picks(digest: Digest) -> list[Pick]:
    shown = set(digest.shown)
    return [pick for pick in digest.picks if pick.slug in shown]


def reader_order(site: Site, digest: Digest) -> tuple[str, ...]:
    """The shown papers as a digest page lists them: the picks, then the rest in the digest's order."""
    return tuple(p.slug for p in shown_picks(digest)) + digest_rest(site, digest)


def digest_pages(site: Site, digest: Digest) -> int:
    """How many pages the digest's papers take (at least one)."""
    size = site.config.digest_page_size
    return max(1, -(-len(digest_rest(site, digest)) // size))


def digest_page(
    site: Site,
    index: int,
    links: Urls,
    card: Callable[[str], dict[str, Any]] | None = None,
    md: MarkdownIt | None = None,
    page: int = 1,
) -> dict[str, Any]:
    """A digest as its page shows it: title, intro, picks with notes, then the rest (one page of them).

    Every paper carries its listing position, so a reader's script can re-sort the list;
    `card` may supply cards already built.
    """
    digest = site.digests[index]
    md = md or markdown_renderer()
    card = card or (lambda slug: paper_card(site, site.papers[slug], links, md))
    position = {slug: n for n, slug in enumerate(digest.slugs, start=1)}
    size = site.config.digest_page_size
    rest = digest_rest(site, digest)
    pages = digest_pages(site, digest)
    chosen = rest[(page - 1) * size : page * size]
    order = effective_order(site, digest)
    view = digest_summary(digest, links)
    view.update(
        intro_html=render_note(md, digest.intro),
        order=order,
        order_words=_ORDER_WORDS[order],
        picks=[{**card(p.slug), "pick_note_html": render_note(md, p.note), "position": position[p.slug]}
               for p in (shown_picks(digest) if page == 1 else [])],
        papers=[{**card(s), "position": position[s]} for s in chosen],
        compact=len(rest) > site.config.digest_cards,
        page_number=page,
        pages=pages,
        page_urls=[links.path(urls.digest(digest.date, n)) for n in range(1, pages + 1)],
        hidden=len(digest.slugs) - len(digest.shown),
    )
    view["previous"], view["next"] = neighbour_summaries(site, index, links)
    return view


def neighbour_summaries(site: Site, index: int, links: Urls) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The digests before and after the one at `index`, as its page shows them (also the page's key part)."""
    before = digest_summary(site.digests[index - 1], links) if index > 0 else None
    after = digest_summary(site.digests[index + 1], links) if index + 1 < len(site.digests) else None
    return before, after


def home_view(
    site: Site, links: Urls, card: Callable[[str], dict[str, Any]] | None = None, md: MarkdownIt | None = None
) -> dict[str, Any] | None:
    """The latest digest as the home page shows it: intro, picks, its top papers and how many more there are."""
    if not site.digests:
        return None
    digest = site.digests[-1]
    view = digest_page(site, len(site.digests) - 1, links, card, md)
    card = card or (lambda slug: paper_card(site, site.papers[slug], links, md))
    position = {slug: n for n, slug in enumerate(digest.slugs, start=1)}
    rest = digest_rest(site, digest)
    top = rest[: site.config.home_top_papers]
    view["papers"] = [{**card(s), "position": position[s]} for s in top]
    view["compact"] = True  # rows: the recent digests below stay near the top of the page
    view["more"] = len(rest) - len(top)
    return view


def archive_view(site: Site, links: Urls) -> list[dict[str, Any]]:
    """Digests newest first, as a table: one row per year, one cell per month listing its days."""
    years: dict[int, dict[int, list[dict[str, Any]]]] = {}
    for digest in reversed(site.digests):
        summary = digest_summary(digest, links)
        summary["day"] = digest.date.day
        years.setdefault(digest.date.year, {}).setdefault(digest.date.month, []).append(summary)
    return [
        {
            "year": year,
            "count": sum(len(ds) for ds in months.values()),
            "months": [
                {"number": m, "name": month_name(m), "short": month_name(m)[:3], "digests": months.get(m, [])[::-1]}
                for m in range(12, 0, -1)
            ],
        }
        for year, months in years.items()
    ]


def tag_summaries(site: Site, links: Urls) -> list[dict[str, Any]]:
    return [
        {"slug": t.slug, "label": t.label, "url": links.path(urls.tag(t.slug)), "count": len(t.papers)}
        for t in sorted(site.tags, key=lambda t: t.label.casefold())
    ]


def tags_by_count(site: Site, links: Urls) -> list[dict[str, Any]]:
    """Tags most used first (ties by label), each with a size step 1-5 for the index page."""
    tags = sorted(tag_summaries(site, links), key=lambda t: (-t["count"], t["label"].casefold()))
    most = max((t["count"] for t in tags), default=1) or 1
    for tag in tags:
        tag["size"] = 1 + min(4, int(4 * tag["count"] / most))
    return tags


def group_summaries(groups: tuple[Group, ...], page_url: Callable[[str], str], links: Urls) -> list[dict[str, Any]]:
    """Authors or organizations for an index page: by name, each with its page and paper count."""
    return [
        {"slug": g.slug, "name": g.name, "url": links.path(page_url(g.slug)), "count": len(g.papers)}
        for g in sorted(groups, key=lambda g: (g.name.casefold(), g.slug))
    ]
