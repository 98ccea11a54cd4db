"""A plain list of arXiv IDs or URLs, one a line; blank lines and `#` comments allowed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from digestgen.parse import Diagnostic, split_lines
from digestgen.sources.text import clean_line, split_arxiv_id

_PREFIX = re.compile(r"(?i)^arxiv:\s*")
_PATH = re.compile(r"^/(?:abs|pdf|html|papers)/(.+?)(?:\.pdf)?/?$")


@dataclass(frozen=True)
class IdList:
    ids: tuple[tuple[int, str], ...]  # (line, arXiv ID without version), first mention only
    diagnostics: tuple[Diagnostic, ...]


def read_id(text: str) -> str | None:
    """The arXiv ID (without version) a line names, or None."""
    text = _PREFIX.sub("", text.strip())
    if text.lower().startswith(("http://", "https://")):
        parts = urlsplit(text)
        host = (parts.hostname or "").lower().removeprefix("www.").removeprefix("export.")
        match = _PATH.match(parts.path)
        if host not in ("arxiv.org", "huggingface.co") or not match:
            return None
        if host == "huggingface.co" and not parts.path.startswith("/papers/"):
            return None
        text = match.group(1)
    found = split_arxiv_id(text)
    return found[0] if found else None


def _content(line: str) -> str:
    return clean_line(line.split(" #", 1)[0] if not line.lstrip().startswith("#") else "")


def looks_like_id_list(text: str) -> bool:
    """Every non-blank, non-comment line is an ID or URL, and there is at least one."""
    named = 0
    for line in split_lines(text):
        content = _content(line)
        if content:
            if not read_id(content):
                return False  # most texts fail on their first line: stop there
            named += 1
    return named > 0


def parse_id_list(text: str) -> IdList:
    ids: dict[str, int] = {}
    diagnostics = []
    for number, line in enumerate(split_lines(text), start=1):
        content = _content(line)
        if not content:
            continue
        found = read_id(content)
        if found is None:
            diagnostics.append(Diagnostic(number, f"{content[:80]!r} is not an arXiv ID or URL; skipped"))
        elif found in ids:
            diagnostics.append(Diagnostic(number, f"{found} is listed again (first on line {ids[found]}); kept once"))
        else:
            ids[found] = number
    return IdList(tuple((line, arxiv) for arxiv, line in ids.items()), tuple(diagnostics))
