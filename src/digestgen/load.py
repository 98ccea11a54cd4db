"""Read a site's content/ into the immutable model, reporting every malformed file together."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import math
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

from digestgen import mathtext
from digestgen.config import Config
from digestgen.errors import DigestgenError
from digestgen.frontmatter import Lines, YamlError, load_yaml_lines, read_front_matter_lines, unescape_markdown
from digestgen.layout import CONTENT_DIR, DIGESTS_DIR, PAPERS_DIR, RESCAN, content_change, content_entries
from digestgen.links import KIND_LABELS, Link
from digestgen.model import ORDERS, Digest, Paper, Pick, Site
from digestgen.slugs import base_slug
from digestgen.words import did_you_mean, found, plural

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


class ContentError(ValueError):
    """One problem in one file; `line` where known, else the line of `field` once the caller knows it."""

    def __init__(self, message: str, line: int | None = None, field: str | None = None):
        super().__init__(message)
        self.line = line
        self.field = field


def _expected(name: str, what: str, value: Any, example: str) -> ContentError:
    """'upvotes: expected a whole number, found 'many' (for example: upvotes: 12)'."""
    return ContentError(f"{name}: expected {what}, found {found(value)} (for example: {name}: {example})", field=name)


def _date(value: Any, name: str) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise _expected(name, "a real date written YYYY-MM-DD", value, "2025-10-31") from None


def _int(value: Any, name: str, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _expected(name, "a whole number", value, "12")
    return value


def _text(value: Any, name: str, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or (not optional and not value.strip()):
        raise _expected(name, "text", value, TEXT_EXAMPLES.get(name, "some text"))
    return value


TEXT_EXAMPLES = {"title": "Attention Is All You Need", "arxiv": "'2510.01234'", "doi": "10.1234/abc.5678"}


def _links(value: Any) -> tuple[Link, ...]:
    if value is None:
        return ()
    example = "[{kind: code, url: 'https://github.com/org/repo'}]"
    if not isinstance(value, list):
        raise _expected("links", "a list of {kind, url}", value, example)
    links = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("url"), str):
            raise _expected("links", "each link to be a {kind, url} mapping", item, example)
        if urlsplit(item["url"]).scheme not in ("http", "https"):
            raise ContentError(f"links: only http(s) links are allowed, not {item['url']!r}", field="links")
        kind = item.get("kind", "project")
        links.append(Link(kind if isinstance(kind, str) and kind in KIND_LABELS else "project", item["url"]))
    return tuple(links)


def _tags(value: Any, name: str = "tags") -> dict[str, str]:
    """Hand-written tags: slug -> the tag as written."""
    if value is None:
        return {}
    if isinstance(value, str):
        raise _expected(name, "a list in brackets", value, "[" + ", ".join(w.strip() for w in value.split(",")) + "]")
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise _expected(name, "a list of words", value, "[vision, nlp]")
    tags: dict[str, str] = {}
    for text in value:
        slug = base_slug(text)
        if not slug:
            raise ContentError(f"{name}: {text!r} needs at least one letter or digit", field=name)
        tags.setdefault(slug, text.strip())
    return tags


def _words(value: Any, name: str) -> tuple[str, ...]:
    """A list of non-empty strings (categories, keywords)."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _expected(name, "a list of words", value, "[cs.CV, cs.LG]")
    return tuple(dict.fromkeys(" ".join(v.split()) for v in value))


def _authors(value: Any) -> tuple[tuple[str, ...], int | None]:
    """Author names and count: `authors` is a list of names, or (older files, text listings) a count."""
    if value is None:
        return (), None
    if isinstance(value, int) and not isinstance(value, bool):
        return (), _int(value, "authors")
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _expected("authors", "a list of names", value, "[Ada Lovelace, Alan Turing]")
    return tuple(" ".join(v.split()) for v in value), len(value)


PAPER_FIELDS = frozenset(
    "title slug id published upvotes authors author_count organization links arxiv arxiv_version categories "
    "primary_category keywords comment journal_ref doi comments note tags remove_tags digests listing_hash".split()
)


