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
    """Why a tag was given: the phrase and where it matched."""

    tag: str
    phrase: str
    field: str
    excerpt: str


@dataclass(frozen=True)
class Paper:
    slug: str
    title: str
    body: str  # Markdown as stored (the abstract, escaped, plus any notes)
    text: str  # plain text of the body, for snippets, search and email
    published: dt.date | None
    upvotes: int
    authors: int | None
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

    @property
    def code_link(self) -> Link | None:
        return next((link for link in self.links if link.kind == "code"), None)

    @property
    def sort_key(self) -> tuple[str, str]:
        """Newest first when sorted in reverse; undated papers last."""
        return (self.published.isoformat() if self.published else "", self.slug)


@dataclass(frozen=True)
class Digest:
    date: dt.date
    slugs: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class Tag:
    slug: str
    label: str
    papers: tuple[str, ...]  # newest first


@dataclass(frozen=True)
class Site:
    config: Config
    papers: Mapping[str, Paper]
    digests: tuple[Digest, ...]  # oldest first
    tags: tuple[Tag, ...] = field(default=())  # by slug
    labels: Mapping[str, str] = field(default_factory=dict)  # tag slug -> label

    @staticmethod
    def create(config: Config, papers: dict[str, Paper], digests: list[Digest], tags: list[Tag] = ()) -> "Site":
        ordered = dict(sorted(papers.items()))
        labels = MappingProxyType({tag.slug: tag.label for tag in tags})
        return Site(config, MappingProxyType(ordered), tuple(sorted(digests, key=lambda d: d.date)), tuple(tags), labels)

    @property
    def latest(self) -> Digest | None:
        return self.digests[-1] if self.digests else None

    def digest_papers(self, digest: Digest) -> tuple[Paper, ...]:
        return tuple(self.papers[slug] for slug in digest.slugs)

    def tag(self, slug: str) -> Tag | None:
        return next((t for t in self.tags if t.slug == slug), None)

    def tag_label(self, slug: str) -> str:
        return self.labels.get(slug, slug)
