"""Read a site's content/ into the immutable model, reporting every malformed file together."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

from digestgen.config import Config
from digestgen.errors import DigestgenError
from digestgen.frontmatter import YamlError, load_yaml, read_front_matter, unescape_markdown
from digestgen.ingest import DIGESTS_DIR, PAPERS_DIR
from digestgen.links import KIND_LABELS, Link
from digestgen.model import Digest, Paper, Site
from digestgen.slugs import base_slug

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


class ContentError(ValueError):
    """One problem in one file; `line` where known."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


def _date(value: Any, name: str) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ContentError(f"{name}: {value!r} is not a real date (YYYY-MM-DD)") from None


def _int(value: Any, name: str, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ContentError(f"{name}: {value!r} is not a whole number")
    return value


def _text(value: Any, name: str, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or (not optional and not value.strip()):
        raise ContentError(f"{name}: expected text, found {value!r}")
    return value


def _links(value: Any) -> tuple[Link, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ContentError("links: expected a list of {kind, url}")
    links = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("url"), str):
            raise ContentError(f"links: {item!r} is not a {{kind, url}} mapping")
        if urlsplit(item["url"]).scheme not in ("http", "https"):
            raise ContentError(f"links: only http(s) links are allowed, not {item['url']!r}")
        kind = item.get("kind", "project")
        links.append(Link(kind if isinstance(kind, str) and kind in KIND_LABELS else "project", item["url"]))
    return tuple(links)


def _tags(value: Any) -> dict[str, str]:
    """Hand-written tags: slug -> the tag as written."""
    if value is None:
        return {}
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise ContentError("tags: expected a list of words")
    tags: dict[str, str] = {}
    for text in value:
        slug = base_slug(text)
        if not slug:
            raise ContentError(f"tags: {text!r} needs at least one letter or digit")
        tags.setdefault(slug, text.strip())
    return tags


def paper_from_file(path: Path, relative: str) -> Paper:
    raw = path.read_bytes()
    text = raw.decode("utf-8")
    try:
        data, body = read_front_matter(text)
    except YamlError as exc:
        raise ContentError(str(exc), exc.line) from None
    digests = data.get("digests") or []
    if not isinstance(digests, list):
        raise ContentError("digests: expected a list of dates")
    tags = _tags(data.get("tags"))
    return Paper(
        slug=path.stem,
        title=" ".join(_text(data.get("title"), "title").split()),
        body=body,
        text=" ".join(unescape_markdown(body).split()),
        published=_date(data.get("published"), "published"),
        upvotes=_int(data.get("upvotes", 0), "upvotes") or 0,
        authors=_int(data.get("authors"), "authors", optional=True),
        organization=_text(data.get("organization"), "organization", optional=True),
        links=_links(data.get("links")),
        arxiv=_text(data.get("arxiv"), "arxiv", optional=True),
        digests=tuple(sorted({d for d in (_date(v, "digests") for v in digests) if d})),
        manual_tags=tuple(tags),
        source=relative,
        manual_labels=tuple(tags.values()),
        fingerprint=hashlib.blake2b(raw, digest_size=12).hexdigest(),
    )


def digest_from_file(path: Path) -> Digest:
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except YamlError as exc:
        raise ContentError(str(exc), exc.line) from None
    if not isinstance(data, dict):
        raise ContentError("a digest record must be a mapping with date and papers")
    date = _date(data.get("date", path.stem), "date")
    papers = data.get("papers") or []
    if not isinstance(papers, list) or not all(isinstance(p, str) for p in papers):
        raise ContentError("papers: expected a list of paper slugs")
    assert date is not None
    return Digest(date, tuple(dict.fromkeys(papers)), str(data.get("source", "")))


FileCache = dict[str, tuple[int, int, Any]]  # relative path -> (mtime_ns, size, what the file was read as)


def _content_files(folder: Path, suffix: str) -> list[os.DirEntry[str]]:
    """The files in `folder` whose names end with `suffix`, by name; hidden ones (editors' locks,
    macOS's ._ files) are not content, as serve's watcher agrees."""
    try:
        with os.scandir(folder) as entries:
            found = [e for e in entries if e.name.endswith(suffix) and not e.name.startswith(".") and e.is_file()]
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(found, key=lambda entry: entry.name)


def _cached(
    entry: os.DirEntry[str] | os.stat_result, relative: str, cache: FileCache | None, read: Callable[[], Any]
) -> Any:
    """Read a file, or reuse what an unchanged one (same size and modification time) was read as."""
    if cache is None:
        return read()
    info = entry.stat() if isinstance(entry, os.DirEntry) else entry
    hit = cache.get(relative)
    if hit and hit[0] == info.st_mtime_ns and hit[1] == info.st_size:
        return hit[2]
    value = read()
    cache[relative] = (info.st_mtime_ns, info.st_size, value)
    return value


def _read_all(
    site_dir: Path, cache: FileCache | None = None
) -> tuple[dict[str, Paper], dict[str, Digest], list[str], set[str]]:
    """Papers by slug, digests by file name, problems, and the slugs of paper files that could not be read."""
    problems: list[str] = []
    unreadable: set[str] = set()
    papers: dict[str, Paper] = {}
    digests: dict[str, Digest] = {}
    content = site_dir / "content"
    for entry in _content_files(content / PAPERS_DIR, ".md"):
        relative, slug = f"content/{PAPERS_DIR}/{entry.name}", entry.name[:-3]
        if not SLUG.fullmatch(slug):
            problems.append(f"{relative}: a paper's file name becomes its URL, so it may only use a-z, 0-9 and '-'")
            unreadable.add(slug)
            continue
        try:
            papers[slug] = _cached(entry, relative, cache, lambda e=entry, r=relative: paper_from_file(Path(e.path), r))
        except ContentError as exc:
            problems.append(f"{relative}{':' + str(exc.line) if exc.line else ''}: {exc}")
            unreadable.add(slug)
        except UnicodeDecodeError:
            problems.append(f"{relative}: not UTF-8 text")
            unreadable.add(slug)
    for entry in _content_files(content / DIGESTS_DIR, ".yaml"):
        relative = f"content/{DIGESTS_DIR}/{entry.name}"
        try:
            digests[entry.name] = _cached(entry, relative, cache, lambda e=entry: digest_from_file(Path(e.path)))
        except ContentError as exc:
            problems.append(f"{relative}{':' + str(exc.line) if exc.line else ''}: {exc}")
        except UnicodeDecodeError:
            problems.append(f"{relative}: not UTF-8 text")
    return papers, digests, problems, unreadable


def _complete_digests(
    papers: dict[str, Paper], digests: list[Digest], problems: list[str], unreadable: set[str]
) -> list[Digest]:
    """Check digest references and add papers whose front matter names a digest date."""
    by_date = {d.date: d for d in digests}
    for digest in digests:
        for slug in digest.slugs:
            if slug not in papers and slug not in unreadable:
                problems.append(f"content/{DIGESTS_DIR}/{digest.date}.yaml: lists paper '{slug}' but content/{PAPERS_DIR}/{slug}.md does not exist")
    complete = []
    claimed: dict[dt.date, list[str]] = {}
    for paper in papers.values():
        for date in paper.digests:
            claimed.setdefault(date, []).append(paper.slug)
    for date in sorted(set(by_date) | set(claimed)):
        digest = by_date.get(date, Digest(date, (), ""))
        listed = set(digest.slugs)
        extra = tuple(s for s in sorted(claimed.get(date, [])) if s not in listed)
        complete.append(Digest(date, digest.slugs + extra, digest.source))
    return complete


def _with_digest_dates(papers: dict[str, Paper], digests: list[Digest]) -> dict[str, Paper]:
    """A paper's digests are every digest that lists it (`digests`: oldest first, one per date)."""
    dates: dict[str, list[dt.date]] = {}
    for digest in digests:
        for slug in digest.slugs:
            dates.setdefault(slug, []).append(digest.date)
    out = {}
    for slug, paper in papers.items():
        wanted = tuple(dates.get(slug, ()))
        out[slug] = paper if wanted == paper.digests else dataclasses.replace(paper, digests=wanted)
    return out


@dataclass
class ContentScan:
    """The content files the last complete read found, as read; kept by a long-lived caller (serve)."""

    papers: dict[str, Paper] = field(default_factory=dict)  # slug -> paper
    digests: dict[str, Digest] = field(default_factory=dict)  # file name -> digest
    complete: bool = False  # holds a whole, problem-free read of content/


def _patched(site_dir: Path, scan: ContentScan, changed: Iterable[str], cache: FileCache | None) -> bool:
    """Bring `scan` up to date by reading only the `changed` paths (absolute, as a watcher reports
    them); False when that cannot be done for sure (a folder changed, a file has a problem)."""
    root = site_dir.resolve()
    for name in changed:
        try:
            parts = Path(name).relative_to(root).parts
        except ValueError:
            continue  # outside the site: a taxonomy file elsewhere, say
        if not parts or parts[0] != "content" or len(parts) > 3:
            continue
        if len(parts) < 3:
            return False  # content/ or one of its folders itself: read it all again
        folder, file_name = parts[1], parts[2]
        if folder == PAPERS_DIR and file_name.endswith(".md"):
            found, key, read = scan.papers, file_name[:-3], paper_from_file
            if not SLUG.fullmatch(key):
                return False
        elif folder == DIGESTS_DIR and file_name.endswith(".yaml"):
            found, key, read = scan.digests, file_name, lambda path, _relative: digest_from_file(path)
        else:
            continue
        path, relative = site_dir / "content" / folder / file_name, f"content/{folder}/{file_name}"
        try:
            info = path.stat()
        except FileNotFoundError:
            found.pop(key, None)
            continue
        if not stat.S_ISREG(info.st_mode):
            found.pop(key, None)
            continue
        try:
            found[key] = _cached(info, relative, cache, lambda p=path, r=relative, read=read: read(p, r))
        except (ContentError, UnicodeDecodeError, OSError):
            return False
    return True


def _read_content(
    site_dir: Path, cache: FileCache | None, scan: ContentScan | None, changed: Iterable[str] | None
) -> tuple[dict[str, Paper], list[Digest], list[str], set[str]]:
    """Papers, digests, problems and unreadable slugs: from the changed files alone when `scan` allows."""
    if scan is not None and scan.complete and changed is not None and _patched(site_dir, scan, changed, cache):
        return dict(scan.papers), [scan.digests[name] for name in sorted(scan.digests)], [], set()
    papers, digests, problems, unreadable = _read_all(site_dir, cache)
    if scan is not None:
        scan.papers, scan.digests, scan.complete = dict(papers), dict(digests), not problems
    return papers, list(digests.values()), problems, unreadable


def load_site(
    site_dir: Path, config: Config, cache: FileCache | None = None,
    scan: ContentScan | None = None, changed: Iterable[str] | None = None,
) -> Site:
    """The model of a site's content, or one DigestgenError listing every bad file.

    A long-lived caller (serve) passes the same `cache` dict every time so unchanged files are not
    parsed again, and the same `scan` with the paths its watcher saw `changed` since the last call,
    so that only those are looked at (without `changed`, everything is read as usual).
    """
    papers, digests, problems, unreadable = _read_content(site_dir, cache, scan, changed)
    digests = _complete_digests(papers, digests, problems, unreadable)
    if problems:
        count = f"{len(problems)} content files have problems" if len(problems) > 1 else "a content file has a problem"
        raise DigestgenError(f"{count}: " + "; ".join(problems))
    return Site.create(config, _with_digest_dates(papers, digests), digests)

