"""The search index's build time, side by side for several checkouts in one run: CPU seconds of the step alone.

Usage: python bench/search_build.py SITE --checkout NAME=DIR [--checkout NAME=DIR ...] [--runs 3] [--whole]

SITE is an ingested site (bench/corpus.py listings through `digestgen ingest`, authors named with
corpus.name_authors, as bench/compare_trees.py shows). For each checkout, in turn and `--runs`
times, a fresh interpreter with that checkout's `src/` first on the path loads and tags SITE, then
computes the search files the build writes for it, timing each group alone: the index
(`search.build_index_parts` for a sharded site, `build_index` and its JSON for a small one) and
the store (`build_store_parts`, or `build_store`). CPU seconds (`time.process_time`, the process
alone) are the figure to compare on a shared machine; wall seconds are printed too. With
`--whole`, each run also makes a forced full build into an empty folder (bench/run.py's probe:
CPU seconds of the build and its worker processes). Medians are printed, and each checkout's
ratio to the first one, and which checkouts wrote byte-identical index or store files (a faster
builder must write the same bytes as the one it replaces). Numbers, not assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import BUILD_PROBE  # noqa: E402

_CHILD = r"""
import hashlib, json, sys, time
from pathlib import Path
from digestgen import search
from digestgen.build import load_and_tag
from digestgen.config import load_config

site_dir = Path(sys.argv[1])
config, _ = load_config(site_dir)
site = load_and_tag(site_dir, config, {})

def timed(make):
    cpu, wall = time.process_time(), time.perf_counter()
    files = make()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.encode() + b"\0" + files[path])
    return {"cpu": cpu, "wall": wall, "sha256": digest.hexdigest(), "files": len(files)}

if len(site.papers) >= config.search_shard_threshold:
    layout = search.ShardLayout(len(site.papers), len(site.tags))
    index = timed(lambda: search.build_index_parts(site, layout))
    store = timed(lambda: search.build_store_parts(site, layout))
else:
    index = timed(lambda: {search.INDEX_PATH: search.compact_json(search.build_index(site))})
    store = timed(lambda: {search.STORE_PATH: search.compact_json(search.build_store(site))})
print(json.dumps({"papers": len(site.papers), "index": index, "store": store}))
"""


def child(checkout: Path, script: str, *args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(checkout / "src")}
    done = subprocess.run([sys.executable, "-c", script, *args], env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{checkout}: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path)
    parser.add_argument("--checkout", action="append", required=True, help="NAME=DIR")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--whole", action="store_true", help="also time a forced full build")
    args = parser.parse_args()
    checkouts = [(name, Path(path).resolve()) for name, path in (c.split("=", 1) for c in args.checkout)]
    found: dict[str, list[dict]] = {name: [] for name, _ in checkouts}
    with tempfile.TemporaryDirectory(prefix="digestgen-search-build-") as scratch:
        for run in range(args.runs):
            for name, checkout in checkouts:  # in turn, so that a slow spell falls on all of them
                row = child(checkout, _CHILD, str(args.site))
                if args.whole:
                    out = Path(scratch) / name
                    shutil.rmtree(out, ignore_errors=True)
                    row["whole"] = child(checkout, BUILD_PROBE, str(args.site), str(out), "force")
                found[name].append(row)
                whole = f"; whole build {row['whole']['cpu']:.1f} s CPU, {row['whole']['wall']:.1f} s wall" if args.whole else ""
                print(f"run {run + 1} {name}: index {row['index']['cpu']:.2f} s CPU ({row['index']['wall']:.2f} s wall), "
                      f"store {row['store']['cpu']:.2f} s CPU{whole} [{row['papers']:,} papers]", flush=True)

    def median(name: str, *keys: str) -> float:
        values = []
        for row in found[name]:
            value = row
            for key in keys:
                value = value[key]
            values.append(value)
        return statistics.median(values)

    first = checkouts[0][0]
    columns = [("index", ("index", "cpu")), ("index+store", None), ("store", ("store", "cpu"))]
    if args.whole:
        columns.append(("whole build", ("whole", "cpu")))
    print(f"\nmedian CPU seconds of {args.runs} run(s); in brackets, the ratio to {first}")
    print(f"{'checkout':14}" + "".join(f"{title:>22}" for title, _ in columns))
    for name, _ in checkouts:
        cells = []
        for _title, keys in columns:
            if keys is None:
                value, base = (statistics.median(r["index"]["cpu"] + r["store"]["cpu"] for r in found[n]) for n in (name, first))
            else:
                value, base = median(name, *keys), median(first, *keys)
            cells.append(f"{value:>12.2f} ({value / base:4.2f}x)")
        print(f"{name:14}" + "".join(f"{cell:>22}" for cell in cells))
    print("\nthe same files as another checkout (sha256 of every path and its bytes):")
    for name, _ in checkouts:
        for part in ("index", "store"):
            twins = [other for other, _ in checkouts if other != name
                     and found[other][0][part]["sha256"] == found[name][0][part]["sha256"]]
            print(f"  {name} {part}: {', '.join(twins) or 'none'}")


if __name__ == "__main__":
    main()
