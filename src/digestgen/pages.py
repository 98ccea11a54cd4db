"""Plan the HTML pages of a site: which template renders which data at which URL.

A page's data is built only when the page is rendered, and each page carries a key that changes
whenever anything it shows could change, so an unchanged page is reused instead of re-rendered.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from typing import Any, Callable

from markdown_it import MarkdownIt

from digestgen import bibtex, trends, urls, views
from digestgen.errors import DigestgenError
from digestgen.model import Paper, Site, Tag
from digestgen.people import Group, People, site_people
from digestgen.urls import Urls


@dataclass(frozen=True)
class PageJob:
    url: str  # site-relative, e.g. "papers/slug/"
    template: str
    title: str
    make_context: Callable[[], dict[str, Any]]
    depends: tuple[str, ...] = ()  # slugs of the papers the page shows
    shape: str = ""  # anything else the page shows that its papers do not determine
    fixed: bool = False  # shows site-wide lists: always rendered
    description: str = ""  # the page's own summary for search engines and link previews
    cards: bool = False  # lists paper cards, whose HTML (from _macros.html) is made before the page
    output: str = field(init=False)  # the file, e.g. "papers/slug/index.html"

    def __post_init__(self) -> None:
        object.__setattr__(self, "output", urls.output_file(self.url))

    def key(self, site_key: str, marks: dict[str, str]) -> str | None:
        """Changes whenever the page's bytes could; None for pages that are always rendered.
        `marks` (paper_marks) holds each paper's part, made once for all the pages that list it."""
        if self.fixed:
            return None
        parts = [site_key, self.template, self.url, self.title, self.shape, self.description]
        parts += map(marks.__getitem__, self.depends)
        return hashlib.blake2b("\0".join(parts).encode(), digest_size=16).hexdigest()


def page_keys(
    jobs: list[PageJob], site_key: str, papers: dict[str, Paper], memo: dict | None = None, cards_key: str = ""
) -> list[str | None]:
    """Every page's key (incremental.PageKeys adds what rendering it loaded); a page listing cards
    follows `cards_key` too. `memo`, kept by a long-lived caller, skips the hashing for pages whose
    inputs are the very objects they were last time (unchanged papers stay the same objects)."""
    with_cards = site_key + cards_key
    marks = paper_marks(papers)
    if memo is None:
        return [job.key(with_cards if job.cards else site_key, marks) for job in jobs]
    previous, keys = dict(memo), []
    memo.clear()
    for job in jobs:
        site = with_cards if job.cards else site_key
        inputs = (site, job.template, job.title, job.shape, job.description, tuple(map(papers.__getitem__, job.depends)))
        known = previous.get(job.url)
        key = known[1] if known is not None and known[0] == inputs else job.key(site, marks)
        memo[job.url] = (inputs, key)
        keys.append(key)
    return keys


def paper_marks(papers: dict[str, Paper]) -> dict[str, str]:
    """Each paper's part of the keys of the pages that show it (PageJob.key)."""
    return {slug: f"{slug}:{paper.fingerprint}" for slug, paper in papers.items()}


Fragments = Callable[[dict[str, Any]], dict[str, Any]]


