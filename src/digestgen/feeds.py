"""Machine-readable outputs: Atom feeds, sitemap.xml, robots.txt and papers.json."""

from __future__ import annotations

import datetime as dt
import json
import re
from xml.sax.saxutils import escape
from typing import Any, Callable

from digestgen import urls
from digestgen.model import Paper, Site, Tag
from digestgen.urls import Urls
from digestgen.people import People
from digestgen.views import byline, paper_links, reader_order

ATOM_NS = "http://www.w3.org/2005/Atom"
FEED_SIZE = 50  # at least this many entries when there are, and always the whole latest digest
PAPERS_JSON_VERSION = 2
# XML 1.0 forbids most C0 controls even as character references; a lone surrogate cannot be encoded at all.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    return _XML_ILLEGAL.sub("", text)


def _stamp(date: dt.date | None) -> str:
    return f"{(date or dt.date(1970, 1, 1)).isoformat()}T00:00:00Z"


def _added(paper: Paper) -> dt.date | None:
    """When the site first listed the paper (its first digest), else its own date."""
    return paper.digests[0] if paper.digests else paper.published


def entry_id(paper: Paper) -> str:
    """An id that stays when base_url changes: the arXiv abstract's address, else a tag: URI (RFC 4151)
    of the slug, dated when the site first listed the paper."""
    if paper.arxiv:
        return f"https://arxiv.org/abs/{paper.arxiv}"
    return f"tag:digestgen,{(_added(paper) or dt.date(1970, 1, 1)).isoformat()}:papers/{paper.slug}"


# Feeds and the sitemap are written as text, not through ElementTree: at 10,000 papers a build writes
# ~17,000 feeds, and building and serializing their elements cost more than the rest of making them. The
# text is what ElementTree writes, indented as ET.indent indents it (tests/test_feeds.py compares the two).
_ATTRIBUTE_ENTITIES = {'"': "&quot;", "\r": "&#13;", "\n": "&#10;", "\t": "&#09;"}


def _element(tag: str, text: str | None = None, attrs: tuple[tuple[str, str], ...] = ()) -> str:
    """One element without children; an empty or absent text makes it self-closing."""
    opening = "<" + tag + "".join(f' {name}="{escape(xml_text(value), _ATTRIBUTE_ENTITIES)}"' for name, value in attrs)
    text = xml_text(text) if text is not None else ""
    return f"{opening}>{escape(text)}</{tag}>" if text else opening + " />"


def _author(name: str, indent: str) -> str:
    return f"<author>{indent}  {_element('name', name)}{indent}</author>"


class FeedEntries:
    """Each paper's Atom entry, serialized (and encoded) once however many feeds (site, tags, authors) list it.

    Made in the parent before rendering forks, it is empty there: each render worker fills its own
    copy for the papers of the feeds it makes."""

    def __init__(self, links: Urls):
        self.links = links
        self.made: dict[str, bytes] = {}

    def __call__(self, paper: Paper) -> bytes:
        found = self.made.get(paper.slug)
        if found is None:
            found = self.made[paper.slug] = _entry_xml(paper, self.links).encode("utf-8")
        return found


def _entry_xml(paper: Paper, links: Urls) -> str:
    """The entry indented one level, as it stands inside its feed."""
    url = links.absolute(urls.paper(paper.slug))
    children = [
        _element("title", paper.plain_title),
        _element("id", entry_id(paper)),
        _element("link", None, (("rel", "alternate"), ("type", "text/html"), ("href", url))),
        _element("updated", _stamp(_added(paper))),
    ]
    if paper.published:
        children.append(_element("published", _stamp(paper.published)))
    children += [_author(name, "\n    ") for name in paper.authors or ([byline(paper)] if byline(paper) else [])]
    children += [_element("link", None, (("rel", "related"), ("href", link["url"]), ("title", link["label"])))
                 for link in paper_links(paper)]
    children += [_element("category", None, (("term", tag),)) for tag in paper.tags]
    children.append(_element("summary", paper.text))
    return "  <entry>\n    " + "\n    ".join(children) + "\n  </entry>\n"


def atom_feed(
    site: Site, links: Urls, papers: list[Paper], title: str, self_path: str, page_path: str, entries: FeedEntries | None = None
) -> bytes:
    """A feed of `papers`; `entries`, shared by the feeds of one build, serializes each paper once."""
    entries = entries or FeedEntries(links)
    dates = [d for d in (_added(p) for p in papers) if d]
    head = [
        _element("title", title),
        _element("subtitle", site.config.description),
        _element("id", links.absolute(self_path)),
        _element("link", None, (("rel", "self"), ("href", links.absolute(self_path)))),
        _element("link", None, (("rel", "alternate"), ("type", "text/html"), ("href", links.absolute(page_path)))),
        _element("updated", _stamp(max(dates) if dates else None)),
        _author(site.config.author or site.config.title, "\n  "),
        _element("generator", "digestgen"),
    ]
    opening = _element("feed", None, (("xmlns", ATOM_NS), ("xml:lang", site.config.language)))[:-3] + ">"
    prologue = f'<?xml version="1.0" encoding="utf-8"?>\n{opening}\n  ' + "\n  ".join(head) + "\n"
    return b"".join([prologue.encode("utf-8"), *map(entries, papers), b"</feed>\n"])


