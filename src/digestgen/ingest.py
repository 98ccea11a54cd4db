"""Merge parsed listings into a site's content/: one Markdown file per paper, one record per digest.

The listing owns upvotes, the published date, authors, links and digest membership; a person
owns everything else. A title or abstract edited by hand is kept (and said so) when the
listing changes it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from digestgen.errors import DigestgenError
from digestgen.fileio import atomic_write_text, link_target
from digestgen.frontmatter import (
    YamlError,
    dump_yaml,
    escape_markdown,
    load_yaml,
    read_front_matter,
    unescape_markdown,
    write_front_matter,
)
from digestgen.layout import DIGESTS_DIR, PAPERS_DIR, content_files
from digestgen.load import curation_ref
from digestgen.parse import Diagnostic, Listing, PaperRecord, parse_digest
from digestgen.slugs import identity, normalise_title, short_hash, unique_slug
from digestgen.sources import DEFAULT_ANNOUNCE, FORMATS, TRIED, IdList, detect, read_text
from digestgen.sources.text import clean, clean_line
from digestgen.words import plural

# A date anywhere in the name: 2025-10-31.txt, hf-2025-10-31.json, arxiv-cs.LG-2025-10-31.xml.
_ISO_NAME = re.compile(r"(?<!\d)(\d{4}-\d{2}-\d{2})(?!\d)")
_BINARY_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f]")
# Keys ingest writes, in file order; a person's own keys follow in the order they wrote them.
KEY_ORDER = (
    "title", "slug", "id", "published", "upvotes", "authors", "author_count", "organization", "links", "arxiv",
    "arxiv_version", "categories", "primary_category", "keywords", "comment", "journal_ref", "doi", "comments",
    "digests", "tags", "listing_hash",
)
# Looks arXiv IDs up (through the API and its cache) and returns what it found as a listing.
Lookup = Callable[[list[str]], Listing]


@dataclass(frozen=True)
class Source:
    """One listing given on the command line."""

    name: str
    text: str


@dataclass
class _Existing:
    """A paper file as it is on disk, and what this run will write into it."""

    path: Path
    data: dict[str, Any]
    body: str
    original: str
    changes: list[str] = field(default_factory=list)
    is_new: bool = False


@dataclass
class Report:
    """What an ingest did, for the summary and for tests."""

    lines: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    written: list[Path] = field(default_factory=list)


def read_source(path_text: str, stdin_text: str | None = None) -> Source:
    """Read a listing file (or '-' for standard input) as UTF-8, with a one-line error otherwise."""
    if path_text == "-":
        return Source("<stdin>", stdin_text or "")
    path = Path(path_text)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DigestgenError("no such file", path=path_text) from None
    except IsADirectoryError:
        raise DigestgenError("is a folder, not a listing file", path=path_text) from None
    except OSError as exc:
        raise DigestgenError(f"cannot read: {exc.strerror}", path=path_text) from None
    return Source(path_text, decode_listing(raw, path_text))


def read_sources(names: list[str], stdin_text: str | None = None) -> list[Source]:
    """Every file named; a folder gives its files in name order (hidden ones, such as the fetch cache, left out)."""
    sources = []
    for name in names:
        path = Path(name)
        if name != "-" and path.is_dir():
            inside = sorted(
                p for p in path.rglob("*") if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            if not inside:
                raise DigestgenError("is an empty folder: no listing in it", path=name)
            sources += [read_source(str(p)) for p in inside]
        else:
            sources.append(read_source(name, stdin_text))
    return sources


def decode_listing(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DigestgenError(
            f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); save the listing as UTF-8",
            path=name,
            line=line,
        ) from None


def date_from_name(name: str) -> dt.date | None:
    """A listing named like 2025-10-31.txt is the listing of that day."""
    match = _ISO_NAME.search(Path(name).stem)
    if not match:
        return None
    try:
        return dt.date.fromisoformat(match.group(1))
    except ValueError:
        return None


def _without_nul(source: Source) -> tuple[str, list[str]]:
    """The text with NUL bytes removed, each reported with its line; a binary file is refused."""
    text = source.text
    if "\x00" not in text and not _BINARY_CONTROLS.search(text[:65536]):
        return text, []
    controls = len(_BINARY_CONTROLS.findall(text[:65536]))
    if controls > max(2, len(text[:65536]) // 100):
        raise DigestgenError("looks like a binary file, not a listing", path=source.name)
    warnings = []
    for number, line in enumerate(text.split("\n"), start=1):
        if "\x00" in line:
            warnings.append(f"{source.name}:{number}: NUL byte removed")
    return text.replace("\x00", ""), warnings


def _refuse_prose(source: Source, text: str, listing: Listing) -> None:
    """A text with no Daily Papers details and none of its page chrome is not a listing: say so, write nothing."""
    if not listing.papers:
        return
    shows_details = any(p.published or p.authors is not None or p.organization for p in listing.papers)
    shows_chrome = any(line.strip() == "Daily Papers" for line in text[:4096].splitlines()[:40])
    if not shows_details and not shows_chrome:
        raise DigestgenError(
            f"not a listing: no paper shows the '• N authors · date' details of a Daily Papers page "
            f"(a README or prose?); tried {TRIED} and {FORMATS['text']}; pass --format to choose one",
            path=source.name,
        )


def parse_source(
    source: Source,
    given: dt.date | None,
    today: dt.date | None = None,
    fmt: str | None = None,
    announce: frozenset[str] = DEFAULT_ANNOUNCE,
    lookup: Lookup | None = None,
    warnings: list[str] | None = None,
) -> list[Listing]:
    """Parse one file into one listing per digest date, failing with one line when it holds no paper."""
    text, nul_warnings = _without_nul(source)
    if warnings is not None:
        warnings += nul_warnings
    kind = fmt or detect(text)
    if kind == "text":
        return [_parse_text(Source(source.name, text), given, today)]
    kind, found = read_text(text, source.name, kind, announce)
    if isinstance(found, IdList):
        found = _look_up(source, found, lookup)
    if not found.papers:
        empty = kind == "arxiv-feed" and not found.diagnostics
        reason = "the feed has no entries (arXiv feeds are empty on weekends and holidays)" if empty else "no paper found"
        first = next(iter(found.diagnostics), None)
        detail = f" ({'line ' + str(first.line) + ': ' if first.line else ''}{first.message})" if first else ""
        raise DigestgenError(f"{reason} in this {FORMATS[kind]}{detail}", path=source.name)
    return _by_date(source, found, given, today or dt.date.today())


def _look_up(source: Source, ids: IdList, lookup: Lookup | None) -> Listing:
    if lookup is None:
        raise DigestgenError("a list of arXiv IDs needs the arXiv API; this ingest cannot look them up", path=source.name)
    if not ids.ids:
        return Listing(None, (), ids.diagnostics)
    found = lookup([arxiv for _, arxiv in ids.ids])
    lines = {arxiv: line for line, arxiv in ids.ids}
    # Each paper keeps the line of the list that named it, for messages.
    papers = tuple(PaperRecord(**{**_record_dict(p), "line": lines.get(p.arxiv or "", p.line)}) for p in found.papers)
    return Listing(found.date, papers, ids.diagnostics + found.diagnostics)


def _cleaned(record: PaperRecord) -> PaperRecord:
    """A text listing's title and abstract without control characters, noncharacters or bidi controls."""
    title, abstract = clean_line(record.title), clean(record.abstract)
    if title == record.title and abstract == record.abstract:
        return record
    return dataclasses.replace(record, title=title or record.title, abstract=abstract)


