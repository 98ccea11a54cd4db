"""The one place that decides every URL and output path of a built site."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import quote, urlsplit

FEED = "feed.xml"
SITEMAP = "sitemap.xml"
ROBOTS = "robots.txt"
PAPERS_JSON = "papers.json"
NOT_FOUND = "404.html"
_URL_SAFE = re.compile(r"[A-Za-z0-9/._~-]*")  # what quote(..., safe="/.-_~") leaves as it is


@dataclass(frozen=True)
class Urls:
    """Site-relative URL paths (under the base path) and absolute URLs for one base_url."""

    base_url: str  # absolute, ends with '/'

    @cached_property  # asked for every link of every page
    def base_path(self) -> str:
        path = urlsplit(self.base_url).path or "/"
        return path if path.endswith("/") else path + "/"

    def path(self, relative: str) -> str:
        """URL path for a site-relative location ('' is the home page)."""
        if _URL_SAFE.fullmatch(relative):
            return self.base_path + relative
        return self.base_path + quote(relative, safe="/.-_~")

    @cached_property
    def origin(self) -> str:
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    def absolute(self, relative: str) -> str:
        return self.origin + self.path(relative)


def home() -> str:
    return ""


def digest(date: dt.date, page: int = 1) -> str:
    path = f"{date.year:04d}/{date.month:02d}/{date.day:02d}/"
    return path if page == 1 else f"{path}page/{page}/"


def paper(slug: str) -> str:
    return f"papers/{slug}/"


def tags_index() -> str:
    return "tags/"


def _listed(kind: str, slug: str, page: int) -> str:
    """A tag's, an author's or an organization's page `page` (the first has no page/ part)."""
    return f"{kind}/{slug}/" if page == 1 else f"{kind}/{slug}/page/{page}/"


def tag(slug: str, page: int = 1) -> str:
    return _listed("tags", slug, page)


def tag_feed(slug: str) -> str:
    return f"tags/{slug}/{FEED}"


def authors_index() -> str:
    return "authors/"


def author(slug: str, page: int = 1) -> str:
    return _listed("authors", slug, page)


def author_feed(slug: str) -> str:
    return f"authors/{slug}/{FEED}"


def orgs_index() -> str:
    return "orgs/"


def org(slug: str, page: int = 1) -> str:
    return _listed("orgs", slug, page)


def org_feed(slug: str) -> str:
    return f"orgs/{slug}/{FEED}"


def search_query(text: str) -> str:
    """The query string that makes the search page look for `text`: append to the search page's path."""
    return f"?q={quote(text, safe='')}"


def archive() -> str:
    return "archive/"


def search() -> str:
    return "search/"


def trends() -> str:
    return "trends/"


def asset(name: str) -> str:
    return f"assets/{name}"


def output_file(relative: str) -> str:
    """The file that serves a site-relative URL: folders get index.html."""
    return relative + "index.html" if relative == "" or relative.endswith("/") else relative