class _Cards:
    """Each paper's card data, built once however many pages list the paper.

    `fragments` adds the card's HTML, rendered once, so that a digest or tag page listing
    fifty papers does not render fifty cards again. `known` may carry cards over from an earlier
    build with the same theme and configuration: a card follows from its paper's file and the
    tag chips it shows, which depend on how common each tag is across the site (`chips`).
    """

    def __init__(
        self, site: Site, links: Urls, fragments: Fragments, known: dict[tuple, dict[str, Any]] | None = None,
        md: MarkdownIt | None = None,
    ):
        self.site, self.links, self.fragments, self.md = site, links, fragments, md
        self.cards = known if known is not None else {}
        self._tags: dict[str, Tag] | None = None
        self._chips: dict[str, tuple[str, ...]] = {}  # slug -> chips: asked for once per page that lists the paper

    def chips(self, slug: str) -> tuple[str, ...]:
        if slug not in self._chips:
            if self._tags is None:
                self._tags = views.tags_by_slug(self.site)
            self._chips[slug] = views.card_chips(self.site.papers[slug], self._tags)
        return self._chips[slug]

    def __call__(self, slug: str) -> dict[str, Any]:
        paper = self.site.papers[slug]
        chips = self.chips(slug)
        key = (slug, paper.fingerprint, chips)
        if key not in self.cards:
            self.cards[key] = self.fragments(views.paper_card(self.site, paper, self.links, self.md, chips))
        return self.cards[key]


def _curation(site: Site, index: int, links: Urls) -> str:
    """What a digest page shows besides its papers' files: the curator's fields and its neighbours."""
    digest = site.digests[index]
    picks = [(p.slug, p.note) for p in digest.picks]
    return repr((digest.title, digest.intro, picks, digest.order, digest.hide, _neighbours(site, index, links)))


def _chips_of(cards: _Cards, slugs: tuple[str, ...]) -> str:
    """The tag chips the listed papers show: they change with other papers' tags, not only their own."""
    return repr([cards.chips(s) for s in slugs])


def _home(site: Site, links: Urls, cards: _Cards) -> PageJob:
    def context() -> dict[str, Any]:
        recent = [views.digest_summary(d, links) for d in reversed(site.digests[-site.config.recent_digests :])]
        return {"digest": views.home_view(site, links, cards, cards.md), "recent": recent}

    latest = site.latest
    # The whole digest, not only the papers shown: their upvotes decide which are the top ones.
    depends = latest.slugs if latest else ()
    recent = site.digests[-site.config.recent_digests :]
    shape = repr([(d.date, d.title, len(d.shown)) for d in recent])
    if latest:
        shape += _curation(site, len(site.digests) - 1, links) + _chips_of(cards, latest.shown)
    return PageJob(urls.home(), "home.html", site.config.title, context, depends, shape, description=site.config.description,
                   cards=True)


def _digests(site: Site, links: Urls, cards: _Cards) -> list[PageJob]:
    jobs = []
    for index, digest in enumerate(site.digests):
        pages = views.digest_pages(site, digest)
        title = views.digest_title(digest)
        # Every page depends on every paper of the digest: upvotes decide which page a paper is on.
        shape = _curation(site, index, links) + _chips_of(cards, digest.shown)
        for number in range(1, pages + 1):
            jobs.append(
                PageJob(
                    urls.digest(digest.date, number),
                    "digest.html",
                    title + (f" (page {number})" if number > 1 else ""),
                    lambda index=index, number=number: {
                        "digest": views.digest_page(site, index, links, cards, cards.md, number)
                    },
                    digest.slugs,
                    f"{shape}|{number}|{pages}",
                    description=_digest_description(site, digest),
                    cards=True,
                )
            )
    return jobs


def _digest_description(site: Site, digest) -> str:
    """The digest's size and its first titles in the reader's order (both follow from its papers)."""
    order = site.digest_order(digest)
    count = f"{len(order)} paper{'' if len(order) == 1 else 's'}"
    titles = "; ".join(site.papers[slug].title for slug in order[:3])
    return views.snippet(f"{count} in the digest of {views.long_date(digest.date)}" + (f": {titles}" if titles else "."), 200)


def _neighbours(site: Site, index: int, links: Urls) -> str:
    """What a digest page shows of other digests: the previous and next ones, as the view builds them."""
    return repr(views.neighbour_summaries(site, index, links))


