"""`digestgen build`: the one function that knows the order of the stages."""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Callable

import jinja2

from digestgen import __version__, feeds, related, urls
from digestgen.config import Config, load_config
from digestgen.ingest import PAPERS_DIR
from digestgen.load import ContentError, ContentScan, load_site, paper_from_file
from digestgen.model import Paper, Site
from digestgen.output import SiteWriter, check_output_dir, read_manifest
from digestgen.pages import PageJob, page_keys, plan_pages
from digestgen.people import People, site_people
from digestgen.render import (
    Task,
    card_fragments,
    make_environment,
    page_task,
    quiet_collector,
    render_into,
    site_globals,
)
from digestgen.search import search_groups
from digestgen.tagging import Taxonomy
from digestgen.tagstage import common_tag_warnings, load_taxonomy, tag_site, tagging_of
from digestgen.theme import Asset, collect_assets, default_dir
from digestgen.urls import Urls
from digestgen.views import markdown_renderer
from digestgen.words import plural

Warn = Callable[[str], None]


@dataclass(frozen=True)
class BuildResult:
    out: Path
    config: Config
    counts: dict[str, int]  # papers, digests, tags, pages, files, changed, rendered
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)
    site: Site | None = None  # None when nothing had changed and nothing was loaded

    @property
    def changed(self) -> int:
        return self.counts["changed"]

    @property
    def pages(self) -> int:
        return self.counts["pages"]

    def summary(self) -> str:
        c = self.counts
        if c["changed"] == 0 and self.site is None:
            return f"nothing changed since the last build of {self.out} ({plural(c['pages'], 'page')}); checked in {self.seconds:.2f} s"
        return (
            f"built {plural(c['pages'], 'page')} ({plural(c['papers'], 'paper')}, {plural(c['digests'], 'digest')}, "
            f"{plural(c['tags'], 'tag')}) into {self.out} in {self.seconds:.2f} s; "
            f"{plural(c['rendered'], 'page')} rendered, {plural(c['changed'], 'file')} changed"
        )


class _Progress:
    """A one-line counter on a terminal for long builds."""

    def __init__(self, total: int, enabled: bool):
        self.total, self.done, self.enabled = total, 0, enabled and total >= 500

    def tick(self) -> None:
        self.done += 1
        if self.enabled and (self.done % 250 == 0 or self.done == self.total):
            sys.stderr.write(f"\rrendering pages {self.done}/{self.total}")
            if self.done == self.total:
                sys.stderr.write("\n")
            sys.stderr.flush()


@dataclass
class BuildCache:
    """What a long-lived process (serve) keeps between builds: parsed files, tag matches, tagged
    papers, and the cards of the last theme and configuration (`cards_key`)."""

    papers: dict = field(default_factory=dict)
    tags: dict = field(default_factory=dict)
    tagged: dict = field(default_factory=dict)
    cards: dict = field(default_factory=dict)
    cards_key: str = ""
    taxonomy: tuple[tuple, Taxonomy] | None = None  # (what it was parsed from, the taxonomy)
    environment: tuple[str, jinja2.Environment] | None = None  # (the templates' digest, Jinja2's environment)
    manifest: tuple[Path, dict] | None = None  # (a private output folder, its files as last committed)
    page_keys: dict = field(default_factory=dict)  # url -> (what the page showed, its key)
    scan: ContentScan = field(default_factory=ContentScan)

    def cards_for(self, key: str) -> dict:
        """The cards made under `key`; those made under another key are dropped."""
        if key != self.cards_key:
            self.cards, self.cards_key = {}, key
        return self.cards


def taxonomy_of(site_dir: Path, config: Config, cache: BuildCache | None) -> Taxonomy:
    """The site's taxonomy, parsed again only when what it comes from has changed."""
    if cache is None:
        return load_taxonomy(site_dir, config)
    source = taxonomy_file(site_dir, config)
    key = (repr(config.taxonomy), repr(config.tagging), source.read_bytes() if source is not None and source.is_file() else b"")
    if cache.taxonomy is None or cache.taxonomy[0] != key:
        cache.taxonomy = (key, load_taxonomy(site_dir, config))
    return cache.taxonomy[1]


def environment_of(site_dir: Path, templates: str, cache: BuildCache | None) -> jinja2.Environment:
    """Jinja2's environment, kept (with its compiled templates) while the `templates` digest holds."""
    if cache is None:
        return make_environment(site_dir / "templates")
    if cache.environment is None or cache.environment[0] != templates:
        cache.environment = (templates, make_environment(site_dir / "templates"))
    return cache.environment[1]


