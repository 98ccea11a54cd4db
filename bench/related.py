"""The related-papers step (related.py) at scale: a full computation, and 100 papers added to a big site.

    python bench/related.py                 # 10,000 papers full; 50,000 + 100 incremental
    python bench/related.py 2000 5000       # smaller: FULL INCREMENTAL_BASE
    python bench/related.py --child full 10000          # one figure only
    python bench/related.py --child incremental 50000

Side by side with another tree (its bench and its code):
    PYTHONPATH=/path/to/other/src python /path/to/other/bench/related.py

Each figure runs in its own process, so its peak memory is its own. The synthetic papers have
topics: each takes its title and most of its sentences from one of the seed's 95 papers, with a
third of the words of each sentence dropped at random and two sentences from other papers mixed
in, so that papers of one topic are alike without being copies and the vocabulary has clusters
(bench/corpus.py's abstracts are sentences drawn from the whole seed, where every paper is
about equally like every other, which would make the neighbour search look easier than it is).
Each paper has a fingerprint of its text, as the load stage gives every paper one of its file.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SEED = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "seed-digest.txt"


def topics() -> list[tuple[str, list[str]]]:
    from digestgen.parse import parse_digest

    papers = parse_digest(SEED.read_text(encoding="utf-8")).papers
    return [(p.title, [s for s in re.split(r"(?<=\.)\s+", p.abstract) if len(s) > 30]) for p in papers]


def synthetic_papers(count: int, start: int = 0, seed: int = 11) -> list:
    from digestgen.model import Paper

    rng = random.Random(seed * 1_000_003 + start)
    material = topics()
    every_sentence = [s for _, sentences in material for s in sentences]
    papers = []
    for number in range(start, start + count):
        topic = rng.randrange(len(material))
        title, sentences = material[topic]
        chosen = rng.sample(sentences, min(len(sentences), rng.randint(3, 6))) + rng.sample(every_sentence, 2)
        abstract = " ".join(" ".join(w for w in s.split() if rng.random() > 0.33) for s in chosen)
        words = title.split()
        title = " ".join(w for w in words if rng.random() > 0.3) or title
        slug = f"paper-{number:06d}"
        file = hashlib.blake2b(f"{slug}\n{title} {number}\n{abstract}".encode(), digest_size=12).hexdigest()
        papers.append(Paper(slug, f"{title} {number}", abstract, abstract, dt.date(2025, 1, 1), 0, (), None, (), None,
                            (dt.date(2025, 1, 1),), (), f"content/papers/{slug}.md", comment=f"topic {topic}",
                            fingerprint=file))
    return papers


def site_of(papers: list):
    from digestgen.config import Config
    from digestgen.model import Site

    return Site.create(Config(), {p.slug: p for p in papers}, [])


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_full(count: int) -> dict:
    from digestgen import related

    site = site_of(synthetic_papers(count))
    before = _peak_mb()
    cpu, wall = time.process_time(), time.perf_counter()
    state = related.related_lists(site, None, force=True)
    state = state[0] if isinstance(state, tuple) else state  # (state, part) since the state file has parts
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    lists = list(state.lists.values())
    topic = {p.slug: p.comment for p in site.papers.values()}
    same = sum(topic[s] == topic[t] for s, targets in state.lists.items() for t in targets)
    return {"papers": count, "cpu_s": round(cpu, 2), "wall_s": round(wall, 2), "peak_rss_mb": round(_peak_mb(), 1),
            "peak_added_mb": round(_peak_mb() - before, 1), "terms": len(state.terms),
            "with_list": sum(1 for l in lists if l), "mean_list": round(sum(map(len, lists)) / max(1, len(lists)), 2),
            "same_topic": round(same / max(1, sum(map(len, lists))), 3)}


def measure_incremental(base: int, added: int = 100) -> dict:
    """The step as an ordinary build runs it: read the kept state, compare the new papers, write it.
    Also: the same with no fingerprints (every text hashed), a build in which nothing changed, and
    writing the state whole (what every few dozen builds do)."""
    from digestgen import related

    old = synthetic_papers(base)
    new = synthetic_papers(added, start=base)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "_site"
        path = related.state_path(out)
        related.relate_site(site_of(old), out, force=True)
        size = path.stat().st_size
        shutil.copy(path, Path(folder) / "base")
        site = site_of(old + new)
        cpu, wall = time.process_time(), time.perf_counter()
        related.relate_site(site, out)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        grown = path.stat().st_size - size
        again = time.process_time()
        related.relate_site(site_of(old + new), out)  # a build in which no paper's text changed
        again = time.process_time() - again
        result = {"papers": base, "added": added, "cpu_s": round(cpu, 3), "wall_s": round(wall, 3),
                  "state_mb": round(size / 2**20, 1), "state_grew_kb": round(grown / 2**10, 1),
                  "unchanged_cpu_s": round(again, 3)}
        if hasattr(related, "file_key"):
            shutil.copy(Path(folder) / "base", path)
            blank = site_of([dataclasses.replace(p, fingerprint="") for p in old + new])
            hashed = time.process_time()
            related.relate_site(blank, out)
            result["no_fingerprints_cpu_s"] = round(time.process_time() - hashed, 3)
            whole = time.process_time()
            related.save_state(path, related.load_state(path).state)
            result["read_and_write_whole_cpu_s"] = round(time.process_time() - whole, 3)
    return result


def in_child(kind: str, *args: int) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", kind, *map(str, args)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        kind, numbers = sys.argv[2], [int(a) for a in sys.argv[3:]]
        print(json.dumps(measure_full(*numbers) if kind == "full" else measure_incremental(*numbers)))
    else:
        full, base = (int(a) for a in (sys.argv[1:3] if len(sys.argv) >= 3 else ("10000", "50000")))
        print(f"full computation at {full}:", in_child("full", full), flush=True)
        print(f"100 papers added to {base}:", in_child("incremental", base), flush=True)