def _papers(site: Site, links: Urls, cards: _Cards, people: People) -> list[PageJob]:
    keys = bibtex.citation_keys(site)
    neighbours = views.digest_neighbours(site)
    author_slug = functools.cache(people.author_slug)  # most names are on several papers

    jobs = []
    for p in site.papers.values():
        around = neighbours.get(p.slug, [])
        shown = tuple(dict.fromkeys(s for _, before, after in around for s in (before, after) if s))
        authors = [author_slug(name) for name in p.authors]
        org = people.org_slug(p.organization) if p.organization else None
        # Besides its own file: the digests it appeared in, its neighbours there, its BibTeX key
        # (which other papers' keys decide) and which of its authors have pages.
        related = site.related.get(p.slug, ())  # their titles, dates and bylines show, in this order
        chips = cards.chips(p.slug)  # which follow from other papers' tags too
        shape = repr((p.digests, around, keys[p.slug], authors, org, related, chips))

        def context(p=p, around=around, chips=chips, authors=authors) -> dict[str, Any]:
            return {
                "paper": views.paper_page(site, p, links, cards.md, keys[p.slug], people, around, chips,
                                           author_slugs=authors),
                "related": views.related_rows(site, p, links),
            }

        description = views.snippet(p.text, 200) or p.plain_title
        jobs.append(PageJob(urls.paper(p.slug), "paper.html", p.plain_title, context, (p.slug, *shown, *related), shape, description=description))
    return jobs


def _tag_pages(site: Site, links: Urls, cards: _Cards) -> list[PageJob]:
    size = site.config.tag_page_size
    jobs = []
    by_tag = trends.tag_trends(site)
    for tag in site.tags:
        trend = by_tag[tag.slug]
        pages = [tag.papers[i : i + size] for i in range(0, len(tag.papers), size)] or [()]
        for number, slugs in enumerate(pages, start=1):

            def context(tag=tag, number=number, slugs=slugs, total=len(pages), trend=trend) -> dict[str, Any]:
                return {
                    "tag": {"slug": tag.slug, "label": tag.label, "count": len(tag.papers), "feed": links.path(urls.tag_feed(tag.slug))},
                    "papers": [cards(s) for s in slugs],
                    "page_number": number,
                    "pages": total,
                    "previous_url": links.path(urls.tag(tag.slug, number - 1)) if number > 1 else "",
                    "next_url": links.path(urls.tag(tag.slug, number + 1)) if number < total else "",
                    "trend": trend,
                }

            title = f"Tag: {tag.label}" + (f" (page {number})" if number > 1 else "")
            shape = f"{tag.label}|{number}|{len(pages)}|{len(tag.papers)}|{trend!r}" + _chips_of(cards, slugs)
            noun = "paper" if len(tag.papers) == 1 else "papers"
            description = f"{len(tag.papers)} {noun} tagged {tag.label} on {site.config.title}, newest first" + (
                f"; page {number} of {len(pages)}." if len(pages) > 1 else ".")
            jobs.append(PageJob(urls.tag(tag.slug, number), "tag.html", title, context, slugs, shape, description=description, cards=True))
    return jobs


def _group_pages(site: Site, links: Urls, cards: _Cards, groups: tuple[Group, ...], kind: str) -> list[PageJob]:
    """The pages of each author's or organization's papers, newest first, paginated like tags."""
    page_url, feed_url = (urls.author, urls.author_feed) if kind == "author" else (urls.org, urls.org_feed)
    size = site.config.tag_page_size
    jobs = []
    for group in groups:
        pages = [group.papers[i : i + size] for i in range(0, len(group.papers), size)] or [()]
        for number, slugs in enumerate(pages, start=1):

            def context(group=group, number=number, slugs=slugs, total=len(pages)) -> dict[str, Any]:
                return {
                    "group": {"slug": group.slug, "name": group.name, "count": len(group.papers),
                              "feed": links.path(feed_url(group.slug)), "kind": kind},
                    "papers": [cards(s) for s in slugs],
                    "page_number": number,
                    "pages": total,
                    "previous_url": links.path(page_url(group.slug, number - 1)) if number > 1 else "",
                    "next_url": links.path(page_url(group.slug, number + 1)) if number < total else "",
                }

            noun = "paper" if len(group.papers) == 1 else "papers"
            title = ("Papers by " if kind == "author" else "Papers from ") + group.name
            title += f" (page {number})" if number > 1 else ""
            description = f"{title} on {site.config.title}: {len(group.papers)} {noun}, newest first."
            shape = f"{group.name}|{number}|{len(pages)}|{len(group.papers)}" + _chips_of(cards, slugs)
            jobs.append(PageJob(page_url(group.slug, number), f"{kind}.html", title, context, slugs, shape, description=description,
                               cards=True))
    return jobs


