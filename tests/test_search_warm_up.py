"""The worker's warm-up is an optimisation: when it fails, the search still works.

While index.json and store.json load, the worker runs made-up queries on an index of its own
(warmUpEngine) so that the engine is compiled before the reader's first query. The worker says it is
ready only once both are done; a warm-up that throws or rejects must not turn into "Search could not load".
"""

from __future__ import annotations

from pathlib import Path

from conftest import REPO, run_node_json

from digestgen.theme import vendor_file

START_SCRIPT = Path(__file__).resolve().parent / "js" / "worker_start.mjs"
WORKER = REPO / "static" / "search-worker.js"


def start_worker(requests: list[dict]) -> list[dict]:
    return run_node_json(START_SCRIPT, [str(vendor_file("lunr.min.js")), str(WORKER)], requests)


def test_the_worker_starts_and_answers_after_its_warm_up():
    (started,) = start_worker([{"q": "alpha"}])
    assert started["ready"] and started["answer"]["total"] == 5000
    assert started["searchesBeforeReady"] == 5  # the warm-up's queries ran, on the worker's own index


def test_a_warm_up_that_fails_leaves_a_working_search():
    (started,) = start_worker([{"q": "alpha beta", "breakWarmUp": True}])
    assert started["ready"], started["answer"]
    assert started["answer"]["type"] == "results" and started["answer"]["total"] == 40
