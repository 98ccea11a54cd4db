"""The prebuilt search: a lunr index (lunr.py, whose BM25 elements the browser's worker scores with) and a result store.

The browser's worker (static/search-worker.js) loads both; its one query engine answers from either
layout. What is indexed (searchtext.py: hyphenated and camel-case compounds whole and split,
repository names, the arXiv term), the fields and the query language are written down in
docs/search-index.md.

A site with `search_shard_threshold` papers or more gets the same index split so that a query
downloads only what it needs (about 0.8 KB of gzipped index per paper is too much to load whole):

    search/index.json        the manifest: fields, scoring constants, the first term of each shard
    search/store.json        tags, how the result store is chunked, results a page (no documents)
    search/shards/N.json     a contiguous range of the sorted vocabulary: for each term its number,
                             and per field (0 where it is absent) the documents that have it (as gaps),
                             how often, and (unless the term is common in that field) the field's
                             length there
    search/lengths/F.json    field F's length in every document, for the common terms
    search/terms/L.json      the vocabulary's terms of length L (front-coded), for typo-tolerant terms
    search/store/N.json      STORE_CHUNK results a file, by reference (each with its whole abstract)
    search/tags/N.json       the references of the papers with tag N (as gaps), for the tag filter
    search/dates.json        dates in reference order as runs, for the date filter
    search/facets.json       organization, authors and upvotes of every paper, for those filters,
                             their counts and sorting by upvotes (fetched only for them)

Lists of small numbers (gaps, counts, lengths) are written as text in `number_text`'s code, which
gzip packs tighter than JSON arrays of numbers.

The worker recomputes from counts and lengths the same field vector elements lunr.py would have
written (its formula and rounding), so both layouts score every query with the same numbers.
Every file name follows from the number of papers and tags alone, so a rebuild that changes no
paper can skip them all.
"""

from __future__ import annotations

import bisect
import functools
import gc
import heapq
import itertools
import json
import math
import operator
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from lunr.builder import Builder
from lunr.stemmer import PorterStemmer
from lunr.stop_word_filter import stop_word_filter
from lunr.token import Token

from digestgen import urls
from digestgen.lunrindex import Pieces, TermColumns, for_lunr_py, idf, serialize_index, term_columns, tokenize
from digestgen.model import Paper, Site
from digestgen.searchtext import chunk_terms, chunks, link_names, spell_greek, urls_in

INDEX_PATH = "search/index.json"
STORE_PATH = "search/store.json"
FACETS_PATH = "search/facets.json"
# How much a match in each field counts: a title most, then the names people search by (authors,
# organization, repository), the abstract; a tag label least (tags are guessed, and a tag's words
# would otherwise count as much as the abstract's).
FIELD_BOOSTS = {"title": 10, "abstract": 1, "tags": 0.3, "author": 3, "names": 3}
INDEX_FIELDS = tuple(FIELD_BOOSTS)
TITLE_BOOST = FIELD_BOOSTS["title"]
# A result's text is the whole abstract: the worker cuts the snippet around the first match and
# checks quoted phrases against it.
STORE_FIELDS = ["title", "path", "date", "tags", "text", "organization", "authors", "upvotes", "arxiv"]

SHARDS_FORMAT = 2
# Tuned on generated sites of 10,000 and 50,000 papers (bench/search_shards.py). Small shards (a
# few KB gzipped) waste little on the terms next to the ones a query needs. The hits a page shows
# rarely share a store file, so each costs a file: pages of RESULTS_PAGE results (not the 50 a small
# site shows) and files of two keep that to about 25 KB gzipped (a phrase query that checks two
# pages of candidates: 50 KB; with four a file it was 106 KB, and its whole cold query over 300 KB),
# for a store file per two papers.
PAPERS_PER_SHARD = 25
STORE_CHUNK = 2
RESULTS_PAGE = 20
# A field's length is needed to score a term there. A term found in fewer than this share of the
# papers carries the lengths of its papers, so that a query for it fetches nothing else; the common
# terms rely on the field's length file instead (one per field: a common term needs most of it),
# fetched once and shared by every common term.
INLINE_LENGTHS_SHARE = 0.02
LONGEST_TERM_BUCKET = 20  # terms of this length or longer share the last vocabulary file

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


