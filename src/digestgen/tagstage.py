"""The tag stage: automatic tags from the taxonomy and the source added to each paper's hand-written ones."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

import yaml

from digestgen.config import Config, TaggingConfig
from digestgen.errors import DigestgenError
from digestgen.frontmatter import YamlError, load_yaml
from digestgen.model import Paper, Site, Tag, TagEvidence
from digestgen.sourcetags import SOURCE_FIELDS, source_tagging
from digestgen.tagging import (
    DEFAULT_NEGATIONS,
    TagSettings,
    Taxonomy,
    TaxonomyError,
    default_taxonomy,
    extend_taxonomy,
    parse_taxonomy,
    score_tags,
)

COMMON_MIN_PAPERS = 10  # below this many papers every tag is on a large share: nothing to warn about
TAXONOMY_OFF = ("none", False)


def tag_settings(tagging: TaggingConfig) -> TagSettings:
    negations = DEFAULT_NEGATIONS if tagging.negations is None else tuple(tagging.negations)
    weights = {f.name: getattr(tagging, f.name) for f in dataclasses.fields(TagSettings) if f.name != "negations"}
    return TagSettings(**weights, negations=negations)


def load_taxonomy(site_dir: Path, config: Config) -> Taxonomy:
    """The packaged default, none, a YAML file named in the config, or the config's inline mapping;
    a file or mapping with `extends: default` changes the default instead of replacing it."""
    settings = tag_settings(config.tagging)
    try:
        if config.taxonomy in TAXONOMY_OFF:
            taxonomy = Taxonomy((), settings)
        elif config.taxonomy is None:
            taxonomy = default_taxonomy(settings)
        elif isinstance(config.taxonomy, dict):
            taxonomy = _site_taxonomy(config.taxonomy, "digestgen.yaml: taxonomy", settings)
        else:
            path = site_dir / config.taxonomy
            try:
                data = load_yaml(path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                raise DigestgenError("taxonomy file not found", path=path) from None
            except YamlError as exc:
                raise DigestgenError(str(exc), path=path, line=exc.line) from None
            taxonomy = _site_taxonomy(data, str(path), settings)
    except TaxonomyError as exc:
        raise DigestgenError(str(exc)) from None
    labels = {rule.tag: rule.label for rule in taxonomy.rules}
    tagging = config.tagging
    sources = source_tagging(tagging.categories, tagging.category_tags, tagging.keywords, labels)
    return dataclasses.replace(taxonomy, sources=sources)


def _site_taxonomy(data: object, source: str, settings: TagSettings) -> Taxonomy:
    if isinstance(data, Mapping) and "extends" in data:
        return extend_taxonomy(default_taxonomy(settings), data, source)
    return parse_taxonomy(data, source, settings)


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
    rules_key = taxonomy.key if cache is not None or tagged is not None else ""
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
    source_labels = _source_labels(papers.values(), taxonomy)
    common_share = site.config.tagging.common_share
    tags = []
    for slug, slugs in sorted(members.items()):
        share = len(slugs) / len(papers)
        common = len(papers) >= COMMON_MIN_PAPERS and share > common_share
        tags.append(Tag(slug, _label(slug, taxonomy, written, source_labels), tuple(slugs), round(share, 4), common))
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
    """Hand-written tags, then tags from the text, then tags from the source; removed ones left out."""
    automatic: dict[str, list[TagEvidence]] = {}
    for score in score_tags(paper.title, paper.text, taxonomy, everything=False) if taxonomy.rules else ():
        if score.fired:
            automatic[score.tag] = [TagEvidence(m.tag, m.phrase, m.field, m.excerpt, m.weight) for m in score.matches]
    for found in taxonomy.sources.tags_of(paper.categories, paper.primary_category, paper.keywords):
        automatic.setdefault(found.tag, []).append(TagEvidence(found.tag, found.value, found.field, found.label))
    kept = [tag for tag in automatic if tag not in paper.manual_tags and tag not in paper.removed_tags]
    evidence = tuple(ev for tag in kept for ev in automatic[tag])
    return paper.manual_tags + tuple(kept), evidence


def _source_labels(papers: object, taxonomy: Taxonomy) -> dict[str, str]:
    """Tag slug -> label for tags that came from categories or keywords (the label rides in the excerpt)."""
    labels: dict[str, str] = {}
    for paper in papers:
        for ev in paper.evidence:
            if ev.field in SOURCE_FIELDS:
                labels.setdefault(ev.tag, ev.excerpt)
    return labels


def _label(tag: str, taxonomy: Taxonomy, written: dict[str, str], source_labels: dict[str, str]) -> str:
    """The taxonomy's label, else the tag as a person first wrote it, else the source's label."""
    label = taxonomy.label(tag)
    if label != tag:
        return label
    return written.get(tag) or source_labels.get(tag) or tag


def common_tag_warnings(site: Site) -> list[str]:
    """One line for each tag on so many papers that it tells a reader nothing."""
    total = len(site.papers)
    return [
        f"tag '{tag.slug}' ({tag.label}) is on {tag.share:.0%} of the papers ({len(tag.papers)} of {total}): "
        f"above tagging.common_share ({site.config.tagging.common_share:.0%}), so cards do not show it; "
        f"drop it from the taxonomy or raise min_weight for it"
        for tag in site.tags
        if tag.common
    ]


def explain(site: Site, taxonomy: Taxonomy | None = None) -> str:
    """Why each paper got each tag: every match that counted and its weight.

    With the `taxonomy`, also the tags whose evidence fell short and the mentions that did not
    count (negated or contrasted, a claim phrase outside a claim, or support without other evidence).
    """
    lines = []
    for paper in site.papers.values():
        lines.append(paper.title)
        for tag in paper.manual_tags:
            lines.append(f"  {tag}: written by hand in {paper.source}")
        by_tag: dict[str, list[TagEvidence]] = {}
        for ev in paper.evidence:
            by_tag.setdefault(ev.tag, []).append(ev)
        scores = {s.tag: s for s in score_tags(paper.title, paper.text, taxonomy)} if taxonomy and taxonomy.rules else {}
        for tag, found in by_tag.items():
            from_text = [ev for ev in found if ev.field not in SOURCE_FIELDS]
            if from_text:
                needed = scores[tag].needed if tag in scores else None
                total = sum(ev.weight for ev in from_text)
                lines.append(f"  {tag}: weight {_number(total)}" + (f" (needs {_number(needed)})" if needed else ""))
                for ev in from_text:
                    lines.append(f"    +{_number(ev.weight)} {ev.field} '{ev.phrase}': {ev.excerpt}")
            for ev in found:
                if ev.field in SOURCE_FIELDS:
                    lines.append(f"  {tag}: from the source: {ev.field} {ev.phrase} ({ev.excerpt})")
            _ignored_lines(scores.get(tag), lines)
        for tag in paper.removed_tags:
            lines.append(f"  {tag}: removed by hand in {paper.source}")
        for score in scores.values():
            if not score.fired and score.tag not in by_tag:
                lines.append(f"  ({score.tag}: weight {_number(score.weight)}, needs {_number(score.needed)}: not given)")
                for match in score.matches:
                    lines.append(f"    +{_number(match.weight)} {match.field} '{match.phrase}': {match.excerpt}")
                _ignored_lines(score, lines)
        if not paper.tags:
            lines.append("  (no tag)")
    return "\n".join(lines)


def _ignored_lines(score: object, lines: list[str]) -> None:
    for match in getattr(score, "ignored", ()):
        lines.append(f"    ignored {match.field} '{match.phrase}' after '{match.negated_by}': {match.excerpt}"
                     if not match.negated_by.startswith("(") else
                     f"    ignored {match.field} '{match.phrase}' {match.negated_by}: {match.excerpt}")


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def taxonomy_text(taxonomy: Taxonomy, config: Config) -> str:
    """The effective taxonomy as YAML: the settings, the source tags, then every tag's phrases."""
    settings = {
        **{f.name: getattr(taxonomy.settings, f.name) for f in dataclasses.fields(TagSettings)},
        "negations": list(taxonomy.settings.negations),
        "common_share": config.tagging.common_share,
        **taxonomy.sources.describe(),
    }
    if not taxonomy.rules:
        head = "# taxonomy: none (no tags from the text)\n"
    elif config.taxonomy is None:
        head = "# the packaged default taxonomy\n"
    else:
        head = f"# taxonomy: {config.taxonomy if isinstance(config.taxonomy, str) else 'inline in digestgen.yaml'}\n"
    dump = yaml.safe_dump({"tagging": settings}, sort_keys=False, allow_unicode=True, width=100)
    tags = yaml.safe_dump(taxonomy.describe(), sort_keys=False, allow_unicode=True, width=100) if taxonomy.rules else "{}\n"
    return f"{head}{dump}\n# {len(taxonomy.rules)} tags\n{tags}"