def paper_from_file(path: Path, relative: str) -> Paper:
    raw = path.read_bytes()
    text = raw.decode("utf-8")
    try:
        data, body, lines = read_front_matter_lines(text)
    except YamlError as exc:
        raise ContentError(str(exc), exc.line) from None
    try:
        paper = _paper(path, relative, raw, data, body)
    except ContentError as exc:
        if exc.line is None and exc.field is not None:
            exc.line = lines.get((exc.field,))
        raise
    unknown = tuple((str(key), lines.get((key,), 0)) for key in data if key not in PAPER_FIELDS)
    return dataclasses.replace(paper, unknown_fields=unknown) if unknown else paper


def _paper(path: Path, relative: str, raw: bytes, data: dict[str, Any], body: str) -> Paper:
    digests = data.get("digests") or []
    if not isinstance(digests, list):
        raise _expected("digests", "a list of dates", digests, "[2025-10-31]")
    tags = _tags(data.get("tags"))
    names, count = _authors(data.get("authors"))
    tex_problems: list[str] = []
    title = " ".join(_text(data.get("title"), "title").split())
    categories = _words(data.get("categories"), "categories")
    primary = _text(data.get("primary_category"), "primary_category", optional=True)
    return Paper(
        slug=path.stem,
        title=title,
        title_text=mathtext.to_text(title, tex_problems),
        body=body,
        text=mathtext.to_text(" ".join(unescape_markdown(body).split()), tex_problems),
        published=_date(data.get("published"), "published"),
        upvotes=_int(data.get("upvotes", 0), "upvotes") or 0,
        authors=names,
        organization=_text(data.get("organization"), "organization", optional=True),
        links=_links(data.get("links")),
        arxiv=_text(data.get("arxiv"), "arxiv", optional=True),
        digests=tuple(sorted({d for d in (_date(v, "digests") for v in digests) if d})),
        manual_tags=tuple(tags),
        source=relative,
        manual_labels=tuple(tags.values()),
        fingerprint=hashlib.blake2b(raw, digest_size=12).hexdigest(),
        author_count=_int(data.get("author_count"), "author_count", optional=True) if "author_count" in data else count,
        arxiv_version=_int(data.get("arxiv_version"), "arxiv_version", optional=True),
        categories=categories,
        primary_category=primary or (categories[0] if categories else None),
        keywords=_words(data.get("keywords"), "keywords"),
        comment=_text(data.get("comment"), "comment", optional=True),
        journal_ref=_text(data.get("journal_ref"), "journal_ref", optional=True),
        doi=_text(data.get("doi"), "doi", optional=True),
        comments=_int(data.get("comments"), "comments", optional=True),
        note=_text(data.get("note"), "note", optional=True) or "",
        removed_tags=tuple(_tags(data.get("remove_tags"), "remove_tags")),
        tex_problems=tuple(dict.fromkeys(tex_problems)),
    )


def _ref(value: Any, name: str) -> str:
    """A paper named by slug or arXiv ID in a digest file."""
    if isinstance(value, float) and math.isfinite(value) and value >= 1:  # an unquoted arXiv ID such as 2510.01230
        month, number = repr(value).split(".")
        value = f"{month}.{number.ljust(5 if int(month) >= 1501 else 4, '0')}"  # five digits since 2015
    elif isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise ContentError(f"{name}: expected a paper's slug or arXiv ID, found {found(value)}", field=name)
    return value.strip()


def curation_ref(value: Any) -> str | None:
    """The paper a `picks` or `hide` entry names (slug or arXiv ID, as the build reads it), or None if it names none."""
    if isinstance(value, dict):
        value = value.get("paper")
    try:
        return _ref(value, "picks").removeprefix("arXiv:")
    except ContentError:
        return None


