"""`digestgen build`: the one function that knows the order of the stages."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from digestgen import feeds, urls
from digestgen.config import Config, load_config
from digestgen.load import load_site
from digestgen.model import Site
from digestgen.output import check_output_dir, write_site
from digestgen.pages import check_unique, plan_pages
from digestgen.render import make_environment, render_pages, site_globals
from digestgen.search import search_outputs
from digestgen.tagstage import load_taxonomy, tag_site
from digestgen.theme import collect_assets
from digestgen.urls import Urls
from digestgen.views import markdown_renderer

Warn = Callable[[str], None]


@dataclass(frozen=True)
class BuildResult:
    site: Site
    out: Path
    pages: int
    files: int
    changed: int
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        return (
            f"built {self.pages} pages ({len(self.site.papers)} papers, {len(self.site.digests)} digests, "
            f"{len(self.site.tags)} tags) into {self.out} in {self.seconds:.2f} s; {self.changed} files changed"
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


def load_and_tag(site_dir: Path, config: Config, timings: dict[str, float]) -> Site:
    started = time.perf_counter()
    site = load_site(site_dir, config)
    timings["load"] = time.perf_counter() - started
    started = time.perf_counter()
    site = tag_site(site, load_taxonomy(site_dir, config))
    timings["tag"] = time.perf_counter() - started
    return site


def render_site(
    site_dir: Path,
    site: Site,
    timings: dict[str, float],
    progress: bool = False,
    extra_scripts: tuple[str, ...] = (),
) -> tuple[dict[str, bytes], int]:
    """Every output file of the site, by site-relative path, and the number of HTML pages."""
    links = Urls(site.config.base_url)
    assets = collect_assets(site_dir / "static")
    started = time.perf_counter()
    jobs = plan_pages(site, links, markdown_renderer())
    env = make_environment(site_dir / "templates")
    counter = _Progress(len(jobs), progress)
    outputs = render_pages(env, jobs, site_globals(site.config, links, assets, extra_scripts), counter.tick)
    timings["render"] = time.perf_counter() - started
    started = time.perf_counter()
    outputs += search_outputs(site)
    timings["search"] = time.perf_counter() - started
    outputs += feeds.all_feeds(site, links)
    outputs += [
        (urls.SITEMAP, feeds.sitemap(links, [j.url for j in jobs if j.url != urls.NOT_FOUND])),
        (urls.ROBOTS, feeds.robots(links)),
        (urls.PAPERS_JSON, feeds.papers_json(site, links)),
        (".nojekyll", b""),
    ]
    outputs += [(asset.output, asset.data) for asset in assets.values()]
    check_unique([path for path, _ in outputs])
    return dict(outputs), len(jobs)


def build_site(
    site_dir: Path,
    out: Path | None = None,
    base_url: str | None = None,
    warn: Warn = lambda message: None,
    progress: bool = False,
    extra_scripts: tuple[str, ...] = (),
) -> BuildResult:
    """Load, tag, render and write a site; nothing is written unless every stage succeeds."""
    started = time.perf_counter()
    config, warnings = load_config(site_dir, base_url)
    for message in warnings:
        warn(message)
    out = out if out is not None else site_dir / "_site"
    check_output_dir(out, site_dir)
    timings: dict[str, float] = {}
    site = load_and_tag(site_dir, config, timings)
    files, pages = render_site(site_dir, site, timings, progress, extra_scripts)
    write_started = time.perf_counter()
    changed = write_site(out, files)
    timings["write"] = time.perf_counter() - write_started
    return BuildResult(site, out, pages, len(files), changed, time.perf_counter() - started, timings)
