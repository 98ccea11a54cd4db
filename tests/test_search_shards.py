"""The sharded search of a large site: the same answers as one lunr index, for a fraction of the bytes.

A generated 2,000-paper site is built with the sharded layout (small shards, so that there are many).
Real lunr.js under node answers every query twice, from the parts of the sharded search that query
fetches and from one lunr index of the same documents; both must agree. Chromium then checks that
the search page fetches only what a query needs.
"""

from __future__ import annotations

import bisect
import itertools
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from conftest import REPO, run_node_json

from digestgen import search
from digestgen.build import build_site, load_and_tag
from digestgen.config import load_config
from digestgen.theme import vendor_file

QUERY_SCRIPT = Path(__file__).resolve().parent / "js" / "query_shards.mjs"
JUDGED = Path(__file__).resolve().parent / "judged" / "search.yaml"
PAPERS = 2000
# Smaller parts than a real site gets, so that 2,000 papers make many of each kind.
PAPERS_PER_SHARD = 40
STORE_CHUNK = 3
INLINE_LENGTHS_SHARE = 0.05

# What a user types, through the worker's engine on both sources: whole answers must agree.
WORKER_QUERIES: list[dict[str, Any]] = [
    {"q": "diffusion"}, {"q": "diffusi"}, {"q": "trac"}, {"q": "tr"}, {"q": "the diffusion"},
    {"q": "visual tracking"}, {"q": "learning", "limit": 5}, {"q": "graph neural network", "limit": 200},
    {"q": "trakcing"}, {"q": "difusion modle"}, {"q": "zzzqqxv"}, {"q": "title:"}, {"q": "venue:neurips"},
    {"q": "title:retrieval"}, {"q": "filter -image"}, {"q": "diffu*"}, {"q": "-learning"},
    {"q": "pre-training"}, {"q": "pretraining"}, {"q": "pre training"}, {"q": "fine-tuning", "typing": False},
    {"q": '"diffusion model" image'}, {"q": '"graph neural'}, {"q": 'learning -"neural network"'},
    {"q": "retrieval", "from": "2024-06-01"}, {"q": "model", "from": "2023-01-01", "to": "2024-03-31", "limit": 100},
    {"q": "", "to": "2022-12-31"}, {"q": "tracking", "sort": "newest"}, {"q": "tracking", "sort": "upvotes"},
    {"q": "", "sort": "upvotes", "limit": 30}, {"q": "learning", "facets": True},
]
WORKER_QUERIES += [{"q": entry["q"]} for entry in yaml.safe_load(JUDGED.read_text("utf-8"))]


@dataclass(frozen=True)
class ShardedSite:
    out: Path  # the built site
    single_index: Path  # one lunr index of the same documents
    single_store: Path

    @property
    def search(self) -> Path:
        return self.out / "search"

    def manifest(self) -> dict[str, Any]:
        return json.loads((self.search / "index.json").read_text("utf-8"))["shards"]

    def bounds(self) -> list[str]:
        return front_decoded(self.manifest()["bounds"])


def front_decoded(entries: list[str]) -> list[str]:
    terms, previous = [], ""
    for entry in entries:
        previous = previous[: int(entry[0])] + entry[1:]
        terms.append(previous)
    return terms