def _picks(value: Any, lines: Lines) -> tuple[Pick, ...]:
    """`picks`: a list of papers, each a slug / arXiv ID or a {paper, note} mapping."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ContentError("picks: expected a list of papers, such as [my-paper-slug, {paper: 2510.01234, note: Why}]", lines.get(("picks",)))
    picks = []
    for index, item in enumerate(value):
        line = lines.get(("picks", index), 0)
        try:
            if isinstance(item, dict):
                unknown = sorted(set(map(str, item)) - {"paper", "note"})
                if unknown:
                    raise ContentError(f"picks: a pick has 'paper' and 'note', not {unknown[0]!r}")
                note = item.get("note")
                if note is not None and not isinstance(note, str):
                    raise ContentError(f"picks: a note is Markdown text, found {found(note)}")
                picks.append(Pick(_ref(item.get("paper"), "picks"), note or "", line))
            else:
                picks.append(Pick(_ref(item, "picks"), "", line))
        except ContentError as exc:
            raise ContentError(str(exc), line or None) from None
    return tuple(picks)


def digest_from_file(path: Path) -> Digest:
    try:
        data, lines = load_yaml_lines(path.read_text(encoding="utf-8"))
    except YamlError as exc:
        raise ContentError(str(exc), exc.line) from None
    try:
        return _digest(path, data, lines)
    except ContentError as exc:
        if exc.line is None and exc.field is not None:  # a field's problem is at its key's line
            exc.line = lines.get((exc.field,))
        raise


def _hidden(hide: list[Any], lines: Lines) -> tuple[str, ...]:
    """`hide`: papers by slug or arXiv ID; a bad one is reported at its own line."""
    refs = []
    for index, item in enumerate(hide):
        try:
            refs.append(_ref(item, "hide"))
        except ContentError as exc:
            raise ContentError(str(exc), lines.get(("hide", index))) from None
    return tuple(refs)


def _digest(path: Path, data: Any, lines: Lines) -> Digest:
    if not isinstance(data, dict):
        raise ContentError("a digest record must be a mapping with date and papers")
    date = _date(data.get("date", path.stem), "date")
    papers = data.get("papers") or []
    if not isinstance(papers, list) or not all(isinstance(p, str) for p in papers):
        raise ContentError("papers: expected a list of paper slugs", lines.get(("papers",)))
    order = data.get("order", "auto")
    if order not in ORDERS:
        raise ContentError(f"order: expected one of {', '.join(ORDERS[1:])}, found {found(order)}", lines.get(("order",)))
    hide = data.get("hide") or []
    if not isinstance(hide, list):
        raise ContentError("hide: expected a list of papers (slugs or arXiv IDs)", lines.get(("hide",)))
    assert date is not None
    return Digest(
        date,
        tuple(dict.fromkeys(papers)),
        str(data.get("source", "")),
        title=" ".join((_text(data.get("title"), "title", optional=True) or "").split()) or None,
        intro=_text(data.get("intro"), "intro", optional=True) or "",
        picks=_picks(data.get("picks"), lines),
        order=order,
        hide=_hidden(hide, lines),
        hide_lines=tuple(lines.get(("hide", index), 0) for index in range(len(hide))),
        unknown_fields=tuple((str(k), lines.get((k,), 0)) for k in data if k not in DIGEST_FIELDS),
    )


DIGEST_FIELDS = frozenset("date source papers title intro picks order hide".split())


FileCache = dict[str, tuple[int, int, Any]]  # relative path -> (mtime_ns, size, what the file was read as)


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
    content = site_dir / CONTENT_DIR
    for entry in content_entries(content, PAPERS_DIR):
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
    for entry in content_entries(content, DIGESTS_DIR):
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
        complete.append(_resolve_curation(dataclasses.replace(digest, slugs=digest.slugs + extra), papers, problems))
    return complete


def _resolve_curation(digest: Digest, papers: dict[str, Paper], problems: list[str]) -> Digest:
    """Picks and hidden papers named by slug or arXiv ID become slugs of this digest's papers."""
    if not digest.picks and not digest.hide:
        return digest
    by_arxiv = {papers[s].arxiv: s for s in digest.slugs if s in papers and papers[s].arxiv}
    where = f"content/{DIGESTS_DIR}/{digest.date}.yaml"

    def resolve(ref: str, line: int, field: str) -> str | None:
        slug = ref if ref in digest.slugs else by_arxiv.get(ref.removeprefix("arXiv:"))
        if slug is None:
            problems.append(f"{where}{':' + str(line) if line else ''}: {field}: {ref!r} is not a paper of this digest")
        return slug

    hide = [resolve(ref, line, "hide") for ref, line in zip(digest.hide, digest.hide_lines or [0] * len(digest.hide))]
    hidden = {slug for slug in hide if slug is not None}
    picks = []
    for pick in digest.picks:
        slug = resolve(pick.slug, pick.line, "picks")
        if slug in hidden:  # else the pick would silently vanish from the pages and the email
            line = f":{pick.line}" if pick.line else ""
            problems.append(f"{where}{line}: picks: {pick.slug!r} is also hidden (hide:); pick it or hide it, not both")
        elif slug is not None:
            picks.append(dataclasses.replace(pick, slug=slug))
    return dataclasses.replace(digest, picks=tuple(picks), hide=tuple(s for s in hide if s is not None))


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
    """Bring `scan` up to date by reading only the `changed` content files (site-relative, e.g.
    "content/papers/x.md": incremental.content_changes); False when that cannot be done for sure."""
    for name in changed:
        parts = name.split("/")
        kind = content_change(parts)
        if kind == RESCAN:
            return False
        if kind is None:
            continue  # not content (an editor's or the system's litter, another kind of file): no build reads it
        folder, file_name = parts[1], parts[2]
        if folder == PAPERS_DIR:
            found, key, read = scan.papers, file_name[:-3], paper_from_file
            if not SLUG.fullmatch(key):
                return False
        else:
            found, key, read = scan.digests, file_name, lambda path, _relative: digest_from_file(path)
        path = site_dir / name
        try:
            info = path.stat()
        except FileNotFoundError:
            found.pop(key, None)
            continue
        if not stat.S_ISREG(info.st_mode):
            found.pop(key, None)
            continue
        try:
            found[key] = _cached(info, name, cache, lambda p=path, r=name, read=read: read(p, r))
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
    parsed again, and the same `scan` with the content files (site-relative) that `changed` since
    the last call, so that only those are looked at (without `changed`, everything is read as usual).
    """
    papers, digests, problems, unreadable = _read_content(site_dir, cache, scan, changed)
    digests = _complete_digests(papers, digests, problems, unreadable)
    if len(problems) == 1:
        raise DigestgenError(problems[0])
    if problems:
        files = len({problem.split(":", 1)[0] for problem in problems})
        count = f"{plural(len(problems), 'problem')} in {plural(files, 'content file')}; nothing was written:"
        raise DigestgenError(count, problems=tuple(problems))
    warnings = unknown_field_warnings(papers.values()) + digest_field_warnings(digests) + tex_warnings(papers.values())
    return Site.create(config, _with_digest_dates(papers, digests), digests, warnings=warnings)


def tex_warnings(papers: Iterable[Paper]) -> tuple[str, ...]:
    """Formulas and TeX commands that stay literal text, named by paper."""
    return tuple(f"{paper.source}: {problem}" for paper in papers for problem in paper.tex_problems)


def digest_field_warnings(digests: Iterable[Digest]) -> tuple[str, ...]:
    """An unknown key in a digest file (a misspelt `picks:`, say), with the closest known one."""
    return tuple(
        f"content/{DIGESTS_DIR}/{digest.date}.yaml{':' + str(line) if line else ''}: unknown field '{key}' ignored"
        + did_you_mean(key, DIGEST_FIELDS)
        for digest in digests
        for key, line in digest.unknown_fields
    )


def unknown_field_warnings(papers: Iterable[Paper]) -> tuple[str, ...]:
    """One warning per unknown front-matter key, at its first place, with the closest known key."""
    places: dict[str, list[str]] = {}
    for paper in papers:
        for key, line in paper.unknown_fields:
            places.setdefault(key, []).append(f"{paper.source}:{line}" if line else paper.source)
    warnings = []
    for key in sorted(places):
        first, others = places[key][0], len(places[key]) - 1
        also = f"; also in {plural(others, 'other file')}" if others else ""
        warnings.append(f"{first}: unknown field '{key}' ignored{did_you_mean(key, PAPER_FIELDS)}{also}")
    return tuple(warnings)

