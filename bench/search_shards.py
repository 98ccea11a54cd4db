"""What a query costs on a large site with the sharded search: bytes fetched and time to results.

Usage: python bench/search_shards.py [--sizes 10000,50000] [--runs 3] [--keep DIR] [--level 6]

For each generated site (bench/corpus.py, ingested like real listings, default config so the
sharded layout applies above `search_shard_threshold`):
  * build: a whole fresh build with the sharded layout and with the single index (as if the site
    were below the threshold), and the search files alone computed both ways in one process;
  * sizes: the search files by kind, raw and gzip-compressed, against the single index;
  * in headless Chromium under the theme's CSP, served on loopback: a cold page load with the
    first query in the URL, then further queries submitted one after another in the same page.
    For each: the bytes the browser fetched for it (each file gzip-compressed at --level, as a
    server would send it; response headers not counted), split into page (HTML, CSS, icon), scripts
    (search.js, search-worker.js, lunr.min.js) and search data; and the time until the results
    were shown, from the query reaching the worker (cold: once the worker has started; further:
    on submit, so without the page's 150 ms typing debounce); for the cold query also from the
    navigation start. Times are medians over --runs fresh browser contexts.
Not part of the test suite: numbers, not assertions.
"""

from __future__ import annotations

import argparse
import gzip
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import unquote, urlsplit

from loopback_browser import chromium, serve  # bench/loopback_browser.py, beside this file
from search_size import NOTE_FIRST_RESULT, make_site  # bench/search_size.py, beside this file

FIRST_QUERY = "diffusion"
FURTHER_QUERIES = [
    "contrastive learn",
    "tracking",
    "graph neural network",
    "title:retrieval",
    "learning",
    "vision language",
    "diffu*",
    "trakcing",
    "reinforcement",
    "tr",
    "model",
]

# Runs in the page before its own scripts, beside search_size's NOTE_FIRST_RESULT: notes when the
# first query goes to the worker (once it is ready).
NOTE_FIRST_QUERY = """
const post = Worker.prototype.postMessage;
Worker.prototype.postMessage = function (message, ...rest) {
  if (message && message.type === 'query' && window.__firstQueryAt === undefined) { window.__firstQueryAt = performance.now(); }
  return post.call(this, message, ...rest);
};
"""

# Submits a query and resolves with the ms until the status line reports its answer.
SUBMIT_QUERY = """q => new Promise(resolve => {
  const status = document.getElementById('search-status');
  const input = document.getElementById('q');
  const quoted = '\\u201c' + q + '\\u201d';
  const started = performance.now();
  const observer = new MutationObserver(() => {
    if (status.textContent.includes(quoted)) { observer.disconnect(); resolve(performance.now() - started); }
  });
  observer.observe(status, {childList: true, subtree: true, characterData: true});
  input.value = q;
  input.form.requestSubmit();
})"""


def site_for(work: Path, count: int) -> Path:
    site = work / f"site-{count}"
    if (site / "content").is_dir():
        return site  # kept from an earlier run (--keep)
    return make_site(work, count)


def single_layout(site, check=lambda: None):
    """The search outputs a site below search_shard_threshold gets, whatever its size."""
    import dataclasses

    from digestgen import search

    unsharded = dataclasses.replace(site.config, search_shard_threshold=len(site.papers) + 1)
    return search.search_groups(dataclasses.replace(site, config=unsharded), check)


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def build_seconds(site: Path, out: Path, single: bool) -> tuple[float, float]:
    """Wall-clock and CPU seconds (all processes) of a fresh build (no previous output to reuse)."""
    from unittest import mock

    from digestgen import build

    shutil.rmtree(out, ignore_errors=True)
    started, cpu = time.perf_counter(), _cpu_seconds()
    with mock.patch.object(build, "search_groups", single_layout if single else build.search_groups):
        build.build_site(site, out=out, base_url="http://127.0.0.1:8000/")
    return time.perf_counter() - started, _cpu_seconds() - cpu


def compute_times(site: Path) -> dict[str, float]:
    """Seconds to compute the single index + store and the sharded files, from the same loaded site."""
    from digestgen import search
    from digestgen.build import load_and_tag
    from digestgen.config import load_config

    config, _ = load_config(site)
    loaded = load_and_tag(site, config, {})
    started = time.perf_counter()
    single = {path: data for _, make in single_layout(loaded) for path, data in make().items()}
    single_s = time.perf_counter() - started
    started = time.perf_counter()
    search.build_shards(loaded, search.ShardLayout(len(loaded.papers), len(loaded.tags)))
    sharded_s = time.perf_counter() - started
    single_gz = sum(len(gzip.compress(data, 6)) for data in single.values())
    single_index = single[search.INDEX_PATH]
    return {"single_s": single_s, "sharded_s": sharded_s, "single_gz": single_gz,
            "single_index_raw": len(single_index), "single_index_gz": len(gzip.compress(single_index, 6))}


def kind_of(relative: str) -> str:
    parts = relative.split("/")
    return parts[1] if len(parts) > 2 else parts[-1]


def search_sizes(out: Path, level: int) -> dict[str, tuple[int, int, int]]:
    """Per kind of search file: (files, raw bytes, gzip bytes)."""
    sizes: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for path in sorted((out / "search").rglob("*.json")):
        data = path.read_bytes()
        entry = sizes[kind_of(str(path.relative_to(out)))]
        entry[0] += 1
        entry[1] += len(data)
        entry[2] += len(gzip.compress(data, level))
    return {kind: (files, raw, gz) for kind, (files, raw, gz) in sizes.items()}