def load_and_tag(
    site_dir: Path,
    config: Config,
    timings: dict[str, float],
    cache: BuildCache | None = None,
    changed: list[str] | None = None,
) -> Site:
    started = time.perf_counter()
    site = load_site(site_dir, config, cache.papers if cache else None, cache.scan if cache else None, changed)
    timings["load"] = time.perf_counter() - started
    started = time.perf_counter()
    taxonomy = taxonomy_of(site_dir, config, cache)
    site = tag_site(site, taxonomy, cache.tags if cache else None, cache.tagged if cache else None)
    timings["tag"] = time.perf_counter() - started
    return site


PARALLEL_LOAD_THRESHOLD = 2000  # paper files; below this, forking costs more than it saves


def prefilled_cache(site_dir: Path, config: Config, workers: int) -> BuildCache | None:
    """Parse and tag the paper files in forked workers; the result fills a BuildCache that the
    ordinary (serial) loading then finds every paper in. Files a worker cannot read are left out:
    the serial pass reads them again and reports them as usual."""
    found = (p for p in (site_dir / "content" / PAPERS_DIR).glob("*.md") if not p.name.startswith(".") and p.is_file())
    paths = sorted(found, key=lambda p: p.name)
    if workers < 2 or len(paths) < PARALLEL_LOAD_THRESHOLD:
        return None
    cache = BuildCache()
    taxonomy = taxonomy_of(site_dir, config, cache)
    rules_key = taxonomy.key
    with tempfile.TemporaryDirectory(prefix="digestgen-load-") as scratch:
        children = []
        for worker in range(1, workers):  # share 0 is the parent's own, done while the children work
            pid = os.fork()
            if pid == 0:  # child: parse and tag every workers-th file, pickle the results, leave
                code = 1
                try:
                    quiet_collector()
                    share = _parse_and_tag(site_dir, paths[worker::workers], taxonomy, rules_key)
                    (Path(scratch) / f"{worker}.pickle").write_bytes(pickle.dumps(share, pickle.HIGHEST_PROTOCOL))
                    code = 0
                finally:
                    os._exit(code)
            children.append((worker, pid))
        cache.papers, cache.tags = _parse_and_tag(site_dir, paths[0::workers], taxonomy, rules_key)
        for worker, pid in children:
            _, status = os.waitpid(pid, 0)
            result = Path(scratch) / f"{worker}.pickle"
            if status == 0 and result.is_file():  # our own file, written a moment ago by our own child
                papers, tags = pickle.loads(result.read_bytes())
                cache.papers.update(papers)
                cache.tags.update(tags)
        return cache


def _parse_and_tag(site_dir: Path, paths: list[Path], taxonomy: Taxonomy, rules_key: str) -> tuple[dict, dict]:
    papers: dict[str, tuple[int, int, Paper]] = {}
    tags: dict[tuple[str, str], tuple] = {}
    for path in paths:
        relative = path.relative_to(site_dir).as_posix()
        try:
            info = path.stat()
            paper = paper_from_file(path, relative)
        except (ContentError, UnicodeDecodeError, OSError):
            continue
        papers[relative] = (info.st_mtime_ns, info.st_size, paper)
        tags[(paper.fingerprint, rules_key)] = tagging_of(paper, taxonomy)
    return papers, tags


def _hash_files(digest: "hashlib._Hash", root: Path) -> None:
    if root.is_dir():
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")


def site_key(
    site_dir: Path, site: Site, assets: dict[str, Asset], extra_scripts: tuple[str, ...], templates: str
) -> str:
    """Everything besides the papers and digests that pages show: config, theme (`templates`:
    templates_digest), tag labels.

    What a page shows of the digests is in its own key (pages.PageJob.shape).
    """
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{__version__}|{site.config!r}|{extra_scripts!r}".encode())
    digest.update(templates.encode())
    taxonomy = taxonomy_file(site_dir, site.config)
    if taxonomy is not None and taxonomy.is_file():
        digest.update(taxonomy.read_bytes())
    digest.update(repr(sorted((name, a.output) for name, a in assets.items())).encode())
    digest.update(repr(sorted(site.labels.items())).encode())
    return digest.hexdigest()


def templates_digest(site_dir: Path) -> str:
    """Changes when any template file of the theme or the site does."""
    digest = hashlib.blake2b(digest_size=16)
    for root in (default_dir("templates"), site_dir / "templates"):
        _hash_files(digest, root)
    return digest.hexdigest()


def taxonomy_file(site_dir: Path, config: Config) -> Path | None:
    """The file the tags come from: the site's own, the packaged default, or none (inline, or off)."""
    if config.taxonomy in ("none", False):
        return None
    if isinstance(config.taxonomy, str):
        return site_dir / config.taxonomy
    if config.taxonomy is None:
        return _package_data("taxonomy.yaml")
    return None


