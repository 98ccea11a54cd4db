"""The file system's share of a build: the time to write a built site's files again, and nothing else.

    python bench/fsfloor.py OUT [OUT ...] [--runs 3]

For each built output folder, copies every file's bytes (read into memory first, so reading is not
timed) into a fresh folder beside it, with the same folders, using plain `os.mkdir` and `open`:
no rendering, no hashing, no staging. What that costs is the floor under any full build that writes
those files on this machine. Folders take turns, run by run, so a slow spell falls on all of them.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path


def site_files(out: Path) -> list[tuple[str, bytes]]:
    """Every file of a built folder as (relative path, bytes), in walking order; the manifest is left out."""
    found = []
    for folder, _, names in os.walk(out):
        for name in sorted(names):
            path = Path(folder) / name
            relative = path.relative_to(out).as_posix()
            if not relative.startswith(".digestgen"):
                found.append((relative, path.read_bytes()))
    return found


def write_again(files: list[tuple[str, bytes]], into: Path) -> dict[str, float]:
    """Write the files under `into`; wall and CPU seconds (user + system) it took."""
    made: set[str] = set()
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    for relative, data in files:
        folder = os.path.dirname(relative)
        if folder and folder not in made:
            os.makedirs(into / folder, exist_ok=True)
            made.add(folder)
        with open(into / relative, "wb") as handle:
            handle.write(data)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return {"wall": wall, "cpu": cpu, "folders": len(made), "files": len(files)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outs", nargs="+", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    trees = {out: site_files(out) for out in args.outs}
    results: dict[Path, list[dict[str, float]]] = {out: [] for out in args.outs}
    for _ in range(args.runs):
        for out, files in trees.items():
            scratch = Path(tempfile.mkdtemp(prefix="digestgen-fsfloor-", dir=out.parent))
            try:
                results[out].append(write_again(files, scratch))
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
    for out, found in results.items():
        wall = statistics.median(r["wall"] for r in found)
        cpu = statistics.median(r["cpu"] for r in found)
        megabytes = sum(len(data) for _, data in trees[out]) / 1e6
        print(f"{out}: {found[0]['files']:,} files in {found[0]['folders']:,} folders, {megabytes:.0f} MB: "
              f"median {wall:.2f} s wall, {cpu:.2f} s CPU over {len(found)} runs")


if __name__ == "__main__":
    main()
