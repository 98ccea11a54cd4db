"""Merge parsed listings into a site's content/: one Markdown file per paper, one record per digest.

The listing owns upvotes, the published date, authors, links and digest membership; a person
owns everything else. A title or abstract edited by hand is kept (and said so) when the
listing changes it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from digestgen.errors import DigestgenError
from digestgen.fileio import atomic_write_text
from digestgen.frontmatter import (
    YamlError,
    dump_yaml,
    escape_markdown,
    load_yaml,
    read_front_matter,
    unescape_markdown,
    write_front_matter,
)
from digestgen.parse import Diagnostic, Listing, PaperRecord, parse_digest
from digestgen.slugs import identity, normalise_title, short_hash, unique_slug
from digestgen.words import plural

PAPERS_DIR = "papers"
DIGESTS_DIR = "digests"
_ISO_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})")


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
    match = _ISO_NAME.fullmatch(Path(name).stem)
    if not match:
        return None
    try:
        return dt.date.fromisoformat(match.group(1))
    except ValueError:
        return None


def parse_source(source: Source, given: dt.date | None, today: dt.date | None = None) -> Listing:
    """Parse one listing, failing with one line when no paper or no date can be found."""
    if "\x00" in source.text:
        raise DigestgenError("looks like a binary file, not a listing", path=source.name)
    listing = parse_digest(source.text, date=given or date_from_name(source.name), today=today)
    if not listing.papers:
        skipped = [d for d in listing.diagnostics if "skipped" in d.message]
        reason = f" (line {skipped[0].line}: {skipped[0].message})" if skipped else ""
        raise DigestgenError(f"no paper found in this listing{reason}", path=source.name)
    if listing.date is None:
        problem = next((d for d in listing.diagnostics if "date" in d.message), None)
        raise DigestgenError(problem.message if problem else "the listing date is unknown", path=source.name)
    return listing


def paper_fields(record: PaperRecord) -> dict[str, Any]:
    """The front matter fields a listing owns, in file order."""
    fields: dict[str, Any] = {
        "published": record.published.isoformat() if record.published else None,
        "upvotes": record.upvotes,
    }
    if record.authors is not None:
        fields["authors"] = record.authors
    if record.organization is not None:
        fields["organization"] = record.organization
    fields["links"] = [{"kind": link.kind, "url": link.url} for link in record.links]
    if record.arxiv:
        fields["arxiv"] = record.arxiv
    return fields


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
    return data


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
        for path in sorted(p for p in (self.content / PAPERS_DIR).glob("*.md") if p.is_file()):
            try:
                self._add_existing(path)
            except YamlError as exc:
                problems.append(f"{path}{':' + str(exc.line) if exc.line else ''}: {exc}")
            except UnicodeDecodeError:
                problems.append(f"{path}: not UTF-8 text")
        for path in sorted(p for p in (self.content / DIGESTS_DIR).glob("*.yaml") if p.is_file()):
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
        for key in dict.fromkeys((identity(record.title, record.arxiv), identity(record.title, None))):
            if key in self.by_key:
                return self.by_key[key]
        return None

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
    """Apply what the listing owns, unless an older listing is being re-read."""
    data = paper.data
    listed = data.get("digests") if isinstance(data.get("digests"), list) else []
    dates = sorted({str(d) for d in listed} | {digest.isoformat()})
    if dates != listed:
        data["digests"] = dates
        paper.changes.append(f"added to digest {digest.isoformat()}")
    if digest.isoformat() < dates[-1]:
        return  # a newer listing already set these fields
    fields = _known_fields(record)
    for name, value in fields.items():
        if name in data and data[name] != value:
            paper.changes.append(f"{name} {_show(data[name])} → {_show(value)}")
        data[name] = value
    if "authors" in fields or "organization" in fields:
        for name in ("authors", "organization"):  # the listing now shows the other one
            if name in data and name not in fields:
                paper.changes.append(f"{name} {_show(data.pop(name))} removed")
    _merge_text(paper, record)


def _known_fields(record: PaperRecord) -> dict[str, Any]:
    """The listing-owned fields this record actually shows: a listing without a paper's details
    (or with an unreadable date) says nothing about them, so what is known is kept."""
    fields = paper_fields(record)
    has_meta = record.published is not None or record.authors is not None or record.organization is not None
    if record.published is None:
        del fields["published"]
    if not has_meta:
        del fields["upvotes"]
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
        return f"{len(value)} links" if value and isinstance(value[0], dict) else str(value)
    return repr(value) if isinstance(value, str) else str(value)


def ingest_listing(store: ContentStore, listing: Listing, source: str, report: Report) -> list[str]:
    """Merge one parsed listing into the store, record the digest for its date, return its slugs."""
    assert listing.date is not None
    order: list[str] = []
    first_line: dict[str, int] = {}
    for record in listing.papers:
        slug = store.find(record)
        if slug is None:
            slug = store.add(record, listing.date)
        elif slug in first_line:
            report.warnings.append(f"{source}:{record.line}: same paper as line {first_line[slug]}; kept once")
            report.skipped += 1
            continue
        else:
            _merge_listing_fields(store.papers[slug], record, listing.date)
        first_line[slug] = record.line
        order.append(slug)
    _record_digest(store, listing.date, order, source, report)
    return order


def _record_digest(store: ContentStore, date: dt.date, order: list[str], source: str, report: Report) -> None:
    name = date.isoformat()
    previous = store.digests.get(name)
    listed = previous[2].get("papers") if previous else None
    old_order = [str(s) for s in listed] if isinstance(listed, list) else []
    dropped = [slug for slug in old_order if slug not in order]
    for slug in dropped:
        paper = store.papers.get(slug)
        if paper and name in (paper.data.get("digests") or []):
            paper.data["digests"] = [d for d in paper.data["digests"] if d != name]
            paper.changes.append(f"removed from digest {name}")
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
) -> Report:
    """Parse every listing first, then write all changed files; nothing is written on error."""
    report = Report()
    listings = []
    for source in sources:
        listing = parse_source(source, date, today)
        report.warnings += [f"{source.name}:{d.line}: {d.message}" for d in listing.diagnostics]
        report.skipped += sum("skipped" in d.message for d in listing.diagnostics)
        if listing.date_note:
            report.warnings.append(f"{source.name}: {listing.date_note}")
        listings.append((source, listing))
    store = ContentStore(site / "content")
    before = set(store.papers)
    mentioned: set[str] = set()
    for source, listing in _merge_same_day(listings):
        mentioned.update(ingest_listing(store, listing, source, report))
    writes = pending_writes(store, report)
    report.unchanged = sum(1 for slug in mentioned & before if store.papers[slug].path not in writes)
    for path, text in writes.items():
        atomic_write_text(path, text)
        report.written.append(path)
    return report


def _merge_same_day(listings: list[tuple[Source, Listing]]) -> list[tuple[str, Listing]]:
    """Listings of one date given together make one digest, in the order given."""
    merged: dict[dt.date, tuple[str, Listing]] = {}
    for source, listing in listings:
        assert listing.date is not None
        if listing.date in merged:
            name, earlier = merged[listing.date]
            combined = Listing(listing.date, earlier.papers + listing.papers, earlier.diagnostics + listing.diagnostics)
            merged[listing.date] = (name, combined)
        else:
            merged[listing.date] = (source.name, listing)
    return [merged[d] for d in sorted(merged)]


def summary(report: Report) -> str:
    return (
        f"{report.new} new, {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.skipped} skipped"
    )


__all__ = ["Diagnostic", "Report", "Source", "ingest", "read_source", "summary", "normalise_title"]
