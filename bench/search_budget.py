"""The sharded search's budget, side by side for two checkouts: build time, cold-query bytes and time.

Usage: python bench/search_budget.py SITE --checkout NAME=DIR [--checkout NAME=DIR ...] [--runs 3] [--browser]
       [--host python|http2] [--after MS] [--query Q ...] [--browser-runs N]

SITE is an ingested site (bench/corpus.py listings through `digestgen ingest`; bench/search_shards.py
--keep leaves one). For each checkout, in turn and `--runs` times (the median is reported), a child
process with that checkout's `src/` on the path loads and tags SITE, then times computing the
sharded search files (`search.build_shards`) and writes them. Then node runs that checkout's worker
with real lunr.js on a fresh sharded search for each query (the parts read from disk): the time
from the query reaching the worker's search to its answer, and the bytes a browser would fetch for
it (each part gzip-compressed at level 6, plus the worker script and lunr.min.js; the page itself
not counted), including index.json and store.json, which the worker loads before its first query.
Unlike bench/search_shards.py (a full build and Chromium), this measures the search alone, quickly
enough to repeat on a busy machine.

With --browser, headless Chromium (Playwright, /usr/bin/chromium) also runs each checkout's real
worker over HTTP from a loopback server, for every query of QUERIES (or each --query) and `--runs`
(or --browser-runs) times (query by query, each checkout's worker in turn, so that a busy spell falls
on all of them alike):
a fresh browser context (empty HTTP cache) and worker, then the query twice. Timed inside the
worker, from the query message reaching it to its first results message being posted (a wrapper
script around the worker notes both with the worker's clock; a worker that posts a page's first rows
early, while the others load, is timed at those, and "complete" is the time to its last message):
cold is the first time (its parts fetched over HTTP), warm the second (parts kept). The page's own
clock also gives, for the cold query, the time from starting the worker to its first results (less
the --after pause): what a search/?q= link waits for, including the load before "ready" and any wait
of the query in the worker's queue, which the worker's clock cannot see. Median and worst are printed. Numbers, not assertions.
The server is Python's http.server (HTTP/1.0), or with --host http2 nginx over HTTP/2 and TLS, as
the hosts the README deploys to serve a site (bench/loopback_browser.py). The query is sent as soon
as the worker is ready (a search/?q= address), or --after MS later (a reader who types it).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from loopback_browser import chromium, serve, serve_http2  # bench/loopback_browser.py, beside this file

# What readers type: words, a half-typed word, a typo, a hyphenated spelling, a phrase with a word,
# a field, a pasted title with a colon, a common word that matches most papers. Each is timed under
# node and, with --browser, in Chromium; the most bytes any of them costs is the budget's figure.
QUERIES = ["diffusion", "contrastive learn", "graph neural network", "tracking", "learning", "model", "trakcing",
           "pre-training", '"diffusion model" video', "LLM pretraining data", "title:transformer",
           "UL2: Unifying Language Learning Paradigms", "visual instruction tuning -video"]
# The real worker, started as the site starts it, with both ends of a query noted by its own clock.
_TIMED_WORKER = r"""
importScripts("search-worker.js");
(function () {
  var received = {};
  var handle = self.onmessage;
  self.onmessage = function (event) {
    var message = event.data || {};
    if (message.type === "query") { received[message.id] = performance.now(); }
    handle.call(self, event);
  };
  var shown = {};
  var post = self.postMessage.bind(self);
  self.postMessage = function (answer) {
    if (answer && answer.type === "results") {
      var ms = performance.now() - received[answer.id];
      if (answer.partial) {
        if (!(answer.id in shown)) {
          shown[answer.id] = ms; // first results, shown while the worker checks more candidates
        }
      } else {
        answer.workerMs = ms;
        answer.shownMs = answer.id in shown ? shown[answer.id] : ms;
      }
    }
    post(answer);
  };
})();
"""

# In the page: a fresh worker, init as the search page sends it, then the query twice.
_TWICE = """async ([base, q, times, after]) => {
  const opened = performance.now();
  const worker = new Worker(base + "timed-worker.js");
  let settle;
  let firstSeen = null; // the page's clock when the first query's first results came
  let firstRows = 0; // and how many rows they had
  worker.onmessage = (event) => {
    if (event.data.type === "results" && event.data.id === 1 && firstSeen === null) {
      firstSeen = performance.now();
      firstRows = event.data.results.length;
    }
    if (!event.data.partial) settle(event.data);
  };
  worker.onerror = (event) => settle({type: "failed", message: "the worker did not start: " + event.message});
  const next = () => new Promise((resolve) => { settle = resolve; });
  let answer = next();
  worker.postMessage({type: "init", lunrUrl: base + "lunr.min.js", indexUrl: base + "search/index.json",
                      storeUrl: base + "search/store.json"});
  const ready = await answer;
  if (ready.type !== "ready") { throw new Error(JSON.stringify(ready)); }
  const readyMs = performance.now() - opened;
  await new Promise((resolve) => setTimeout(resolve, after));
  const sent = performance.now();
  const out = [];
  for (let n = 1; n <= times; n++) {
    answer = next();
    worker.postMessage({type: "query", id: n, q, tag: "", org: "", author: "", from: "", to: "", sort: "",
                        limit: ready.pageSize, typing: false, facets: false});
    const got = await answer;
    out.push({ms: got.shownMs, complete: got.workerMs, total: got.total});
  }
  worker.terminate();
  // From the worker's start to the first results, less the reader's pause: what a search/?q= link
  // waits for, including any time the query waited in the worker's queue (which workerMs cannot see).
  out[0].open = readyMs + (firstSeen - sent);
  out[0].ready = readyMs;
  out[0].rows = firstRows;
  return out;
}"""

_CHILD = r"""
import json, sys, time
from pathlib import Path
from digestgen import search
from digestgen.build import load_and_tag
from digestgen.config import load_config
site, out = Path(sys.argv[1]), Path(sys.argv[2])
config, _ = load_config(site)
loaded = load_and_tag(site, config, {})
started = time.perf_counter()
files = search.build_shards(loaded, search.ShardLayout(len(loaded.papers), len(loaded.tags)))
seconds = time.perf_counter() - started
for path, data in files.items():
    target = out / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
