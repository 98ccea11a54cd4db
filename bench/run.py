"""The digestgen benchmark: ingest, full build, stages, no-op and incremental rebuilds, serve edit
latency, sizes — and, where installed, Hugo and MkDocs on the same corpus in the same run.

    python bench/run.py                         # N = 1,000, 10,000 and 50,000, 3 runs each
    python bench/run.py --sizes 1000 --runs 5   # quicker
    python bench/run.py --sizes 10000 --no-mkdocs

Every figure is the median of --runs runs. Results are printed as a Markdown table and written
to bench/out/results.json. Hugo comes from Debian's `hugo` package, MkDocs from PyPI (`mkdocs`);
Pagefind (npm's `pagefind` package; point DIGESTGEN_BENCH_PAGEFIND at its binary) indexes
Hugo's output. A missing tool is skipped.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from corpus import name_authors, write_corpus  # noqa: E402

PYTHON = sys.executable
DIGESTGEN = [PYTHON, "-m", "digestgen"]
# Runs a build in a fresh interpreter and reports its own timings, CPU time and peak memory.
BUILD_PROBE = r"""
import json, resource, sys, time
from pathlib import Path
from digestgen.build import build_site
started = time.perf_counter()
result = build_site(Path(sys.argv[1]), out=Path(sys.argv[2]), force=sys.argv[3] == "force")
wall = time.perf_counter() - started
me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "cpu": me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime,
                  "peak_mb": max(me.ru_maxrss, kids.ru_maxrss) / 1024, "timings": result.timings,
                  "rendered": result.counts["rendered"], "pages": result.counts["pages"]}))