def _group_indexes(site: Site, links: Urls, people: People) -> list[PageJob]:
    authors = views.group_summaries(people.authors, urls.author, links)
    orgs = views.group_summaries(people.orgs, urls.org, links)
    minimum = site.config.author_pages.min_papers
    return [
        PageJob(urls.authors_index(), "authors.html", "Authors", lambda: {"authors": authors, "min_papers": minimum},
                shape=repr((authors, minimum)), description=f"The authors of {minimum} or more papers on {site.config.title}."),
        PageJob(urls.orgs_index(), "orgs.html", "Organizations", lambda: {"orgs": orgs}, shape=repr(orgs),
                description=f"The organizations whose papers {site.config.title} lists."),
    ]


def _fixed(site: Site, links: Urls) -> list[PageJob]:
    """The index pages: each shows one small list, which is also its key part (not every paper)."""
    by_count, years, tags = views.tags_by_count(site, links), views.archive_view(site, links), views.tag_summaries(site, links)
    return [
        PageJob(urls.tags_index(), "tags.html", "Tags", lambda: {"tags": by_count}, shape=repr(by_count),
                description=f"Every tag of {site.config.title}, with its number of papers."),
        PageJob(urls.archive(), "archive.html", "Archive", lambda: {"years": years}, shape=repr(years),
                description=f"Every digest of {site.config.title}, by year and month."),
        PageJob(urls.search(), "search.html", "Search", lambda: {"tags": tags}, shape=repr(tags),
                description=f"Search the titles, abstracts and tags of the papers on {site.config.title}."),
        PageJob(urls.NOT_FOUND, "404.html", "Page not found", dict, description="There is no page at this address."),
    ]


def _trends(site: Site, links: Urls) -> PageJob:
    """/trends/: drawn from every paper and digest, so always rendered."""
    description = f"What is rising and falling on {site.config.title}: tags week by week, papers per digest, upvotes."
    return PageJob(
        urls.trends(), "trends.html", "Trends", lambda: {"trends": trends.trends_page(site, links)}, fixed=True,
        description=description,
    )


def plan_pages(
    site: Site, links: Urls, md: MarkdownIt, fragments: Fragments = lambda card: card, known_cards: dict | None = None,
    people: People | None = None,
) -> list[PageJob]:
    """Every HTML page; two pages claiming one output path is an error. `people` (site_people) when the caller has it."""
    cards = _Cards(site, links, fragments, known_cards, md)
    people = people or site_people(site, site.config.author_pages.min_papers)
    jobs = [
        _home(site, links, cards),
        *_digests(site, links, cards),
        *_papers(site, links, cards, people),
        *_tag_pages(site, links, cards),
        *_group_pages(site, links, cards, people.authors, "author"),
        *_group_pages(site, links, cards, people.orgs, "org"),
        *_group_indexes(site, links, people),
        *_fixed(site, links),
        _trends(site, links),
    ]
    check_unique([job.output for job in jobs])
    return jobs


def check_unique(paths: list[str]) -> None:
    seen: set[str] = set()
    for path in paths:
        if path in seen:
            raise DigestgenError(f"two outputs claim the path {path!r}")
        seen.add(path)
