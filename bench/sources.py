"""Source-format budgets: parse a 2,000-entry arXiv feed; ingest 10,000 papers from JSON next to text.

    python bench/sources.py                       # this checkout
    python bench/sources.py --previous /work/main # also time both ingests with that checkout's code

Each ingest is a fresh `digestgen ingest` process into a fresh site, run in turns (text, JSON, text, …;
with --previous, this checkout's pair then the other's)
so the machine's load falls on both alike; the best CPU time of the rounds is reported, with the wall times.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import paper_text, seed_material, write_corpus, write_json_corpus  # noqa: E402

from digestgen.ingest import parse_source, read_sources  # noqa: E402
from digestgen.sources import DEFAULT_ANNOUNCE  # noqa: E402
from digestgen.sources.arxiv_atom import parse_arxiv_api  # noqa: E402
from digestgen.sources.arxiv_feed import parse_arxiv_feed  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def rss_feed(count: int) -> str:
    rng = random.Random(3)
    material = seed_material()
    items = []
    for number in range(count):
        title, abstract = paper_text(rng, number, material)
        kind = rng.choice(["new", "new", "cross", "replace", "replace-cross"])
        authors = ", ".join(f"Author {number}-{i}" for i in range(rng.randint(1, 12)))
        items.append(
            f"<item><title>{_esc(title)}</title><link>https://arxiv.org/abs/2510.{number:05d}</link>"
            f"<description>arXiv:2510.{number:05d}v1 Announce Type: {kind} \nAbstract: {_esc(abstract)}</description>"
            f'<guid isPermaLink="false">oai:arXiv.org:2510.{number:05d}v1</guid><category>cs.LG</category>'
            f"<pubDate>Fri, 31 Oct 2025 00:00:00 -0400</pubDate><arxiv:announce_type>{kind}</arxiv:announce_type>"
            f"<dc:creator>{_esc(authors)}</dc:creator></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss xmlns:arxiv="http://arxiv.org/schemas/atom" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" version="2.0"><channel><title>cs.LG</title>'
        "<pubDate>Fri, 31 Oct 2025 00:00:00 -0400</pubDate>" + "".join(items) + "</channel></rss>\n"
    )


def api_feed(count: int) -> str:
    rng = random.Random(4)
    material = seed_material()
    entries = []
    for number in range(count):
        title, abstract = paper_text(rng, number, material)
        authors = "".join(f"<author><name>Author {number}-{i}</name></author>" for i in range(rng.randint(1, 12)))
        entries.append(
            f"<entry><id>http://arxiv.org/abs/2510.{number:05d}v1</id><published>2025-10-01T00:00:00Z</published>"
            f"<title>{_esc(title)}</title><summary>{_esc(abstract)}</summary>{authors}"
            f'<link href="http://arxiv.org/abs/2510.{number:05d}v1" rel="alternate"/>'
            f'<link title="pdf" href="http://arxiv.org/pdf/2510.{number:05d}v1" rel="related"/>'
            '<arxiv:primary_category term="cs.LG"/><category term="cs.LG"/></entry>'
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" '
        'xmlns:arxiv="http://arxiv.org/schemas/atom">' + "".join(entries) + "</feed>\n"
    )


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def best_of(rounds: int, action) -> tuple[float, float]:
    """The best (wall, CPU) seconds of `rounds` runs of `action` in this process."""
    walls, cpus = [], []
    for _ in range(rounds):
        started, started_cpu = time.perf_counter(), time.process_time()
        action()
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - started_cpu)
    return min(walls), min(cpus)


def ingest_seconds(src: Path, listings: Path, work: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of one ingest process; CPU time suffers less when other work shares the machine."""
    site = Path(tempfile.mkdtemp(dir=work))
    env = {**os.environ, "PYTHONPATH": str(src)}
    subprocess.run([sys.executable, "-m", "digestgen", "init", str(site / "s")], env=env, check=True, capture_output=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "digestgen", "ingest", *map(str, sorted(listings.iterdir())), "--site", str(site / "s")],
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(result.stderr)
    return elapsed, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--papers", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--previous", type=Path, help="another checkout whose text and JSON ingests are timed alongside")
    args = parser.parse_args()

    for name, text, parse in (("RSS feed", rss_feed(2000), parse_arxiv_feed), ("API response", api_feed(2000), parse_arxiv_api)):
        papers = len(parse(text).papers)
        wall, cpu = best_of(5, lambda: parse(text))
        print(f"parse a 2,000-entry arXiv {name} ({len(text) / 1e6:.1f} MB, {papers} papers kept): {wall:.3f} s wall, {cpu:.3f} s CPU")

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        write_corpus(args.papers, work / "text")
        write_json_corpus(args.papers, work / "json")
        for name in ("text", "json"):
            sources = read_sources([str(p) for p in sorted((work / name / "listings").iterdir())])
            wall, cpu = best_of(3, lambda: [parse_source(s, None, None, None, DEFAULT_ANNOUNCE, None, []) for s in sources])
            print(f"parse {args.papers:,} papers from {name} (no writing): best {wall:.2f} s wall, {cpu:.2f} s CPU")
        trees = [("", ROOT / "src")] + ([(", previous code", args.previous / "src")] if args.previous else [])
        runs: dict[str, list[tuple[float, float]]] = {f"{name}{label}": [] for label, _ in trees for name in ("text", "json")}
        for _ in range(args.rounds):
            for label, src in trees:
                for name in ("text", "json"):
                    runs[f"{name}{label}"].append(ingest_seconds(src, work / name / "listings", work))
        for name, measured in runs.items():
            walls = ", ".join(f"{wall:.2f}" for wall, _ in measured)
            cpus = ", ".join(f"{cpu:.2f}" for _, cpu in measured)
            print(f"ingest {args.papers:,} papers from {name}: best CPU {min(c for _, c in measured):.2f} s (CPU {cpus}; wall {walls})")


if __name__ == "__main__":
    main()
