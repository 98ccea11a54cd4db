"""The worker's warm-up is an optimisation: when it fails, the search still works.

Once it is ready, and while no query waits, the worker runs made-up queries on an index of its own
(warmUpSteps) so that the engine is compiled before the reader's first typed query. A query the page
sends at once must not wait for it, and a warm-up that throws or rejects must not turn into "Search
could not load".
"""

from __future__ import annotations

from pathlib import Path

from conftest import REPO, run_node_json

from digestgen.theme import vendor_file

START_SCRIPT = Path(__file__).resolve().parent / "js" / "worker_start.mjs"
WORKER = REPO / "static" / "search-worker.js"


def start_worker(requests: list[dict]) -> list[dict]:
    return run_node_json(START_SCRIPT, [str(vendor_file("lunr.min.js")), str(WORKER)], requests)


def test_a_query_sent_on_ready_does_not_wait_for_the_warm_up():
    (started,) = start_worker([{"q": "alpha"}])
    assert started["ready"] and started["answer"]["total"] == 5000
    assert started["searchesBeforeQuery"] == 0


def test_an_idle_worker_warms_up_before_a_typed_query():
    (started,) = start_worker([{"q": "alpha", "after": 1500}])
    assert started["answer"]["total"] == 5000
    assert started["searchesBeforeQuery"] == 5  # every warm-up query ran, on the worker's own index


def test_a_warm_up_that_fails_leaves_a_working_search():
    for after in (0, 300):
        (started,) = start_worker([{"q": "alpha beta", "breakWarmUp": True, "after": after}])
        assert started["ready"], started["answer"]
        assert started["answer"]["type"] == "results" and started["answer"]["total"] == 40
        assert started["searchesBeforeQuery"] == 0
