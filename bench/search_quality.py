"""Precision@5 and recall@5 of the site search on the judged query set (tests/judged/search.yaml).

Usage: python bench/search_quality.py BUILT_SITE [--checkout DIR] [--per-query]

BUILT_SITE is a built seed site (its search/ folder and assets/search-worker.*.js). The queries run
through that site's own worker code under node with real lunr.js: with `--checkout DIR` through
DIR's tests/js/query_index.mjs, which is how an older checkout of digestgen is measured side by side
(its harness took INDEX_JSON STORE_JSON instead of the search folder; both are handled).

precision@5: of the first min(5, shown) results, the share that is relevant (0 when nothing is shown);
recall@5: of the relevant papers, the share among the first five. Both are averaged over the queries.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
JUDGED = REPO / "tests" / "judged" / "search.yaml"


def judged() -> list[dict]:
    return yaml.safe_load(JUDGED.read_text("utf-8"))


def slug_of(path: str) -> str:
    return path.strip("/").rsplit("/", 1)[-1]


def precision_recall(shown: list[str], relevant: list[str], k: int = 5) -> tuple[float, float]:
    top = shown[:k]
    hits = sum(1 for slug in top if slug in relevant)
    precision = hits / len(top) if top else 0.0
    return precision, hits / len(relevant)


def run_harness(site: Path, checkout: Path, requests: list[dict]) -> list[dict]:
    harness = checkout / "tests" / "js" / "query_index.mjs"
    worker = next((site / "assets").glob("search-worker.*.js"))
    lunr = next((checkout / "src" / "digestgen" / "_vendor").glob("lunr.min.js"))
    if "SEARCH_DIR" in harness.read_text("utf-8").split("\n", 3)[1]:
        args = [str(site / "search")]
    else:
        args = [str(site / "search" / "index.json"), str(site / "search" / "store.json")]
    node = shutil.which("node") or "node"
    done = subprocess.run([node, str(harness), str(lunr), str(worker), *args], input=json.dumps(requests),
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def measure(site: Path, checkout: Path = REPO, typing: bool = False) -> list[dict]:
    """Per query: q, shown slugs (first 5), precision, recall."""
    queries = judged()
    answers = run_harness(site, checkout, [{"q": e["q"], "limit": 5, "typing": typing} for e in queries])
    rows = []
    for entry, answer in zip(queries, answers):
        shown = [slug_of(r["path"]) for r in answer["results"]]
        precision, recall = precision_recall(shown, entry["relevant"])
        rows.append({"q": entry["q"], "shown": shown, "precision": precision, "recall": recall})
    return rows


def means(rows: list[dict]) -> tuple[float, float]:
    return (sum(r["precision"] for r in rows) / len(rows), sum(r["recall"] for r in rows) / len(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path)
    parser.add_argument("--checkout", type=Path, default=REPO)
    parser.add_argument("--per-query", action="store_true")
    parser.add_argument("--typing", action="store_true", help="as typed: the last word may be unfinished")
    args = parser.parse_args()
    rows = measure(args.site, args.checkout, args.typing)
    if args.per_query:
        for row in rows:
            print(f"{row['precision']:.2f} {row['recall']:.2f}  {row['q']}")
    precision, recall = means(rows)
    print(f"{len(rows)} queries: precision@5 {precision:.3f}, recall@5 {recall:.3f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
