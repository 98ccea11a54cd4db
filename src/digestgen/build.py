"""`digestgen build`: the one function that knows the order of the stages.

configure -> (nothing changed? stop) -> load and tag -> relate -> plan and render -> write. What
is kept between builds, and the keys that decide what may be reused, live in `incremental`.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from digestgen import feeds, related, urls
from digestgen.config import Config, load_config
from digestgen.incremental import (
    BuildCache,
    PageKeys,
    cards_key,
    content_key,
    environment_of,
    input_fingerprint,
    prefilled_cache,
    site_key,
    taxonomy_of,
    unchanged,
)
from digestgen.load import load_site
from digestgen.model import Site
from digestgen.output import SiteWriter, check_output_dir
from digestgen.pages import PageJob, page_keys, plan_pages
from digestgen.people import People, site_people
from digestgen.render import Task, card_fragments, page_task, render_into, site_globals
from digestgen.search import search_groups
from digestgen.tagstage import common_tag_warnings, tag_site
from digestgen.theme import collect_assets
from digestgen.urls import Urls
from digestgen.views import markdown_renderer
from digestgen.words import plural

Warn = Callable[[str], None]


@dataclass(frozen=True)
class BuildOptions:
    """How to build: where to, for which base URL, and how."""

    out: Path | None = None  # default: the site's _site/
    base_url: str | None = None  # default: the configuration's
    force: bool = False  # make every file again, whatever the manifest says
    progress: bool = False  # a counter on the terminal for long builds
    workers: int | None = None  # forked processes; default: one per core (a threaded caller passes 1)
    extra_scripts: tuple[str, ...] = ()  # script URLs every page loads besides the theme's (serve's)
    # Only the caller writes `out`, and only after a change (serve): the no-op check and the search
    # for other programs' files are skipped.
    private: bool = False


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


def build_site(
    site_dir: Path, options: BuildOptions | None = None, warn: Warn = lambda message: None, **choices: Any
) -> BuildResult:
    """Load, tag, render and write a site; nothing is replaced unless every stage succeeds.

    Pages whose inputs did not change are reused from the previous build, and a build whose inputs
    did not change at all stops after checking them. `choices` are BuildOptions fields, e.g.
    build_site(site, out=folder, force=True). A long-lived caller holds an incremental.Session
    instead, which builds with what it keeps.
    """
    return build_with(site_dir, replace(options or BuildOptions(), **choices), warn)


def build_with(
    site_dir: Path, options: BuildOptions, warn: Warn, cache: BuildCache | None = None,
    changed: list[str] | None = None, defer_search: bool = False, check: Callable[[], None] = lambda: None,
    config: Config | None = None,
) -> BuildResult:
    """The stages in their order. With a `cache` (a Session's), `changed` names the content files to
    read again (None: all) and `defer_search` may keep the previous site-wide files; `check` may
    raise between pieces of work to give the build up. `config`: the site's, when the caller has
    already read it for these options (with `configure`), so that it is read once a build."""
    started, timings = time.perf_counter(), {}
    config = config or configure(site_dir, options, warn)
    out = options.out if options.out is not None else site_dir / "_site"
    check_output_dir(out, site_dir)
    fingerprint = "" if options.private else input_fingerprint(site_dir, config, repr(options.extra_scripts))
    previous = None if options.force or options.private else unchanged(out, fingerprint)
    if previous is not None:
        counts = {**previous["counts"], "changed": 0, "rendered": 0}
        return BuildResult(out, config, counts, time.perf_counter() - started)
    workers = options.workers or default_workers()
    if cache is None:
        cache = _timed(timings, "load+tag (parallel)", lambda: prefilled_cache(site_dir, config, workers))
    site = load_and_tag(site_dir, config, timings, cache, changed)
    site = related.relate_site(site, out, options.force, timings, workers)  # their state is kept beside `out`
    for message in [*site.warnings, *common_tag_warnings(site)]:
        warn(message)
    kept = cache.manifest if cache is not None and options.private else None
    known = kept[1] if kept is not None and kept[0] == out.resolve() else None
    inputs = "" if defer_search else fingerprint
    with SiteWriter(out, inputs, trust_previous=not options.force, private=options.private, known=known) as writer:
        pages = render_site(site_dir, site, writer, timings, options, workers, cache, defer_search, check)
        counts = {"papers": len(site.papers), "digests": len(site.digests), "tags": len(site.tags), "pages": pages,
                  "files": len(writer.placed), "rendered": writer.rendered, "search_deferred": writer.kept_stale}
        write_started = time.perf_counter()
        if cache is not None:
            cache.manifest = None  # until the commit below has finished
        counts["changed"] = writer.commit(counts)
        if cache is not None and options.private:
            cache.manifest = (out.resolve(), writer.files)
        timings["write"] = time.perf_counter() - write_started
    return BuildResult(out, config, counts, time.perf_counter() - started, timings, site)


def configure(site_dir: Path, options: BuildOptions, warn: Warn) -> Config:
    config, warnings = load_config(site_dir, options.base_url)
    for message in warnings:
        warn(message)
    return config


def default_workers() -> int:
    """Rendering processes: DIGESTGEN_JOBS when set to a number, else one per core (at most 8)."""
    wanted = os.environ.get("DIGESTGEN_JOBS", "")
    if wanted.isdigit() and int(wanted) > 0:
        return int(wanted)
    return min(os.cpu_count() or 1, 8)


def _timed(timings: dict[str, float], name: str, work: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    value = work()
    timings[name] = time.perf_counter() - started
    return value


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


def _site_wide_outputs(
    site: Site, links: Urls, jobs: list[PageJob], people: People
) -> list[tuple[str, Callable[[], bytes]]]:
    """Outputs built from every paper, each made only when its inputs changed."""
    entries = feeds.FeedEntries(links)  # each paper's entry serialized once for all the feeds listing it
    order = feeds.FeedOrder(site)  # the digests read once for all the tag, author and organization feeds
    outputs: list[tuple[str, Callable[[], bytes]]] = [
        (urls.FEED, lambda: feeds.site_feed(site, links, entries)),
        *[(urls.tag_feed(t.slug), lambda t=t: feeds.tag_feed(site, links, t, entries, order)) for t in site.tags],
        *feeds.group_feeds(site, links, people, entries, order),
        (urls.SITEMAP, lambda: feeds.sitemap(links, [j.url for j in jobs if j.url != urls.NOT_FOUND])),
        (urls.ROBOTS, lambda: feeds.robots(links)),
        (urls.PAPERS_JSON, lambda: feeds.papers_json(site, links)),
    ]
    return outputs




@dataclass(frozen=True)
class SitePlan:
    """Every output of a site, planned but not yet made, with what rendering and keying them needs."""

    env: Any  # jinja2.Environment (incremental's, kept by a Session)
    globals: dict[str, Any]
    assets: dict[str, Any]  # name -> theme.Asset
    jobs: list[PageJob]
    cores: list[str | None]  # each page's key before what it loads (incremental.PageKeys)
    keys: PageKeys
    site_wide: list[Task]  # search files, feeds, sitemap, robots.txt, papers.json


def plan_site(
    site_dir: Path, site: Site, extra_scripts: tuple[str, ...], cache: BuildCache | None = None,
    check: Callable[[], None] = lambda: None,
) -> SitePlan:
    """The pages and site-wide outputs of `site`, each with its key (tests/test_keys.py audits them)."""
    links = Urls(site.config.base_url)
    assets = collect_assets(site_dir / "static")
    env = environment_of(site_dir, cache)
    globals_ = site_globals(site.config, links, assets, extra_scripts)
    key = site_key(site_dir, site, extra_scripts)
    cards = cards_key(key, env, assets)
    people = site_people(site, site.config.author_pages.min_papers)  # for the pages and the feeds alike
    known_cards = cache.cards_for(cards) if cache is not None else None
    jobs = plan_pages(site, links, markdown_renderer(), card_fragments(env, globals_), known_cards, people)
    every_paper = content_key(key, site)
    # The longest task first: workers take tasks in order, so the search index starts at once.
    site_wide = [Task(paths, f"{every_paper}:{paths[0]}", make, "search") for paths, make in search_groups(site, check)]
    site_wide += [
        Task((path,), f"{every_paper}:{path}", lambda path=path, make=make: {path: make()}, "feeds")
        for path, make in _site_wide_outputs(site, links, jobs, people)
    ]
    cores = page_keys(jobs, key, dict(site.papers), cache.page_keys if cache is not None else None, cards)
    return SitePlan(env, globals_, assets, jobs, cores, PageKeys(env, assets), site_wide)


def render_site(
    site_dir: Path, site: Site, writer: SiteWriter, timings: dict[str, float], options: BuildOptions, workers: int,
    cache: BuildCache | None, defer_search: bool, check: Callable[[], None],
) -> int:
    """Render every output of the site that changed into `writer`; return the number of HTML pages."""
    # The loaded site is millions of objects that live until the build ends: left in the collector's
    # generations, every full collection while pages are made walks all of them (a sixth of the
    # rendering time at 10,000 papers). Frozen, they are skipped; forked workers inherit that.
    # The young generations are collected first: cycles left there by the last build would otherwise be
    # frozen with the site and, once unfrozen, wait in the oldest generation, so a Session grew build by build.
    gc.collect(1)
    gc.freeze()
    try:
        return _render_site(site_dir, site, writer, timings, options, workers, cache, defer_search, check)
    finally:
        gc.unfreeze()  # a Session's later builds may drop this site


def _render_site(
    site_dir: Path, site: Site, writer: SiteWriter, timings: dict[str, float], options: BuildOptions, workers: int,
    cache: BuildCache | None, defer_search: bool, check: Callable[[], None],
) -> int:
    started = time.perf_counter()
    plan = plan_site(site_dir, site, options.extra_scripts, cache, check)
    tasks = [task for task in plan.site_wide if not (defer_search and writer.keep_previous(task.paths))]
    keys = plan.keys
    # Unchanged pages are kept here, before any task is made for them: most pages, after an edit.
    for job, core in zip(plan.jobs, plan.cores, strict=True):
        if not writer.reuse((job.output,), keys.now(core, writer.old.get(job.output, {}).get("key"))):
            tasks.append(page_task(plan.env, job, plan.globals, keyed=lambda reads, core=core: keys.after(core, reads)))
    counter = _Progress(len(tasks), options.progress)
    spent = render_into(writer, tasks, workers, counter.tick, check)
    timings["render+search"] = time.perf_counter() - started
    timings.update({f"{kind} (cpu)": round(seconds, 3) for kind, seconds in sorted(spent.items())})
    writer.put(".nojekyll", b"")
    for asset in plan.assets.values():
        writer.put(asset.output, asset.data)
    return len(plan.jobs)
