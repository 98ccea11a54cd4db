"""Find and classify the links an abstract mentions (code, project pages, Hugging Face, arXiv)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

# A URL either has a scheme or starts with a host we know; abstracts write both forms.
_URL = re.compile(
    r"""(?ix)
    (?<![\w@/.])
    (?:
        https?://[^\s<>"'`]+
      | (?:www\.)?(?:github\.com|gitlab\.com|huggingface\.co|arxiv\.org)/[^\s<>"'`]+
      | [a-z0-9-]+\.github\.io(?:/[^\s<>"'`]*)?
    )
    """
)
_ARXIV_ID = re.compile(r"(?i)\barxiv[:\s]\s*(\d{4}\.\d{4,5})(?:v\d+)?\b")
_ARXIV_PATH = re.compile(r"^/(?:abs|pdf|html)/(\d{4}\.\d{4,5}|[a-z][a-z-]*(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?(?:\.pdf)?/?$")
_TRAILING_JUNK = ".,;:!?)]}'\""

KIND_LABELS = {
    "code": "Code",
    "project": "Project page",
    "dataset": "Dataset",
    "model": "Model",
    "space": "Demo",
    "arxiv": "arXiv",
    "pdf": "PDF",
}


@dataclass(frozen=True)
class Link:
    kind: str
    url: str

    @property
    def label(self) -> str:
        return KIND_LABELS.get(self.kind, "Link")


def _trim(candidate: str) -> str:
    """Drop sentence punctuation glued to the end of a URL, keeping balanced parentheses."""
    while candidate and candidate[-1] in _TRAILING_JUNK:
        if candidate[-1] == ")" and candidate.count("(") >= candidate.count(")"):
            break
        candidate = candidate[:-1]
    return candidate


def _remove_suffix(text: str, suffix: str) -> str:
    return text[: -len(suffix)] if suffix and text.endswith(suffix) else text


def _normalise(candidate: str) -> str:
    candidate = _trim(candidate.lstrip("~"))
    if not candidate.lower().startswith(("http://", "https://")):
        candidate = "https://" + candidate
    return candidate


def classify(url: str) -> Link:
    """Tell what a URL points at; a repository link loses a `.git` suffix."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().removeprefix("www.")
    segments = [s for s in parts.path.split("/") if s]
    if host in ("github.com", "gitlab.com") and len(segments) >= 2:
        if len(segments) == 2 and not parts.query:
            return Link("code", f"https://{host}/{segments[0]}/{_remove_suffix(segments[1], '.git')}")
        return Link("code", url)
    if host == "huggingface.co" and len(segments) >= 2:
        kinds = {"datasets": "dataset", "spaces": "space", "papers": "arxiv"}
        if segments[0] == "papers":
            return Link("arxiv", f"https://arxiv.org/abs/{segments[1]}")
        return Link(kinds.get(segments[0], "model"), url)
    if host == "arxiv.org":
        match = _ARXIV_PATH.match(parts.path)
        if match:
            return Link("arxiv", f"https://arxiv.org/abs/{match.group(1)}")
    return Link("project", url)


def find_urls(text: str) -> list[tuple[int, int, str]]:
    """Where `text` mentions a web address: (start, end, the absolute http(s) URL) for each."""
    found = []
    for match in _URL.finditer(text):
        written = _trim(match.group(0).lstrip("~"))
        start = match.start() + match.group(0).index(written) if written else match.start()
        url = _normalise(written)
        if written and urlsplit(url).hostname:
            found.append((start, start + len(written), url))
    return found


def extract_links(text: str) -> tuple[Link, ...]:
    """All links in `text`, in order of appearance, without duplicates."""
    found: dict[str, Link] = {}
    for match in _URL.finditer(text):
        link = classify(_normalise(match.group(0)))
        if urlsplit(link.url).hostname:
            found.setdefault(link.url, link)
    for match in _ARXIV_ID.finditer(text):
        link = Link("arxiv", f"https://arxiv.org/abs/{match.group(1)}")
        found.setdefault(link.url, link)
    return tuple(found.values())


def arxiv_id(links: tuple[Link, ...]) -> str | None:
    """The first arXiv identifier among `links`, if any."""
    for link in links:
        if link.kind == "arxiv":
            return link.url.split("/abs/", 1)[-1]  # old-style IDs have a slash: math/0501001
    return None
