"""Render planned pages with Jinja2: autoescaped, strict about undefined names."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import jinja2

from digestgen import urls
from digestgen.errors import DigestgenError
from digestgen.forkpool import run_forked
from digestgen.output import Placed, SiteWriter, place
from digestgen.pages import PageJob
from digestgen.theme import CSP, Asset, default_dir
from digestgen.urls import Urls
from digestgen.words import plural


@dataclass
class Reads:
    """The collector of one page: the template and asset names it loaded while it was rendered."""

    templates: set[str] = field(default_factory=set)
    assets: set[str] = field(default_factory=set)


_DICT_ATTRIBUTES = frozenset(dir(dict))


class RecordingEnvironment(jinja2.Environment):
    """Jinja2's environment that notes in the collector handed to `reading` every template a page
    loads: its own, its `{% extends %}`, imports and includes, compiled or taken from the cache."""

    reads: Reads | None = None

    def getattr(self, obj: Any, attribute: str) -> Any:
        # Views are plain dicts: `{{ paper.title }}` would first fail getattr (an AttributeError made and
        # caught, 3 million times a build) before the item is looked up. A name that no dict attribute has
        # is an item or nothing (undefined), as Jinja2 itself would find, without its two failed look-ups.
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)

    def reading(self, reads: Reads | None) -> "_Reading":
        return _Reading(self, reads)

    def get_template(self, name: Any, parent: Any = None, globals: Any = None) -> jinja2.Template:
        if self.reads is not None and isinstance(name, str):
            self.reads.templates.add(self.join_path(name, parent) if parent is not None else name)
        return super().get_template(name, parent, globals)

    def select_template(self, names: Any, parent: Any = None, globals: Any = None) -> jinja2.Template:
        if self.reads is not None:  # every candidate: which of them exists decides the page
            self.reads.templates.update(n for n in names if isinstance(n, str))
        return super().select_template(names, parent, globals)


class _Reading:
    """`with env.reading(reads):` one page's render, what it loads noted in `reads`."""

    def __init__(self, env: RecordingEnvironment, reads: Reads | None):
        self.env, self.reads = env, reads

    def __enter__(self) -> None:
        self.env.reads = self.reads

    def __exit__(self, *exc_info: object) -> None:
        self.env.reads = None


def make_environment(site_templates: Path) -> RecordingEnvironment:
    """The site's templates win over the default theme's; 'default/base.html' names the theme's own."""
    default = jinja2.FileSystemLoader(str(default_dir("templates")))
    loader = jinja2.ChoiceLoader(
        [jinja2.PrefixLoader({"default": default}), jinja2.FileSystemLoader(str(site_templates)), default]
    )
    env = RecordingEnvironment(
        loader=loader,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        # No stat of every template file at every page: an environment lives for one build, or while
        # incremental.templates_digest (every template's bytes) stays the same (a kept one, in serve).
        auto_reload=False,
    )
    env.filters["plural"] = plural  # {{ n | plural("paper") }} → "1 paper", "2 papers"
    return env


NAV = (("archive/", "Archive"), ("tags/", "Tags"), ("trends/", "Trends"), ("search/", "Search"))  # the header's links


def site_globals(config: Any, links: Urls, assets: dict[str, Asset], extra_scripts: tuple[str, ...] = ()) -> dict[str, Any]:
    def asset(name: str) -> str:
        if name not in assets:
            raise DigestgenError(f"a template asks for the asset {name!r}, which no static folder has")
        return links.path(assets[name].output)

    def url(relative: str = "") -> str:
        return links.path(relative)

    def absolute(relative: str = "") -> str:
        return links.absolute(relative)

    return {
        "site": {
            "title": config.title,
            "description": config.description,
            "language": config.language,
            "base_path": links.base_path,
            "feed_url": links.path(urls.FEED),
            "search_url": links.path(urls.search()),
            "csp": CSP if config.csp_meta else "",
            # The addresses every page's header and footer link to, made once for the build, not per page.
            "home_url": links.path(urls.home()),
            "nav": [{"target": target, "label": label, "url": links.path(target)} for target, label in NAV],
            "authors_url": links.path(urls.authors_index()),
            "orgs_url": links.path(urls.orgs_index()),
            "papers_json_url": links.path(urls.PAPERS_JSON),
        },
        "asset": asset,
        "url": url,
        "absolute": absolute,
        "extra_scripts": list(extra_scripts),
    }