print(json.dumps({"seconds": seconds, "papers": len(loaded.papers), "files": len(files)}))
"""

# Runs either worker's sharded search: the older one's shardedSearch(...).search, or runSearch over
# shardedSource. Prints, per query, {ms, parts: [paths fetched], total}.
_NODE = r"""
import { readFileSync } from "node:fs";
import path from "node:path";
import vm from "node:vm";
const [lunrPath, workerPath, searchDir, queriesJson] = process.argv.slice(2);
const scope = vm.createContext({ console, URL, setTimeout });
vm.runInContext(readFileSync(lunrPath, "utf8"), scope);
vm.runInContext(readFileSync(workerPath, "utf8"), scope);
const readJson = (file) => JSON.parse(readFileSync(file, "utf8"));
const manifest = readJson(path.join(searchDir, "index.json"));
const storeInfo = readJson(path.join(searchDir, "store.json"));
const out = [];
for (const q of JSON.parse(queriesJson)) {
  const parts = [];
  const fetchPart = (part) => { parts.push(part); return Promise.resolve().then(() => readJson(path.join(searchDir, part))); };
  const request = { id: 1, q, limit: storeInfo.page, typing: false };
  let run;
  if (typeof scope.runSearch === "function") {
    const source = scope.shardedSource(manifest, storeInfo, fetchPart);
    run = () => scope.runSearch(source, request);
  } else {
    const search = scope.shardedSearch(manifest, storeInfo, fetchPart);
    run = () => search.search(request);
  }
  const started = performance.now();
  const answer = await run();
  out.push({ q, ms: performance.now() - started, parts, total: answer.total });
}
process.stdout.write(JSON.stringify(out));
"""


def gz(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), 6))


def build_once(checkout: Path, site: Path, out: Path) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    env = {**os.environ, "PYTHONPATH": str(checkout / "src")}
    done = subprocess.run([sys.executable, "-c", _CHILD, str(site), str(out)], env=env, check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def queries_once(checkout: Path, out: Path, script: Path, queries: list[str]) -> list[dict]:
    lunr = checkout / "src" / "digestgen" / "_vendor" / "lunr.min.js"
    worker = checkout / "static" / "search-worker.js"
    done = subprocess.run(["node", str(script), str(lunr), str(worker), str(out / "search"), json.dumps(queries)],
                          check=True, capture_output=True, text=True)
    rows = json.loads(done.stdout)
    fixed = gz(lunr) + gz(worker) + gz(out / "search" / "index.json") + gz(out / "search" / "store.json")
    for row in rows:
        row["kib"] = (fixed + sum(gz(out / "search" / part) for part in row["parts"])) / 1024
        row["requests"] = len(row["parts"]) + 4
    return rows


HOSTS = {"python": serve, "http2": serve_http2}


def prepared(checkout: Path, out: Path) -> Path:
    """`out` (a built search folder) with the checkout's worker and lunr.js, and the timed worker beside them."""
    shutil.copy(checkout / "src" / "digestgen" / "_vendor" / "lunr.min.js", out / "lunr.min.js")
    shutil.copy(checkout / "static" / "search-worker.js", out / "search-worker.js")
    (out / "timed-worker.js").write_text(_TIMED_WORKER, "utf-8")
    (out / "index.html").write_text("<!doctype html><title>search timing</title>", "utf-8")
    return out


