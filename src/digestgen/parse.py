"""Read digest text (a saved "Daily Papers" listing) into paper records.

The parser is pure: text in, records and diagnostics out. It never raises on text;
anything it cannot read becomes a diagnostic with a line number.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from digestgen.links import Link, arxiv_id, extract_links

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH = "|".join(MONTHS)
# "Mar 29, 2022", "Sep 25, 2024 4", "Aug 6", "Oct 16 2": a comma means a year follows.
_DATE_LINE = re.compile(rf"^({_MONTH})[a-z]*\.?\s+(\d{{1,2}})(?:,\s*(\d{{4}}))?(?:\s+(\d+))?$")
_AUTHORS_LINE = re.compile(r"^[•·*\-]?\s*(\d+)\s+authors?$")
_MIDDLE_DOT = "·"
_LATEX_ESCAPE = re.compile(r"\\([%&_#$])")

_CHROME_EXACT = frozenset(
    {
        "new",
        "Get trending papers in your email inbox!",
        "Subscribe",
        "Daily Papers",
        "byAK and the research community",
    }
)
# Short lines only: an abstract that happens to end in "once a day!" is not page chrome.
_CHROME_PATTERNS = (re.compile(r"^Submitted by\b.{0,80}$"), re.compile(r"^.{0,80}\bonce a day!$"))


@dataclass(frozen=True)
class PaperRecord:
    """One paper as the listing shows it."""

    title: str
    abstract: str
    line: int
    published: dt.date | None = None
    upvotes: int = 0
    authors: int | None = None  # the count a text listing shows
    organization: str | None = None
    links: tuple[Link, ...] = ()
    # What richer sources (JSON, arXiv) give; a text listing leaves them empty.
    names: tuple[str, ...] = ()
    arxiv_given: str | None = None  # without version
    arxiv_version: int | None = None
    categories: tuple[str, ...] = ()
    primary_category: str | None = None
    keywords: tuple[str, ...] = ()
    comment: str | None = None
    journal_ref: str | None = None
    doi: str | None = None
    comments: int | None = None
    has_upvotes: bool = True  # False where the source has no upvotes (arXiv): the file's are kept
    listed: dt.date | None = None  # the day the source listed it (a Daily Papers item's own date)

    @property
    def arxiv(self) -> str | None:
        return self.arxiv_given or arxiv_id(self.links)


@dataclass(frozen=True)
class Diagnostic:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(frozen=True)
class Listing:
    """What one digest text holds: its date (given or inferred) and its papers in order."""

    date: dt.date | None
    papers: tuple[PaperRecord, ...]
    diagnostics: tuple[Diagnostic, ...]
    date_note: str | None = None  # how the date was found, when it was inferred


@dataclass(frozen=True)
class _Block:
    """Consecutive non-blank lines."""

    line: int
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(self.lines)


@dataclass(frozen=True)
class _DateParts:
    month: int
    day: int
    year: int | None
    upvotes: int


@dataclass
class _Meta:
    authors: int | None = None
    organization: str | None = None
    date: _DateParts | None = None
    problems: list[str] = field(default_factory=list)


def split_lines(text: str) -> list[str]:
    """Lines without BOM, line endings or trailing whitespace."""
    text = text.removeprefix("\ufeff")
    return [line.rstrip() for line in re.split(r"\r\n|\r|\n", text)]


def is_chrome(line: str) -> bool:
    stripped = line.strip()
    return stripped in _CHROME_EXACT or any(p.match(stripped) for p in _CHROME_PATTERNS)


def parse_date_line(line: str) -> _DateParts | None:
    match = _DATE_LINE.match(line.strip())
    if not match:
        return None
    month, day, year, upvotes = match.groups()
    return _DateParts(
        month=MONTHS.index(month[:3]) + 1,
        day=int(day),
        year=int(year) if year else None,
        upvotes=int(upvotes) if upvotes else 0,
    )


def _blocks(lines: list[str]) -> list[_Block]:
    blocks: list[_Block] = []
    current: list[str] = []
    start = 0
    for number, line in enumerate(lines, start=1):
        if line.strip() and (not is_chrome(line) or _names_a_meta_block(lines, number)):
            if not current:
                start = number
            current.append(line.strip())
        elif current:
            blocks.append(_Block(start, tuple(current)))
            current = []
    if current:
        blocks.append(_Block(start, tuple(current)))
    return blocks


def _names_a_meta_block(lines: list[str], number: int) -> bool:
    """A line that looks like page chrome ("Subscribe") but is followed by the middle dot is an organization's name."""
    return number < len(lines) and lines[number].strip() == _MIDDLE_DOT


