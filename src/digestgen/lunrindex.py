"""A faster way to the index lunr.py would write: the same builder settings, the same bytes.

lunr.py runs its token pipeline (trimmer, stop words, Porter stemmer) on every token of every
document and keeps per-token objects that the serialized index never uses. Here each distinct
token goes through the builder's own pipeline once, counting is done with plain dicts, and the
scores use the same formula in the same order of float operations, so the output is identical
to `Builder.add(...) … build().serialize()` (the tests compare them byte for byte).

A field's value may also be `Pieces`: its text cut into pieces (digestgen's words) with a pure
function giving each piece's tokens. lunr.py's builder is given the same value as the list of all
those tokens (`Pieces.tokens`); here the pipeline's output is kept per distinct piece, so a piece
that recurs (most of an abstract's words do) costs one dictionary look-up.

`term_columns` gives the inputs of those numbers arranged by term rather than by field vector (term
counts, field lengths, idf), as numpy columns, for a search index split into term ranges that the
browser puts back together (see search.py and static/search-worker.js).
"""

from __future__ import annotations

import itertools
import math
import re
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from lunr import __TARGET_JS_VERSION__
from lunr.builder import Builder
from lunr.token import Token
from lunr.utils import as_string

# lunr.py's tokenizer splits on these characters (lunr.js: /[\s\-]+/).
_SEPARATORS = re.compile("[ \t\n\r\f\v\xa0-]+")


def tokenize(value: Any) -> list[str]:
    """What lunr.py's Tokenizer yields, as strings."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [as_string(element).lower() for element in value]
    return [piece for piece in _SEPARATORS.split(str(value).lower()) if piece]


@dataclass(frozen=True)
class Pieces:
    """A field's value as pieces of text and the pure function that gives each piece's tokens."""

    pieces: Sequence[str]
    tokens_of: Callable[[str], Sequence[str]]

    def tokens(self) -> list[str]:
        """The value as lunr.py's builder should be given it: every piece's tokens, in order."""
        return [token for piece in self.pieces for token in self.tokens_of(piece)]


def for_lunr_py(document: dict[str, Any]) -> dict[str, Any]:
    """The document with each `Pieces` value as its list of tokens, which lunr.py's builder takes."""
    return {key: value.tokens() if isinstance(value, Pieces) else value for key, value in document.items()}


class _Terms:
    """A field's terms: the builder's pipeline run once per distinct token, as lunr.py runs it per token."""

    def __init__(self, builder: Builder, field: str, seen: dict[str, tuple[str, ...]] | None = None):
        self.pipeline = builder.pipeline
        self.field = field
        self.seen: dict[str, tuple[str, ...]] = {} if seen is None else seen
        self.pieces: dict[Callable[[str], Sequence[str]], dict[str, tuple[str, ...]]] = {}  # by tokens_of

    def _token_terms(self, token: str) -> tuple[str, ...]:
        found = self.seen.get(token)
        if found is None:
            found = self.seen[token] = tuple(str(t) for t in self.pipeline.run([Token(token, {})], self.field))
        return found

    def piece_terms(self, tokens_of: Callable[[str], Sequence[str]], piece: str) -> tuple[str, ...]:
        """The terms of one chunk of a `Pieces` value, split into tokens by `tokens_of`."""
        # lunr.py lower-cases list elements too; each pipeline function sees one token at a time.
        return tuple(term for token in tokens_of(piece) for term in self._token_terms(as_string(token).lower()))

    def terms(self, value: Any) -> list[str]:
        out: list[str] = []
        if isinstance(value, Pieces):
            known = self.pieces.setdefault(value.tokens_of, {})
            for piece in value.pieces:
                found = known.get(piece)
                out += found if found is not None else known.setdefault(piece, self.piece_terms(value.tokens_of, piece))
            return out
        seen = self.seen
        for token in tokenize(value):
            found = seen.get(token)
            out += found if found is not None else self._token_terms(token)
        return out


def _analysers(builder: Builder, fields: list[str]) -> list[_Terms]:
    """One per field; they share what the pipeline made of each token unless it skips a function for some field."""
    skips = any(builder.pipeline._skip.get(fn) for fn in builder.pipeline._stack)
    if skips:
        return [_Terms(builder, name) for name in fields]
    seen: dict[str, tuple[str, ...]] = {}
    return [_Terms(builder, name, seen) for name in fields]


@dataclass
class _Analysis:
    """Every document run through the pipeline: what both the index and its term view are made from."""

    fields: list[tuple[str, Any]]
    postings: dict[str, tuple[int, list[dict[str, dict]]]]  # term -> (term number, per field {ref: {}})
    entries: list[tuple[int, str, Counter[str], int]]  # field number, doc ref, term counts, length
    refs: list[str]  # in document order