def timed_query(browser: Any, base: str, q: str, after: int) -> dict:
    """One query in a fresh browser context (empty HTTP cache) and worker: {cold, complete, warm, ...}."""
    context = browser.new_context(ignore_https_errors=True)  # the http2 host's certificate is made for the run
    try:
        page = context.new_page()
        page.goto(base)
        cold, warm = page.evaluate(_TWICE, [base, q, 2, after])
    finally:
        context.close()
    # A worker older than early answers has no shownMs: its results are shown when complete.
    return {"cold": cold.get("ms", cold["complete"]), "complete": cold["complete"],
            "warm": warm.get("ms", warm["complete"]), "total": cold["total"],
            "open": cold["open"], "ready": cold["ready"], "rows": cold.get("rows", 0)}


def browse_in_turn(checkouts: list[tuple[str, Path]], work: Path, queries: list[str], runs: int, host: str,
                   after: int) -> dict[str, dict[str, list[dict]]]:
    """Every query in every checkout's worker, query by query, a checkout after another, so that a busy
    spell of the machine falls on all of them alike (each is served from its own folder)."""
    from playwright.sync_api import sync_playwright

    timings: dict[str, dict[str, list[dict]]] = {name: {q: [] for q in queries} for name, _ in checkouts}
    with contextlib.ExitStack() as stack:
        bases = {name: stack.enter_context(HOSTS[host](prepared(checkout, work / name))) for name, checkout in checkouts}
        browser = stack.enter_context(chromium(stack.enter_context(sync_playwright())))
        for _ in range(runs):
            for q in queries:
                for name, _checkout in checkouts:
                    timings[name][q].append(timed_query(browser, bases[name], q, after))
    return timings


