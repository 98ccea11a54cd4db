"""Authors and organizations of a site: who wrote what, with a stable page slug for each.

A person is known only by the name the sources print, so two different people who share a name
share one page, and one person written two ways ("José Müller", "Jose Muller") gets two pages
with different slugs. Names that differ only in case, width or spacing are one person.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from digestgen.model import Paper, Site
from digestgen.slugs import base_slug, short_hash


@dataclass(frozen=True)
class Group:
    """The papers of one author or organization, newest first."""

    slug: str
    name: str
    papers: tuple[str, ...]


@dataclass(frozen=True)
class People:
    authors: tuple[Group, ...]  # those with pages (enough papers), by slug
    orgs: tuple[Group, ...]  # every organization, by slug
    author_slugs: dict[str, str]  # name key -> slug, for authors with pages
    org_slugs: dict[str, str]  # name key -> slug

    def author_slug(self, name: str) -> str | None:
        return self.author_slugs.get(name_key(name))

    def org_slug(self, name: str) -> str | None:
        return self.org_slugs.get(name_key(name))


def name_key(name: str) -> str:
    """What makes two written names the same name: case, width and spacing do not count."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def _groups(named: dict[str, list[Paper]], spelling: dict[str, str], prefix: str) -> tuple[list[Group], dict[str, str]]:
    """Slugs for names: the readable slug, or it with a hash of the name when another name has it."""
    groups, slugs, taken = [], {}, set()
    wanted: dict[str, list[str]] = {}
    for key in sorted(named):
        wanted.setdefault(base_slug(spelling[key]) or prefix, []).append(key)
    for base, keys in sorted(wanted.items()):
        for number, key in enumerate(keys):
            candidates = [base] if number == 0 and base != prefix else []
            candidates += [f"{base}-{short_hash(key)}", f"{base}-{short_hash(key, 16)}", f"{base}-{short_hash(key, 32)}"]
            slug = next((c for c in candidates if c not in taken), candidates[-1])
            taken.add(slug)
            slugs[key] = slug
            papers = sorted(named[key], key=lambda p: p.sort_key, reverse=True)
            groups.append(Group(slug, spelling[key], tuple(p.slug for p in papers)))
    return sorted(groups, key=lambda g: g.slug), slugs


def _spellings(found: dict[str, dict[str, int]]) -> dict[str, str]:
    """The most used spelling of each name (ties: the first in code-point order)."""
    return {key: min(counts, key=lambda s: (-counts[s], s)) for key, counts in found.items()}


def site_people(site: Site, min_papers: int) -> People:
    """Authors with at least `min_papers` papers, and every organization."""
    authors: dict[str, list[Paper]] = {}
    orgs: dict[str, list[Paper]] = {}
    author_spellings: dict[str, dict[str, int]] = {}
    org_spellings: dict[str, dict[str, int]] = {}
    for paper in site.papers.values():
        for name in dict.fromkeys(paper.authors):
            key = name_key(name)
            if key and (not authors.get(key) or authors[key][-1] is not paper):
                authors.setdefault(key, []).append(paper)
                counts = author_spellings.setdefault(key, {})
                spelling = " ".join(name.split())
                counts[spelling] = counts.get(spelling, 0) + 1
        if paper.organization and name_key(paper.organization):
            key = name_key(paper.organization)
            orgs.setdefault(key, []).append(paper)
            counts = org_spellings.setdefault(key, {})
            spelling = " ".join(paper.organization.split())
            counts[spelling] = counts.get(spelling, 0) + 1
    authors = {key: papers for key, papers in authors.items() if len(papers) >= min_papers}
    author_groups, author_slugs = _groups(authors, _spellings(author_spellings), "author")
    org_groups, org_slugs = _groups(orgs, _spellings(org_spellings), "org")
    return People(tuple(author_groups), tuple(org_groups), author_slugs, org_slugs)
