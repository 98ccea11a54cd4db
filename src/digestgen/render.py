"""Render planned pages with Jinja2: autoescaped, strict about undefined names."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable

import jinja2

from digestgen import urls
from digestgen.errors import DigestgenError
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


def render_pages(
    env: jinja2.Environment,
    jobs: Iterable[PageJob],
    globals_: dict[str, Any],
    tick: Callable[[], None] = lambda: None,
) -> list[tuple[str, bytes]]:
    """(output path, bytes) for each page; a template error names the template and line."""
    rendered = []
    for job in jobs:
        try:
            template = env.get_template(job.template)
            html = template.render(**globals_, page={"title": job.title, "url": job.url, "path": globals_["url"](job.url)}, **job.context)
        except jinja2.TemplateSyntaxError as exc:
            raise DigestgenError(f"template syntax error: {exc.message}", path=exc.filename or exc.name, line=exc.lineno) from None
        except jinja2.TemplateNotFound as exc:
            raise DigestgenError(f"template {exc.name!r} not found (needed for {job.output})") from None
        except jinja2.UndefinedError as exc:
            raise DigestgenError(f"template {job.template} uses an undefined value: {exc.message}") from None
        rendered.append((job.output, html.encode("utf-8")))
        tick()
    return rendered