def print_browser(name: str, timings: dict[str, list[dict]], host: str) -> None:
    print(f"\n== {name}: in Chromium ({host} host), ms from the query reaching the worker to its first results "
          "message (complete: to its last, when the first rows are shown early; rows: the fewest the first had)")
    print(f"{'query':42} {'cold median':>12} {'cold worst':>11} {'complete':>9} {'warm median':>12} {'warm worst':>11} "
          f"{'total':>7} {'rows':>5}")
    for q, rows in timings.items():
        cold, warm = [r["cold"] for r in rows], [r["warm"] for r in rows]
        complete = statistics.median(r["complete"] for r in rows)
        print(f"{q[:42]:42} {statistics.median(cold):>12.0f} {max(cold):>11.0f} {complete:>9.0f} "
              f"{statistics.median(warm):>12.0f} {max(warm):>11.0f} {rows[0]['total']:>7} {min(r['rows'] for r in rows):>5}")
    every_cold = [r["cold"] for rows in timings.values() for r in rows]
    every_complete = [r["complete"] for rows in timings.values() for r in rows]
    every_warm = [r["warm"] for rows in timings.values() for r in rows]
    print(f"{'every query':42} {statistics.median(every_cold):>12.0f} {max(every_cold):>11.0f} "
          f"{statistics.median(every_complete):>9.0f} {statistics.median(every_warm):>12.0f} {max(every_warm):>11.0f}")
    print(f"{'worst complete':42} {max(every_complete):>12.0f}")
    opened = [r["open"] for rows in timings.values() for r in rows]
    ready = [r["ready"] for rows in timings.values() for r in rows]
    print(f"{'worker start to ready, median / worst':42} {statistics.median(ready):>12.0f} {max(ready):>11.0f}")
    print(f"{'worker start to first results (no --after)':42} {statistics.median(opened):>12.0f} {max(opened):>11.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path)
    parser.add_argument("--checkout", action="append", required=True, help="NAME=DIR")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--browser", action="store_true", help="also time the worker in Chromium")
    parser.add_argument("--host", choices=sorted(HOSTS), default="python", help="the loopback server for --browser")
    parser.add_argument("--after", type=int, default=0, help="ms between the worker's ready and the query (a reader typing)")
    parser.add_argument("--query", action="append", help="time this query (again for more) instead of QUERIES")
    parser.add_argument("--browser-runs", type=int, help="runs in Chromium (default --runs): an A/B of one query needs many")
    args = parser.parse_args()
    checkouts = [(name, Path(path)) for name, path in (c.split("=", 1) for c in args.checkout)]
    queries = args.query or QUERIES
    work = Path(tempfile.mkdtemp(prefix="search-budget-"))
    script = work / "run.mjs"
    script.write_text(_NODE, "utf-8")
    builds: dict[str, list[float]] = {name: [] for name, _ in checkouts}
    answers: dict[str, list[list[dict]]] = {name: [] for name, _ in checkouts}
    try:
        for run in range(args.runs):
            for name, checkout in checkouts:  # in turn, so that a slow spell falls on all of them
                built = build_once(checkout, args.site, work / name)
                builds[name].append(built["seconds"])
                answers[name].append(queries_once(checkout, work / name, script, queries))
                print(f"run {run + 1} {name}: sharded files computed in {built['seconds']:.1f} s "
                      f"({built['papers']:,} papers, {built['files']:,} files); cold queries: "
                      + ", ".join(f"{r['q']} {r['kib']:.0f} KiB {r['ms']:.0f} ms" for r in answers[name][-1]), flush=True)
        browsed = browse_in_turn(checkouts, work, queries, args.browser_runs or args.runs, args.host, args.after) if args.browser else {}
        for name, _ in checkouts:
            print(f"\n== {name}: sharded search files computed in {statistics.median(builds[name]):.1f} s "
                  f"(median of {args.runs}: {', '.join(f'{s:.1f}' for s in builds[name])})")
            print(f"{'query (cold, fresh worker)':42} {'KiB (gzip)':>10} {'requests':>9} {'ms':>8} {'total':>8}")
            for n, q in enumerate(queries):
                rows = [runs[n] for runs in answers[name]]
                print(f"{q[:42]:42} {rows[0]['kib']:>10.1f} {rows[0]['requests']:>9} "
                      f"{statistics.median(r['ms'] for r in rows):>8.0f} {rows[0]['total']:>8}")
            print(f"{'most bytes':42} {max(r['kib'] for r in answers[name][0]):>10.1f}")
        for name, timings in browsed.items():
            print_browser(name, timings, args.host)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
