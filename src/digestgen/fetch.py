"""`digestgen fetch`: ask Hugging Face or arXiv, save the raw answer under sources/, then ingest it.

Polite by default: a User-Agent naming digestgen, arXiv's spacing between calls, timeouts, a bounded
retry with back-off on 429/503. Answers are saved before anything is ingested, so a later
`digestgen ingest sources/` is offline and gives the same files.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import socket
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import quote, urlencode, urlsplit

from digestgen import __version__
from digestgen.config import SourcesConfig
from digestgen.errors import DigestgenError
from digestgen.fileio import atomic_write_bytes
from digestgen.parse import Diagnostic, Listing
from digestgen.sources.arxiv_atom import entry_id, is_error, parse_arxiv_api
from digestgen.sources.arxiv_feed import parse_arxiv_feed
from digestgen.sources.text import split_arxiv_id
from digestgen.sources.xmlsafe import ATOM, parse_xml

SOURCES_DIR = "sources"
CACHE_DIR = ".cache/arxiv"  # hidden: `ingest sources/` skips it
USER_AGENT = f"digestgen/{__version__} (research digest generator; Python urllib)"
RETRIES = 3
MAX_WAIT_S = 60.0
HF_PAGE_SIZE = 100
HF_MAX_PAGES = 20
ARXIV_BATCH = 100
_CATEGORY = re.compile(r"^[a-z-]+(?:\.[A-Za-z-]+)?$")
_WEEK = re.compile(r"^\d{4}-W\d{2}$")
_MONTH = re.compile(r"^\d{4}-\d{2}$")


@dataclass
class Http:
    """One polite client: it remembers when it last asked each host, to keep the spacing."""

    timeout_s: float
    spacing_s: dict[str, float] = field(default_factory=dict)  # host -> seconds between calls
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    last_call: dict[str, float] = field(default_factory=dict)
    calls: int = 0

    def get(self, url: str) -> bytes:
        host = urlsplit(url).netloc
        for attempt in range(RETRIES + 1):
            self._wait_turn(host)
            try:
                return self._once(url)
            except urllib.error.HTTPError as exc:
                if exc.code not in (429, 503) or attempt == RETRIES:
                    raise DigestgenError(_http_problem(url, exc, attempt)) from None
                self.sleep(_retry_after(exc.headers.get("Retry-After"), attempt))
            except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                raise DigestgenError(f"cannot reach {host} ({reason}): offline, or the address in sources: is wrong?") from None
        raise AssertionError("unreachable")  # the loop returns or raises

    def _wait_turn(self, host: str) -> None:
        spacing = self.spacing_s.get(host, 0.0)
        last = self.last_call.get(host)
        if last is not None and spacing > 0:
            wait = last + spacing - self.clock()
            if wait > 0:
                self.sleep(wait)
        self.last_call[host] = self.clock()

    def _once(self, url: str) -> bytes:
        self.calls += 1
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"})
        with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
            return response.read()


def _retry_after(header: str | None, attempt: int) -> float:
    """Retry-After in seconds when the server says (capped), else 1, 2, 4 … seconds."""
    if header and header.strip().isdigit():
        return min(float(header.strip()), MAX_WAIT_S)
    return min(2.0**attempt, MAX_WAIT_S)


def _http_problem(url: str, exc: urllib.error.HTTPError, attempt: int) -> str:
    tries = f" after {attempt + 1} tries" if attempt else ""
    return f"{urlsplit(url).netloc} answered {exc.code} {exc.reason}{tries} for {url}"


def client(config: SourcesConfig) -> Http:
    arxiv_hosts = {urlsplit(config.arxiv_api).netloc, urlsplit(config.arxiv_rss).netloc}
    return Http(timeout_s=config.timeout_s, spacing_s={host: config.arxiv_delay_s for host in arxiv_hosts})


def with_same_day(site: Path, fetched: list[Path]) -> list[Path]:
    """The fetched files and every other saved source of the same dates, so one day's sources make one digest."""
    from digestgen.ingest import date_from_name

    days = {date_from_name(path.name) for path in fetched} - {None}
    folder = site / SOURCES_DIR
    others = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".") and date_from_name(p.name) in days)
    return list(dict.fromkeys([*others, *fetched]))


def _save(site: Path, name: str, data: bytes) -> Path:
    path = site / SOURCES_DIR / name
    atomic_write_bytes(path, data)
    return path


def fetch_hf(http: Http, config: SourcesConfig, site: Path, period: str, value: str) -> list[Path]:
    """Daily Papers of a date, ISO week or month, every page; the pages are saved, then their paths returned."""
    _check_period(period, value)
    pages: list[bytes] = []
    for page in range(HF_MAX_PAGES):
        query = urlencode({period: value, "limit": HF_PAGE_SIZE, "p": page})
        url = f"{config.hf_api.rstrip('/')}/daily_papers?{query}"
        raw = http.get(url)
        items = _json_list(raw, url)
        pages.append(raw)
        if len(items) < HF_PAGE_SIZE:
            break
    # Written only once every page has arrived: a failed fetch leaves sources/ as it was.
    return [_save(site, f"hf-{value}{'' if n == 0 else f'-p{n + 1}'}.json", raw) for n, raw in enumerate(pages)]


