"""Render planned pages with Jinja2: autoescaped, strict about undefined names."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Iterable

import jinja2

from digestgen import urls
from digestgen.errors import DigestgenError
from digestgen.output import Placed, SiteWriter, place
from digestgen.pages import PageJob
from digestgen.theme import CSP, Asset, default_dir
from digestgen.urls import Urls


def make_environment(site_templates: Path) -> jinja2.Environment:
    """The site's templates win over the default theme's; 'default/base.html' names the theme's own."""
    default = jinja2.FileSystemLoader(str(default_dir("templates")))
    loader = jinja2.ChoiceLoader(
        [jinja2.PrefixLoader({"default": default}), jinja2.FileSystemLoader(str(site_templates)), default]
    )
    return jinja2.Environment(
        loader=loader,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def site_globals(config: Any, links: Urls, assets: dict[str, Asset], extra_scripts: tuple[str, ...] = ()) -> dict[str, Any]:
    def asset(name: str) -> str:
        if name not in assets:
            raise DigestgenError(f"a template asks for the asset {name!r}, which no static folder has")
        return links.path(assets[name].output)

    def url(relative: str = "") -> str:
        return links.path(relative)

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
        "extra_scripts": list(extra_scripts),
    }


def render_page(env: jinja2.Environment, job: PageJob, globals_: dict[str, Any]) -> bytes:
    """One page's bytes; a template error becomes a one-line DigestgenError naming the template."""
    try:
        template = env.get_template(job.template)
        page = {"title": job.title, "url": job.url, "path": globals_["url"](job.url)}
        html = template.render(**globals_, page=page, **job.make_context())
    except jinja2.TemplateSyntaxError as exc:
        raise DigestgenError(f"template syntax error: {exc.message}", path=exc.filename or exc.name, line=exc.lineno) from None
    except jinja2.TemplateNotFound as exc:
        raise DigestgenError(f"template {exc.name!r} not found (needed for {job.output})") from None
    except jinja2.UndefinedError as exc:
        raise DigestgenError(f"template {job.template} uses an undefined value: {exc.message}") from None
    return html.encode("utf-8")


def render_pages(
    env: jinja2.Environment,
    jobs: Iterable[PageJob],
    globals_: dict[str, Any],
    tick: Callable[[], None] = lambda: None,
) -> list[tuple[str, bytes]]:
    """(output path, bytes) for each page, in order."""
    rendered = []
    for job in jobs:
        rendered.append((job.output, render_page(env, job, globals_)))
        tick()
    return rendered


def render_into(
    writer: SiteWriter,
    env: jinja2.Environment,
    jobs: list[tuple[PageJob, str | None]],
    globals_: dict[str, Any],
    workers: int = 1,
    tick: Callable[[], None] = lambda: None,
) -> int:
    """Render (job, key) pairs into the writer, reusing unchanged pages; return how many were rendered."""
    todo = []
    for job, key in jobs:
        if writer.reuse(job.output, key):
            tick()
        else:
            todo.append((job, key))
    if workers > 1 and len(todo) >= PARALLEL_THRESHOLD:
        _render_forked(writer, env, todo, globals_, workers, tick)
    else:
        for job, key in todo:
            writer.put(job.output, render_page(env, job, globals_), key)
            tick()
    return len(todo)


PARALLEL_THRESHOLD = 100  # below this, forking costs more than it saves


def _render_forked(
    writer: SiteWriter,
    env: jinja2.Environment,
    todo: list[tuple[PageJob, str | None]],
    globals_: dict[str, Any],
    workers: int,
    tick: Callable[[], None],
) -> None:
    """Render in forked children that share the loaded site; each sends back one line per page."""
    for job, _ in todo:
        writer._claim(job.output)
    children = []
    for worker in range(workers):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: render every workers-th page, report, and leave without cleanup
            os.close(read_end)
            os._exit(_child(writer, env, todo[worker::workers], globals_, write_end))
        os.close(write_end)
        children.append((pid, os.fdopen(read_end, "r", encoding="utf-8")))
    errors = []
    for pid, stream in children:
        for line in stream:
            record = json.loads(line)
            if "error" in record:
                errors.append(record["error"])
            else:
                writer.record(Placed(record["path"], record["sha256"], record["key"], record["written"]))
                tick()
        stream.close()
        os.waitpid(pid, 0)
    if errors:
        raise DigestgenError(errors[0])
    missing = [job.output for job, _ in todo if job.output not in writer.placed]
    if missing:
        raise DigestgenError(f"a rendering process stopped before writing {missing[0]}")


def _child(
    writer: SiteWriter, env: jinja2.Environment, share: list[tuple[PageJob, str | None]], globals_: dict[str, Any], fd: int
) -> int:
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        try:
            for job, key in share:
                data = render_page(env, job, globals_)
                placed = place(writer.staging, writer.out, writer.old.get(job.output, {}), job.output, data, key)
                out.write(json.dumps({"path": placed.path, "sha256": placed.sha256, "key": placed.key, "written": placed.written}) + "\n")
        except DigestgenError as exc:
            out.write(json.dumps({"error": str(exc)}) + "\n")
            return 1
        except BaseException as exc:  # a bug in a child must still reach the parent as one line
            out.write(json.dumps({"error": f"internal error while rendering: {type(exc).__name__}: {exc}"}) + "\n")
            return 1
    return 0
