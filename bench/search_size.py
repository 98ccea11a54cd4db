"""How big the search files get and how soon results appear, for the seed site and larger ones.

Usage: python bench/search_size.py [--sizes 1000,10000] [--runs 3] [--keep DIR]

For each site: index.json and store.json raw and gzip sizes (above search_shard_threshold: the sums
of the index's and the store's parts), the build's search-stage time, and,
in headless Chromium under the theme's CSP, the time from navigation to the first results of a
search given in the URL (cold: fresh browser context) and from a new query to its results once
loaded (this includes the page's 150 ms typing debounce). Synthetic sites recombine the seed's
titles and abstract sentences (bench/corpus.py) and go through `digestgen ingest` like real listings.
Not part of the test suite: numbers, not assertions.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from corpus import write_corpus  # bench/corpus.py, beside this file
from loopback_browser import chromium, serve  # bench/loopback_browser.py, beside this file

REPO = Path(__file__).resolve().parents[1]
FIRST_QUERY = "diffusion"
SECOND_QUERY = "contrastive learn"


def digestgen(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "digestgen", *args], check=False, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"digestgen {args[0]} failed: {done.stderr.strip()}")


def make_site(work: Path, count: int | None) -> Path:
    """The repository's own site (count None) or a synthetic one of `count` papers."""
    site = work / (f"site-{count}" if count else "site-seed")
    if count is None:
        site.mkdir(parents=True)
        shutil.copy(REPO / "digestgen.yaml", site / "digestgen.yaml")
        shutil.copytree(REPO / "content", site / "content")
        return site
    digestgen("init", str(site))
    listings = write_corpus(count, work / f"corpus-{count}")
    digestgen("ingest", *map(str, listings), "--site", str(site))
    return site


# Runs in the page before its own scripts (Playwright injects it outside the page's CSP): notes when
# the first result is in the list, with the page's own clock, whose zero is the navigation start.
NOTE_FIRST_RESULT = """
new MutationObserver((changes, observer) => {
  const list = document.getElementById('results');
  if (list && list.firstElementChild) { window.__firstResultAt = performance.now(); observer.disconnect(); }
}).observe(document, {childList: true, subtree: true});
"""

# Types a query as one input event and resolves with the ms until the status line reports it.
TIME_QUERY = """q => new Promise(resolve => {
  const status = document.getElementById('search-status');
  const input = document.getElementById('q');
  const started = performance.now();
  const observer = new MutationObserver(() => {
    if (status.textContent.includes(q)) { observer.disconnect(); resolve(performance.now() - started); }
  });
  observer.observe(status, {childList: true, subtree: true, characterData: true});
  input.value = q;
  input.dispatchEvent(new Event('input', {bubbles: true}));
})"""


def browser_timings(out: Path, runs: int) -> tuple[float, float]:
    """Median ms from navigation to first results, and from a new query to its results."""
    from playwright.sync_api import sync_playwright

    first, again = [], []
    with serve(out, theme_csp=True) as base, sync_playwright() as p, chromium(p) as browser:
        for _ in range(runs):
            context = browser.new_context()
            context.add_init_script(NOTE_FIRST_RESULT)
            page = context.new_page()
            page.goto(f"{base}search/?q={FIRST_QUERY}")
            page.wait_for_function("() => window.__firstResultAt !== undefined", timeout=120_000)
            first.append(page.evaluate("window.__firstResultAt"))
            again.append(page.evaluate(TIME_QUERY, SECOND_QUERY))
            context.close()
    return statistics.median(first), statistics.median(again)


def measure(work: Path, count: int | None, runs: int) -> dict[str, object]:
    from digestgen.build import build_site

    site = make_site(work, count)
    result = build_site(site, out=site / "_site", base_url="http://127.0.0.1:8000/")
    sizes = {"index.json": (0, 0), "store.json": (0, 0)}
    store = json.loads((result.out / "search" / "store.json").read_bytes())
    papers = store["count"] if "count" in store else len(store["docs"])
    # A large site's search is split (bench/search_shards.py measures it per query): the index's
    # parts count as the index, the store's as the store.
    for path in sorted((result.out / "search").rglob("*.json")):
        part = path.relative_to(result.out / "search").parts[0]
        name = "store.json" if part in ("store.json", "store", "tags", "dates.json") else "index.json"
        data = path.read_bytes()
        raw, gz = sizes[name]
        sizes[name] = (raw + len(data), gz + len(gzip.compress(data, compresslevel=9, mtime=0)))
    first_ms, again_ms = browser_timings(result.out, runs)
    return {
        "papers": papers,
        "index": sizes["index.json"],
        "store": sizes["store.json"],
        "search_s": result.timings.get("search (cpu)", result.timings.get("search", float("nan"))),
        "first_ms": first_ms,
        "again_ms": again_ms,
    }


def kib(n: int) -> str:
    return f"{n / 1024:,.0f} KiB" if n < 10 * 1024 * 1024 else f"{n / 1048576:,.1f} MiB"


def print_table(rows: list[dict[str, object]]) -> None:
    header = [
        "papers",
        "index raw",
        "index gz",
        "store raw",
        "store gz",
        "build search",
        "load→results",
        "query→results",
    ]
    lines = [header]
    for row in rows:
        (index_raw, index_gz), (store_raw, store_gz) = row["index"], row["store"]
        lines.append(
            [
                f"{row['papers']:,}",
                kib(index_raw),
                kib(index_gz),
                kib(store_raw),
                kib(store_gz),
                f"{row['search_s']:.1f} s",
                f"{row['first_ms']:,.0f} ms",
                f"{row['again_ms']:,.0f} ms",
            ]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for n, line in enumerate(lines):
        print("  ".join(cell.rjust(width) for cell, width in zip(line, widths)))
        if n == 0:
            print("  ".join("-" * width for width in widths))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="synthetic site sizes, comma-separated")
    parser.add_argument("--runs", type=int, default=3, help="browser runs per site (median)")
    parser.add_argument("--keep", type=Path, help="keep the generated sites in this folder")
    args = parser.parse_args()
    counts: list[int | None] = [None] + [int(s) for s in args.sizes.split(",") if s.strip()]
    work = args.keep or Path(tempfile.mkdtemp(prefix="digestgen-search-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    try:
        for count in counts:
            rows.append(measure(work, count, args.runs))
            print(f"measured {rows[-1]['papers']:,} papers", file=sys.stderr)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print_table(rows)


if __name__ == "__main__":
    main()