def _check_period(period: str, value: str) -> None:
    if period == "date":
        try:
            dt.date.fromisoformat(value)
            return
        except ValueError:
            pass
    elif (period == "week" and _WEEK.match(value)) or (period == "month" and _MONTH.match(value)):
        return
    shape = {"date": "YYYY-MM-DD", "week": "YYYY-Www", "month": "YYYY-MM"}[period]
    raise DigestgenError(f"--{period} {value!r} is not in the form {shape}")


def _json_list(raw: bytes, url: str) -> list:
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DigestgenError(f"{url} did not answer with JSON ({exc})") from None
    if not isinstance(data, list):
        message = data.get("error") if isinstance(data, dict) else None
        raise DigestgenError(f"{url} answered {message or 'something that is not a list of papers'}")
    return data


def fetch_feed(http: Http, config: SourcesConfig, site: Path, categories: list[str], today: dt.date) -> Path:
    """The announcement feed of the categories, saved as arxiv-CATS-DATE.xml (the feed's own date)."""
    bad = [c for c in categories if not _CATEGORY.match(c)]
    if bad:
        raise DigestgenError(f"{bad[0]!r} is not an arXiv category such as cs.LG")
    joined = "+".join(dict.fromkeys(categories))
    url = f"{config.arxiv_rss.rstrip('/')}/{quote(joined, safe='+.-')}"
    raw = http.get(url)
    try:
        listing = parse_arxiv_feed(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise DigestgenError(f"{url} did not answer with UTF-8 text") from None
    if listing.date is None and not listing.papers and listing.diagnostics:
        raise DigestgenError(f"{url} did not answer with a feed: {listing.diagnostics[0].message}")
    day = listing.date or today
    return _save(site, f"arxiv-{joined}-{day.isoformat()}.xml", raw)


@dataclass
class ArxivLookup:
    """Looks IDs up through the arXiv API, in batches; every answer is cached per ID and saved under sources/."""

    http: Http
    config: SourcesConfig
    site: Path
    stamp: dt.date  # names the saved responses, like the digest they go into
    saved: list[Path] = field(default_factory=list)

    def __call__(self, ids: list[str]) -> Listing:
        cached = {arxiv: self._cached(arxiv) for arxiv in ids}
        missing = [arxiv for arxiv, text in cached.items() if text is None]
        diagnostics = [
            Diagnostic(0, f"arXiv has no paper {arxiv} (said by an earlier lookup; delete {self._cache_path(arxiv)} to ask again); skipped")
            for arxiv, text in cached.items()
            if text == ""
        ]
        for number, start in enumerate(range(0, len(missing), ARXIV_BATCH)):
            batch = missing[start : start + ARXIV_BATCH]
            found, problems = self._ask(batch, number)
            cached.update(found)
            diagnostics += problems
        entries = [text for text in cached.values() if text]
        feed = f'<feed xmlns="{ATOM[1:-1]}">' + "".join(entries) + "</feed>"
        listing = parse_arxiv_api(feed)
        return Listing(None, listing.papers, tuple(diagnostics) + listing.diagnostics)

    def _cache_path(self, arxiv: str) -> Path:
        return self.site / SOURCES_DIR / CACHE_DIR / f"{arxiv.replace('/', '_')}.xml"

    def _cached(self, arxiv: str) -> str | None:
        try:
            return self._cache_path(arxiv).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def _ask(self, batch: list[str], number: int) -> tuple[dict[str, str], list[Diagnostic]]:
        query = urlencode({"id_list": ",".join(batch), "max_results": len(batch)})
        url = f"{self.config.arxiv_api}?{query}"
        raw = self.http.get(url)
        root, _line, problem = parse_xml(raw.decode("utf-8", errors="replace"))
        if root is None:
            raise DigestgenError(f"{url} did not answer with an arXiv feed: {problem}")
        suffix = "" if number == 0 else f"-{number + 1}"
        self.saved.append(_save(self.site, f"arxiv-api-{self.stamp.isoformat()}{suffix}.xml", raw))
        found: dict[str, str] = {}
        for entry in root.findall(f"{ATOM}entry"):
            ident = split_arxiv_id(entry_id(entry).split("/abs/", 1)[-1])
            if is_error(entry) or not ident or ident[0] not in batch:
                continue
            text = ET.tostring(entry, encoding="unicode")
            found[ident[0]] = text
            atomic_write_bytes(self._cache_path(ident[0]), text.encode("utf-8"))
        problems = []
        for arxiv in batch:
            if arxiv not in found:  # remembered as unknown (an empty file), so a second run asks nothing
                atomic_write_bytes(self._cache_path(arxiv), b"")
                problems.append(Diagnostic(0, f"arXiv has no paper {arxiv}; skipped"))
        return found, problems