def _record_dict(record: PaperRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in record.__dataclass_fields__}


def _by_date(source: Source, listing: Listing, given: dt.date | None, today: dt.date) -> list[Listing]:
    """Group the papers by digest date: --date, else the file name, else each paper's or the listing's own."""
    fixed = given or date_from_name(source.name)
    groups: dict[dt.date, list[PaperRecord]] = {}
    undated = False
    for record in listing.papers:
        date = fixed or record.listed or listing.date
        if date is None:
            date, undated = today, True
        groups.setdefault(date, []).append(record)
    note = f"no date in the file or its name: its papers are in the digest of today, {today.isoformat()}; pass --date to choose" if undated else None
    diagnostics = listing.diagnostics
    listings = []
    for date in sorted(groups):
        listings.append(Listing(date, tuple(groups[date]), diagnostics, note))
        diagnostics, note = (), None  # said once, with the first digest
    return listings


def _parse_text(source: Source, given: dt.date | None, today: dt.date | None) -> Listing:
    """The saved Daily Papers text: the fallback, with its own date rules."""
    listing = parse_digest(source.text, date=given or date_from_name(source.name), today=today)
    _refuse_prose(source, source.text, listing)
    listing = dataclasses.replace(listing, papers=tuple(_cleaned(p) for p in listing.papers))
    if not listing.papers:
        skipped = [d for d in listing.diagnostics if "skipped" in d.message]
        reason = f" (line {skipped[0].line}: {skipped[0].message})" if skipped else ""
        raise DigestgenError(f"no paper found in this listing{reason}", path=source.name)
    if listing.date is None:
        problem = next((d for d in listing.diagnostics if "date" in d.message), None)
        raise DigestgenError(problem.message if problem else "the listing date is unknown", path=source.name)
    return listing


