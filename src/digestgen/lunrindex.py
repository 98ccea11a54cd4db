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

`term_index` gives the inputs of those numbers arranged by term rather than by field vector (term
counts, field lengths, idf), for a search index split into term ranges that the browser puts back
together (see search.py and static/search-worker.js).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

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

    def _piece_terms(self, piece: str, value: Pieces, known: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
        # lunr.py lower-cases list elements too; each pipeline function sees one token at a time.
        found = tuple(term for token in value.tokens_of(piece) for term in self._token_terms(as_string(token).lower()))
        known[piece] = found
        return found

    def terms(self, value: Any) -> list[str]:
        out: list[str] = []
        if isinstance(value, Pieces):
            known = self.pieces.setdefault(value.tokens_of, {})
            for piece in value.pieces:
                found = known.get(piece)
                out += found if found is not None else self._piece_terms(piece, value, known)
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


def _idf(with_term: int, document_count: int) -> float:
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
            idf = idf_of.get(term)
            if idf is None:
                idf = idf_of[term] = _idf(sum(len(docs) for docs in per_field), document_count)
            # Same expression and order of operations as lunr.py's builder, for identical floats.
            score = idf * ((k1 + 1) * tf) / (k1 * (1 - b + b * (length / averages[number])) + tf)
            score *= field.boost
            score *= 1  # the document boost lunr.py applies; digestgen gives none
            scored.append((index, round(score, 3)))
        scored.sort()
        # lunr.py rounds again when serializing: a no-op on indices and on already rounded scores.
        yield number, ref, scored


@dataclass(frozen=True)
class TermPostings:
    """One term as the index knows it: its number (`_index`), its idf and, per field, where it occurs.

    `positions[f]` are the positions (in document order) of the documents whose field f has the term,
    ascending; `counts[f]` how often it occurs there.
    """

    term: str
    index: int
    idf: float
    positions: tuple[list[int], ...]
    counts: tuple[list[int], ...]


@dataclass(frozen=True)
class TermIndex:
    """What serialize_index writes, as its inputs arranged by term: enough to rebuild any field vector.

    The element for term t in field f of document d is, as serialize_index computes it,
    round(t.idf * ((k1 + 1) * tf) / (k1 * (1 - b + b * (lengths[d][f] / averages[f])) + tf) * boosts[f], 3)
    with tf the term's count there.
    """

    version: str
    fields: list[str]
    boosts: list[float]
    k1: float
    b: float
    averages: list[float]
    pipeline: list[str]
    refs: list[str]  # document refs in document order; positions index into this
    lengths: list[list[int]]  # per document, per field: its length in terms
    terms: list[TermPostings]  # sorted by term, as the inverted index is


def term_index(builder: Builder, documents: Iterable[dict[str, Any]]) -> TermIndex:
    """The index serialize_index would write, by term; no scores are computed, so it is quicker.

    The same analysis as serialize_index's, without the per-posting objects lunr's JSON needs; terms
    are numbered in the same first-seen order. Document refs must be unique.
    """
    fields = list(builder._fields.items())
    width = len(fields)
    analysers = _analysers(builder, [name for name, _ in fields])
    number_of: dict[str, int] = {}
    names: list[str] = []
    # Per field, each term's document positions and counts there: one look-up per posting.
    places: list[dict[str, list[int]]] = [{} for _ in fields]
    tallies: list[dict[str, list[int]]] = [{} for _ in fields]
    refs: list[str] = []
    lengths: list[list[int]] = []
    for position, document in enumerate(documents):
        refs.append(str(document[builder._ref]))
        row = []
        for field_number, (name, field) in enumerate(fields):
            value = document[name] if field.extractor is None else field.extractor(document)
            terms = analysers[field_number].terms(value)
            row.append(len(terms))
            field_places, field_tallies = places[field_number], tallies[field_number]
            for term, tf in Counter(terms).items():
                found = field_places.get(term)
                if found is None:
                    if term not in number_of:  # numbered when first seen, as lunr.py numbers them
                        number_of[term] = len(names)
                        names.append(term)
                    found = field_places[term] = []
                    field_tallies[term] = []
                found.append(position)
                field_tallies[term].append(tf)
        lengths.append(row)
    positions = [tuple(places[f].get(term) or [] for f in range(width)) for term in names]
    counts = [tuple(tallies[f].get(term) or [] for f in range(width)) for term in names]
    if len(set(refs)) != len(refs):
        raise ValueError("term_index needs unique document refs")
    totals = [sum(row[n] for row in lengths) for n in range(width)]
    # Each field's average length, as lunr.py computes it (an int divided by an int).
    averages = [totals[n] / len(lengths) if lengths else 0 for n in range(width)]
    terms = [
        TermPostings(names[n], n, _idf(sum(len(p) for p in positions[n]), len(refs)), positions[n], counts[n])
        for n in range(len(names))
    ]
    return TermIndex(
        version=__TARGET_JS_VERSION__,
        fields=[name for name, _ in fields],
        boosts=[field.boost for _, field in fields],
        k1=builder._k1,
        b=builder._b,
        averages=averages,
        pipeline=builder.search_pipeline.serialize(),
        refs=refs,
        lengths=lengths,
        terms=sorted(terms, key=lambda entry: entry.term),
    )