def _package_data(name: str) -> Path:
    return Path(str(files("digestgen").joinpath("data", name)))


def content_key(key: str, site: Site) -> str:
    """Changes when any paper or related list does: for outputs that list every paper (search, feeds, papers.json)."""
    digest = hashlib.blake2b(key.encode(), digest_size=16)
    # A full computation of the related lists can change them with no paper changed (its kept state was deleted).
    digest.update(repr(sorted(site.related.items())).encode())
    # Feeds list digests in their order, picks first, hidden papers left out.
    digest.update(repr([(d.date, d.slugs, d.order, d.hide, [p.slug for p in d.picks]) for d in site.digests]).encode())
    for slug, paper in site.papers.items():
        digest.update(f"{slug}:{paper.fingerprint}\0".encode())
    return digest.hexdigest()


def _site_wide_outputs(
    site: Site, links: Urls, jobs: list[PageJob], people: People
) -> list[tuple[str, Callable[[], bytes]]]:
    """Outputs built from every paper, each made only when its inputs changed."""
    entries = feeds.FeedEntries(links)  # each paper's entry serialized once for all the feeds listing it
    outputs: list[tuple[str, Callable[[], bytes]]] = [
        (urls.FEED, lambda: feeds.site_feed(site, links, entries)),
        *[(urls.tag_feed(t.slug), lambda t=t: feeds.tag_feed(site, links, t, entries)) for t in site.tags],
        *feeds.group_feeds(site, links, people, entries),
        (urls.SITEMAP, lambda: feeds.sitemap(links, [j.url for j in jobs if j.url != urls.NOT_FOUND])),
        (urls.ROBOTS, lambda: feeds.robots(links)),
        (urls.PAPERS_JSON, lambda: feeds.papers_json(site, links)),
    ]
    return outputs


def render_site(
    site_dir: Path,
    site: Site,
    writer: SiteWriter,
    timings: dict[str, float],
    *,
    progress: bool = False,
    extra_scripts: tuple[str, ...] = (),
    workers: int = 1,
    defer_search: bool = False,
    cache: BuildCache | None = None,
    check: Callable[[], None] = lambda: None,
) -> int:
    """Render every output of the site into `writer`; return the number of HTML pages."""
    links = Urls(site.config.base_url)
    assets = collect_assets(site_dir / "static")
    templates = templates_digest(site_dir)  # read once: the key and the kept environment both need it
    key = site_key(site_dir, site, assets, extra_scripts, templates)
    started = time.perf_counter()
    env = environment_of(site_dir, templates, cache)
    globals_ = site_globals(site.config, links, assets, extra_scripts)
    known_cards = cache.cards_for(key) if cache is not None else None
    people = site_people(site, site.config.author_pages.min_papers)  # for the pages and the feeds alike
    jobs = plan_pages(site, links, markdown_renderer(), card_fragments(env, globals_), known_cards, people)
    papers = dict(site.papers)
    every_paper = content_key(key, site)
    # The longest task first: workers take tasks in order, so the search index starts at once.
    site_wide = [Task(paths, f"{every_paper}:{paths[0]}", make, "search") for paths, make in search_groups(site, check)]
    site_wide += [
        Task((path,), f"{every_paper}:{path}", lambda path=path, make=make: {path: make()}, "feeds")
        for path, make in _site_wide_outputs(site, links, jobs, people)
    ]
    tasks = [task for task in site_wide if not (defer_search and writer.keep_previous(task.paths))]
    keys = page_keys(jobs, key, papers, cache.page_keys if cache is not None else None)
    # Unchanged pages are kept here, before any task is made for them: most pages, after an edit.
    tasks += [
        page_task(env, job, page_key, globals_)
        for job, page_key in zip(jobs, keys, strict=True)
        if not writer.reuse((job.output,), page_key)
    ]
    counter = _Progress(len(tasks), progress)
    spent = render_into(writer, tasks, workers, counter.tick, check)
    timings["render+search"] = time.perf_counter() - started
    timings.update({f"{kind} (cpu)": round(seconds, 3) for kind, seconds in sorted(spent.items())})
    writer.put(".nojekyll", b"")
    for asset in assets.values():
        writer.put(asset.output, asset.data)
    return len(jobs)


