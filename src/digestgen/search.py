"""The prebuilt search: a lunr index (lunr.py, read by lunr.js 2.3.9) and a compact result store.

The browser's worker loads both files: the index answers queries with short numeric references,
the store turns a reference into what a result shows. Only the worker parses either file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from lunr.builder import Builder
from lunr.stemmer import PorterStemmer
from lunr.stop_word_filter import stop_word_filter
from lunr.token import Token

from digestgen import urls
from digestgen.lunrindex import serialize_index
from digestgen.model import Paper, Site
from digestgen.views import snippet

INDEX_PATH = "search/index.json"
STORE_PATH = "search/store.json"
TITLE_BOOST = 10
# Long enough to recognise a paper by its opening, short enough that 10,000 papers stay light.
STORE_SNIPPET = 160
STORE_FIELDS = ["title", "path", "date", "tags", "snippet"]

# lunr.js trims with /^\W+/ and /\W+$/, whose \W is ASCII-only; lunr.py's own trimmer leaves tokens
# such as "(e.g." untouched, which a browser query could then never reach.
_EDGE_PUNCTUATION = re.compile(r"^\W+|\W+$", re.ASCII)
# Decimals, percentages and ranges ("11.16", "3.5%", "1/3") are noise for finding a paper and a
# large share of the vocabulary; whole numbers ("2024", "3d") and words stay searchable.
_NUMERIC_NOISE = re.compile(r"^[\d.,/%+~^]*\d[\d.,/%+~^]*[.,/%+~^][\d.,/%+~^]*$")
# A link in an abstract stays one token ("https://github.com/x/y"), which no typed word reaches.
_LINK = re.compile(r"://|^www\.")


def _trim_like_lunr_js(token: Token, i: int | None = None, tokens: list[Token] | None = None) -> Token | None:
    """The build-side twin of lunr.js's trimmer; drops tokens that trim to nothing, numeric noise and links."""
    token.update(lambda text, metadata=None: _EDGE_PUNCTUATION.sub("", text))
    text = str(token)
    if not text or _NUMERIC_NOISE.match(text) or _LINK.search(text):
        return None
    return token


_trim_like_lunr_js.label = "trimmer"  # type: ignore[attr-defined]  # lunr.py asks pipeline functions for a label


class _LunrJsStemmer(PorterStemmer):
    """lunr.py's Porter stemmer, made to agree with lunr.js's, which stems what the browser is asked.

    They differ in one rule: lunr.js turns a final y into i only after a consonant ("try" -> "tri",
    "survey" stays), lunr.py after any vowel in the stem ("survey" -> "survei"), so a browser query for
    "survey" would never meet lunr.py's "survei".
    """

    def step1c(self) -> None:
        ends_in_consonant_y = self.b[self.k] == "y" and self.k - self.k0 >= 2 and self.b[self.k - 1] not in "aeiou"
        if ends_in_consonant_y:
            self.b = self.b[: self.k] + "i" + self.b[self.k + 1 :]


def _lunr_js_stemmer() -> Callable[..., Token]:
    stemmer = _LunrJsStemmer()

    def stem(token: Token, i: int | None = None, tokens: list[Token] | None = None) -> Token:
        return token.update(stemmer.stem)

    stem.label = "stemmer"  # type: ignore[attr-defined]  # lunr.js loads its own stemmer by this name
    return stem


def ordered_papers(site: Site) -> list[Paper]:
    """The order that gives each paper its short numeric reference: newest first."""
    return sorted(site.papers.values(), key=lambda p: p.sort_key, reverse=True)


def _tag_words(paper: Paper, labels: dict[str, str]) -> str:
    """Tag labels as plain words ('Generative models & diffusion' -> 'Generative models diffusion')."""
    return " ".join(re.sub(r"[^\w\s-]+", " ", labels.get(t, t)) for t in paper.tags)


def _document(ref: int, paper: Paper, labels: dict[str, str]) -> dict[str, str]:
    return {"id": str(ref), "title": paper.title, "tags": _tag_words(paper, labels), "abstract": paper.text}


def _builder() -> Builder:
    builder = Builder()
    stemmer = _lunr_js_stemmer()
    builder.pipeline.add(_trim_like_lunr_js, stop_word_filter, stemmer)
    builder.search_pipeline.add(stemmer)
    builder.ref("id")
    builder.field("title", boost=TITLE_BOOST)
    builder.field("tags")
    builder.field("abstract")
    return builder


def index_documents(site: Site) -> list[dict[str, str]]:
    labels = {t.slug: t.label for t in site.tags}
    return [_document(ref, paper, labels) for ref, paper in enumerate(ordered_papers(site))]


def build_index(site: Site) -> dict[str, Any]:
    """The serialized lunr index; refs are list positions in the store, so '0' … 'n-1'."""
    return serialize_index(_builder(), index_documents(site))


def build_index_with_lunr_py(site: Site) -> dict[str, Any]:
    """The same index the slow way, through lunr.py's own builder: the reference for tests."""
    builder = _builder()
    for document in index_documents(site):
        builder.add(document)
    return builder.build().serialize()


def build_store(site: Site) -> dict[str, Any]:
    """What a result shows, by reference: title, path, date, tag numbers, snippet."""
    tags = sorted(site.tags, key=lambda t: t.slug)
    tag_number = {t.slug: n for n, t in enumerate(tags)}
    docs = [
        [
            p.title,
            urls.paper(p.slug),
            p.published.isoformat() if p.published else "",
            [tag_number[t] for t in p.tags if t in tag_number],
            snippet(p.text, STORE_SNIPPET),
        ]
        for p in ordered_papers(site)
    ]
    return {"fields": STORE_FIELDS, "tags": [[t.slug, t.label, urls.tag(t.slug)] for t in tags], "docs": docs}


def compact_json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def search_makers(site: Site) -> list[tuple[str, Callable[[], bytes]]]:
    """The search outputs, each made only when asked: the build reuses unchanged ones."""
    return [
        (INDEX_PATH, lambda: compact_json(build_index(site))),
        (STORE_PATH, lambda: compact_json(build_store(site))),
    ]


def search_outputs(site: Site) -> list[tuple[str, bytes]]:
    return [(path, make()) for path, make in search_makers(site)]