class Transfers:
    """The gzip size of every file the browser asked for, by category, since the last `take`."""

    def __init__(self, root: Path, level: int):
        self.root = root
        self.level = level
        self.sizes: dict[str, int] = {}
        self.pending: list[str] = []

    def note(self, url: str) -> None:
        self.pending.append(unquote(urlsplit(url).path))

    def gz(self, path: str) -> int:
        if path not in self.sizes:
            file = self.root / path.lstrip("/")
            if file.is_dir():
                file = file / "index.html"
            self.sizes[path] = len(gzip.compress(file.read_bytes(), self.level)) if file.is_file() else 0
        return self.sizes[path]

    def take(self) -> dict[str, int]:
        out = {"page": 0, "scripts": 0, "data": 0, "requests": 0}
        for path in self.pending:
            name = path.rsplit("/", 1)[-1]
            if path.startswith("/search/") and path.endswith(".json"):
                category = "data"
            elif name.startswith(("search.", "search-worker.", "lunr.")) and name.endswith(".js"):
                category = "scripts"
            else:
                category = "page"
            out[category] += self.gz(path)
            out["requests"] += 1
        self.pending = []
        return out


def browser_run(out: Path, level: int) -> list[dict[str, object]]:
    """One fresh context: the cold first query, then each further query; bytes and ms for each."""
    from playwright.sync_api import sync_playwright

    rows = []
    with serve(out, theme_csp=True) as base, sync_playwright() as p, chromium(p) as browser:
        context = browser.new_context()
        transfers = Transfers(out, level)
        context.on("request", lambda r: transfers.note(r.url))
        context.add_init_script(NOTE_FIRST_QUERY)
        context.add_init_script(NOTE_FIRST_RESULT)
        page = context.new_page()
        page.goto(f"{base}search/?q={FIRST_QUERY}")
        page.wait_for_function("() => window.__firstResultAt !== undefined", timeout=120_000)
        page.wait_for_timeout(300)  # let a late request (favicon) be counted with the page
        loaded_ms = page.evaluate("window.__firstResultAt")
        query_ms = loaded_ms - page.evaluate("window.__firstQueryAt")
        rows.append({"query": FIRST_QUERY, "ms": query_ms, "load_ms": loaded_ms, **transfers.take()})
        for query in FURTHER_QUERIES:
            ms = page.evaluate(SUBMIT_QUERY, query)
            rows.append({"query": query, "ms": ms, **transfers.take()})
        context.close()
    return rows


def measure(work: Path, count: int, runs: int, level: int) -> dict[str, object]:
    site = site_for(work, count)
    out = site / "_site"
    single_build_s = build_seconds(site, out, single=True)
    sharded_build_s = build_seconds(site, out, single=False)
    runs_rows = [browser_run(out, level) for _ in range(runs)]
    queries = []
    for n, row in enumerate(runs_rows[0]):
        queries.append({**row, **{key: statistics.median(r[n][key] for r in runs_rows) for key in ("ms", "load_ms") if key in row}})
    return {
        "papers": count,
        "single_build_s": single_build_s,
        "sharded_build_s": sharded_build_s,
        **compute_times(site),
        "sizes": search_sizes(out, level),
        "queries": queries,
    }


def kib(n: float) -> str:
    return f"{n / 1024:,.1f} KiB" if n < 10 * 1048576 else f"{n / 1048576:,.1f} MiB"


def report(row: dict[str, object]) -> None:
    print(f"\n== {row['papers']:,} papers ==")
    (sharded_wall, sharded_cpu), (single_wall, single_cpu) = row["sharded_build_s"], row["single_build_s"]
    print(f"fresh build: sharded {sharded_wall:.1f} s ({sharded_cpu:.1f} s CPU), "
          f"with one index {single_wall:.1f} s ({single_cpu:.1f} s CPU)")
    print(f"computed in one process: single index + store {row['single_s']:.1f} s, sharded files {row['sharded_s']:.1f} s")
    print(f"single index would be {kib(row['single_index_raw'])} raw, {kib(row['single_index_gz'])} gzip "
          f"(+ store: {kib(row['single_gz'])} gzip)")
    print("sharded files:")
    for kind, (files, raw, gz) in sorted(row["sizes"].items()):
        print(f"  {kind:12} {files:7,} files  {kib(raw):>12} raw  {kib(gz):>12} gzip")
    print("first query: cold page load with the query in the URL; then one query after another in that page")
    print(f"{'query':24} {'data':>10} {'scripts':>10} {'page':>10} {'search total':>13} {'requests':>9} {'results in':>11}")
    for q in row["queries"]:
        total = q["data"] + q["scripts"]
        print(f"{q['query']:24} {kib(q['data']):>10} {kib(q['scripts']):>10} {kib(q['page']):>10} {kib(total):>13} "
              f"{q['requests']:>9} {q['ms']:>8,.0f} ms")
    first = row["queries"][0]
    print(f"(first query: {first['load_ms']:,.0f} ms from navigation start to its results; the time above is from "
          "the query reaching the worker)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,50000", help="synthetic site sizes, comma-separated")
    parser.add_argument("--runs", type=int, default=3, help="browser runs per site (median time)")
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the generated sites in this folder")
    parser.add_argument("--level", type=int, default=6, help="gzip level a server would use")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="digestgen-shards-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        for count in (int(s) for s in args.sizes.split(",") if s.strip()):
            report(measure(work, count, args.runs, args.level))
            sys.stdout.flush()
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
