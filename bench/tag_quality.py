"""Precision and recall of the default tagging on the hand-judged seed papers (tests/judged/tags.yaml).

    python bench/tag_quality.py            # the totals and every tag that is not clearly right
    python bench/tag_quality.py --all      # every paper with its tags marked
    python bench/tag_quality.py --judged tests/judged/tags-heldout.yaml   # the held-out papers
    python bench/tag_quality.py --judged tests/judged/tags-heldout2.yaml  # the second held-out set
    python bench/tag_quality.py --judged tests/judged/tags-fresh.yaml     # papers of our own (tuned on since)
    python bench/tag_quality.py --judged tests/judged/tags-fresh2.yaml    # more of our own (tuned on since)
    python bench/tag_quality.py --judged tests/judged/tags-fresh3.yaml    # more of our own (tuned on since)
    python bench/tag_quality.py --judged tests/judged/tags-fresh4.yaml    # more of our own (tuned on since)
    python bench/tag_quality.py --judged tests/judged/tags-fresh5.yaml    # judged blind, tuned on since
    python bench/tag_quality.py --judged tests/judged/tags-fresh6.yaml    # judged blind, tuned on since
    python bench/tag_quality.py --judged tests/judged/tags-fresh7.yaml    # judged blind, tuned on since (issue 18)
    python bench/tag_quality.py --judged tests/judged/tags-fresh8.yaml    # judged blind, tuned on since (issue 18)
    python bench/tag_quality.py --every-set                               # each judged set, then all summed
    python bench/tag_quality.py --every-set --setting min_weight=1.5      # the same with other thresholds

`--setting NAME=VALUE` (repeatable) changes one of the tagging settings (`min_weight`, `title_weight`,
`abstract_weight`, ...) for the run: thresholds are compared on the sum over every set, not on one.

A judged file names its papers by the start of their titles, in the seed listing or in the listing its
`source:` key names (a path relative to the judged file, in any format digestgen reads).

precision: the share of shown tags that the judged set marks right (tags marked neither right nor
wrong count as not right); wrong: the shown tags it marks clearly wrong; missed: right tags not
shown, per ten papers.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from digestgen.parse import PaperRecord, parse_digest
from digestgen.sources import read_text
from digestgen.tagging import TagSettings, Taxonomy, default_taxonomy, score_tags

REPO = Path(__file__).resolve().parents[1]
JUDGED = REPO / "tests" / "judged" / "tags.yaml"
SEED = REPO / "tests" / "fixtures" / "seed-digest.txt"


@dataclass
class PaperResult:
    title: str
    shown: tuple[str, ...]
    right: frozenset[str]
    wrong: frozenset[str]

    @property
    def unjudged(self) -> list[str]:
        return [tag for tag in self.shown if tag not in self.right and tag not in self.wrong]

    @property
    def missed(self) -> list[str]:
        return sorted(self.right - set(self.shown))


@dataclass
class Quality:
    papers: list[PaperResult] = field(default_factory=list)

    @property
    def shown(self) -> int:
        return sum(len(p.shown) for p in self.papers)

    @property
    def right(self) -> int:
        return sum(len(set(p.shown) & p.right) for p in self.papers)

    @property
    def wrong(self) -> int:
        return sum(len(set(p.shown) & p.wrong) for p in self.papers)

    @property
    def missed(self) -> int:
        return sum(len(p.missed) for p in self.papers)

    @property
    def precision(self) -> float:
        return self.right / self.shown if self.shown else 0.0

    @property
    def missed_per_ten_papers(self) -> float:
        return 10 * self.missed / len(self.papers)

    @property
    def recall(self) -> float:
        judged = sum(len(p.right) for p in self.papers)
        return (judged - self.missed) / judged if judged else 0.0

    def summary(self) -> str:
        return (
            f"{len(self.papers)} judged papers, {self.shown} tags shown: precision {self.precision:.3f} "
            f"({self.right} clearly right, {self.wrong} clearly wrong, {self.shown - self.right - self.wrong} defensible); "
            f"recall {self.recall:.3f}, {self.missed} clearly relevant tags missed "
            f"= {self.missed_per_ten_papers:.2f} per ten papers"
        )


def judged_papers(path: Path = JUDGED) -> list[dict]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["papers"]


HELD_OUT = REPO / "tests" / "judged" / "tags-heldout.yaml"
HELD_OUT_2 = REPO / "tests" / "judged" / "tags-heldout2.yaml"
FRESH = REPO / "tests" / "judged" / "tags-fresh.yaml"
FRESH_2 = REPO / "tests" / "judged" / "tags-fresh2.yaml"
FRESH_3 = REPO / "tests" / "judged" / "tags-fresh3.yaml"
FRESH_4 = REPO / "tests" / "judged" / "tags-fresh4.yaml"
FRESH_5 = REPO / "tests" / "judged" / "tags-fresh5.yaml"
FRESH_6 = REPO / "tests" / "judged" / "tags-fresh6.yaml"
FRESH_7 = REPO / "tests" / "judged" / "tags-fresh7.yaml"
FRESH_8 = REPO / "tests" / "judged" / "tags-fresh8.yaml"
FRESH_9 = REPO / "tests" / "judged" / "tags-fresh9.yaml"
FRESH_10 = REPO / "tests" / "judged" / "tags-fresh10.yaml"


def judged_source(path: Path) -> Path:
    """The listing whose papers the judged file names: its `source:`, or the seed listing."""
    source = yaml.safe_load(path.read_text(encoding="utf-8")).get("source")
    return (path.parent / source).resolve() if source else SEED


def listing_papers(source: Path) -> tuple[PaperRecord, ...]:
    text = source.read_text(encoding="utf-8")
    if source == SEED:
        return parse_digest(text).papers
    return read_text(text, str(source))[1].papers


def measure(taxonomy: Taxonomy, judged: list[dict] | None = None, source: Path = SEED) -> Quality:
    """Tag every judged paper of `source` (the seed listing) with `taxonomy` and compare with the judgements."""
    papers = listing_papers(source)
    quality = Quality()
    for entry in judged if judged is not None else judged_papers():
        found = [p for p in papers if p.title.startswith(entry["title"])]
        if len(found) != 1:
            raise SystemExit(f"{source}: {entry['title']!r} names {len(found)} papers, not one")
        paper = found[0]
        shown = tuple(score.tag for score in score_tags(paper.title, paper.abstract, taxonomy) if score.fired)
        quality.papers.append(PaperResult(paper.title, shown, frozenset(entry["right"]), frozenset(entry.get("wrong", ()))))
    return quality


def report(quality: Quality, everything: bool) -> str:
    lines = []
    for paper in quality.papers:
        marks = [f"{tag}{'' if tag in paper.right else ' (WRONG)' if tag in paper.wrong else ' (?)'}" for tag in paper.shown]
        if everything or paper.missed or paper.unjudged or set(paper.shown) & paper.wrong:
            lines.append(paper.title[:90])
            lines.append("  shown: " + (", ".join(marks) or "(none)"))
            if paper.missed:
                lines.append("  missed: " + ", ".join(paper.missed))
    lines.append(quality.summary())
    return "\n".join(lines)


def every_set(taxonomy: Taxonomy) -> str:
    """One summary line for each judged set in tests/judged, then one for all of them together."""
    lines = []
    together = Quality()
    for path in sorted(JUDGED.parent.glob("tags*.yaml")):
        quality = measure(taxonomy, judged_papers(path), judged_source(path))
        together.papers += quality.papers
        lines.append(f"{path.name}: {quality.summary()}")
    lines.append(f"all {len(lines)} sets: {together.summary()}")
    return "\n".join(lines)


def settings_from(pairs: list[str]) -> TagSettings:
    """TagSettings with each NAME=VALUE of `pairs` changed: `min_weight=1.5`."""
    known = {name for name, value in vars(TagSettings()).items() if isinstance(value, (int, float))}
    changes = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if name not in known:
            raise SystemExit(f"--setting {pair!r}: not a numeric tagging setting (use one of {', '.join(sorted(known))})")
        try:
            changes[name] = type(getattr(TagSettings(), name))(value)
        except ValueError:
            raise SystemExit(f"--setting {pair!r}: {value!r} is not a number") from None
    return TagSettings(**changes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true", help="list every paper, not only those with a doubtful tag")
    parser.add_argument("--judged", type=Path, default=JUDGED, help="the judged set (default: %(default)s)")
    parser.add_argument("--every-set", action="store_true", help="a summary of each judged set and of all together")
    parser.add_argument("--setting", action="append", default=[], metavar="NAME=VALUE", help="change a tagging setting")
    args = parser.parse_args(argv)
    taxonomy = default_taxonomy(settings_from(args.setting))
    if args.every_set:
        print(every_set(taxonomy))
    else:
        print(report(measure(taxonomy, judged_papers(args.judged), judged_source(args.judged)), args.all))
    return 0


if __name__ == "__main__":
    sys.exit(main())
