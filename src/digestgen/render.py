"""Render planned pages with Jinja2: autoescaped, strict about undefined names."""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
import selectors
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import jinja2

from digestgen import urls
from digestgen.errors import DigestgenError
from digestgen.output import Placed, SiteWriter, place
from digestgen.pages import PageJob
from digestgen.theme import CSP, Asset, default_dir
from digestgen.urls import Urls
from digestgen.words import plural


def make_environment(site_templates: Path) -> jinja2.Environment:
    """The site's templates win over the default theme's; 'default/base.html' names the theme's own."""
    default = jinja2.FileSystemLoader(str(default_dir("templates")))
    loader = jinja2.ChoiceLoader(
        [jinja2.PrefixLoader({"default": default}), jinja2.FileSystemLoader(str(site_templates)), default]
    )
    env = jinja2.Environment(
        loader=loader,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["plural"] = plural  # {{ n | plural("paper") }} → "1 paper", "2 papers"
    return env


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


def render_page(env: jinja2.Environment, job: PageJob, globals_: dict[str, Any]) -> bytes:
    """One page's bytes; a template error becomes a one-line DigestgenError naming the template."""
    try:
        template = env.get_template(job.template)
        page = {"title": job.title, "url": job.url, "path": globals_["url"](job.url), "description": job.description}
        html = template.render(**globals_, page=page, **job.make_context())
    except jinja2.TemplateSyntaxError as exc:
        raise DigestgenError(f"template syntax error: {exc.message}", path=exc.filename or exc.name, line=exc.lineno) from None
    except jinja2.TemplateNotFound as exc:
        raise DigestgenError(f"template {exc.name!r} not found (needed for {job.output})") from None
    except jinja2.UndefinedError as exc:
        raise DigestgenError(f"template {job.template} uses an undefined value: {exc.message}") from None
    except jinja2.TemplateError as exc:
        raise DigestgenError(f"template {job.template} failed: {exc}") from None
    return html.encode("utf-8")


@dataclass(frozen=True)
class Task:
    """Output files made together: their paths, the key of their inputs, and how to make them."""

    paths: tuple[str, ...]
    key: str | None
    make: Callable[[], dict[str, bytes]]  # path -> bytes, for exactly `paths`
    kind: str = "page"


def page_task(env: jinja2.Environment, job: PageJob, key: str | None, globals_: dict[str, Any]) -> Task:
    return Task((job.output,), key, lambda: {job.output: render_page(env, job, globals_)})


def _made(task: Task) -> dict[str, bytes]:
    files = task.make()
    if set(files) != set(task.paths):
        raise DigestgenError(f"internal error: a task promised {sorted(task.paths)[:3]} but made {sorted(files)[:3]}")
    return files


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
        for path, data in _made(task).items():
            writer.put(path, data, task.key)
        spent[task.kind] = spent.get(task.kind, 0.0) + time.perf_counter() - started
        tick()
    return spent


PARALLEL_THRESHOLD = 100  # below this, forking costs more than it saves


def quiet_collector() -> None:
    """In a short-lived forked worker: no cyclic garbage collection.

    Rendering and loading leave no reference cycles (measured: none in thousands of pages), while
    each collection walks the inherited site and touches its memory, which then gets copied.
    """
    gc.freeze()
    gc.disable()


def _make_forked(writer: SiteWriter, todo: list[Task], workers: int, tick: Callable[[], None]) -> dict[str, float]:
    """Make tasks in forked children that share the loaded site.

    Children take the next task from a shared counter, so a long task (the search index) does not
    hold up the others, and each reports one line per file; the parent reads all pipes as they come.
    """
    for task in todo:
        for path in task.paths:
            writer._claim(path)
    counter = multiprocessing.get_context("fork").Value("i", 0)
    streams: dict[int, tuple[int, Any]] = {}
    for _ in range(min(workers, len(todo))):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: work, report, and leave without running the parent's cleanup
            os.close(read_end)
            quiet_collector()
            os._exit(_child(writer, todo, counter, write_end))
        os.close(write_end)
        streams[read_end] = (pid, os.fdopen(read_end, "r", encoding="utf-8"))
    spent: dict[str, float] = {}
    errors = _collect(writer, streams, spent, tick)
    if errors:
        raise DigestgenError(errors[0])
    missing = [path for task in todo for path in task.paths if path not in writer.placed]
    if missing:
        raise DigestgenError(f"a rendering process stopped before writing {missing[0]}")
    return spent


def _collect(writer: SiteWriter, streams: dict[int, tuple[int, Any]], spent: dict[str, float], tick: Callable[[], None]) -> list[str]:
    errors: list[str] = []
    with selectors.DefaultSelector() as selector:
        for fd, (_, stream) in streams.items():
            selector.register(stream, selectors.EVENT_READ)
        while selector.get_map():
            for selected, _ in selector.select():
                line = selected.fileobj.readline()
                if not line:
                    selector.unregister(selected.fileobj)
                    continue
                record = json.loads(line)
                if "error" in record:
                    errors.append(record["error"])
                    continue
                writer.record(Placed(record["path"], record["sha256"], record["key"], record["written"]))
                spent[record["kind"]] = spent.get(record["kind"], 0.0) + record["seconds"]
                if record["last"]:
                    tick()
    for pid, stream in streams.values():
        stream.close()
        os.waitpid(pid, 0)
    return errors


def _child(writer: SiteWriter, todo: list[Task], counter: Any, fd: int) -> int:
    with os.fdopen(fd, "w", encoding="utf-8", buffering=1) as out:
        try:
            while True:
                with counter.get_lock():
                    index = counter.value
                    counter.value += 1
                if index >= len(todo):
                    return 0
                task = todo[index]
                started = time.perf_counter()
                files = _made(task)
                for number, (path, data) in enumerate(sorted(files.items())):
                    placed = place(writer.staging, writer.out, writer.old.get(path, {}), path, data, task.key, not writer.trust_previous)
                    seconds = time.perf_counter() - started if number == 0 else 0.0
                    record = {"path": placed.path, "sha256": placed.sha256, "key": placed.key, "written": placed.written,
                              "kind": task.kind, "seconds": seconds, "last": number == len(files) - 1}
                    out.write(json.dumps(record) + "\n")
        except DigestgenError as exc:
            out.write(json.dumps({"error": str(exc)}) + "\n")
            return 1
        except BaseException as exc:  # a bug in a child must still reach the parent as one line
            out.write(json.dumps({"error": f"internal error while rendering: {type(exc).__name__}: {exc}"}) + "\n")
            return 1
