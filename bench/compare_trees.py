"""Full builds of one site by two (or more) source trees, taking turns, in one run: for budgets.

    python bench/corpus.py 10000 /tmp/c10k && digestgen init /tmp/s10k && digestgen ingest /tmp/c10k/listings/*.txt --site /tmp/s10k
    python -c "import sys; sys.path.insert(0, 'bench'); from corpus import name_authors; from pathlib import Path; name_authors(Path('/tmp/s10k'))"
    python bench/compare_trees.py /tmp/s10k 3 /path/to/main/src src

A tree may name its own site as TREE=SITE: an older tree that cannot read the named authors builds
the same corpus ingested by itself (`PYTHONPATH=/path/to/old/src python -m digestgen ingest ...`).
Each tree is put first on PYTHONPATH of a fresh interpreter that runs bench/run.py's build probe
(a forced build into an empty folder); the median wall and CPU seconds and the peak memory are printed.
"""

from __future__ import annotations

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


def main(site: str, runs: int, trees: list[str]) -> None:
    results: dict[str, list[dict]] = {tree: [] for tree in trees}
    with tempfile.TemporaryDirectory(prefix="digestgen-compare-") as scratch:
        for _ in range(runs):
            for number, tree in enumerate(trees):
                out = Path(scratch) / f"out-{number}"
                shutil.rmtree(out, ignore_errors=True)
                source, _, own_site = tree.partition("=")
                env = {**os.environ, "PYTHONPATH": str(Path(source).resolve())}
                command = [sys.executable, "-c", BUILD_PROBE, own_site or site, str(out), "force"]
                done = subprocess.run(command, capture_output=True, text=True, env=env)
                if done.returncode:
                    sys.exit(f"{tree}: {done.stderr[-2000:]}")
                data = json.loads(done.stdout.strip().splitlines()[-1])
                results[tree].append(data)
                stages = ", ".join(f"{stage} {seconds:.1f}" for stage, seconds in data["timings"].items())
                print(f"{tree}: {data['wall']:.2f} s wall, {data['cpu']:.2f} s CPU, {data['pages']} pages ({stages})", flush=True)
    for tree, found in results.items():
        wall = statistics.median(r["wall"] for r in found)
        cpu = statistics.median(r["cpu"] for r in found)
        print(f"{tree}: median {wall:.2f} s wall, {cpu:.2f} s CPU, peak {max(r['peak_mb'] for r in found):.0f} MB")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3:])