def whole_digests(site: Site, only: tuple[str, ...] | None = None) -> list[Paper]:
    """Every shown paper of the latest digests, newest digest first and in its order, until there are
    FEED_SIZE: a digest is never cut, so a reader's feed never loses part of a day. `only` keeps those
    slugs (a tag's papers). Papers that no digest lists follow, newest first, while there is room."""
    wanted = set(only) if only is not None else None
    chosen: list[Paper] = []
    seen: set[str] = set()
    for digest in reversed(site.digests):
        if len(chosen) >= FEED_SIZE:
            break
        for slug in reader_order(site, digest):
            if slug not in seen and (wanted is None or slug in wanted):
                seen.add(slug)
                chosen.append(site.papers[slug])
    if len(chosen) < FEED_SIZE:
        unlisted = [p for p in (site.papers.values() if only is None else map(site.papers.__getitem__, only)) if not p.digests]
        chosen += sorted(unlisted, key=lambda p: p.sort_key, reverse=True)[: FEED_SIZE - len(chosen)]
    return chosen


class FeedOrder:
    """Where each paper first comes when whole_digests reads the digests newest first: worked out
    once, so that the feeds of thousands of authors do not each read every digest again."""

    def __init__(self, site: Site):
        self.site = site
        self.place: dict[str, tuple[int, int]] = {}  # slug -> (digests before its newest, its position there)
        for age, digest in enumerate(reversed(site.digests)):
            for position, slug in enumerate(reader_order(site, digest)):
                self.place.setdefault(slug, (age, position))

    def whole_digests(self, only: tuple[str, ...]) -> list[Paper]:
        """whole_digests(site, only), in the same order, from the kept places."""
        placed = sorted((self.place[slug], slug) for slug in set(only) if slug in self.place)
        chosen: list[Paper] = []
        for number, ((age, _), slug) in enumerate(placed):
            if len(chosen) >= FEED_SIZE and age != placed[number - 1][0][0]:
                break  # the digest before filled the feed; this one starts the next
            chosen.append(self.site.papers[slug])
        if len(chosen) < FEED_SIZE:
            unlisted = [p for p in map(self.site.papers.__getitem__, only) if not p.digests]
            chosen += sorted(unlisted, key=lambda p: p.sort_key, reverse=True)[: FEED_SIZE - len(chosen)]
        return chosen


def site_feed(site: Site, links: Urls, entries: FeedEntries | None = None) -> bytes:
    return atom_feed(site, links, whole_digests(site), site.config.title, urls.FEED, urls.home(), entries)


def tag_feed(
    site: Site, links: Urls, tag: Tag, entries: FeedEntries | None = None, order: FeedOrder | None = None
) -> bytes:
    title = f"{site.config.title}: {tag.label}"
    papers = (order or FeedOrder(site)).whole_digests(tag.papers)
    return atom_feed(site, links, papers, title, urls.tag_feed(tag.slug), urls.tag(tag.slug), entries)


def group_feeds(
    site: Site, links: Urls, people: People, entries: FeedEntries | None = None, order: FeedOrder | None = None
) -> list[tuple[str, Callable[[], bytes]]]:
    """The Atom feed of each author with a page and of each organization."""
    entries = entries or FeedEntries(links)
    order = order or FeedOrder(site)
    outputs = []
    for kind, groups, feed_url, page_url in (
        ("Papers by", people.authors, urls.author_feed, urls.author),
        ("Papers from", people.orgs, urls.org_feed, urls.org),
    ):
        for group in groups:
            title = f"{site.config.title}: {kind} {group.name}"
            outputs.append((feed_url(group.slug), lambda g=group, t=title, f=feed_url, u=page_url: atom_feed(
                site, links, order.whole_digests(g.papers), t, f(g.slug), u(g.slug), entries)))
    return outputs


def sitemap(links: Urls, page_urls: list[str]) -> bytes:
    rows = "".join(f"  <url>\n    {_element('loc', links.absolute(relative))}\n  </url>\n" for relative in sorted(page_urls))
    opening = '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
    body = f"{opening}>\n{rows}</urlset>" if rows else f"{opening} />"
    return f'<?xml version="1.0" encoding="utf-8"?>\n{body}\n'.encode("utf-8")


def robots(links: Urls) -> bytes:
    return f"User-agent: *\nAllow: /\nSitemap: {links.absolute(urls.SITEMAP)}\n".encode("utf-8")


def paper_record(site: Site, paper: Paper, links: Urls) -> dict[str, Any]:
    return {
        "slug": paper.slug,
        "title": paper.plain_title,
        "url": links.absolute(urls.paper(paper.slug)),
        "published": paper.published.isoformat() if paper.published else None,
        "upvotes": paper.upvotes,
        "authors": list(paper.authors),
        "author_count": paper.author_count,
        "organization": paper.organization,
        "arxiv": paper.arxiv,
        "arxiv_version": paper.arxiv_version,
        "categories": list(paper.categories),
        "primary_category": paper.primary_category,
        "keywords": list(paper.keywords),
        "comment": paper.comment,
        "journal_ref": paper.journal_ref,
        "doi": paper.doi,
        "comments": paper.comments,
        "tags": list(paper.tags),
        "links": [{"kind": link["kind"], "url": link["url"]} for link in paper_links(paper)],
        "digests": [d.isoformat() for d in paper.digests],
        "abstract": paper.text,
        "related": list(site.related.get(paper.slug, ())),
    }


def papers_json(site: Site, links: Urls) -> bytes:
    """One paper per line: easy to read and to diff, and written by json's fast (unindented) encoder."""
    head = {"version": PAPERS_JSON_VERSION, "site": {"title": site.config.title, "url": links.absolute(urls.home())}}
    records = [json.dumps(paper_record(site, p, links), ensure_ascii=False) for p in site.papers.values()]
    opening = json.dumps(head, ensure_ascii=False)[:-1] + ', "papers": ['
    body = ",\n".join(records)
    return (opening + ("\n" + body + "\n" if records else "") + "]}\n").encode("utf-8")
