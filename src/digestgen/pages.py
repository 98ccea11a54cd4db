"""Plan the HTML pages of a site: which template renders which data at which URL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from markdown_it import MarkdownIt

from digestgen import urls, views
from digestgen.errors import DigestgenError
from digestgen.model import Site
from digestgen.urls import Urls


@dataclass(frozen=True)
class PageJob:
    url: str  # site-relative, e.g. "papers/slug/"
    template: str
    context: dict[str, Any]
    title: str
    depends: frozenset[str] = frozenset()  # paper slugs whose change re-renders this page

    @property
    def output(self) -> str:
        return urls.output_file(self.url)


def _home(site: Site, links: Urls) -> PageJob:
    latest = views.digest_page(site, len(site.digests) - 1, links) if site.digests else None
    recent = [views.digest_summary(d, links) for d in reversed(site.digests[-site.config.recent_digests :])]
    depends = frozenset(site.latest.slugs) if site.latest else frozenset()
    return PageJob(urls.home(), "home.html", {"digest": latest, "recent": recent}, site.config.title, depends)


def _digests(site: Site, links: Urls) -> list[PageJob]:
    jobs = []
    for index, digest in enumerate(site.digests):
        view = views.digest_page(site, index, links)
        jobs.append(PageJob(urls.digest(digest.date), "digest.html", {"digest": view}, f"Digest of {view['label']}", frozenset(digest.slugs)))
    return jobs


def _papers(site: Site, links: Urls, md: MarkdownIt) -> list[PageJob]:
    return [
        PageJob(urls.paper(p.slug), "paper.html", {"paper": views.paper_page(site, p, links, md)}, p.title, frozenset({p.slug}))
        for p in site.papers.values()
    ]


def _tags(site: Site, links: Urls) -> list[PageJob]:
    size = site.config.tag_page_size
    jobs = [PageJob(urls.tags_index(), "tags.html", {"tags": views.tag_summaries(site, links)}, "Tags")]
    for tag in site.tags:
        pages = [tag.papers[i : i + size] for i in range(0, len(tag.papers), size)] or [()]
        for number, slugs in enumerate(pages, start=1):
            context = {
                "tag": {"slug": tag.slug, "label": tag.label, "count": len(tag.papers), "feed": links.path(urls.tag_feed(tag.slug))},
                "papers": [views.paper_card(site, site.papers[s], links) for s in slugs],
                "page_number": number,
                "pages": len(pages),
                "previous_url": links.path(urls.tag(tag.slug, number - 1)) if number > 1 else "",
                "next_url": links.path(urls.tag(tag.slug, number + 1)) if number < len(pages) else "",
            }
            title = f"Tag: {tag.label}" + (f" (page {number})" if number > 1 else "")
            jobs.append(PageJob(urls.tag(tag.slug, number), "tag.html", context, title, frozenset(slugs)))
    return jobs


def _fixed(site: Site, links: Urls) -> list[PageJob]:
    return [
        PageJob(urls.archive(), "archive.html", {"years": views.archive_view(site, links)}, "Archive"),
        PageJob(urls.search(), "search.html", {"tags": views.tag_summaries(site, links)}, "Search"),
        PageJob(urls.NOT_FOUND, "404.html", {}, "Page not found"),
    ]


def plan_pages(site: Site, links: Urls, md: MarkdownIt) -> list[PageJob]:
    """Every HTML page; two pages claiming one output path is an error."""
    jobs = [_home(site, links), *_digests(site, links), *_papers(site, links, md), *_tags(site, links), *_fixed(site, links)]
    check_unique([job.output for job in jobs])
    return jobs


def check_unique(paths: list[str]) -> None:
    seen: set[str] = set()
    for path in paths:
        if path in seen:
            raise DigestgenError(f"two outputs claim the path {path!r}")
        seen.add(path)