def paper_fields(record: PaperRecord) -> dict[str, Any]:
    """The front matter fields a source owns and this record shows, in file order."""
    fields: dict[str, Any] = {"published": record.published.isoformat() if record.published else None}
    if record.has_upvotes:
        fields["upvotes"] = record.upvotes
    if record.names:
        fields["authors"] = list(record.names)
    elif record.authors is not None:
        fields["author_count"] = record.authors
    if record.organization is not None:
        fields["organization"] = record.organization
    fields["links"] = [{"kind": link.kind, "url": link.url} for link in record.links]
    if record.arxiv:
        fields["arxiv"] = record.arxiv
    for name in ("arxiv_version", "categories", "primary_category", "keywords", "comment", "journal_ref", "doi", "comments"):
        value = getattr(record, name)
        if value not in (None, ()):
            fields[name] = list(value) if isinstance(value, tuple) else value
    return fields


def ordered(data: dict[str, Any]) -> dict[str, Any]:
    """Ingest's keys in file order, then a person's own keys as they wrote them."""
    known = {name: data[name] for name in KEY_ORDER if name in data}
    return {**known, **{name: value for name, value in data.items() if name not in known}}


def listing_hash(title: str, abstract: str) -> str:
    """Fingerprint of the title and abstract ingest wrote, to tell hand edits apart."""
    return short_hash(f"{title}\n{abstract}", 12)


def abstract_body(abstract: str) -> str:
    return escape_markdown(abstract) + "\n"


def body_abstract(body: str) -> str:
    return unescape_markdown(body.strip())


def new_paper_data(record: PaperRecord, slug: str, digest: dt.date) -> dict[str, Any]:
    data: dict[str, Any] = {"title": record.title, "slug": slug, "id": identity(record.title, record.arxiv)}
    data.update(paper_fields(record))
    data["digests"] = [digest.isoformat()]
    data["tags"] = []
    data["listing_hash"] = listing_hash(record.title, record.abstract)
    return ordered(data)


class ContentStore:
    """The paper and digest files of one site, read once, changed in memory, written at the end."""

    def __init__(self, content: Path):
        self.content = content
        self.papers: dict[str, _Existing] = {}  # slug -> file
        self.by_key: dict[str, str] = {}  # identity -> slug
        self.digests: dict[str, tuple[Path, str, dict[str, Any]]] = {}
        self._read()

    def _read(self) -> None:
        problems = []
        for path in content_files(self.content, PAPERS_DIR):
            try:
                self._add_existing(path)
            except YamlError as exc:
                problems.append(f"{path}{':' + str(exc.line) if exc.line else ''}: {exc}")
            except UnicodeDecodeError:
                problems.append(f"{path}: not UTF-8 text")
        for path in content_files(self.content, DIGESTS_DIR):
            try:
                text = path.read_text(encoding="utf-8")
                data = load_yaml(text)
            except YamlError as exc:
                problems.append(f"{path}:{exc.line or 1}: {exc}")
                continue
            except UnicodeDecodeError:
                problems.append(f"{path}: not UTF-8 text")
                continue
            self.digests[path.stem] = (path, text, data if isinstance(data, dict) else {})
        if problems:
            raise DigestgenError("cannot ingest while content files are unreadable: " + "; ".join(problems))

    def _add_existing(self, path: Path) -> None:
        text = path.read_text(encoding="utf-8")
        data, body = read_front_matter(text)
        slug = path.stem
        self.papers[slug] = _Existing(path, data, body, text)
        title = str(data.get("title", ""))
        if isinstance(data.get("id"), str):  # survives a hand-corrected title
            self.by_key.setdefault(data["id"], slug)
        self.by_key.setdefault(identity(title, None), slug)
        if data.get("arxiv"):
            self.by_key.setdefault(identity(title, str(data["arxiv"])), slug)

    def find(self, record: PaperRecord) -> str | None:
        """The arXiv ID when known, else the normalised title; two different arXiv IDs are two papers."""
        if record.arxiv and identity("", record.arxiv) in self.by_key:
            return self.by_key[identity("", record.arxiv)]
        slug = self.by_key.get(identity(record.title, None))
        if slug is not None and record.arxiv and self.papers[slug].data.get("arxiv") not in (None, record.arxiv):
            return None
        return slug

    def remember(self, record: PaperRecord, slug: str) -> None:
        """A paper now known by its arXiv ID is found by it from now on, whatever its title."""
        if record.arxiv:
            self.by_key.setdefault(identity("", record.arxiv), slug)

    def add(self, record: PaperRecord, digest: dt.date) -> str:
        key = identity(record.title, record.arxiv)
        slug = unique_slug(record.title, key, self.papers)
        data = new_paper_data(record, slug, digest)
        path = self.content / PAPERS_DIR / f"{slug}.md"
        self.papers[slug] = _Existing(path, data, abstract_body(record.abstract), "", is_new=True)
        self.by_key[key] = slug
        self.by_key.setdefault(identity(record.title, None), slug)
        return slug


