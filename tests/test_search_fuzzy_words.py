"""The worker finds a typo's close words exactly as lunr.js's own fuzzy match would, without lunr's
TokenSet of the whole vocabulary (tests/js/fuzzy_words.mjs compares the two on made-up vocabularies).

lunr's fuzzy TokenSet shares nodes between edits, so at two edits it accepts words that neither the
optimal-string-alignment nor the Damerau-Levenshtein distance puts within two: "badeb" for "dbeb". The
worker walks words through that same TokenSet, so it finds exactly those words, no more and no fewer.
"""

from __future__ import annotations

from pathlib import Path

from conftest import REPO, run_node_json

from digestgen.theme import vendor_file

SCRIPT = Path(__file__).resolve().parent / "js" / "fuzzy_words.mjs"
WORKER = REPO / "static" / "search-worker.js"


def test_fuzzy_words_are_lunrs_own():
    requests = [
        {"alphabet": "abcde", "words": 20000, "longest": 8, "terms": 400, "seed": 7},
        {"alphabet": "ab", "words": 3000, "longest": 10, "terms": 200, "seed": 11},
        {"alphabet": "abcdefghijklmnopqrstuvwxyz", "words": 30000, "longest": 12, "terms": 300, "seed": 3},
    ]
    answers = run_node_json(SCRIPT, [str(vendor_file("lunr.min.js")), str(WORKER)], requests)
    for request, answer in zip(requests, answers, strict=True):
        assert answer["mismatches"] == [], (request, answer["mismatches"])
        assert answer["compared"] == request["terms"]
    assert all(answer["found"] > request["terms"] for request, answer in zip(requests[:2], answers[:2]))


def test_fuzzy_words_of_a_vocabulary_as_it_comes():
    """lunr never matches the empty word (even for a term a deletion empties) and finds a word once,
    however often it is listed; so do one-letter terms, terms longer than any word and other alphabets."""
    requests = [{"words": ["", "a", "ab", "b", "b", "ab", "naïve", "naive", "\U0001F600a", "\U0001F600b", "zz"],
                 "terms": [["a", 1], ["ab", 2], ["b", 1], ["naïv", 1], ["\U0001F600", 1], ["abcdefghijkl", 2], ["", 1]]}]
    (answer,) = run_node_json(SCRIPT, [str(vendor_file("lunr.min.js")), str(WORKER)], requests)
    assert answer["mismatches"] == [] and answer["compared"] == len(requests[0]["terms"])
    assert answer["found"] > 10
