"""The Atom writer writes what ElementTree would: the same bytes for any text, however hostile."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import xml.etree.ElementTree as ET

from hypothesis import given, settings, strategies as st

from digestgen import feeds, urls
from digestgen.config import Config
from digestgen.links import Link
from digestgen.model import Paper, Site
from digestgen.urls import Urls
from digestgen.views import byline, paper_links

# Markup, quotes, the whitespace attributes escape, characters XML forbids (dropped from texts), non-ASCII.
_AWKWARD = st.text(st.sampled_from(list("a Z&<>\"'\r\n\t;#\x00\x01\x0b\x1f\ud800\ufffe\uffff\xa0é𝛑]]>-/")), max_size=12)
_MAYBE_EMPTY = st.one_of(st.just(""), st.just("  "), _AWKWARD)


# XML 1.0's Char production, written out here rather than taken from feeds, so that the reference
# does not share the writer's idea of what to drop.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_chars(text: str) -> str:
    return _NOT_XML_CHAR.sub("", text)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {name: _xml_chars(value) for name, value in attrs.items()})
    if text is not None:
        element.text = _xml_chars(text)
    return element


def reference_entry(paper: Paper, links: Urls) -> str:
    """The entry as ElementTree builds and indents it (the writer digestgen used before)."""
    entry = ET.Element("entry")
    _sub(entry, "title", paper.plain_title)
    _sub(entry, "id", feeds.entry_id(paper))
    _sub(entry, "link", rel="alternate", type="text/html", href=links.absolute(urls.paper(paper.slug)))
    _sub(entry, "updated", feeds._stamp(feeds._added(paper)))
    if paper.published:
        _sub(entry, "published", feeds._stamp(paper.published))
    for name in paper.authors or ([byline(paper)] if byline(paper) else []):
        _sub(_sub(entry, "author"), "name", name)
    for link in paper_links(paper):
        _sub(entry, "link", rel="related", href=link["url"], title=link["label"])
    for tag in paper.tags:
        _sub(entry, "category", term=tag)
    _sub(entry, "summary", paper.text)
    ET.indent(entry, level=1)
    return "  " + ET.tostring(entry, encoding="unicode") + "\n"


def reference_feed(site: Site, links: Urls, papers: list[Paper], title: str, self_path: str, page_path: str) -> bytes:
    feed = ET.Element("feed", {"xmlns": feeds.ATOM_NS, "xml:lang": site.config.language})
    _sub(feed, "title", title)
    _sub(feed, "subtitle", site.config.description)
    _sub(feed, "id", links.absolute(self_path))
    _sub(feed, "link", rel="self", href=links.absolute(self_path))
    _sub(feed, "link", rel="alternate", type="text/html", href=links.absolute(page_path))
    dates = [d for d in (feeds._added(p) for p in papers) if d]
    _sub(feed, "updated", feeds._stamp(max(dates) if dates else None))
    _sub(_sub(feed, "author"), "name", site.config.author or site.config.title)
    _sub(feed, "generator", "digestgen")
    ET.indent(feed)
    head, closing = ET.tostring(feed, encoding="unicode").rsplit("</feed>", 1)
    body = head + "".join(reference_entry(p, links) for p in papers) + "</feed>" + closing
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body.encode("utf-8") + b"\n"


@st.composite
def papers(draw: st.DrawFn, number: int = 0) -> Paper:
    text = draw(_MAYBE_EMPTY)
    links = tuple(Link(draw(st.sampled_from(["code", "project", "dataset", "arxiv"])), "https://x.example/" + draw(_AWKWARD))
                  for _ in range(draw(st.integers(0, 3))))
    return Paper(
        slug=f"p-{number}", title=draw(_MAYBE_EMPTY), body=text, text=text,
        published=draw(st.one_of(st.none(), st.dates(dt.date(2020, 1, 1), dt.date(2030, 1, 1)))), upvotes=0,
        authors=tuple(draw(st.lists(_MAYBE_EMPTY, max_size=3))), organization=draw(st.one_of(st.none(), _AWKWARD)),
        links=links, arxiv=draw(st.one_of(st.none(), st.just("2510.01234"))),
        digests=tuple(sorted(draw(st.lists(st.dates(dt.date(2024, 1, 1), dt.date(2026, 1, 1)), max_size=2)))),
        manual_tags=(), source="content/papers/p.md", tags=tuple(draw(st.lists(_AWKWARD, max_size=2))),
        author_count=draw(st.one_of(st.none(), st.integers(0, 40))), title_text=draw(st.one_of(st.just(""), _AWKWARD)),
    )


@settings(max_examples=300, deadline=None)
@given(papers())
def test_an_entry_is_what_elementtree_writes(paper):
    links = Urls("https://digest.example/sub/")
    assert feeds.FeedEntries(links)(paper) == reference_entry(paper, links).encode("utf-8")


@settings(max_examples=150, deadline=None)
@given(st.lists(papers(), max_size=3), _MAYBE_EMPTY, _MAYBE_EMPTY, _MAYBE_EMPTY, st.sampled_from(["en", "de-CH"]))
def test_a_feed_is_what_elementtree_writes(listed, title, description, author, language):
    listed = [dataclasses.replace(p, slug=f"p-{n}") for n, p in enumerate(listed)]
    config = Config(title="Site & <co>", description=description, author=author, language=language)
    site = Site.create(config, {p.slug: p for p in listed}, [])
    links = Urls("https://digest.example/")
    made = feeds.atom_feed(site, links, listed, title, "tags/x/feed.xml", "tags/x/")
    assert made == reference_feed(site, links, listed, title, "tags/x/feed.xml", "tags/x/")
    ET.fromstring(made)  # well-formed, whatever the text: a control character in a link or a tag is dropped


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(st.sampled_from(list("az09/-&<>\"'é")), max_size=8), max_size=4, unique=True))
def test_the_sitemap_is_what_elementtree_writes(paths):
    links = Urls("https://digest.example/sub/")
    root = ET.Element("urlset", {"xmlns": "http://www.sitemaps.org/schemas/sitemap/0.9"})
    for relative in sorted(paths):
        _sub(_sub(root, "url"), "loc", links.absolute(relative))
    ET.indent(root)
    expected = b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode").encode("utf-8") + b"\n"
    assert feeds.sitemap(links, paths) == expected
