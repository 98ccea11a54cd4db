"""The fast index builder writes exactly the bytes lunr.py's own builder writes."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st
from lunr.builder import Builder

from digestgen.lunrindex import TermColumns, for_lunr_py, idf, serialize_index, term_columns, tokenize
from digestgen.search import _builder, build_index, build_index_with_lunr_py, compact_json, index_documents
from digestgen.config import load_config
from digestgen.build import load_and_tag



def with_lunr_py(documents: list[dict]) -> dict:
    builder = _builder()
    for document in documents:
        builder.add(document)
    return builder.build().serialize()


def test_seed_index_is_byte_identical_to_lunr_py(seed_site):
    config, _ = load_config(seed_site)
    site = load_and_tag(seed_site, config, {})
    assert compact_json(build_index(site)) == compact_json(build_index_with_lunr_py(site))


_text = st.text(alphabet=st.sampled_from(list("abcdefghijklmnopqrstuvwxyz ÄéßΩ-.,;:()%/'0123456789\t")), max_size=200)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_text, _text, _text, _text, _text), min_size=1, max_size=12))
def test_any_documents_give_the_same_index_as_lunr_py(rows):
    documents = [{"id": str(i), "title": t, "tags": g, "abstract": a, "author": p, "names": n}
                 for i, (t, g, a, p, n) in enumerate(rows)]
    assert json.dumps(serialize_index(_builder(), documents)) == json.dumps(with_lunr_py(documents))


def plain_builder() -> Builder:
    """lunr.py's default pipeline, two fields."""
    from lunr.stemmer import stemmer
    from lunr.stop_word_filter import stop_word_filter
    from lunr.trimmer import trimmer

    builder = Builder()
    builder.pipeline.add(trimmer, stop_word_filter, stemmer)
    builder.search_pipeline.add(stemmer)
    builder.ref("id")
    builder.field("title", boost=3)
    builder.field("body")
    return builder


def test_a_plain_lunr_builder_matches_too():
    documents = [{"id": "a", "title": "Running runners ran", "body": "The quick brown fox - jumps over the lazy dog."},
                 {"id": "b", "title": "Dogs", "body": ["List", "Values", "stay whole"]},
                 {"id": "c", "title": None, "body": "fox fox fox"}]
    reference = plain_builder()
    for document in documents:
        reference.add(document)
    assert json.dumps(serialize_index(plain_builder(), documents)) == json.dumps(reference.build().serialize())


def test_tokenize_splits_like_lunr():
    assert tokenize("Pre-Trained  models\u00a0x") == ["pre", "trained", "models", "x"]
    assert tokenize(None) == [] and tokenize(["A B", 3]) == ["a b", "3"]


def rebuilt_from_columns(builder: Builder, columns: TermColumns) -> dict:
    """lunr's serialized index made again from the term columns, with the formula TermColumns documents."""
    fields, refs = columns.fields, columns.refs
    elements: dict[tuple[int, int], list[tuple[int, float]]] = {}
    inverted = []
    frequency = columns.frequency()
    for t in sorted(range(len(columns.terms)), key=lambda t: columns.terms[t]):
        weight = idf(int(frequency[t]), len(refs))
        posting = {}
        for f, name in enumerate(fields):
            postings = columns.postings[f]
            at = slice(postings.starts[t], postings.starts[t + 1])
            posting[name] = {}
            for position, tf in zip(postings.positions[at].tolist(), postings.counts[at].tolist()):
                posting[name][refs[position]] = {}
                length = int(columns.lengths[f][position])
                score = weight * ((builder._k1 + 1) * tf) / (
                    builder._k1 * (1 - builder._b + builder._b * (length / columns.averages[f])) + tf)
                score *= columns.boosts[f]
                elements.setdefault((position, f), []).append((t, round(score, 3)))
        inverted.append([columns.terms[t], {**posting, "_index": t}])
    vectors = [[f"{name}/{ref}", [x for pair in sorted(elements.get((d, f), [])) for x in pair]]
               for d, ref in enumerate(refs) for f, name in enumerate(fields)]
    return {"version": columns.version, "fields": fields, "fieldVectors": vectors, "invertedIndex": inverted,
            "pipeline": columns.pipeline}


def test_seed_term_columns_hold_the_index_lunr_py_writes(seed_site):
    """The sharded layout's columns (documents as pieces, as the build gives them) hold every number of the index."""
    config, _ = load_config(seed_site)
    documents = index_documents(load_and_tag(seed_site, config, {}))
    columns = term_columns(_builder(), documents)
    assert json.dumps(rebuilt_from_columns(_builder(), columns)) == json.dumps(with_lunr_py([for_lunr_py(d) for d in documents]))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(_text, _text, _text, _text, _text), min_size=1, max_size=12))
def test_any_documents_give_term_columns_of_the_index_lunr_py_writes(rows):
    documents = [{"id": str(i), "title": t, "tags": g, "abstract": a, "author": p, "names": n}
                 for i, (t, g, a, p, n) in enumerate(rows)]
    assert json.dumps(rebuilt_from_columns(_builder(), term_columns(_builder(), documents))) == json.dumps(with_lunr_py(documents))