@functools.lru_cache(maxsize=4096)
def _label_words(label: str) -> str:
    """A tag label as plain words ('Generative models & diffusion' -> 'Generative models diffusion')."""
    return re.sub(r"[^\w\s-]+", " ", label)


def _tag_words(paper: Paper, labels: dict[str, str]) -> str:
    """The paper's tag labels as plain words; a site has few tags, so each label is cleaned once."""
    return " ".join([_label_words(labels.get(t, t)) for t in paper.tags])


def arxiv_term(arxiv: str) -> str:
    """The index term that finds a paper by its arXiv ID ("2301.00001v2" -> "arxiv230100001")."""
    return "arxiv" + re.sub(r"v\d+$", "", arxiv.strip()).replace(".", "").replace("/", "").lower()


def _names(paper: Paper, abstract_chunks: list[str] | None) -> list[str]:
    """Organization, repository names of its links and of links in its abstract, and its arXiv term, as tokens.

    `abstract_chunks`: the abstract's `text.split()`, if made already.
    """
    repositories = link_names([link.url for link in paper.links] + urls_in(paper.text, abstract_chunks))
    named = [paper.organization or "", *dict.fromkeys(repositories)]
    # A list is taken token by token (as the text these terms would make, space-separated, would be split).
    tokens = [term for chunk in chunks(" ".join(named)) for term in chunk_terms(chunk)]
    return tokens + tokenize(arxiv_term(paper.arxiv)) if paper.arxiv else tokens


def _indexed(text: str) -> Pieces:
    """A field's text as the index reads it (searchtext's words); its chunks' terms are found once per chunk."""
    return Pieces(chunks(text), chunk_terms)


def _document(ref: int, paper: Paper, labels: dict[str, str]) -> dict[str, Any]:
    spelled = spell_greek(paper.text)
    abstract = spelled.split()  # = chunks(paper.text)
    return {
        "id": str(ref),
        "title": _indexed(paper.plain_title),
        "abstract": Pieces(abstract, chunk_terms),
        "tags": _indexed(_tag_words(paper, labels)),
        "author": _indexed(" ".join(paper.authors)),
        "names": _names(paper, abstract if spelled is paper.text else None),
    }


def _builder() -> Builder:
    builder = Builder()
    stemmer = _lunr_js_stemmer()
    builder.pipeline.add(_trim_like_lunr_js, stop_word_filter, stemmer)
    builder.search_pipeline.add(stemmer)
    builder.ref("id")
    for field, boost in FIELD_BOOSTS.items():
        builder.field(field, boost=boost)
    return builder


def index_documents(site: Site) -> list[dict[str, Any]]:
    labels = {t.slug: t.label for t in site.tags}
    return [_document(ref, paper, labels) for ref, paper in enumerate(ordered_papers(site))]