def _merge_listing_fields(paper: _Existing, record: PaperRecord, digest: dt.date) -> None:
    """Apply what the source owns; an older listing (or a poorer source) only fills in what is missing."""
    data = paper.data
    listed = data.get("digests") if isinstance(data.get("digests"), list) else []
    dates = sorted({str(d) for d in listed} | {digest.isoformat()})
    if dates != listed:
        data["digests"] = dates
        paper.changes.append(f"added to digest {digest.isoformat()}")
    older = digest.isoformat() < dates[-1]  # a newer listing already set these fields
    fields = _known_fields(record)
    names_known = isinstance(data.get("authors"), list) and bool(data["authors"])
    if "author_count" in fields and (names_known or "authors" in fields):
        del fields["author_count"]  # the names say more than a count
    if "links" in fields:
        fields["links"] = _merged_links(fields["links"], data.get("links"))
    for name, value in fields.items():
        if name in data and older and not (name == "authors" and not names_known):
            continue
        if name not in data:
            if not paper.is_new and name not in ("published", "upvotes", "links"):
                paper.changes.append(f"{name} filled in")
        elif data[name] != value:
            paper.changes.append(f"{name} {_show(data[name])} → {_show(value)}")
        data[name] = value
    _migrate_author_count(paper, fields)
    if "authors" in fields and "author_count" in data:  # names now known: their number is the count
        paper.changes.append(f"author_count {_show(data.pop('author_count'))} replaced by the names")
    if not record.names and not record.arxiv_given and not names_known and ("author_count" in fields or "organization" in fields):
        for name in ("author_count", "organization"):  # a text listing now shows the other one
            if name in data and name not in fields:
                paper.changes.append(f"{name} {_show(data.pop(name))} removed")
    paper.data = ordered(data)
    if not older:
        _merge_text(paper, record)


def _migrate_author_count(paper: _Existing, fields: dict[str, Any]) -> None:
    """Older files wrote a text listing's count as `authors: N`: it becomes `author_count` when a listing says it again."""
    data = paper.data
    legacy = data.get("authors")
    if isinstance(legacy, int) and not isinstance(legacy, bool) and "authors" not in fields:
        del data["authors"]
        data.setdefault("author_count", legacy)
        paper.changes.append("author count moved from authors to author_count")


def _merged_links(new: list[dict[str, str]], old: Any) -> list[dict[str, str]]:
    """The source's links first, then the ones another source gave that this one does not show."""
    if not isinstance(old, list):
        return new
    seen = {link["url"] for link in new}
    return new + [link for link in old if isinstance(link, dict) and link.get("url") not in seen]


def _known_fields(record: PaperRecord) -> dict[str, Any]:
    """The source-owned fields this record actually shows: a text listing without a paper's details
    (or with an unreadable date) says nothing about them, so what is known is kept."""
    fields = paper_fields(record)
    text_only = not (record.names or record.arxiv_given or record.listed)
    has_meta = record.published is not None or record.authors is not None or record.organization is not None
    if record.published is None:
        del fields["published"]
    if text_only and not has_meta:
        fields.pop("upvotes", None)
    return fields