def _analyse(builder: Builder, documents: Iterable[dict[str, Any]]) -> _Analysis:
    fields = list(builder._fields.items())
    analysers = _analysers(builder, [name for name, _ in fields])
    postings: dict[str, tuple[int, list[dict[str, dict]]]] = {}
    entries: list[tuple[int, str, Counter[str], int]] = []
    boosts: dict[str, float] = {}
    for document in documents:
        ref = str(document[builder._ref])
        boosts[ref] = 1
        for number, (name, field) in enumerate(fields):
            value = document[name] if field.extractor is None else field.extractor(document)
            terms = analysers[number].terms(value)
            counts = Counter(terms)  # keeps first-occurrence order, which numbers new terms
            length = len(terms)
            for term in counts:
                posting = postings.get(term)
                if posting is None:
                    posting = postings[term] = (len(postings), [{} for _ in fields])
                posting[1][number][ref] = {}
            entries.append((number, ref, counts, length))
    return _Analysis(fields, postings, entries, list(boosts))


def serialize_index(builder: Builder, documents: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """`builder` configured (ref, fields, boosts, pipelines) but empty; returns the serialized index."""
    analysis = _analyse(builder, documents)
    fields, postings = analysis.fields, analysis.postings
    return {
        "version": __TARGET_JS_VERSION__,
        "fields": [name for name, _ in fields],
        "fieldVectors": [
            [f"{fields[number][0]}/{ref}", [x for pair in scored for x in pair]]
            for number, ref, scored in _scored_vectors(builder, analysis)
        ],
        "invertedIndex": [
            [term, {**{name: postings[term][1][n] for n, (name, _) in enumerate(fields)}, "_index": postings[term][0]}]
            for term in sorted(postings)
        ],
        "pipeline": builder.search_pipeline.serialize(),
    }


def _averages(analysis: _Analysis) -> list[float]:
    """Each field's average length in terms, as lunr.py's builder computes it."""
    width = len(analysis.fields)
    totals = [0] * width
    documents = [0] * width
    for number, _ref, _counts, length in analysis.entries:
        totals[number] += length
        documents[number] += 1
    return [totals[n] / documents[n] if documents[n] else 0 for n in range(width)]


def idf(with_term: int, document_count: int) -> float:
    """lunr.py's idf of a term that `with_term` documents have (summed over fields), as its builder computes it."""
    x = (document_count - with_term + 0.5) / (with_term + 0.5)
    return math.log(1 + abs(x))


def _scored_vectors(builder: Builder, analysis: _Analysis) -> Iterator[tuple[int, str, list[tuple[int, float]]]]:
    """Each field vector as (field number, doc ref, [(term number, score)] in term-number order)."""
    fields, postings = analysis.fields, analysis.postings
    document_count = len(analysis.refs)
    averages = _averages(analysis)
    k1, b = builder._k1, builder._b
    idf_of: dict[str, float] = {}
    for number, ref, counts, length in analysis.entries:
        field = fields[number][1]
        scored = []
        for term, tf in counts.items():
            index, per_field = postings[term]
            weight = idf_of.get(term)
            if weight is None:
                weight = idf_of[term] = idf(sum(len(docs) for docs in per_field), document_count)
            # Same expression and order of operations as lunr.py's builder, for identical floats.
            score = weight * ((k1 + 1) * tf) / (k1 * (1 - b + b * (length / averages[number])) + tf)
            score *= field.boost
            score *= 1  # the document boost lunr.py applies; digestgen gives none
            scored.append((index, round(score, 3)))
        scored.sort()
        # lunr.py rounds again when serializing: a no-op on indices and on already rounded scores.
        yield number, ref, scored


class _Numbered(dict):
    """Piece (or token) -> the numbers of its terms; a missing one is made by `make`, numbering new terms."""

    def __init__(self, make: Callable[[str], tuple[int, ...]]):
        super().__init__()
        self.make = make

    def __missing__(self, key: str) -> tuple[int, ...]:
        found = self[key] = self.make(key)
        return found


class _TermNumbers:
    """A field's terms as term numbers, numbered in the order lunr.py numbers them (first seen first)."""

    def __init__(self, terms: _Terms, numbers: dict[str, int], names: list[str], shared: dict[Any, _Numbered]):
        self.analyser = terms
        self.numbers = numbers
        self.names = names
        self.shared = shared  # by tokens_of (and None: plain tokens); shared by the fields that share `terms.seen`

    def _number(self, terms: Iterable[str]) -> tuple[int, ...]:
        numbers, names = self.numbers, self.names
        out = []
        for term in terms:
            number = numbers.get(term)
            if number is None:
                number = numbers[term] = len(names)
                names.append(term)
            out.append(number)
        return tuple(out)

    def _cache(self, tokens_of: Callable[[str], Sequence[str]] | None) -> _Numbered:
        cache = self.shared.get(tokens_of)
        if cache is None:
            analyser = self.analyser
            if tokens_of is None:
                cache = _Numbered(lambda token: self._number(analyser._token_terms(token)))
            else:
                cache = _Numbered(lambda piece: self._number(analyser.piece_terms(tokens_of, piece)))
            self.shared[tokens_of] = cache
        return cache

    def extend(self, out: array, value: Any) -> int:
        """Appends the value's term numbers to `out`; gives how many (the field's length)."""
        before = len(out)
        if isinstance(value, Pieces):
            out.extend(itertools.chain.from_iterable(map(self._cache(value.tokens_of).__getitem__, value.pieces)))
        else:
            out.extend(itertools.chain.from_iterable(map(self._cache(None).__getitem__, tokenize(value))))
        return len(out) - before


@dataclass(frozen=True)
class FieldPostings:
    """One field's postings, by term number: term t's are `positions[starts[t]:starts[t + 1]]` (ascending
    document positions) and `counts[...]` the same slice (how often t occurs there)."""

    starts: np.ndarray
    positions: np.ndarray
    counts: np.ndarray

    def documents(self) -> np.ndarray:
        """How many documents have each term in this field."""
        return np.diff(self.starts)


@dataclass(frozen=True)
class TermColumns:
    """What serialize_index writes, as its inputs arranged by term number: enough to rebuild any field vector.

    The element for term t in field f of document d is, as serialize_index computes it,
    round(idf(t) * ((k1 + 1) * tf) / (k1 * (1 - b + b * (lengths[f][d] / averages[f])) + tf) * boosts[f], 3)
    with tf the term's count there and idf(t) = `idf(frequency[t], len(refs))`.
    """

    version: str
    fields: list[str]
    boosts: list[float]
    k1: float
    b: float
    averages: list[float]
    pipeline: list[str]
    refs: list[str]  # document refs in document order; positions index into this
    lengths: list[np.ndarray]  # per field, per document position: its length in terms
    terms: list[str]  # by term number (lunr.py's `_index`): numbered in first-seen order
    postings: list[FieldPostings]  # per field

    def frequency(self) -> np.ndarray:
        """Per term number, the sum over fields of the documents with it: what lunr.py's idf counts."""
        return sum(field.documents() for field in self.postings)


def _field_postings(numbers: array, lengths: array, term_count: int) -> FieldPostings:
    """A field's term numbers (every document's, one after another) as postings by term.

    Each occurrence becomes one key, term number * documents + document position; sorted, equal keys
    are one posting (how many: its count), in term then document order. Done in place, as the arrays
    are large (an abstract's every word).
    """
    width = max(len(lengths), 1)
    keys = np.array(numbers, dtype=np.int64)  # the buffer's C ints, widened
    keys *= width
    keys += np.repeat(np.arange(len(lengths), dtype=np.int64), np.array(lengths, dtype=np.int64))
    keys.sort()
    first = np.empty(len(keys), dtype=bool)
    first[:1] = True
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    at = np.flatnonzero(first)
    del first
    counts = np.diff(np.append(at, len(keys)))
    pairs = keys[at]
    del keys
    term_of = pairs // width
    starts = np.searchsorted(term_of, np.arange(term_count + 1, dtype=np.int64))
    return FieldPostings(starts, pairs - term_of * width, counts)


def term_columns(builder: Builder, documents: Iterable[dict[str, Any]]) -> TermColumns:
    """The index serialize_index would write, by term; no scores are computed, so it is quicker.

    The same analysis as serialize_index's; terms are numbered in the same first-seen order. Each
    document's field becomes term numbers in one flat array per field; the postings come from those
    arrays in one pass of numpy per field. Document refs must be unique.
    """
    fields = list(builder._fields.items())
    analysers = _analysers(builder, [name for name, _ in fields])
    numbers: dict[str, int] = {}
    names: list[str] = []
    caches: dict[int, dict[Any, _Numbered]] = {}  # analysers that share their token cache share these too
    readers = [_TermNumbers(a, numbers, names, caches.setdefault(id(a.seen), {})) for a in analysers]
    flat = [array("i") for _ in fields]  # term numbers
    lengths = [array("q") for _ in fields]
    refs: list[str] = []
    for document in documents:
        refs.append(str(document[builder._ref]))
        for number, (name, field) in enumerate(fields):
            value = document[name] if field.extractor is None else field.extractor(document)
            lengths[number].append(readers[number].extend(flat[number], value))
    if len(set(refs)) != len(refs):
        raise ValueError("term_columns needs unique document refs")
    # Each field's average length, as lunr.py computes it (an int divided by an int).
    averages = [sum(column) / len(refs) if refs else 0 for column in lengths]
    return TermColumns(
        version=__TARGET_JS_VERSION__,
        fields=[name for name, _ in fields],
        boosts=[field.boost for _, field in fields],
        k1=builder._k1,
        b=builder._b,
        averages=averages,
        pipeline=builder.search_pipeline.serialize(),
        refs=refs,
        lengths=[np.frombuffer(column, dtype=np.int64) if len(column) else np.zeros(0, dtype=np.int64) for column in lengths],
        terms=names,
        postings=[_field_postings(flat.pop(0), lengths[n], len(names)) for n in range(len(fields))],  # each freed after
    )