def _run(*args: str, cwd: Path | None = None) -> None:
    done = subprocess.run([sys.executable, *args], check=False, capture_output=True, text=True, timeout=300, cwd=cwd)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def sharded(tmp_path_factory: pytest.TempPathFactory) -> ShardedSite:
    root = tmp_path_factory.mktemp("sharded")
    _run(str(REPO / "bench" / "corpus.py"), str(PAPERS), str(root / "corpus"))
    site = root / "site"
    _run("-m", "digestgen", "init", str(site))
    _run("-m", "digestgen", "ingest", *map(str, sorted((root / "corpus" / "listings").glob("*.txt"))), "--site", str(site))
    with (site / "digestgen.yaml").open("a", encoding="utf-8") as config:
        config.write("\nsearch_shard_threshold: 500\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(search, "PAPERS_PER_SHARD", PAPERS_PER_SHARD)
        patch.setattr(search, "STORE_CHUNK", STORE_CHUNK)
        patch.setattr(search, "INLINE_LENGTHS_SHARE", INLINE_LENGTHS_SHARE)
        out = build_site(site, out=site / "_site", base_url="http://127.0.0.1:8000/").out
    config, _ = load_config(site)
    loaded = load_and_tag(site, config, {})
    single = root / "single"
    single.mkdir()
    (single / "index.json").write_bytes(search.compact_json(search.build_index(loaded)))
    (single / "store.json").write_bytes(search.compact_json(search.build_store(loaded)))
    return ShardedSite(out, single / "index.json", single / "store.json")


def run_node(site: ShardedSite, requests: list[dict[str, Any]]) -> list[Any]:
    worker = next((site.out / "assets").glob("search-worker.*.js"))
    args = [str(vendor_file("lunr.min.js")), str(worker), str(site.search), str(site.single_index), str(site.single_store)]
    return run_node_json(QUERY_SCRIPT, args, requests)


@pytest.fixture(scope="module")
def worker_answers(sharded: ShardedSite) -> list[Any]:
    return run_node(sharded, WORKER_QUERIES)


def test_the_site_is_sharded_into_many_parts(sharded):
    assert not (sharded.search / "store.json").read_text().count('"docs"')
    assert len(list((sharded.search / "shards").glob("*.json"))) == len(sharded.bounds()) == PAPERS // PAPERS_PER_SHARD
    assert len(list((sharded.search / "store").glob("*.json"))) == -(-PAPERS // STORE_CHUNK)


def test_every_shard_together_is_the_single_index(sharded):
    """Term numbers, postings and every field vector element, recomputed from counts and lengths."""
    (whole,) = run_node(sharded, [{"whole": True}])
    assert whole["shards"] == PAPERS // PAPERS_PER_SHARD
    assert whole["equal"], whole["firstDifference"]


def test_the_queries_find_things(worker_answers):
    """The comparisons below must be about real rankings, not empty lists."""
    found = [a for a in worker_answers if a["single"]["total"] >= 10]
    assert len(found) >= len(worker_answers) // 2


@pytest.mark.parametrize("n", range(len(WORKER_QUERIES)), ids=[json.dumps(r) for r in WORKER_QUERIES])
def test_the_worker_answers_the_same_either_way(worker_answers, n):
    answer = worker_answers[n]
    assert answer["sharded"] == answer["single"]


def test_a_typo_falls_back_to_close_spellings(worker_answers):
    answers = {json.dumps(r): a["sharded"] for r, a in zip(WORKER_QUERIES, worker_answers)}
    typo = answers['{"q": "trakcing"}']
    assert typo["fuzzy"] and typo["total"] > 0
    assert any(m for r in typo["results"] for m in r["titleMarks"] + r["snippetMarks"])
    assert "fuzzy" not in answers['{"q": "visual tracking"}']
    assert answers['{"q": "zzzqqxv"}']["total"] == 0
    assert answers['{"q": "title:"}']["total"] > 0  # no field named: the word itself


def within_one_edit(a: str, b: str) -> bool:
    """One letter inserted, left out, changed, or two neighbours swapped: lunr's fuzzy match at one edit."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        apart = [n for n in range(len(a)) if a[n] != b[n]]
        swapped = len(apart) == 2 and apart[1] == apart[0] + 1 and a[apart[0]] == b[apart[1]] and a[apart[1]] == b[apart[0]]
        return len(apart) == 1 or swapped
    short, long = sorted((a, b), key=len)
    return any(long[:n] + long[n + 1:] == short for n in range(len(long)))


def test_a_typo_finds_the_papers_of_every_close_spelling(sharded):
    """`atention` (stem `atent`) is one letter from `attention` and from `latent`: the fallback finds the
    papers of each word within one edit, whichever of them the vocabulary lists first."""
    index = json.loads(sharded.single_index.read_text("utf-8"))
    close = sorted(term for term, _posting in index["invertedIndex"] if within_one_edit(term, "atent"))
    assert {"attent", "latent"} <= set(close)
    papers = {ref for term, posting in index["invertedIndex"] if term in close
              for field in index["fields"] for ref in posting[field]}
    (typo,) = run_node(sharded, [{"q": "atention", "typing": False, "limit": len(papers) + 10}])
    answer = typo["sharded"]
    assert answer == typo["single"] and answer.get("fuzzy")
    assert {r["ref"] for r in answer["results"]} == papers and answer["total"] == len(papers)
    assert answer["results"][0]["terms"] == close


def test_a_typo_keeps_the_words_left_out(sharded):
    """The fallback for `trakcing -learning` finds the papers of close spellings of `trakcing` that
    do not have `learning`, as `tracking -learning` would."""
    index = json.loads(sharded.single_index.read_text("utf-8"))
    learn = next(posting for term, posting in index["invertedIndex"] if term == "learn")
    learning = {ref for field in index["fields"] for ref in learn[field]}
    typo, left_out = run_node(sharded, [{"q": "trakcing", "typing": False, "limit": 500},
                                        {"q": "trakcing -learning", "typing": False, "limit": 500}])
    assert left_out["sharded"] == left_out["single"] and left_out["sharded"].get("fuzzy")
    every = {r["ref"] for r in typo["sharded"]["results"]}
    assert len(every) == typo["sharded"]["total"] and every & learning
    assert {r["ref"] for r in left_out["sharded"]["results"]} == every - learning
    assert left_out["sharded"]["total"] == len(every - learning) > 0


def shard_of(bounds: list[str], term: str) -> int:
    """JavaScript compares strings by UTF-16 code units; these terms are ASCII, where that is plain order."""
    return bisect.bisect_right(bounds, term) - 1


def test_a_query_fetches_only_the_shards_of_its_terms(sharded):
    bounds = sharded.bounds()
    (done, typing) = run_node(sharded, [{"q": "tracking", "typing": False}, {"q": "graph"}])
    # A finished word: the shard of its stem only.
    assert [p for p in done["fetched"] if p.startswith("shards/")] == [f"shards/{shard_of(bounds, 'track')}.json"]
    # The word being typed: its stem, and every shard a term starting with it can be in.
    wanted = {shard_of(bounds, "graph")} | {n for n, first in enumerate(bounds) if first.startswith("graph")}
    assert {p for p in typing["fetched"] if p.startswith("shards/")} == {f"shards/{n}.json" for n in wanted}
    assert len(wanted) < len(bounds) // 10
    refs = [int(r["ref"]) for r in done["sharded"]["results"]]
    assert {p for p in done["fetched"] if p.startswith("store/")} == {f"store/{ref // STORE_CHUNK}.json" for ref in refs}
    assert not [p for p in done["fetched"] if p.startswith(("terms/", "tags/", "dates", "facets"))]


def common_fields(sharded: ShardedSite) -> dict[str, set[str]]:
    """Each term that relies on a length file, read from the shards: the fields where it does."""
    fields = sharded.manifest()["fields"]
    common: dict[str, set[str]] = {}
    for shard in (sharded.search / "shards").glob("*.json"):
        for term, _number, *cells in json.loads(shard.read_text("utf-8"))["terms"]:
            named = {fields[k] for k, cell in enumerate(cells) if cell != 0 and len(cell) == 2}
            if named:
                common[term] = named
    return common


def test_the_manifest_names_every_term_that_needs_a_length_file(sharded):
    listed = sharded.manifest()["common"]
    terms, masks = front_decoded(listed["terms"]), search_numbers(listed["fields"])
    fields = sharded.manifest()["fields"]
    named = {term: {name for k, name in enumerate(fields) if mask >> k & 1} for term, mask in zip(terms, masks)}
    assert named == common_fields(sharded)
    assert "learn" in named and "track" not in named


def test_length_files_are_asked_for_with_the_shards_not_after(sharded):
    """A common word's length files load in the same round as its shard: no second wait before scoring."""
    (common, rare) = run_node(sharded, [{"q": "learning", "typing": False}, {"q": "tracking", "typing": False}])
    lengths = [n for n, p in enumerate(common["fetched"]) if p.startswith("lengths/")]
    shards = [n for n, p in enumerate(common["fetched"]) if p.startswith("shards/")]
    assert {common["fetched"][n] for n in lengths} == {f"lengths/{f}.json" for f in common_fields(sharded)["learn"]}
    assert max(lengths) < min(shards)
    assert not [p for p in rare["fetched"] if p.startswith("lengths/")]
    assert common["sharded"] == common["single"]


def test_a_field_or_a_left_out_word_loads_only_the_length_files_it_scores_with(sharded):
    """`title:` scores the title alone, and a -word is only left out: neither waits for other fields' lengths."""
    assert {"title", "abstract"} <= common_fields(sharded)["learn"]
    title, left_out = run_node(sharded, [{"q": "title:learning", "typing": False},
                                         {"q": "tracking -learning", "typing": False}])
    fetched = title["fetched"]
    assert [p for p in fetched if p.startswith("lengths/")] == ["lengths/title.json"]
    assert fetched.index("lengths/title.json") < min(n for n, p in enumerate(fetched) if p.startswith("shards/"))
    assert not [p for p in left_out["fetched"] if p.startswith("lengths/")]
    assert title["sharded"] == title["single"] and title["sharded"]["total"] > 0
    assert left_out["sharded"] == left_out["single"] and left_out["sharded"]["total"] > 0


def test_each_word_loads_only_the_length_files_of_the_fields_it_searches(sharded):
    """A word's field is its own: beside a plain word, `title:learning` still scores `learning` in the
    title alone, and a left-out prefix (-learn*) is not scored at all."""
    learn = common_fields(sharded)["learn"]
    assert {"title", "abstract"} <= learn and "author" not in learn and "track" not in common_fields(sharded)
    queries = ["title:learning tracking", "tracking -learn*", "author:learning tracking"]
    answers = run_node(sharded, [{"q": q, "typing": False} for q in queries])
    lengths = [[p for p in answer["fetched"] if p.startswith("lengths/")] for answer in answers]
    assert lengths == [["lengths/title.json"], [], []]
    for answer in answers:
        assert answer["sharded"] == answer["single"]
    assert answers[0]["sharded"]["total"] > 0 and answers[1]["sharded"]["total"] > 0


def test_the_warm_up_runs_the_engine_on_a_made_up_index(sharded):
    """The worker warms up by searching an index of its own while the real one loads: each of its
    queries must reach the paths a first query takes (scoring from length files, inline lengths,
    phrases, the typo fallback, a half-typed word), or the warm-up compiles nothing a reader needs."""
    (answers,) = run_node(sharded, [{"warmUp": True}])
    common, both, phrase, typo, typed = answers
    assert not [a["error"] for a in answers if "error" in a]
    assert common["total"] == 5000 and len(common["results"]) == 20
    assert both["total"] == phrase["total"] == 40
    assert typo["fuzzy"] and typo["total"] == 5000
    assert typed["total"] == 5000
    assert all(r["snippetMarks"] for r in common["results"])


def search_numbers(text: str) -> list[int]:
    """number_text read back (the worker's numbersOf)."""
    last, continued = "0123456789ABCDEFGHIJKLMNOPQRSTUV", "WXYZabcdefghijklmnopqrstuvwxyz-_"
    numbers, value = [], 0
    for char in text:
        if char in last:
            numbers.append(value * 32 + last.index(char))
            value = 0
        else:
            value = value * 32 + continued.index(char)
    return numbers


def test_fetched_parts_are_kept_for_later_queries(sharded):
    (steps,) = run_node(sharded, [{"session": [{"q": "tracking"}, {"q": "graph"}, {"q": "tracking"}, {"q": "trackin"}]}])
    first, second, again, half_typed = steps
    assert first["fetched"] and second["fetched"]
    assert not set(first["fetched"]) & set(second["fetched"])
    assert again["fetched"] == [] and again["refs"] == first["refs"]
    # A half-typed word no term starts with also looks its shorter forms up; nothing is fetched twice.
    assert not set(half_typed["fetched"]) & set(first["fetched"] + second["fetched"])


def test_filters_fetch_only_their_facets(sharded):
    tags = json.loads((sharded.search / "store.json").read_text("utf-8"))["tags"]
    (tagged, dated, upvoted) = run_node(sharded, [{"q": "learning", "tag": tags[0][0]}, {"q": "learning", "from": "2024-01-01"},
                                                  {"q": "learning", "sort": "upvotes"}])
    assert "tags/0.json" in tagged["fetched"] and "dates.json" not in tagged["fetched"]
    assert "dates.json" in dated["fetched"] and not [p for p in dated["fetched"] if p.startswith("tags/")]
    assert "facets.json" in upvoted["fetched"] and "facets.json" not in tagged["fetched"] + dated["fetched"]
    for answer in (tagged, dated, upvoted):
        assert answer["sharded"] == answer["single"]


def test_a_small_site_keeps_one_index(seed_site):
    config, _ = load_config(seed_site)
    site = load_and_tag(seed_site, config, {})
    assert [paths for paths, _ in search.search_groups(site)] == [(search.INDEX_PATH,), (search.STORE_PATH,)]


def test_file_names_follow_from_the_counts_alone(sharded):
    written = {str(p.relative_to(sharded.out)) for p in sharded.search.rglob("*.json")}
    with pytest.MonkeyPatch.context() as patch:
        for name in ("PAPERS_PER_SHARD", "STORE_CHUNK"):
            patch.setattr(search, name, globals()[name])
        layout = search.ShardLayout(PAPERS, len(json.loads((sharded.search / "store.json").read_text())["tags"]))
        assert set(layout.paths()) == written


def test_shards_are_small_and_even(sharded):
    sizes = sorted(len(gzip.compress(p.read_bytes())) for p in (sharded.search / "shards").glob("*.json"))
    single = len(gzip.compress(sharded.single_index.read_bytes()))
    assert sum(sizes) < single / 3  # counts and gaps, not lunr's JSON
    assert sizes[len(sizes) // 2] < single / 100


def test_split_evenly_makes_contiguous_groups():
    weights = [5, 1, 1, 1, 40, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
    starts = search.split_evenly(weights, 4)
    assert len(starts) == 4 and starts[0] == 0 and starts == sorted(starts)
    assert 4 in starts and 5 in starts  # the heavy item stands alone
    assert search.split_evenly([3, 3], 4) == [0, 0, 0, 1]  # fewer items than groups: empty groups first
    assert search.split_evenly([], 2) == [0, 0]


def test_number_text():
    assert search.number_text([0, 1, 31, 32, 1023, 1024]) == "01VX0_VXW0"
    assert search.number_text([]) == ""
    assert search.front_coded(["", "diffus", "diffusion", "digit", "e"]) == ["0", "0diffus", "6ion", "2git", "0e"]


_HASH_FILES = """
import hashlib, sys
from pathlib import Path
from digestgen import search
from digestgen.build import load_and_tag
from digestgen.config import load_config
site = Path(sys.argv[1])
config, _ = load_config(site)
loaded = load_and_tag(site, config, {})
files = search.build_shards(loaded, search.ShardLayout(len(loaded.papers), len(loaded.tags)))
digest = hashlib.sha256()
for path in sorted(files):
    digest.update(path.encode() + b"\\0" + files[path])
print(digest.hexdigest())
"""


def test_sharded_bytes_are_the_same_whatever_the_hash_seed(sharded):
    site = sharded.out.parent
    digests = set()
    for seed in ("1", "2"):
        done = subprocess.run([sys.executable, "-c", _HASH_FILES, str(site)], check=False, capture_output=True, text=True,
                              timeout=300, env={**os.environ, "PYTHONHASHSEED": seed})
        assert done.returncode == 0, done.stderr
        digests.add(done.stdout.strip())
    assert len(digests) == 1


# --- In the browser --------------------------------------------------------------------------------


def _search_requests(urls: list[str]) -> list[str]:
    """The requested paths under /search/ (the page itself aside), in order."""
    paths = [urlsplit(u).path for u in urls]
    return [p[len("/search/"):] for p in paths if p.startswith("/search/") and p != "/search/"]


@pytest.mark.browser
def test_the_search_page_fetches_only_what_a_query_needs(sharded, browser, serve_static):
    from playwright.sync_api import expect

    page_size = json.loads((sharded.search / "store.json").read_text())["page"]  # a large site's results a page
    # From the address bar a query is finished; typed into the box, its last word may be unfinished.
    (expected, graph, typed) = run_node(sharded, [{"q": "tracking", "limit": page_size, "typing": False},
                                                  {"q": "graph", "limit": page_size},
                                                  {"q": "tracking", "limit": page_size}])
    server = serve_static(sharded.out)
    context = browser.new_context()
    requests: list[str] = []
    problems: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    page = context.new_page()
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(server.url + "search/?q=tracking")
    titles = page.locator("#results > li .result-title")
    expect(titles.first).to_have_text(expected["sharded"]["results"][0]["title"])
    expect(titles).to_have_count(page_size)
    assert titles.all_inner_texts() == [r["title"] for r in expected["sharded"]["results"]]
    expect(page.locator("#search-status")).to_contain_text(f"{expected['sharded']['total']} papers match")

    first = _search_requests(requests)
    assert sorted(first) == sorted(["index.json", "store.json", *expected["fetched"]])
    shards = [p for p in first if p.startswith("shards/")]
    assert 0 < len(shards) < len(sharded.bounds()) // 10

    # A second query fetches only its own new parts; the first query's are kept.
    seen = len(requests)
    page.locator("#q").fill("graph")
    expect(titles.first).to_have_text(graph["sharded"]["results"][0]["title"])
    second = _search_requests(requests[seen:])
    assert set(second) == set(graph["fetched"]) - set(expected["fetched"])
    assert not set(second) & set(first)

    # Back to the first word, typed: only what the word being typed adds to the first query's parts.
    seen = len(requests)
    page.locator("#q").fill("tracking")
    expect(titles.first).to_have_text(typed["sharded"]["results"][0]["title"])
    assert set(_search_requests(requests[seen:])) <= set(typed["fetched"]) - set(expected["fetched"])

    page.locator("#q").fill("trakcing")
    expect(page.locator("#search-status")).to_contain_text("with a letter or two changed")
    expect(titles.first).to_be_visible()
    context.close()
    assert problems == []


# A phrase that few of its candidates have in a row: its first page of candidates finds one, and
# finding the rest takes many more rounds of store fetches.
SCARCE_PHRASE = '"image generation"'


def test_a_phrase_query_hands_on_its_first_results_while_it_checks_more(sharded):
    page_size = json.loads((sharded.search / "store.json").read_text())["page"]
    scarce, common, counted = run_node(sharded, [
        {"early": {"q": SCARCE_PHRASE, "limit": page_size, "typing": False}},
        {"early": {"q": "image generation", "limit": page_size, "typing": False}},
        {"early": {"q": SCARCE_PHRASE, "limit": page_size, "typing": False, "facets": True}},
    ])
    final = [r["ref"] for r in scarce["answer"]["results"]]
    assert len(scarce["early"]) > 1 and "partial" not in scarce["answer"]
    shown = 0
    for early in scarce["early"]:
        refs = [r["ref"] for r in early["answer"]["results"]]
        assert early["answer"]["partial"] and early["answer"]["total"] == len(refs) > 0
        assert refs == final[:len(refs)] and len(refs) >= shown  # the final answer starts with what was shown
        shown = len(refs)
    # The first results were handed on before the later rounds' store files were in.
    assert len(scarce["early"][0]["served"]) < len(scarce["fetched"])
    # Without a phrase to check there are no rounds to wait for; counts by organization and author
    # cover every verified paper, so a request for them gets one answer.
    assert common["early"] == [] and counted["early"] == []
    assert [r["ref"] for r in counted["answer"]["results"]] == final
    # A small site's single index is in memory: it answers once, and the same.
    assert scarce["singleEarly"] == 0 and scarce["single"] == scarce["answer"]


def test_early_answers_cost_no_round_of_fetches(sharded):
    """`text image` is also found joined (the index has "textimage"), and those papers pass without a
    text check, so their rows are not fetched by one: showing them early must not wait for a round of
    its own before the next candidates' store files are asked for, or the complete answer comes later."""
    page_size = json.loads((sharded.search / "store.json").read_text())["page"]
    queries = ["text image", SCARCE_PHRASE, '"the model"']
    requests = [{"q": q, "limit": page_size, "typing": False} for q in queries]
    answers = run_node(sharded, [{"early": requests[0]}] + [{"rounds": r} for r in requests])
    assert answers[0]["early"] and answers[0]["answer"]["total"] > page_size
    for q, rounds in zip(queries, answers[1:], strict=True):
        assert rounds["early"] == rounds["without"] > 2, q


def early_rows() -> int:
    """The worker's EARLY_ROWS: how many of a page's first rows it hands on while the rest load."""
    return int(re.search(r"^var EARLY_ROWS = (\d+);", (REPO / "static" / "search-worker.js").read_text("utf-8"), re.M)[1])


# A word, words a paper may have in a row, a quoted phrase most candidates have, and a phrase few have.
TRICKLED = ["tracking", "image generation", '"diffusion model"', SCARCE_PHRASE]


def test_a_page_shows_its_first_rows_while_the_others_store_files_come(sharded):
    """Each shown row is a store file of its own: when they come one by one, the first rows, in
    their final order, are handed on once EARLY_ROWS of them are in, before the rest."""
    page_size = json.loads((sharded.search / "store.json").read_text())["page"]
    answers = run_node(sharded, [{"trickle": {"q": q, "limit": page_size, "typing": False}} for q in TRICKLED])
    for q, got in zip(TRICKLED, answers, strict=True):
        final = [r["ref"] for r in got["answer"]["results"]]
        assert "partial" not in got["answer"], q
        if q == SCARCE_PHRASE:  # few candidates of the first page pass: those are shown when its round ends
            assert len(got["early"][0]["answer"]["results"]) < early_rows()
            continue
        assert len(final) == page_size, q
        first = got["early"][0]
        rows = [r["ref"] for r in first["answer"]["results"]]
        assert first["answer"]["partial"] and early_rows() <= len(rows) < page_size, q
        assert rows == final[: len(rows)], q  # the final answer starts with what was shown
        assert len(first["served"]) < len(got["store"]), q  # before the other rows were in
        if q.startswith('"'):  # candidates still to check: at least this many
            assert first["answer"]["atLeast"] and first["answer"]["total"] == len(rows), q
        else:  # nothing to check: the total is known
            assert "atLeast" not in first["answer"] and first["answer"]["total"] == got["answer"]["total"], q
        sizes = [len(e["answer"]["results"]) for e in got["early"]]
        assert sizes == sorted(set(sizes)), q  # each early answer has more rows than the one before


# The row whose store file fails in the tests below: the files of the rows before it come after the failure.
FAILED_ROW = 6


def failing_requests(sharded: ShardedSite, queries: list[str], page_size: int) -> list[dict[str, Any]]:
    """For each query, a "failing" request of query_shards.mjs whose FAILED_ROW-th shown row's store
    file fails at once, while the store files before it are still to come."""
    plain = run_node(sharded, [{"q": q, "limit": page_size, "typing": False} for q in queries])
    requests = []
    for q, got in zip(queries, plain, strict=True):
        refs = [int(r["ref"]) for r in got["sharded"]["results"]]
        failed = refs[FAILED_ROW] // STORE_CHUNK
        assert len(refs) == page_size and all(ref // STORE_CHUNK != failed for ref in refs[:FAILED_ROW]), q
        requests.append({"failing": {"q": q, "limit": page_size, "typing": False}, "store": f"store/{failed}.json"})
    return requests


def test_no_early_answer_comes_after_a_failed_querys_answer(sharded):
    """A store file that fails (one the server has not, a dropped connection) ends the query with an
    error, while the files of the rows before it may still come: those must not be handed on then as
    first rows (the page would show them in place of the error, and no answer would follow them)."""
    page_size = json.loads((sharded.search / "store.json").read_text())["page"]
    queries = ["tracking", '"diffusion model"']
    late = {}
    for q, got in zip(queries, run_node(sharded, failing_requests(sharded, queries, page_size)), strict=True):
        events = got["events"]
        assert "error" in next(e["answer"] for e in events if e["final"]), q
        if not events[-1]["final"]:  # (final?, rows) of every answer, in the order handed on
            late[q] = [(e["final"], len(e["answer"]["results"])) for e in events]
    assert late == {}


def test_handing_on_early_checks_each_candidate_once(sharded):
    """A phrase check reads a candidate's title and abstract (a third of a millisecond a paper here):
    looking for first rows to hand on as the store files come must not check the rows in so far again
    each time one more comes, or a longer list ("Show more results") takes seconds."""
    page_size = json.loads((sharded.search / "store.json").read_text())["page"]
    requests = [{"q": q, "limit": limit, "typing": False}
                for q in ['"diffusion model"', '"the model"', SCARCE_PHRASE] for limit in (page_size, 3 * page_size)]
    counted = run_node(sharded, [{"checks": r} for r in requests])
    assert all(got["same"] for got in counted)
    assert [got["early"] for got in counted] == [got["without"] for got in counted]


def store_files_held_but(fetched: list[str]) -> tuple[list[str], threading.Event, Any]:
    """A loopback server's gate that holds every store file not in `fetched` until released:
    (the held files, the release, the gate)."""
    served = {p for p in fetched if p.startswith("store/")}
    held: list[str] = []
    release = threading.Event()

    def gate(path: str) -> None:
        part = path.split("/search/", 1)[-1]
        if part.startswith("store/") and part not in served and not release.is_set():
            held.append(part)
            release.wait(60)

    return held, release, gate


@pytest.mark.browser
def test_the_search_page_shows_a_phrase_querys_first_results_and_adds_the_rest(sharded, browser, serve_static):
    from playwright.sync_api import expect

    page_size = json.loads((sharded.search / "store.json").read_text())["page"]
    (scarce,) = run_node(sharded, [{"early": {"q": SCARCE_PHRASE, "limit": page_size, "typing": False}}])
    # The store files of later rounds are served once the first results have been seen.
    held, release, gate = store_files_held_but(scarce["early"][0]["served"])
    server = serve_static(sharded.out, gate=gate)
    context = browser.new_context()
    page = context.new_page()
    page.goto(server.url + "search/?q=" + SCARCE_PHRASE)
    titles = page.locator("#results > li .result-title")
    first = scarce["early"][0]["answer"]
    expect(page.locator("#search-status")).to_contain_text(re.compile(rf"^At least {first['total']} papers? match"))
    expect(page.locator("#search-status")).to_contain_text("Looking for more")
    assert titles.all_inner_texts() == [r["title"] for r in first["results"]]
    assert held  # the worker waits for the next round's store files
    first_item = page.locator("#results > li").first.element_handle()
    titles.first.focus()

    release.set()
    final = scarce["answer"]
    expect(page.locator("#search-status")).to_contain_text(re.compile(rf"^{final['total']} papers match"))
    expect(titles).to_have_count(len(final["results"]))
    assert titles.all_inner_texts() == [r["title"] for r in final["results"]]
    # The rest were added below: the first result is the same element, and the reader's focus stayed on it.
    assert first_item.evaluate("(item) => item.isConnected && item.contains(document.activeElement)")
    expect(page.locator("#search-status")).not_to_contain_text("Looking for more")
    context.close()


@pytest.mark.browser
def test_the_search_page_shows_a_queries_first_rows_while_the_others_load(sharded, browser, serve_static):
    """The store files of the rows after the first few are held at the server: the page shows
    the rows it has, with the count of every match, and adds the rest below them when they come."""
    from playwright.sync_api import expect

    page_size = json.loads((sharded.search / "store.json").read_text())["page"]
    (got,) = run_node(sharded, [{"trickle": {"q": "tracking", "limit": page_size, "typing": False}}])
    final = got["answer"]
    served = got["early"][0]["served"]
    files_in = list(itertools.takewhile(lambda r: f"store/{int(r['ref']) // STORE_CHUNK}.json" in served, final["results"]))
    held, release, gate = store_files_held_but(served)
    server = serve_static(sharded.out, gate=gate)
    context = browser.new_context()
    page = context.new_page()
    page.goto(server.url + "search/?q=tracking")
    titles = page.locator("#results > li .result-title")
    status = page.locator("#search-status")
    expect(titles.nth(early_rows() - 1)).to_be_visible()
    shown = titles.all_inner_texts()
    assert early_rows() <= len(shown) <= len(files_in) < page_size
    assert shown == [r["title"] for r in final["results"][: len(shown)]]
    expect(status).to_have_text(f"{final['total']} papers match \u201ctracking\u201d.")
    expect(page.locator("#more-results")).to_be_hidden()
    assert held  # the other rows' store files
    first_item = page.locator("#results > li").first.element_handle()
    titles.first.focus()

    release.set()
    expect(titles).to_have_count(page_size)
    assert titles.all_inner_texts() == [r["title"] for r in final["results"]]
    expect(status).to_contain_text(f"Showing the first {page_size}.")
    expect(page.locator("#more-results")).to_be_visible()
    assert first_item.evaluate("(item) => item.isConnected && item.contains(document.activeElement)")
    context.close()


@pytest.mark.browser
def test_the_search_page_keeps_the_error_of_a_query_whose_store_file_failed(sharded, browser, serve_static, tmp_path):
    """One shown row's store file is missing at the server; the files of the first rows come after its
    404. The page says the search failed, and the first rows, coming later, do not replace that."""
    from playwright.sync_api import expect

    page_size = json.loads((sharded.search / "store.json").read_text())["page"]
    (plain,) = run_node(sharded, [{"q": "tracking", "limit": page_size, "typing": False}])
    refs = [int(r["ref"]) for r in plain["sharded"]["results"]]
    failed = f"store/{refs[FAILED_ROW] // STORE_CHUNK}.json"
    held_files = {f"store/{ref // STORE_CHUNK}.json" for ref in refs[: early_rows()]}  # fewer than six connections
    assert failed not in held_files
    site = tmp_path / "site"
    shutil.copytree(sharded.out, site, copy_function=os.symlink)
    (site / "search" / failed).unlink()
    failed_asked = threading.Event()

    def gate(path: str) -> None:
        part = path.split("/search/", 1)[-1]
        if part == failed:
            failed_asked.set()
        elif part in held_files:
            failed_asked.wait(30)
            time.sleep(0.3)  # the 404 is in first

    server = serve_static(site, gate=gate)
    context = browser.new_context()
    page = context.new_page()
    page.goto(server.url + "search/?q=tracking")
    status = page.locator("#search-status")
    expect(status).to_contain_text("Search failed")
    page.wait_for_timeout(1500)  # the first rows' files come
    assert "Search failed" in status.inner_text(), status.inner_text()
    assert page.locator("#results > li").count() == 0
    context.close()


@pytest.mark.browser
def test_more_results_keeps_the_list_until_the_longer_one_is_complete(sharded, browser, serve_static):
    """A longer list of a phrase query is checked from its first candidate again: its early answers,
    shorter than the list already shown, are not shown in its place."""
    from playwright.sync_api import expect

    page_size = json.loads((sharded.search / "store.json").read_text())["page"]
    q = '"the model"'
    (first,) = run_node(sharded, [{"early": {"q": q, "limit": page_size, "typing": False}}])
    assert first["early"] and first["answer"]["total"] > 2 * page_size
    held, release, gate = store_files_held_but(first["fetched"])
    server = serve_static(sharded.out, gate=gate)
    context = browser.new_context()
    page = context.new_page()
    page.goto(server.url + "search/?q=" + q)
    items = page.locator("#results > li")
    status = page.locator("#search-status")
    expect(status).to_contain_text(re.compile(rf"Showing the first {page_size}\."))
    expect(items).to_have_count(page_size)
    page.locator("#more-results").click()
    page.wait_for_timeout(300)
    assert held  # the longer list waits for store files
    assert items.count() == page_size and "Looking for more" not in status.inner_text()
    release.set()
    expect(items).to_have_count(2 * page_size)
    context.close()


@pytest.mark.browser
def test_a_new_query_does_not_wait_for_the_rounds_of_the_one_before(sharded, browser, serve_static):
    """A reader who types on while a phrase query checks more candidates gets the new answer without
    waiting for the older query's later rounds of store files (held at the server here)."""
    from playwright.sync_api import expect

    page_size = json.loads((sharded.search / "store.json").read_text())["page"]
    scarce, tracking = run_node(sharded, [{"early": {"q": SCARCE_PHRASE, "limit": page_size, "typing": False}},
                                          {"q": "tracking", "limit": page_size}])
    served = {p for p in scarce["early"][0]["served"] + tracking["fetched"] if p.startswith("store/")}
    held: list[str] = []
    release, holding = threading.Event(), threading.Lock()

    def gate(path: str) -> None:
        """Holds one store file of the phrase query's next round: one of the browser's six connections."""
        part = path.split("/search/", 1)[-1]
        with holding:
            hold = part.startswith("store/") and part not in served and not held
            held.extend([part] if hold else [])
        if hold:
            release.wait(60)

    server = serve_static(sharded.out, gate=gate)
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(server.url + "search/?q=" + SCARCE_PHRASE)
        status = page.locator("#search-status")
        expect(status).to_contain_text("Looking for more")
        assert held  # the phrase query waits for its next round
        page.locator("#q").fill("tracking")
        expect(status).to_contain_text(re.compile(rf"^{tracking['sharded']['total']} papers match “tracking”"))
        titles = page.locator("#results > li .result-title")
        assert titles.all_inner_texts() == [r["title"] for r in tracking["sharded"]["results"]]
        assert not release.is_set()
    finally:
        release.set()
        context.close()
