"""A faster way to the index lunr.py would write: the same builder settings, the same bytes.

lunr.py runs its token pipeline (trimmer, stop words, Porter stemmer) on every token of every
document and keeps per-token objects that the serialized index never uses. Here each distinct
token goes through the builder's own pipeline once, counting is done with plain dicts, and the
scores use the same formula in the same order of float operations, so the output is identical
to `Builder.add(...) … build().serialize()` (the tests compare them byte for byte).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any, Iterable

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


class _Terms:
    """A field's terms: the builder's pipeline run once per distinct token, as lunr.py runs it per token."""

    def __init__(self, builder: Builder, field: str):
        self.pipeline = builder.pipeline
        self.field = field
        self.seen: dict[str, tuple[str, ...]] = {}

    def terms(self, value: Any) -> list[str]:
        seen = self.seen
        out: list[str] = []
        for token in tokenize(value):
            found = seen.get(token)
            if found is None:
                found = seen[token] = tuple(str(t) for t in self.pipeline.run([Token(token, {})], self.field))
            out += found
        return out


def serialize_index(builder: Builder, documents: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """`builder` configured (ref, fields, boosts, pipelines) but empty; returns the serialized index."""
    fields = list(builder._fields.items())
    analysers = [_Terms(builder, name) for name, _ in fields]
    postings: dict[str, tuple[int, list[dict[str, dict]]]] = {}
    entries: list[tuple[int, str, Counter[str], int]] = []  # field number, doc ref, term counts, length
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
    return {
        "version": __TARGET_JS_VERSION__,
        "fields": [name for name, _ in fields],
        "fieldVectors": _field_vectors(builder, fields, postings, entries, len(boosts)),
        "invertedIndex": [
            [term, {**{name: postings[term][1][n] for n, (name, _) in enumerate(fields)}, "_index": postings[term][0]}]
            for term in sorted(postings)
        ],
        "pipeline": builder.search_pipeline.serialize(),
    }


def _field_vectors(builder, fields, postings, entries, document_count: int) -> list:
    totals = [0] * len(fields)
    documents = [0] * len(fields)
    for number, _ref, _counts, length in entries:
        totals[number] += length
        documents[number] += 1
    averages = [totals[n] / documents[n] if documents[n] else 0 for n in range(len(fields))]
    k1, b = builder._k1, builder._b
    idf_of: dict[str, float] = {}
    vectors = []
    for number, ref, counts, length in entries:
        name, field = fields[number]
        scored = []
        for term, tf in counts.items():
            index, per_field = postings[term]
            idf = idf_of.get(term)
            if idf is None:
                with_term = sum(len(docs) for docs in per_field)
                x = (document_count - with_term + 0.5) / (with_term + 0.5)
                idf = idf_of[term] = math.log(1 + abs(x))
            # Same expression and order of operations as lunr.py's builder, for identical floats.
            score = idf * ((k1 + 1) * tf) / (k1 * (1 - b + b * (length / averages[number])) + tf)
            score *= field.boost
            score *= 1  # the document boost lunr.py applies; digestgen gives none
            scored.append((index, round(score, 3)))
        scored.sort()
        # lunr.py rounds again when serializing: a no-op on indices and on already rounded scores.
        vectors.append([f"{name}/{ref}", [x for pair in scored for x in pair]])
    return vectors