def card_fragments(env: jinja2.Environment, globals_: dict[str, Any]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Adds `card_html` and `row_html` to a paper's card, from the theme's `_macros.html`."""
    try:
        macros = env.get_template("_macros.html").make_module(globals_)
    except jinja2.TemplateError as exc:
        raise DigestgenError(f"template _macros.html failed: {exc}") from None

    def add(card: dict[str, Any]) -> dict[str, Any]:
        try:
            return {**card, "card_html": macros.paper_card(card), "row_html": macros.paper_row(card)}
        except (jinja2.TemplateError, AttributeError) as exc:
            raise DigestgenError(f"template _macros.html failed for a paper card: {exc}") from None

    return add


def recording_globals(globals_: dict[str, Any], reads: Reads) -> dict[str, Any]:
    """The site's globals with an `asset` that notes in `reads` every asset name a page asks for."""
    asset = globals_["asset"]

    def noted(name: str) -> str:
        reads.assets.add(name)
        return asset(name)

    return {**globals_, "asset": noted}


def render_page(
    env: jinja2.Environment, job: PageJob, globals_: dict[str, Any], reads: Reads | None = None,
    context: dict[str, Any] | None = None,
) -> bytes:
    """One page's bytes; a template error becomes a one-line DigestgenError naming the template.

    With `reads` (and a RecordingEnvironment), the templates and assets the page loaded are noted there.
    """
    try:
        if reads is not None:
            globals_ = recording_globals(globals_, reads)
        with _reading(env, reads):
            template = env.get_template(job.template)
            page = {"title": job.title, "url": job.url, "path": globals_["url"](job.url), "description": job.description,
                    "absolute": globals_["absolute"](job.url)}
            html = template.render(**globals_, page=page, **(context if context is not None else job.make_context()))
    except jinja2.TemplateSyntaxError as exc:
        raise DigestgenError(f"template syntax error: {exc.message}", path=exc.filename or exc.name, line=exc.lineno) from None
    except jinja2.TemplateNotFound as exc:
        raise DigestgenError(f"template {exc.name!r} not found (needed for {job.output})") from None
    except jinja2.UndefinedError as exc:
        raise DigestgenError(f"template {job.template} uses an undefined value: {exc.message}") from None
    except jinja2.TemplateError as exc:
        raise DigestgenError(f"template {job.template} failed: {exc}") from None
    return html.encode("utf-8")


def _reading(env: jinja2.Environment, reads: Reads | None) -> Any:
    return env.reading(reads) if isinstance(env, RecordingEnvironment) else contextlib.nullcontext()


@dataclass(frozen=True)
class Task:
    """Output files made together: their paths, the key of their inputs, and how to make them.

    `keyed`, when given, is called after `make` for the key to record instead: a page's key
    includes the templates and assets that rendering it loaded.
    """

    paths: tuple[str, ...]
    key: str | None
    make: Callable[[], dict[str, bytes]]  # path -> bytes, for exactly `paths`
    kind: str = "page"
    keyed: Callable[[], str | None] | None = None

    def made(self) -> tuple[dict[str, bytes], str | None]:
        """The files and the key to record for them."""
        files = self.make()
        if set(files) != set(self.paths):
            raise DigestgenError(f"internal error: a task promised {sorted(self.paths)[:3]} but made {sorted(files)[:3]}")
        return files, self.keyed() if self.keyed is not None else self.key


def page_task(env: jinja2.Environment, job: PageJob, globals_: dict[str, Any], keyed: Callable[[Reads], str | None]) -> Task:
    """A page's task: the key recorded is keyed(what the page loaded)."""
    reads = Reads()
    return Task((job.output,), None, lambda: {job.output: render_page(env, job, globals_, reads)}, keyed=lambda: keyed(reads))


def render_into(
    writer: SiteWriter, tasks: list[Task], workers: int = 1, tick: Callable[[], None] = lambda: None,
    check: Callable[[], None] = lambda: None,
) -> dict[str, float]:
    """Make every task whose output is not reusable; return seconds spent per kind of task.

    Without workers, `check` is called before each task; it may raise to give the build up.
    """
    todo = []
    for task in tasks:
        if writer.reuse(task.paths, task.key):
            tick()
        else:
            todo.append(task)
    writer.rendered += sum(task.kind == "page" for task in todo)
    if workers > 1 and len(todo) >= PARALLEL_THRESHOLD:
        return _make_forked(writer, todo, workers, tick)
    spent: dict[str, float] = {}
    for task in todo:
        check()
        started = time.perf_counter()
        files, key = task.made()
        for path, data in files.items():
            writer.put(path, data, key)
        spent[task.kind] = spent.get(task.kind, 0.0) + time.perf_counter() - started
        tick()
    return spent


PARALLEL_THRESHOLD = 100  # below this, forking costs more than it saves


@dataclass(frozen=True)
class _PlacedRecord:
    placed: Placed
    kind: str
    seconds: float
    last: bool  # the task's last file


def _make_forked(writer: SiteWriter, todo: list[Task], workers: int, tick: Callable[[], None]) -> dict[str, float]:
    """Make tasks in forked children (forkpool) that place their files themselves and report them."""
    for task in todo:
        for path in task.paths:
            writer._claim(path)
    spent: dict[str, float] = {}

    def make(task: Task) -> list[_PlacedRecord]:
        started = time.perf_counter()
        files, key = task.made()
        records = []
        for number, (path, data) in enumerate(sorted(files.items())):
            placed = place(writer.staging, writer.out, writer.old.get(path, {}), path, data, key, not writer.trust_previous)
            seconds = time.perf_counter() - started if number == 0 else 0.0
            records.append(_PlacedRecord(placed, task.kind, seconds, number == len(files) - 1))
        return records

    def received(record: _PlacedRecord) -> None:
        writer.record(record.placed)
        spent[record.kind] = spent.get(record.kind, 0.0) + record.seconds
        if record.last:
            tick()

    run_forked(todo, make, workers, received)
    missing = [path for task in todo for path in task.paths if path not in writer.placed]
    if missing:
        raise DigestgenError(f"a rendering process stopped before writing {missing[0]}")
    return spent