def input_fingerprint(site_dir: Path, config: Config, extra: str) -> str:
    """Cheap to compute: names, sizes and modification times of every file a build reads."""
    digest = hashlib.blake2b(f"{__version__}|{config!r}|{extra}".encode(), digest_size=16)
    roots = [site_dir / "content", site_dir / "templates", site_dir / "static", default_dir("templates"), default_dir("static")]
    files = [site_dir / "digestgen.yaml"]
    taxonomy = taxonomy_file(site_dir, config)
    if taxonomy is not None:
        files.append(taxonomy)
    for root in roots:
        if root.is_dir():
            files += sorted(p for p in root.rglob("*"))
    for path in files:
        try:
            info = path.stat()
        except OSError:
            continue
        digest.update(f"{path}|{info.st_size}|{info.st_mtime_ns}\0".encode())
    return digest.hexdigest()


def _unchanged(out: Path, fingerprint: str) -> dict | None:
    """The previous manifest when the inputs are exactly as they were and every output is still there."""
    manifest = read_manifest(out)
    if manifest.get("inputs") != fingerprint or not manifest.get("counts"):
        return None
    if not all((out / path).is_file() for path in manifest["files"]):
        return None
    return manifest


def default_workers() -> int:
    """Rendering processes: DIGESTGEN_JOBS when set to a number, else one per core (at most 8)."""
    wanted = os.environ.get("DIGESTGEN_JOBS", "")
    if wanted.isdigit() and int(wanted) > 0:
        return int(wanted)
    return min(os.cpu_count() or 1, 8)


def build_site(
    site_dir: Path,
    out: Path | None = None,
    base_url: str | None = None,
    warn: Warn = lambda message: None,
    progress: bool = False,
    extra_scripts: tuple[str, ...] = (),
    force: bool = False,
    workers: int | None = None,
    cache: BuildCache | None = None,
    defer_search: bool = False,
    private_output: bool = False,
    check: Callable[[], None] = lambda: None,
    changed: list[str] | None = None,
) -> BuildResult:
    """Load, tag, render and write a site; nothing is replaced unless every stage succeeds.

    Pages whose inputs did not change are reused from the previous build, and a build whose
    inputs did not change at all stops after checking them; `force` makes everything again.
    `workers` processes are forked (default: one per core). A multi-threaded caller such as
    `serve` passes 1, keeps a `cache` between builds, and may `defer_search`: keep the previous
    search files, feeds, sitemap and papers.json, possibly stale, so that changed pages appear
    sooner (a following build brings them up to date). `private_output` says that only the caller
    writes `out` and only after a change: the no-op check and the search for other programs'
    files are skipped. `check` is called between pieces of work and may raise (serve's
    errors.Superseded) to give the build up; nothing is then written. With a `cache`, `changed`
    lists the source paths a watcher saw change since the last build that succeeded; only those
    content files are looked at again.
    """
    started = time.perf_counter()
    config, warnings = load_config(site_dir, base_url)
    for message in warnings:
        warn(message)
    out = out if out is not None else site_dir / "_site"
    check_output_dir(out, site_dir)
    fingerprint = "" if private_output else input_fingerprint(site_dir, config, repr(extra_scripts))
    previous = None if force or private_output else _unchanged(out, fingerprint)
    if previous is not None:
        counts = {**previous["counts"], "changed": 0, "rendered": 0}
        return BuildResult(out, config, counts, time.perf_counter() - started)
    timings: dict[str, float] = {}
    if cache is None:
        started_load = time.perf_counter()
        cache = prefilled_cache(site_dir, config, workers or default_workers())
        timings["load+tag (parallel)"] = time.perf_counter() - started_load
    site = load_and_tag(site_dir, config, timings, cache, changed)
    site = related.relate_site(site, out, force, timings)  # issue 19: related papers; their state is kept beside `out`
    for message in [*site.warnings, *common_tag_warnings(site)]:
        warn(message)
    known = None
    if cache is not None and private_output and cache.manifest is not None and cache.manifest[0] == out.resolve():
        known = cache.manifest[1]
    inputs = "" if defer_search else fingerprint
    with SiteWriter(out, inputs, trust_previous=not force, private=private_output, known=known) as writer:
        pages = render_site(
            site_dir, site, writer, timings, progress=progress, extra_scripts=extra_scripts,
            workers=workers or default_workers(), defer_search=defer_search, cache=cache, check=check,
        )
        write_started = time.perf_counter()
        counts = {"papers": len(site.papers), "digests": len(site.digests), "tags": len(site.tags), "pages": pages,
                  "files": len(writer.placed), "rendered": writer.rendered, "search_deferred": writer.kept_stale}
        if cache is not None:
            cache.manifest = None  # until the commit below has finished
        counts["changed"] = writer.commit(counts)
        if cache is not None and private_output:
            cache.manifest = (out.resolve(), writer.files)
        timings["write"] = time.perf_counter() - write_started
    return BuildResult(out, config, counts, time.perf_counter() - started, timings, site)
