"""The immutable site model every later stage reads: papers, digests, tags."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from digestgen.config import Config
from digestgen.links import Link


@dataclass(frozen=True)
class TagEvidence:
    """Why a tag was given: one counted match (field "title" or "abstract", or "tag" for a tag `within`
    it), or a source's own label (field "category" or "keyword", phrase the category or keyword), and
    the weight it added."""

    tag: str
    phrase: str
    field: str
    excerpt: str
    weight: float = 0.0


@dataclass(frozen=True)
class Paper:
    slug: str
    title: str
    body: str  # Markdown as stored (the abstract, escaped, plus any notes)
    text: str  # plain text of the body (TeX formulas as Unicode), for snippets, search and email
    published: dt.date | None
    upvotes: int
    authors: tuple[str, ...]  # names, when the source gave them
    organization: str | None
    links: tuple[Link, ...]
    arxiv: str | None
    digests: tuple[dt.date, ...]
    manual_tags: tuple[str, ...]  # slugs of the tags written by hand
    source: str  # the content file, relative to the site
    manual_labels: tuple[str, ...] = ()  # the hand-written tags as written, parallel to manual_tags
    fingerprint: str = ""  # changes whenever the paper's file does
    tags: tuple[str, ...] = ()
    evidence: tuple[TagEvidence, ...] = ()
    author_count: int | None = None  # len(authors) when names are known, else what the listing said
    arxiv_version: int | None = None
    categories: tuple[str, ...] = ()  # arXiv categories, primary first when known
    primary_category: str | None = None
    keywords: tuple[str, ...] = ()  # the source's keywords (Hugging Face ai_keywords)
    comment: str | None = None  # the authors' comment, e.g. "12 pages, 3 figures"
    journal_ref: str | None = None
    doi: str | None = None
    comments: int | None = None  # discussion count on the source
    note: str = ""  # a person's note, Markdown
    removed_tags: tuple[str, ...] = ()  # slugs of automatic tags a person removed
    unknown_fields: tuple[tuple[str, int], ...] = ()  # front-matter keys digestgen does not know, with lines
    title_text: str = ""  # the title as plain text: TeX formulas as Unicode (`title` keeps the TeX)
    tex_problems: tuple[str, ...] = ()  # formulas or TeX commands left literal, for a build warning

    @property
    def plain_title(self) -> str:
        return self.title_text or self.title

    @property
    def code_link(self) -> Link | None:
        return next((link for link in self.links if link.kind == "code"), None)

    @property
    def sort_key(self) -> tuple[str, str]:
        """Newest first when sorted in reverse; undated papers last."""
        return (self.published.isoformat() if self.published else "", self.slug)


ORDERS = ("auto", "listing", "upvotes", "curated")


@dataclass(frozen=True)
class Pick:
    """A paper the curator picked for a digest, with an optional note (Markdown)."""

    slug: str  # as written (a slug or an arXiv ID) until the loader resolves it
    note: str = ""
    line: int = field(default=0, compare=False)  # where it was written, for messages


@dataclass(frozen=True)
class Digest:
    date: dt.date
    slugs: tuple[str, ...]  # every paper of the digest, in listing order (hidden ones included)
    source: str
    title: str | None = None  # the curator's, else pages use the date
    intro: str = ""  # Markdown
    picks: tuple[Pick, ...] = ()
    order: str = "auto"  # one of ORDERS; auto: upvotes when any paper has some, else listing
    hide: tuple[str, ...] = ()  # slugs left out of the pages and the email
    hide_lines: tuple[int, ...] = field(default=(), compare=False, repr=False)  # where each was written
    unknown_fields: tuple[tuple[str, int], ...] = field(default=(), compare=False, repr=False)  # keys digestgen ignores

    @property
    def shown(self) -> tuple[str, ...]:
        """The listed papers that are not hidden, in listing order."""
        hidden = set(self.hide)
        return tuple(slug for slug in self.slugs if slug not in hidden)


@dataclass(frozen=True)
class Tag:
    slug: str
    label: str
    papers: tuple[str, ...]  # newest first
    share: float = 0.0  # the share of the site's papers that carry this tag
    common: bool = False  # on so many papers (tagging.common_share) that a chip on a card says nothing


@dataclass(frozen=True)
class Site:
    config: Config
    papers: Mapping[str, Paper]
    digests: tuple[Digest, ...]  # oldest first
    tags: tuple[Tag, ...] = field(default=())  # by slug
    labels: Mapping[str, str] = field(default_factory=dict)  # tag slug -> label
    warnings: tuple[str, ...] = ()  # what the loader noticed but could build anyway
    related: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # slug -> related slugs (related.py)

    @staticmethod
    def create(
        config: Config, papers: dict[str, Paper], digests: list[Digest], tags: list[Tag] = (), warnings: tuple[str, ...] = ()
    ) -> "Site":
        ordered = dict(sorted(papers.items()))
        labels = MappingProxyType({tag.slug: tag.label for tag in tags})
        by_date = tuple(sorted(digests, key=lambda d: d.date))
        return Site(config, MappingProxyType(ordered), by_date, tuple(tags), labels, tuple(warnings))

    @property
    def latest(self) -> Digest | None:
        return self.digests[-1] if self.digests else None

    def digest_order(self, digest: Digest) -> tuple[str, ...]:
        """The shown papers in the digest's order; ties keep the listing position."""
        shown = digest.shown
        order = digest.order
        if order == "auto":
            order = "upvotes" if any(self.papers[s].upvotes for s in shown) else "listing"
        if order == "upvotes":
            return tuple(sorted(shown, key=lambda s: -self.papers[s].upvotes))
        if order == "curated":
            visible = set(shown)
            picked = tuple(dict.fromkeys(p.slug for p in digest.picks if p.slug in visible))
            chosen = set(picked)
            return picked + tuple(s for s in shown if s not in chosen)
        return shown

    def tag(self, slug: str) -> Tag | None:
        return next((t for t in self.tags if t.slug == slug), None)

    def tag_label(self, slug: str) -> str:
        return self.labels.get(slug, slug)