def _is_meta(block: _Block) -> bool:
    """A meta block: an author count or organization, a middle dot, a date."""
    first = block.lines[0]
    return (len(block.lines) >= 2 and block.lines[1] == _MIDDLE_DOT) or bool(
        _AUTHORS_LINE.match(first)
    )


def _read_meta(block: _Block) -> _Meta:
    meta = _Meta()
    lines = list(block.lines)
    who = lines.pop(0)
    authors = _AUTHORS_LINE.match(who)
    if authors:
        meta.authors = int(authors.group(1))
    else:
        meta.organization = who
    if lines and lines[0] == _MIDDLE_DOT:
        lines.pop(0)
    if not lines:
        meta.problems.append("paper details have no date line")
        return meta
    meta.date = parse_date_line(lines[0])
    if meta.date is None:
        meta.problems.append(f"cannot read the date {lines[0]!r}")
    if len(lines) > 1:
        meta.problems.append(f"unexpected text after the date: {' '.join(lines[1:])!r}")
    return meta


def _header_date(lines: list[str]) -> tuple[_DateParts | None, int]:
    """The listing date printed in the page chrome, and the index of the first content line."""
    found: _DateParts | None = None
    for index, line in enumerate(lines):
        if not line.strip() or is_chrome(line):
            continue
        parts = parse_date_line(line)
        if parts is None or parts.upvotes:
            return found, index
        found = parts
    return found, len(lines)


def _resolve(parts: _DateParts, listing: dt.date | None) -> dt.date:
    """A calendar date; a date without a year is the latest one not after the listing date."""
    if parts.year is not None:
        return dt.date(parts.year, parts.month, parts.day)
    assert listing is not None
    for year in (listing.year, listing.year - 1, listing.year - 2, listing.year - 3, listing.year - 4):
        try:
            candidate = dt.date(year, parts.month, parts.day)
        except ValueError:  # Feb 29 outside a leap year: try an earlier year
            continue
        if candidate <= listing:
            return candidate
    raise ValueError(f"no year puts {MONTHS[parts.month - 1]} {parts.day} on or before {listing}")


def _infer_listing_date(
    header: _DateParts | None, metas: list[_Meta], given: dt.date | None, today: dt.date
) -> tuple[dt.date | None, str | None, str | None]:
    """Return (date, note saying how it was inferred, error)."""
    if given is not None:
        return given, None, None
    if header is None:
        return None, None, "the listing shows no date: pass --date YYYY-MM-DD"
    if header.year is not None:
        try:
            return dt.date(header.year, header.month, header.day), None, None
        except ValueError:
            return None, None, "the listing date is not a real date: pass --date YYYY-MM-DD"
    printed = [m.date.year for m in metas if m.date and m.date.year is not None]
    # The page prints a year only for dates outside the year it was captured in; and a listing
    # was not captured in the future.
    year = max(printed) + 1 if printed else today.year
    if dt.date(min(year, 9999), header.month, min(header.day, 28)) > today:
        year = min(year, today.year - 1 if (header.month, header.day) > (today.month, today.day) else today.year)
    reason = (
        f"the latest year printed in the listing is {max(printed)}"
        if printed
        else "no paper date shows a year, so the current year"
    )
    for candidate_year in (year, year + 1):
        try:
            date = dt.date(candidate_year, header.month, header.day)
            break
        except ValueError:
            continue
    else:
        return None, None, "the listing date is not a real date: pass --date YYYY-MM-DD"
    note = f"listing date {date.isoformat()} inferred from '{MONTHS[header.month - 1]} {header.day}' ({reason}; never after today); pass --date to override"
    return date, note, None