def _without_cycle_collection(make: Callable[..., Any]) -> Callable[..., Any]:
    """`make` with Python's cyclic garbage collector paused while it runs (and restored after).

    Computing the search files allocates millions of small objects that live until the files are
    written, on top of the loaded site's; each collector pass walks them, and at 50,000 papers the
    passes took about a third of the index's CPU time (bench/search_build.py). Reference counting
    still frees what is dropped; what these functions make has no cycles to leave behind.
    """

    @functools.wraps(make)
    def paused(*args: Any, **kwargs: Any) -> Any:
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return make(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()

    return paused


@_without_cycle_collection
def build_index(site: Site) -> dict[str, Any]:
    """The serialized lunr index; refs are list positions in the store, so '0' … 'n-1'."""
    return serialize_index(_builder(), index_documents(site))


def build_index_with_lunr_py(site: Site) -> dict[str, Any]:
    """The same index the slow way, through lunr.py's own builder: the reference for tests."""
    builder = _builder()
    for document in index_documents(site):
        builder.add(for_lunr_py(document))
    return builder.build().serialize()


def _store_tags(site: Site) -> list[list[str]]:
    """[slug, label, path] of every tag; a tag's number is its position here."""
    return [[t.slug, t.label, urls.tag(t.slug)] for t in sorted(site.tags, key=lambda t: t.slug)]


def _store_docs(site: Site) -> list[list[Any]]:
    tag_number = {slug: n for n, (slug, _label, _path) in enumerate(_store_tags(site))}
    return [
        [
            p.plain_title,
            urls.paper(p.slug),
            p.published.isoformat() if p.published else "",
            [tag_number[t] for t in p.tags if t in tag_number],
            p.text,
            p.organization or "",
            list(p.authors),
            p.upvotes,
            p.arxiv or "",
        ]
        for p in ordered_papers(site)
    ]


@_without_cycle_collection
def build_store(site: Site) -> dict[str, Any]:
    """What a result shows, by reference: title, path, date, tag numbers, text, organization, authors, upvotes, arXiv ID."""
    return {"fields": STORE_FIELDS, "tags": _store_tags(site), "docs": _store_docs(site)}


def compact_json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def search_groups(
    site: Site, check: Callable[[], None] = lambda: None
) -> list[tuple[tuple[str, ...], Callable[[], dict[str, bytes]]]]:
    """The search outputs as groups of files made together; the build reuses unchanged groups.

    The sharded index's files come from one computation and its store's from another, so each is
    one group: a build process makes a whole group, and no two processes compute the same one.
    `check` is called now and then while the index is made; it may raise to give the work up.
    """
    if len(site.papers) < site.config.search_shard_threshold:
        return [
            ((INDEX_PATH,), lambda: {INDEX_PATH: compact_json(build_index(site))}),
            ((STORE_PATH,), lambda: {STORE_PATH: compact_json(build_store(site))}),
        ]
    layout = ShardLayout(len(site.papers), len(site.tags))
    return [
        (tuple(layout.index_paths()), lambda: build_index_parts(site, layout, check)),
        (tuple(layout.store_paths()), lambda: build_store_parts(site, layout)),
    ]


# --- The sharded layout ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ShardLayout:
    """Which files a sharded search has: a function of the paper and tag counts only."""

    papers: int
    tags: int

    @property
    def shards(self) -> int:
        return max(1, math.ceil(self.papers / PAPERS_PER_SHARD))

    def index_paths(self) -> list[str]:
        return [
            INDEX_PATH,
            *[f"search/shards/{n}.json" for n in range(self.shards)],
            *[f"search/lengths/{field}.json" for field in INDEX_FIELDS],
            *[f"search/terms/{n}.json" for n in range(1, LONGEST_TERM_BUCKET + 1)],
        ]

    def store_paths(self) -> list[str]:
        return [
            STORE_PATH,
            "search/dates.json",
            FACETS_PATH,
            *[f"search/store/{n}.json" for n in range(math.ceil(self.papers / STORE_CHUNK))],
            *[f"search/tags/{n}.json" for n in range(self.tags)],
        ]

    def paths(self) -> list[str]:
        return self.index_paths() + self.store_paths()


def utf16_order(term: str) -> bytes:
    """JavaScript compares strings by UTF-16 code units; the browser must find terms where we put them."""
    return term.encode("utf-16-be")


def utf16_length(term: str) -> int:
    return len(term.encode("utf-16-le")) // 2


# number_text's digits: a number is written in base 32, most significant digit first, every digit
# but the last from CONTINUED; so 0-31 take one character, up to 1023 two. Neither has " or \.
_LAST_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUV"
_CONTINUED_DIGITS = "WXYZabcdefghijklmnopqrstuvwxyz-_"


def _number_digits(number: int) -> str:
    digits = _LAST_DIGITS[number & 31]
    number >>= 5
    while number:
        digits = _CONTINUED_DIGITS[number & 31] + digits
        number >>= 5
    return digits


# Nearly every number written is below 32768 (three digits): looked up, not computed, for speed.
_DIGITS_BELOW_32768 = tuple(_number_digits(n) for n in range(32768))


def number_text(numbers: Iterable[int]) -> str:
    """Non-negative integers as one string (decoded by the worker's numbersOf)."""
    numbers = numbers if isinstance(numbers, list) else list(numbers)
    try:
        return "".join(map(_DIGITS_BELOW_32768.__getitem__, numbers))
    except IndexError:  # a number of 32768 or more: rare
        return "".join([_number_digits(n) for n in numbers])


def _deltas(numbers: list[int]) -> list[int]:
    """Ascending numbers as gaps from the previous one (the first from 0): short, repetitive, gzip-friendly."""
    return list(map(operator.sub, numbers, [0, *numbers]))


class _NumberColumn:
    """Numbers written one after another in number_text's code, cut into runs: `run(k)` is the text of the k-th."""

    def __init__(self, numbers: np.ndarray, digits: np.ndarray, widths: np.ndarray, cuts: np.ndarray):
        """`cuts`: where each run starts in `numbers`, and where the last ends."""
        self.text = "".join(digits[numbers].tolist())
        ends = np.cumsum(widths[numbers]) if len(numbers) else np.zeros(0, dtype=np.int64)
        self.offsets = np.concatenate((np.zeros(1, dtype=np.int64), ends))[cuts].tolist()  # at the cuts only

    def run(self, k: int) -> str:
        return self.text[self.offsets[k]:self.offsets[k + 1]]


def _digit_table(largest: int) -> tuple[np.ndarray, np.ndarray]:
    """number_text's digits of every number up to `largest`, and how many characters each has."""
    digits = list(_DIGITS_BELOW_32768) + [_number_digits(n) for n in range(len(_DIGITS_BELOW_32768), largest + 1)]
    return np.array(digits, dtype=object), np.array([len(d) for d in digits], dtype=np.int64)


_PLAIN_JSON_STRING = re.compile(r'[^"\\\x00-\x1f\x7f-\x9f\u2028\u2029]*')


def _json_string(term: str) -> str:
    """The term as json.dumps(term, ensure_ascii=False) writes it; most terms need no escape."""
    return f'"{term}"' if _PLAIN_JSON_STRING.fullmatch(term) else json.dumps(term, ensure_ascii=False)


class _FieldCells:
    """One field's part of every term's entry: `cell(t)` is 0, or [gaps, counts] or [gaps, counts, lengths] as number_text."""

    def __init__(self, index: TermColumns, field: int, inline_below: int, table: tuple[np.ndarray, np.ndarray]):
        postings = index.postings[field]
        starts, positions = postings.starts, postings.positions
        sizes = postings.documents()
        gaps = positions.copy()
        gaps[1:] -= positions[:-1]
        firsts = starts[:-1][sizes > 0]
        gaps[firsts] = positions[firsts]  # each term's first position is written whole
        self.sizes = sizes.tolist()
        self.inline_below = inline_below
        self.gaps = _NumberColumn(gaps, *table, starts)
        self.counts = _NumberColumn(postings.counts, *table, starts)
        # The lengths of the papers of the terms found in few of them, term after term.
        rare = sizes < inline_below
        inline_starts = np.concatenate((np.zeros(1, dtype=np.int64), np.cumsum(np.where(rare, sizes, 0))))
        self.lengths = _NumberColumn(index.lengths[field][positions[np.repeat(rare, sizes)]], *table, inline_starts)

    def cell(self, term: int) -> str:
        size = self.sizes[term]
        if not size:
            return "0"  # most terms are absent from most fields
        if size < self.inline_below:
            return f'["{self.gaps.run(term)}","{self.counts.run(term)}","{self.lengths.run(term)}"]'
        return f'["{self.gaps.run(term)}","{self.counts.run(term)}"]'


def _encoded_terms(index: TermColumns, order: list[int], inline_below: int) -> list[str]:
    """Each term in `order` as its shard entry: [term, number, a cell per field], as JSON text.

    Lists are number_text, whose digits need no escaping in JSON: only the term goes through the encoder.
    """
    largest = max([len(index.refs), *(int(p.counts.max()) for p in index.postings if len(p.counts)),
                   *(int(column.max()) for column in index.lengths if len(column))])
    table = _digit_table(largest)
    fields = [_FieldCells(index, field, inline_below, table) for field in range(len(index.fields))]
    terms = index.terms
    return [f"[{_json_string(terms[t])},{t},{','.join([field.cell(t) for field in fields])}]" for t in order]


def split_evenly(weights: list[int], count: int) -> list[int]:
    """Start indices of `count` contiguous groups of the weighted items, as even as single items allow.

    The heaviest group of two or more items is halved by weight until there are `count` groups; if
    there are fewer items than groups, empty groups (starting at 0) come first.
    """
    prefix = list(itertools.accumulate(weights, initial=0))
    heap: list[tuple[int, int, int]] = [(-prefix[-1], 0, len(weights))] if weights else []
    single: list[tuple[int, int]] = []
    while heap and len(heap) + len(single) < count:
        _weight, start, end = heapq.heappop(heap)
        if end - start < 2:
            single.append((start, end))
            continue
        half = (prefix[start] + prefix[end]) / 2
        cut = min(max(bisect.bisect_left(prefix, half, start + 1, end), start + 1), end - 1)
        if cut > start + 1 and half - prefix[cut - 1] < prefix[cut] - half:
            cut -= 1
        heapq.heappush(heap, (-(prefix[cut] - prefix[start]), start, cut))
        heapq.heappush(heap, (-(prefix[end] - prefix[cut]), cut, end))
    starts = sorted([start for start, _ in single] + [start for _, start, _ in heap])
    return [0] * (count - len(starts)) + starts


def front_coded(terms: list[str]) -> list[str]:
    """Sorted terms, each as one digit (code units shared with the previous term, at most 9) and the rest."""
    out = []
    previous = ""
    for term in terms:
        # At most 9 code units are shared, and a character is at least one: no need to look further.
        shared, most = 0, min(len(term), len(previous), 9)
        while shared < most and term[shared] == previous[shared]:
            shared += 1
        while not term[:shared].isascii() and utf16_length(term[:shared]) > 9:
            shared -= 1
        out.append(f"{utf16_length(term[:shared])}{term[shared:]}")
        previous = term
    return out


def _shard_file(frequencies: list[int], idfs: dict[int, float], encoded: list[str]) -> bytes:
    """A shard: its terms (already JSON), and the idf of each document frequency they have, since the
    browser's Math.log may differ from Python's in the last bit."""
    idf_json = compact_json({str(k): idfs[k] for k in sorted(set(frequencies))}).decode("utf-8")
    return f'{{"idf":{idf_json},"terms":[{",".join(encoded)}]}}'.encode()


def common_terms(index: TermColumns, order: list[int], inline_below: int) -> dict[str, Any]:
    """The terms that rely on a length file, in `order`, front-coded, with the fields where they do as bit masks.

    A query reads this before any shard is in, so that it can ask for the length files it will need
    together with its shards rather than after them.
    """
    masks = np.zeros(len(index.terms), dtype=np.int64)
    for k, postings in enumerate(index.postings):
        masks |= (postings.documents() >= inline_below).astype(np.int64) << k
    common = [t for t in order if masks[t]]
    return {"terms": front_coded([index.terms[t] for t in common]), "fields": number_text(masks[common].tolist())}


def _manifest(index: TermColumns, layout: ShardLayout, bounds: list[str], common: dict[str, Any]) -> dict[str, Any]:
    return {
        "shards": {
            "format": SHARDS_FORMAT,
            "version": index.version,
            "fields": index.fields,
            "boosts": index.boosts,
            "k1": index.k1,
            "b": index.b,
            "averages": index.averages,
            "pipeline": index.pipeline,
            "count": layout.papers,
            "bounds": front_coded(bounds),
            "longestTermBucket": LONGEST_TERM_BUCKET,
            "common": common,
        }
    }


def _date_runs(docs: list[list[Any]]) -> list[list[Any]]:
    """Dates in reference order (newest first, so equal dates are neighbours) as [date, how many] runs."""
    return [[date, len(list(run))] for date, run in itertools.groupby(doc[2] for doc in docs)]


def facets(docs: list[list[Any]]) -> dict[str, Any]:
    """Organization, authors and upvotes of every paper by reference, for filters, counts and sorting.

    Names are numbered in sorted order; `org` holds each paper's organization number + 1 (0: none),
    `people` each paper's author count followed by its authors' numbers, `upvotes` the upvotes.
    """
    orgs = sorted({doc[5] for doc in docs if doc[5]})
    authors = sorted({name for doc in docs for name in doc[6]})
    org_number = {name: n for n, name in enumerate(orgs)}
    author_number = {name: n for n, name in enumerate(authors)}
    people = []
    for doc in docs:
        people += [len(doc[6]), *(author_number[name] for name in doc[6])]
    return {
        "orgs": orgs,
        "authors": authors,
        "org": number_text(org_number[doc[5]] + 1 if doc[5] else 0 for doc in docs),
        "people": number_text(people),
        "upvotes": number_text(max(0, doc[7]) for doc in docs),
    }


def build_shards(site: Site, layout: ShardLayout) -> dict[str, bytes]:
    """Every file of the sharded search, by output path."""
    files = {**build_index_parts(site, layout), **build_store_parts(site, layout)}
    missing = set(layout.paths()) ^ set(files)
    assert not missing, sorted(missing)[:5]  # the layout promised exactly these names
    return files


@_without_cycle_collection
def build_index_parts(site: Site, layout: ShardLayout, check: Callable[[], None] = lambda: None) -> dict[str, bytes]:
    """The manifest, shards, length files and vocabulary files, by output path."""
    index = term_columns(_builder(), _checked(index_documents(site), check))
    terms = index.terms
    order = sorted(range(len(terms)), key=lambda t: utf16_order(terms[t]))
    inline_below = math.ceil(INLINE_LENGTHS_SHARE * layout.papers)
    encoded = _encoded_terms(index, order, inline_below)
    frequency = index.frequency().tolist() if terms else []
    idfs = {df: idf(df, len(index.refs)) for df in set(frequency)}
    starts = split_evenly([len(text) for text in encoded], layout.shards)
    ends = starts[1:] + [len(order)]
    bounds = ["" if n == 0 or start >= len(order) else terms[order[start]] for n, start in enumerate(starts)]
    files = {
        INDEX_PATH: compact_json(_manifest(index, layout, bounds, common_terms(index, order, inline_below))),
        **{
            f"search/shards/{n}.json": _shard_file([frequency[t] for t in order[start:end]], idfs, encoded[start:end])
            for n, (start, end) in enumerate(zip(starts, ends))
        },
        **{
            f"search/lengths/{field}.json": compact_json(number_text(index.lengths[k].tolist()))
            for k, field in enumerate(index.fields)
        },
    }
    by_length: dict[int, list[str]] = {n: [] for n in range(1, LONGEST_TERM_BUCKET + 1)}
    for t in order:
        by_length[min(utf16_length(terms[t]), LONGEST_TERM_BUCKET)].append(terms[t])
    files.update({f"search/terms/{n}.json": compact_json(front_coded(words)) for n, words in by_length.items()})
    return files


def _checked(documents: list[dict[str, Any]], check: Callable[[], None], every: int = 200) -> Iterator[dict[str, Any]]:
    for number, document in enumerate(documents):
        if number % every == 0:
            check()
        yield document


@_without_cycle_collection
def build_store_parts(site: Site, layout: ShardLayout) -> dict[str, bytes]:
    """The store's outline, its chunks, and the tag and date facets, by output path."""
    docs = _store_docs(site)
    tags = _store_tags(site)
    tagged: list[list[int]] = [[] for _ in tags]
    for ref, doc in enumerate(docs):
        for number in doc[3]:
            tagged[number].append(ref)
    return {
        STORE_PATH: compact_json(
            {"fields": STORE_FIELDS, "tags": tags, "count": len(docs), "chunk": STORE_CHUNK, "page": RESULTS_PAGE}
        ),
        "search/dates.json": compact_json(_date_runs(docs)),
        FACETS_PATH: compact_json(facets(docs)),
        **{
            f"search/store/{n}.json": compact_json(docs[start : start + STORE_CHUNK])
            for n, start in enumerate(range(0, len(docs), STORE_CHUNK))
        },
        **{f"search/tags/{n}.json": compact_json(number_text(_deltas(refs))) for n, refs in enumerate(tagged)},
    }
