"""The tag stage: automatic tags from the taxonomy added to each paper's hand-written ones."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from digestgen.config import Config
from digestgen.errors import DigestgenError
from digestgen.frontmatter import YamlError, load_yaml
from digestgen.model import Paper, Site, Tag, TagEvidence
from digestgen.tagging import Taxonomy, TaxonomyError, default_taxonomy, match_tags, parse_taxonomy


def load_taxonomy(site_dir: Path, config: Config) -> Taxonomy:
    """The packaged default, a YAML file named in the config, or the config's inline mapping."""
    try:
        if config.taxonomy is None:
            return default_taxonomy()
        if isinstance(config.taxonomy, dict):
            return parse_taxonomy(config.taxonomy, "digestgen.yaml: taxonomy")
        path = site_dir / config.taxonomy
        try:
            data = load_yaml(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DigestgenError("taxonomy file not found", path=path) from None
        except YamlError as exc:
            raise DigestgenError(str(exc), path=path, line=exc.line) from None
        return parse_taxonomy(data, str(path))
    except TaxonomyError as exc:
        raise DigestgenError(str(exc)) from None


def tag_site(
    site: Site,
    taxonomy: Taxonomy,
    cache: dict[tuple[str, str], tuple] | None = None,
    tagged: dict[tuple, Paper] | None = None,
) -> Site:
    """Hand-written tags come first and are kept; automatic ones follow, with their evidence.

    `cache`, kept by a long-lived caller, remembers each paper's matches by its fingerprint, and
    `tagged` the tagged papers of the last call, so that an unchanged paper costs one lookup.
    """
    rules_key = repr(taxonomy.rules) if cache is not None or tagged is not None else ""
    papers = {}
    members: dict[str, list[str]] = {}
    written: dict[str, str] = {}
    previous = tagged if tagged is not None else {}  # replaced by `current` at the end
    current: dict[tuple, Paper] = {}
    for slug, paper in site.papers.items():
        for tag, label in zip(paper.manual_tags, paper.manual_labels):
            written.setdefault(tag, label)
        # Everything else a Paper holds follows from its file's bytes, its name and its digests.
        key = (slug, paper.fingerprint, paper.digests, rules_key)
        done = previous.get(key)
        if done is None:
            tags, evidence = _tagging(paper, taxonomy, rules_key, cache)
            done = dataclasses.replace(paper, tags=tags, evidence=evidence)
        papers[slug] = current[key] = done
    if tagged is not None:
        tagged.clear()
        tagged.update(current)
    # Taken newest first, each tag's papers come out in the order its pages list them.
    for paper in sorted(papers.values(), key=lambda paper: paper.sort_key, reverse=True):
        for tag in paper.tags:
            members.setdefault(tag, []).append(paper.slug)
    tags = [Tag(slug, _label(slug, taxonomy, written), tuple(slugs)) for slug, slugs in sorted(members.items())]
    return Site.create(site.config, papers, list(site.digests), tags, site.warnings)


def _tagging(
    paper: Paper, taxonomy: Taxonomy, rules_key: str, cache: dict | None
) -> tuple[tuple[str, ...], tuple[TagEvidence, ...]]:
    """A paper's tags (hand-written first) and the evidence for the automatic ones."""
    key = (paper.fingerprint, rules_key)
    if cache is not None and key in cache:
        return cache[key]
    result = tagging_of(paper, taxonomy)
    if cache is not None:
        cache[key] = result
    return result


def tagging_of(paper: Paper, taxonomy: Taxonomy) -> tuple[tuple[str, ...], tuple[TagEvidence, ...]]:
    matches = match_tags(paper.title, paper.text, taxonomy)
    automatic = [m.tag for m in matches if m.tag not in paper.manual_tags]
    evidence = tuple(TagEvidence(m.tag, m.phrase, m.field, m.excerpt) for m in matches if m.tag in automatic)
    return paper.manual_tags + tuple(automatic), evidence


def _label(tag: str, taxonomy: Taxonomy, written: dict[str, str]) -> str:
    """The taxonomy's label, else the tag as a person first wrote it."""
    label = taxonomy.label(tag)
    return written.get(tag, label) if label == tag else label


def explain(site: Site) -> str:
    """A report of why each paper got each automatic tag."""
    lines = []
    for paper in site.papers.values():
        lines.append(paper.title)
        for tag in paper.manual_tags:
            lines.append(f"  {tag}: written by hand in {paper.source}")
        for ev in paper.evidence:
            lines.append(f"  {ev.tag}: {ev.field} matches '{ev.phrase}': …{ev.excerpt}…")
        if not paper.tags:
            lines.append("  (no tag)")
    return "\n".join(lines)