def clean_abstract(text: str) -> str:
    return _LATEX_ESCAPE.sub(r"\1", text)


def _papers(blocks: list[_Block]) -> tuple[list[tuple[_Block, _Block, _Block | None]], list[Diagnostic]]:
    """Group blocks into (title, abstract, meta-or-None) triples."""
    found: list[tuple[_Block, _Block, _Block | None]] = []
    problems: list[Diagnostic] = []
    index = 0
    while index < len(blocks):
        title = blocks[index]
        if _is_meta(title):
            problems.append(Diagnostic(title.line, "paper details without a title and abstract were skipped"))
            index += 1
            continue
        if index + 1 >= len(blocks) or _is_meta(blocks[index + 1]):
            problems.append(Diagnostic(title.line, f"paper {title.text[:80]!r} has no abstract and was skipped (truncated listing?)"))
            index += 2 if index + 1 < len(blocks) else 1
            continue
        abstract = blocks[index + 1]
        meta = blocks[index + 2] if index + 2 < len(blocks) and _is_meta(blocks[index + 2]) else None
        found.append((title, abstract, meta))
        index += 3 if meta else 2
    return found, problems


def parse_digest(text: str, *, date: dt.date | None = None, today: dt.date | None = None) -> Listing:
    """Read a listing. `date` (from --date or the file name) wins over the date it prints."""
    lines = split_lines(text)
    header, first = _header_date(lines)
    body = [""] * first + lines[first:]
    triples, diagnostics = _papers(_blocks(body))
    metas = [_read_meta(meta) if meta else _Meta() for _, _, meta in triples]
    listing_date, note, error = _infer_listing_date(header, metas, date, today or dt.date.today())
    if error:
        diagnostics.append(Diagnostic(1, error))
    records = []
    for (title, abstract, meta_block), meta in zip(triples, metas):
        for problem in meta.problems:
            diagnostics.append(Diagnostic(meta_block.line if meta_block else title.line, problem))
        published = None
        if meta.date is not None and (meta.date.year is not None or listing_date is not None):
            try:
                published = _resolve(meta.date, listing_date)
            except ValueError as exc:
                assert meta_block is not None
                where = meta_block.line + len(meta_block.lines) - 1
                diagnostics.append(Diagnostic(where, f"bad date {meta_block.lines[-1]!r} ({exc}); the paper is kept without a date"))
        text_ = clean_abstract(abstract.text)
        records.append(
            PaperRecord(
                title=title.text,
                abstract=text_,
                line=title.line,
                published=published,
                upvotes=meta.date.upvotes if meta.date else 0,
                authors=meta.authors,
                organization=meta.organization,
                links=extract_links(text_),
            )
        )
    diagnostics.sort(key=lambda d: d.line)
    return Listing(listing_date, tuple(records), tuple(diagnostics), note)


def format_digest(listing_date: dt.date, papers: tuple[PaperRecord, ...]) -> str:
    """Write records back as digest text, the way the Daily Papers page prints them."""
    out = ["Daily Papers", "", f"{MONTHS[listing_date.month - 1]} {listing_date.day}, {listing_date.year}", ""]
    for paper in papers:
        out += [paper.title, "", paper.abstract, ""]
        if paper.authors is None and paper.organization is None:
            continue
        who = f"  • {paper.authors} authors" if paper.authors is not None else paper.organization
        out += [who or "", _MIDDLE_DOT, _format_date(paper.published, paper.upvotes, listing_date), ""]
    return "\n".join(out)


def _format_date(published: dt.date | None, upvotes: int, listing_date: dt.date) -> str:
    assert published is not None
    text = f"{MONTHS[published.month - 1]} {published.day}"
    if published.year != listing_date.year:
        text += f", {published.year}"
    return f"{text} {upvotes}" if upvotes else text
