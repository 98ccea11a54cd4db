"""Tags from the source: a paper's arXiv categories and Hugging Face keywords turned into tags.

Categories map by default to readable labels (data/arxiv_categories.yaml); keywords become tags
only when the config says so. Both are automatic tags: a paper's `remove_tags` removes them too.
"""

from __future__ import annotations

import importlib.resources
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import yaml

from digestgen.slugs import base_slug

CATEGORY_MODES = ("primary", "all", "none")
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*\Z")
SOURCE_FIELDS = ("category", "keyword")  # the evidence fields of tags from the source, not the text


@dataclass(frozen=True)
class SourceTag:
    tag: str
    label: str
    field: str  # one of SOURCE_FIELDS
    value: str  # the category or keyword as the source gave it


@dataclass(frozen=True)
class SourceTagging:
    """Which source labels become tags, and as what."""

    categories: str = "primary"  # primary | all | none
    # arXiv category -> (tag slug, label); None drops the category
    category_tags: Mapping[str, tuple[str, str] | None] = field(default_factory=lambda: MappingProxyType({}))
    keywords: str = "none"  # none | all | mapped
    # lower-cased keyword -> tag slug, when keywords is "mapped"
    keyword_tags: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def category_tag(self, category: str) -> tuple[str, str] | None:
        """(slug, label) for an arXiv category; unknown ones are named after themselves."""
        if category in self.category_tags:
            return self.category_tags[category]
        return category_slug(category), category

    def tags_of(self, categories: tuple[str, ...], primary: str | None, keywords: tuple[str, ...]) -> tuple[SourceTag, ...]:
        """The source tags of one paper, categories first, each tag once."""
        found: dict[str, SourceTag] = {}
        chosen = () if self.categories == "none" else (primary,) if self.categories == "primary" else categories
        for category in chosen:
            mapped = self.category_tag(category) if category else None
            if mapped is not None:
                found.setdefault(mapped[0], SourceTag(mapped[0], mapped[1], "category", category))
        for keyword in keywords if self.keywords != "none" else ():
            slug = self.keyword_tags.get(keyword.casefold()) if self.keywords == "mapped" else base_slug(keyword)
            if slug:
                found.setdefault(slug, SourceTag(slug, keyword, "keyword", keyword))
        return tuple(found.values())

    def describe(self) -> dict:
        """A plain mapping for `digestgen taxonomy`."""
        return {
            "categories": self.categories,
            "keywords": self.keywords if self.keywords != "mapped" else dict(sorted(self.keyword_tags.items())),
        }


def category_slug(category: str) -> str:
    return "-".join(re.findall(r"[a-z0-9]+", category.lower())) or "category"


def default_category_tags() -> dict[str, tuple[str, str]]:
    """The packaged mapping: arXiv category -> (tag slug, readable label)."""
    resource = importlib.resources.files("digestgen") / "data" / "arxiv_categories.yaml"
    data = yaml.safe_load(resource.read_text(encoding="utf-8"))
    return {category: (entry.get("tag") or category_slug(category), entry["label"]) for category, entry in data.items()}


def source_tagging(categories: str, category_tags: Mapping, keywords: object, labels: Mapping[str, str]) -> SourceTagging:
    """Build the settings from checked config values; `labels` names the taxonomy's tags.

    `category_tags` maps a category to a tag slug, or to "none" to leave it out; `keywords` is
    "none", "all" or a mapping of keyword -> tag slug.
    """
    mapping: dict[str, tuple[str, str] | None] = dict(default_category_tags())
    for category, slug in category_tags.items():
        if slug in (None, "none", False):
            mapping[category] = None
        else:
            old = mapping.get(category)
            mapping[category] = (slug, labels.get(slug) or (old[1] if old else category))
    if isinstance(keywords, Mapping):
        keyword_tags = {str(k).casefold(): str(v) for k, v in keywords.items()}
        return SourceTagging(categories, MappingProxyType(mapping), "mapped", MappingProxyType(keyword_tags))
    return SourceTagging(categories, MappingProxyType(mapping), "none" if keywords in (None, "none", False) else "all")


def check_source_settings(categories: object, category_tags: object, keywords: object) -> list[str]:
    """Problems with tagging.categories, tagging.category_tags and tagging.keywords."""
    problems = []
    if categories not in CATEGORY_MODES:
        problems.append(f"tagging.categories must be primary, all or none, not {categories!r}")
    if not isinstance(category_tags, Mapping):
        problems.append("tagging.category_tags must be a mapping of arXiv category: tag slug (or none)")
    else:
        bad = [str(k) for k, v in category_tags.items() if not (v in (None, "none", False) or (isinstance(v, str) and _SLUG.match(v)))]
        if bad:
            problems.append(f"tagging.category_tags: {', '.join(bad)} must map to a tag slug (lowercase letters, digits, hyphens) or none")
    if isinstance(keywords, Mapping):
        bad = [str(k) for k, v in keywords.items() if not (isinstance(v, str) and _SLUG.match(v))]
        if bad:
            problems.append(f"tagging.keywords: {', '.join(bad)} must map to a tag slug (lowercase letters, digits, hyphens)")
    elif keywords not in (None, "none", "all", False):
        problems.append(f"tagging.keywords must be none, all or a mapping of keyword: tag slug, not {keywords!r}")
    return problems