def _merge_text(paper: _Existing, record: PaperRecord) -> None:
    """Take a changed title or abstract from the listing unless a person edited them."""
    data = paper.data
    current_hash = listing_hash(str(data.get("title", "")), body_abstract(paper.body))
    wanted_hash = listing_hash(record.title, record.abstract)
    if data.get("listing_hash") == wanted_hash:
        return
    # No fingerprint: a file written by hand (or by an older digestgen) is a person's, unless its
    # text is exactly the listing's.
    untouched = current_hash == wanted_hash if data.get("listing_hash") is None else data["listing_hash"] == current_hash
    if untouched:
        if data.get("title") != record.title:
            paper.changes.append("title updated from the listing")
            data["title"] = record.title
        if body_abstract(paper.body) != record.abstract:
            paper.changes.append("abstract updated from the listing")
            paper.body = abstract_body(record.abstract)
        data["listing_hash"] = wanted_hash
    else:
        paper.changes.append("kept the hand-edited title/abstract (the listing's text differs)")


def _show(value: Any) -> str:
    if isinstance(value, list):
        if value and isinstance(value[0], dict):
            return f"{len(value)} links"
        return str(value) if len(value) <= 3 else f"{len(value)} entries"
    return repr(value) if isinstance(value, str) else str(value)


def ingest_listing(store: ContentStore, listing: Listing, source: str, report: Report, origins: tuple[str, ...] = ()) -> list[str]:
    """Merge one parsed listing into the store, record the digest for its date, return its slugs.

    `origins` names the file of each paper when several files make one digest."""
    assert listing.date is not None
    order: list[str] = []
    first: dict[str, tuple[str, int]] = {}
    for index, record in enumerate(listing.papers):
        origin = origins[index] if index < len(origins) else source
        slug = store.find(record)
        if slug is None:
            slug = store.add(record, listing.date)
        elif slug in first:
            seen_in, seen_line = first[slug]
            if seen_in == origin:
                report.warnings.append(f"{origin}:{record.line}: same paper as line {seen_line}; kept once")
                report.skipped += 1
            else:  # the same paper from another source: what it adds fills in
                _merge_listing_fields(store.papers[slug], record, listing.date)
                store.remember(record, slug)
            continue
        else:
            _merge_listing_fields(store.papers[slug], record, listing.date)
            store.remember(record, slug)
        first[slug] = (origin, record.line)
        order.append(slug)
    _record_digest(store, listing.date, order, source, report)
    return order


def _curation_left_behind(store: ContentStore, name: str, data: dict[str, Any], dropped: list[str]) -> list[str]:
    """A warning for each pick or hidden paper that names a paper the digest's new list dropped (the build refuses them)."""
    names = set(dropped) | {str(store.papers[slug].data["arxiv"]) for slug in dropped
                            if slug in store.papers and store.papers[slug].data.get("arxiv")}
    warnings = []
    for field_name in ("picks", "hide"):
        entries = data.get(field_name)
        for entry in entries if isinstance(entries, list) else []:
            ref = curation_ref(entry)
            if ref in names:
                warnings.append(f"content/{DIGESTS_DIR}/{name}.yaml: {field_name}: {ref!r} is no longer in this digest "
                                f"(this listing replaced its papers); the build stops there until you remove it")
    return warnings


def _record_digest(store: ContentStore, date: dt.date, order: list[str], source: str, report: Report) -> None:
    name = date.isoformat()
    previous = store.digests.get(name)
    listed = previous[2].get("papers") if previous else None
    old_order = [str(s) for s in listed] if isinstance(listed, list) else []
    first_source = str(previous[2].get("source") or "") if previous else ""
    if first_source and first_source != Path(source).name:
        # Another source for a day that already has a digest (the arXiv feed after Hugging Face): it adds to it.
        added = [slug for slug in order if slug not in old_order]
        report.lines.append(f"digest {name}: {len(old_order) + len(added)} papers ({len(added)} added from {Path(source).name})")
        data = {**previous[2], "papers": old_order + added}
        store.digests[name] = (previous[0], previous[1], data)
        return
    dropped = [slug for slug in old_order if slug not in order]
    for slug in dropped:
        paper = store.papers.get(slug)
        if paper and name in (paper.data.get("digests") or []):
            paper.data["digests"] = [d for d in paper.data["digests"] if d != name]
            paper.changes.append(f"removed from digest {name}")
    if previous is not None:
        report.warnings += _curation_left_behind(store, name, previous[2], dropped)
    # The curator's fields (title, intro, picks, order, hide, …) are a person's: kept, in their order.
    data = {**(previous[2] if previous else {}), "date": name, "source": Path(source).name, "papers": order}
    path = store.content / DIGESTS_DIR / f"{name}.yaml"
    store.digests[name] = (path, previous[1] if previous else "", data)
    if previous is None:
        report.lines.append(f"digest {name}: {plural(len(order), 'paper')} (new)")
    elif previous[2] != data:
        report.lines.append(f"digest {name}: {plural(len(order), 'paper')} (was {len(old_order)}; replaced by this listing)")
    else:
        report.lines.append(f"digest {name}: {plural(len(order), 'paper')} (unchanged)")


