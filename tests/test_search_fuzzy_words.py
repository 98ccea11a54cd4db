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