"""


def run(command: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=True)


def timed(command: list[str], cwd: Path | None = None) -> dict[str, float]:
    """Wall and CPU seconds and peak memory of one command, from /usr/bin/time when present."""
    if shutil.which("time") or Path("/usr/bin/time").exists():
        result = subprocess.run(["/usr/bin/time", "-f", "%e %U %S %M", *command], cwd=cwd, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"{command[0]} failed: {result.stderr[-800:]}")
        wall, user, system, peak = result.stderr.strip().splitlines()[-1].split()
        return {"wall": float(wall), "cpu": float(user) + float(system), "peak_mb": int(peak) / 1024}
    started = time.perf_counter()
    run(command, cwd)
    return {"wall": time.perf_counter() - started, "cpu": float("nan"), "peak_mb": float("nan")}


def folder_size(folder: Path, pattern: str = "*") -> tuple[int, int]:
    """Raw and gzip bytes of the files under `folder` matching `pattern`."""
    raw = packed = 0
    for path in folder.rglob(pattern):
        if path.is_file():
            data = path.read_bytes()
            raw += len(data)
            packed += len(gzip.compress(data, 6))
    return raw, packed


def build(site: Path, out: Path, force: bool = True) -> dict:
    result = run([PYTHON, "-c", BUILD_PROBE, str(site), str(out), "force" if force else "incremental"])
    return json.loads(result.stdout)


def edit_paper(site: Path, marker: str) -> tuple[str, str]:
    """Change one paper's title; return its slug and the new title."""
    paper = sorted((site / "content" / "papers").glob("*.md"))[len(list((site / "content" / "papers").glob("*.md"))) // 2]
    title = f"Edited title {marker}"
    paper.write_text(re.sub(r"^title: .*$", f"title: {title}", paper.read_text(), count=1, flags=re.M))
    return paper.stem, title


def seconds_until_shown(page: str, text: str, limit: float = 120) -> float:
    """Poll `page` every 10 ms until it contains `text`; return the seconds that took."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        try:
            if text in urllib.request.urlopen(page, timeout=5).read().decode():
                break
        except OSError:
            pass
        time.sleep(0.01)
    return time.perf_counter() - started


@contextlib.contextmanager
def digestgen_serve(site: Path) -> Iterator[tuple[Callable[[int], float], int]]:
    """A running `digestgen serve`; yields a function that edits a paper and times until it is
    served, and the server's process id."""
    process = subprocess.Popen([*DIGESTGEN, "serve", "--site", str(site), "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = None
        deadline = time.time() + 900
        while url is None and time.time() < deadline:
            line = process.stdout.readline()
            match = re.search(r"http://127\.0\.0\.1:\d+/\S*", line)
            url = match.group(0) if match else None
        assert url, "serve did not start"

        def edit(attempt: int) -> float:
            slug, title = edit_paper(site, f"{attempt}-{time.time_ns()}")
            return seconds_until_shown(f"{url.rstrip('/')}/papers/{slug}/", title)

        yield edit, process.pid
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def hugo_site(site: Path, target: Path) -> Path:
    """The same papers as a Hugo site with a minimal theme: a page per paper, paginated tag lists."""
    from digestgen.frontmatter import read_front_matter, unescape_markdown

    (target / "content" / "papers").mkdir(parents=True)
    (target / "layouts" / "_default").mkdir(parents=True)
    (target / "hugo.toml").write_text('baseURL = "https://example.org/"\ntitle = "bench"\n[pagination]\npagerSize = 50\n[taxonomies]\ntag = "tags"\n')
    (target / "layouts" / "_default" / "baseof.html").write_text('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{{ .Title }}</title></head><body><main>{{ block "main" . }}{{ end }}</main></body></html>\n')
    (target / "layouts" / "_default" / "single.html").write_text('{{ define "main" }}<h1>{{ .Title }}</h1><p>{{ .Date.Format "Jan 2, 2006" }}</p>{{ .Content }}<ul>{{ range .Params.tags }}<li><a href="{{ "tags/" | relURL }}{{ . | urlize }}/">{{ . }}</a></li>{{ end }}</ul>{{ end }}\n')
    (target / "layouts" / "_default" / "list.html").write_text('{{ define "main" }}<h1>{{ .Title }}</h1>{{ range (.Paginate .Pages).Pages }}<article><h2><a href="{{ .RelPermalink }}">{{ .Title }}</a></h2><p>{{ .Summary }}</p></article>{{ end }}{{ end }}\n')
    for path in (site / "content" / "papers").glob("*.md"):
        data, body = read_front_matter(path.read_text(encoding="utf-8"))
        front = {"title": data["title"], "date": data.get("published") or "2024-01-01", "tags": data.get("tags") or ["untagged"]}
        (target / "content" / "papers" / path.name).write_text("---\n" + json.dumps(front) + "\n---\n" + unescape_markdown(body), encoding="utf-8")
    return target


@contextlib.contextmanager
def hugo_server(hugo: Path) -> Iterator[tuple[Callable[[int], float], int]]:
    """A running `hugo server` (rendering to memory, its default); yields what digestgen_serve does."""
    port = 18000 + os.getpid() % 1000
    process = subprocess.Popen(["hugo", "server", "--port", str(port), "--bind", "127.0.0.1", "--disableLiveReload"], cwd=hugo,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 900
        while time.time() < deadline and "Web Server is available" not in (process.stdout.readline() or "Web Server is available"):
            pass
        papers = sorted((hugo / "content" / "papers").glob("*.md"))

        def edit(attempt: int) -> float:
            paper = papers[len(papers) // 2 + attempt]
            title = f"Hugo edited {attempt} {time.time_ns()}"
            text = paper.read_text(encoding="utf-8")
            front, _, body = text[4:].partition("\n---\n")
            data = json.loads(front)
            data["title"] = title
            paper.write_text("---\n" + json.dumps(data) + "\n---\n" + body, encoding="utf-8")
            return seconds_until_shown(f"http://127.0.0.1:{port}/papers/{paper.stem}/", title)

        yield edit, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def edit_latencies(site: Path, hugo: Path | None, runs: int) -> tuple[list[float], list[float]]:
    """Seconds from saving an edited paper to the new page being served, by digestgen serve and by
    hugo server, both running, taking turns edit by edit."""
    ours, theirs = [], []
    with contextlib.ExitStack() as servers:
        digestgen_edit, digestgen_pid = servers.enter_context(digestgen_serve(site))
        hugo_edit, hugo_pid = servers.enter_context(hugo_server(hugo)) if hugo else (None, None)
        pids = [pid for pid in (digestgen_pid, hugo_pid) if pid]
        # Each edit starts with both servers idle: digestgen's search catch-up (1.5 s after a save)
        # and anything Hugo does after a change must not fall on the other's measurement.
        settle(pids)
        for attempt in range(runs):
            ours.append(digestgen_edit(attempt))
            settle(pids)
            if hugo_edit:
                theirs.append(hugo_edit(attempt))
                settle(pids)
    return ours, theirs


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def settle(pids: list[int], wait: float = 2.0, quiet: float = 0.6, limit: float = 300) -> None:
    """Wait `wait` seconds, then until none of `pids` has used CPU for `quiet` seconds."""
    time.sleep(wait)
    deadline, still_since = time.monotonic() + limit, time.monotonic()
    used = [cpu_seconds(pid) for pid in pids]
    while time.monotonic() - still_since < quiet and time.monotonic() < deadline:
        time.sleep(0.1)
        now = [cpu_seconds(pid) for pid in pids]
        if now != used:
            used, still_since = now, time.monotonic()


def pagefind_command() -> list[str] | None:
    """Pagefind, from PATH or DIGESTGEN_BENCH_PAGEFIND (npm's `pagefind` package ships the binary)."""
    found = os.environ.get("DIGESTGEN_BENCH_PAGEFIND") or shutil.which("pagefind")
    return [found] if found else None


def mkdocs_site(site: Path, target: Path) -> Path:
    """The same papers as an MkDocs site whose lunr index is prebuilt with lunr.py."""
    from digestgen.frontmatter import read_front_matter, unescape_markdown

    (target / "docs").mkdir(parents=True)
    (target / "mkdocs.yml").write_text("site_name: bench\nplugins:\n  - search:\n      prebuild_index: python\n")
    (target / "docs" / "index.md").write_text("# bench\n")
    for path in (site / "content" / "papers").glob("*.md"):
        data, body = read_front_matter(path.read_text(encoding="utf-8"))
        (target / "docs" / path.name).write_text(f"# {data['title']}\n\n{unescape_markdown(body)}", encoding="utf-8")
    return target


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def bench_size(count: int, runs: int, work: Path, with_hugo: bool, with_mkdocs: bool) -> dict:
    folder = work / f"n{count}"
    write_corpus(count, folder)
    site = folder / "site"
    run([*DIGESTGEN, "init", str(site)])
    (site / ".github").exists() and shutil.rmtree(site / ".github")
    listings = sorted(str(p) for p in (folder / "listings").glob("*.txt"))
    ingest = timed([*DIGESTGEN, "ingest", *listings, "--site", str(site)])
    name_authors(site)  # text listings only count authors: name them, so that author pages are built
    results: dict = {"papers": count, "ingest_s": ingest["wall"]}
    hugo = hugo_site(site, folder / "hugo") if with_hugo and shutil.which("hugo") else None
    pagefind = pagefind_command() if hugo else None
    fulls, hugos, pagefinds = [], [], []
    # Cold builds into empty folders, and the tools take turns, so that a slow spell of a shared
    # machine falls on all of them rather than on whichever ran then.
    for _ in range(runs):
        shutil.rmtree(folder / "out", ignore_errors=True)
        fulls.append(build(site, folder / "out", force=True))
        if hugo:
            shutil.rmtree(folder / "hugo-out", ignore_errors=True)
            hugos.append(timed(["hugo", "--quiet", "-d", str(folder / "hugo-out")], cwd=hugo))
        if pagefind:
            pagefinds.append(timed([*pagefind, "--site", str(folder / "hugo-out"), "--quiet"]))
    results["build_wall_s"] = median([f["wall"] for f in fulls])
    results["build_cpu_s"] = median([f["cpu"] for f in fulls])
    results["build_peak_mb"] = max(f["peak_mb"] for f in fulls)
    results["pages"] = fulls[0]["pages"]
    results["stages_s"] = {k: round(median([f["timings"].get(k, 0) for f in fulls]), 3) for k in fulls[0]["timings"]}
    results["noop_s"] = median([build(site, folder / "out", force=False)["wall"] for _ in range(runs)])
    edits = []
    for attempt in range(runs):
        edit_paper(site, f"build-{attempt}")
        edits.append(build(site, folder / "out", force=False))
    results["one_edit_build_s"] = median([e["wall"] for e in edits])
    results["one_edit_rendered_pages"] = edits[0]["rendered"]
    ours, theirs = edit_latencies(site, hugo, runs)
    results["serve_edit_s"] = median(ours)
    if theirs:
        results["hugo_server_edit_s"] = median(theirs)
    results["output_mb"] = folder_size(folder / "out")[0] / 1e6
    raw, packed = folder_size(folder / "out" / "search")
    results["search_raw_mb"], results["search_gzip_mb"] = raw / 1e6, packed / 1e6
    if hugos:
        results["hugo_wall_s"] = median([h["wall"] for h in hugos])
        results["hugo_peak_mb"] = max(h["peak_mb"] for h in hugos)
    if pagefinds:
        results["pagefind_wall_s"] = median([r["wall"] for r in pagefinds])
        results["pagefind_peak_mb"] = max(r["peak_mb"] for r in pagefinds)
    if with_mkdocs and shutil.which("mkdocs") or (with_mkdocs and Path(PYTHON).with_name("mkdocs").exists()):
        docs = mkdocs_site(site, folder / "mkdocs")
        mkdocs = str(Path(PYTHON).with_name("mkdocs")) if Path(PYTHON).with_name("mkdocs").exists() else "mkdocs"
        once = [timed([mkdocs, "build", "-q", "-d", str(folder / "mkdocs-out")], cwd=docs) for _ in range(max(1, runs // 3))]
        results["mkdocs_wall_s"] = median([m["wall"] for m in once])
    return results


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), platform.processor())
    memory = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")), "0")
    return f"{os.cpu_count()} cores ({cpu}), {int(memory) / 1024 / 1024:.0f} GiB, Python {platform.python_version()}, {platform.system()}"


def table(all_results: list[dict]) -> str:
    rows = [
        ("ingest (s)", "ingest_s"), ("full build, wall (s)", "build_wall_s"), ("full build, CPU (s)", "build_cpu_s"),
        ("peak memory (MB)", "build_peak_mb"), ("pages", "pages"), ("no-op rebuild (s)", "noop_s"),
        ("one edited paper, build (s)", "one_edit_build_s"), ("pages re-rendered for it", "one_edit_rendered_pages"),
        ("one edited paper, under serve (s)", "serve_edit_s"), ("output (MB)", "output_mb"),
        ("search files raw (MB)", "search_raw_mb"), ("search files gzip (MB)", "search_gzip_mb"),
        ("Hugo build (s)", "hugo_wall_s"), ("Hugo peak memory (MB)", "hugo_peak_mb"),
        ("Pagefind on Hugo's output (s)", "pagefind_wall_s"), ("Pagefind peak memory (MB)", "pagefind_peak_mb"),
        ("one edited page under hugo server (s)", "hugo_server_edit_s"), ("MkDocs + lunr.py build (s)", "mkdocs_wall_s"),
    ]
    head = "| | " + " | ".join(f"{r['papers']:,} papers" for r in all_results) + " |"
    lines = [head, "|---" * (len(all_results) + 1) + "|"]
    for label, key in rows:
        values = [r.get(key) for r in all_results]
        if all(v is None for v in values):
            continue
        cells = ["—" if v is None else (f"{v:,}" if isinstance(v, int) else f"{v:.2f}") for v in values]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    for r in all_results:
        stages = ", ".join(f"{k} {v:.2f}" for k, v in r["stages_s"].items())
        lines.append(f"\nStages at {r['papers']:,} papers (s): {stages}.")
        if r.get("hugo_wall_s"):
            lines.append(f"digestgen / Hugo build time at {r['papers']:,}: {r['build_wall_s'] / r['hugo_wall_s']:.2f}×.")
        if r.get("pagefind_wall_s"):
            floor = r["hugo_wall_s"] + r["pagefind_wall_s"]
            lines.append(f"(Hugo + Pagefind) / digestgen at {r['papers']:,}: {floor / r['build_wall_s']:.2f}×.")
        if r.get("hugo_server_edit_s"):
            lines.append(f"hugo server / digestgen serve, one edit at {r['papers']:,}: {r['hugo_server_edit_s'] / r['serve_edit_s']:.2f}×.")
        if r.get("mkdocs_wall_s"):
            lines.append(f"MkDocs + lunr.py / digestgen at {r['papers']:,}: {r['mkdocs_wall_s'] / r['build_wall_s']:.1f}×.")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-hugo", action="store_true")
    parser.add_argument("--no-mkdocs", action="store_true")
    parser.add_argument("--mkdocs-max", type=int, default=10000, help="Skip MkDocs above this many papers (at 10,000 it takes minutes and writes about 30 GB).")
    parser.add_argument("--work", type=Path, help="Scratch folder (default: a temporary one, removed at the end).")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="digestgen-bench-"))
    try:
        results = [
            bench_size(int(n), args.runs, work, not args.no_hugo, not args.no_mkdocs and int(n) <= args.mkdocs_max)
            for n in args.sizes.split(",")
        ]
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    report = f"Machine: {machine()}. Median of {args.runs} runs.\n\n" + table(results)
    print(report)
    (HERE / "out").mkdir(exist_ok=True)
    (HERE / "out" / "results.json").write_text(json.dumps({"machine": machine(), "results": results}, indent=1))


if __name__ == "__main__":
    main()