def _same_yaml(text: str, data: dict[str, Any]) -> bool:
    try:
        return bool(text) and load_yaml(text) == data
    except YamlError:
        return False


def pending_writes(store: ContentStore, report: Report) -> dict[Path, str]:
    """Every file whose bytes change, with its new text; counts papers into the report."""
    writes: dict[Path, str] = {}
    for slug in sorted(store.papers):
        paper = store.papers[slug]
        text = write_front_matter(paper.data, paper.body)
        if paper.is_new:
            report.new += 1
            writes[paper.path] = text
        elif text != paper.original:
            report.updated += 1
            writes[paper.path] = text
            report.lines.append(f"updated {slug}: " + "; ".join(paper.changes or ["front matter rewritten"]))
        elif paper.changes:
            report.lines.append(f"kept {slug}: " + "; ".join(paper.changes))
    for path, original, data in store.digests.values():
        text = dump_yaml(data)
        if text != original and not _same_yaml(original, data):  # a person's layout and comments stay
            writes[path] = text
    return writes


def ingest(
    site: Path,
    sources: list[Source],
    date: dt.date | None = None,
    today: dt.date | None = None,
    fmt: str | None = None,
    announce: frozenset[str] = DEFAULT_ANNOUNCE,
    lookup: Lookup | None = None,
) -> Report:
    """Parse every listing first, then write all changed files; nothing is written on error."""
    report = Report()
    listings = []
    for source in sources:
        for listing in parse_source(source, date, today, fmt, announce, lookup, report.warnings):
            report.warnings += [f"{source.name}:{d.line}: {d.message}" if d.line else f"{source.name}: {d.message}" for d in listing.diagnostics]
            report.skipped += sum("skipped" in d.message for d in listing.diagnostics)
            if listing.date_note:
                report.warnings.append(f"{source.name}: {listing.date_note}")
            listings.append((source, listing))
    store = ContentStore(site / "content")
    before = set(store.papers)
    mentioned: set[str] = set()
    for name, listing, origins in _merge_same_day(listings):
        mentioned.update(ingest_listing(store, listing, name, report, origins))
    writes = pending_writes(store, report)
    report.unchanged = sum(1 for slug in mentioned & before if store.papers[slug].path not in writes)
    _check_link_targets(writes)
    for path, text in writes.items():
        atomic_write_text(path, text)  # a curator's symlinked file stays linked, and its target is updated
        report.written.append(path)
    return report


def _check_link_targets(writes: dict[Path, str]) -> None:
    """Refuse, before anything is written, a symlink whose target's folder is gone (it would not be made)."""
    for path in writes:
        target = link_target(path)
        if target is not path and not target.parent.is_dir():
            raise DigestgenError(f"is a symlink to {target}, whose folder does not exist", path=str(path))


def _merge_same_day(listings: list[tuple[Source, Listing]]) -> list[tuple[str, Listing, tuple[str, ...]]]:
    """Listings of one date given together make one digest, in the order given; each paper keeps its file's name."""
    merged: dict[dt.date, tuple[str, Listing, tuple[str, ...]]] = {}
    for source, listing in listings:
        assert listing.date is not None
        names = (source.name,) * len(listing.papers)
        if listing.date in merged:
            name, earlier, origins = merged[listing.date]
            combined = Listing(listing.date, earlier.papers + listing.papers, earlier.diagnostics + listing.diagnostics)
            merged[listing.date] = (name, combined, origins + names)
        else:
            merged[listing.date] = (source.name, listing, names)
    return [merged[d] for d in sorted(merged)]


def summary(report: Report) -> str:
    return (
        f"{report.new} new, {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.skipped} skipped"
    )


__all__ = ["Diagnostic", "Report", "Source", "ingest", "read_source", "summary", "normalise_title"]
