"""The search index and store as the browser uses them: real lunr.js (node) over what lunr.py built."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from digestgen.theme import vendor_file

from conftest import run_node_json

QUERY_SCRIPT = Path(__file__).resolve().parent / "js" / "query_index.mjs"
PVT = "PVT++: A Simple End-to-End Latency-Aware Visual Tracking Framework"
RECOMMENDER_TITLES = {
    "Generative Reasoning Recommendation via LLMs",
    "Large Language Models meet Collaborative Filtering: An Efficient All-round LLM-based Recommender System",
}
DIFFUSION_TITLE = "Diffusion Models Beat GANs on Image Classification"

# What a user types, by name; "raw" goes straight to lunr's index.search, the rest through the worker.
REQUESTS: dict[str, dict[str, Any]] = {
    "tracking": {"q": "tracking"},
    "title_recommender": {"q": "title:recommender"},
    "filter_not_image": {"q": "+filter -image", "limit": 1000},
    "diffu_prefix": {"q": "diffu*", "limit": 1000},
    "diffusion": {"q": "diffusion", "limit": 1000},
    "half_typed": {"q": "diffusi", "limit": 1000},
    "short_prefix": {"q": "trac"},
    "the_diffusion": {"q": "the diffusion", "limit": 1000},
    "two_words": {"q": "visual tracking", "limit": 1000},
    "retrieval": {"q": "retrieval", "limit": 1000},
    "distillation": {"q": "distillation", "limit": 1000},
    "fuzzy": {"q": "trak~1"},
    "vowel_y": {"q": "key", "limit": 1000},
    "bad_syntax": {"q": "title:"},
    "unknown_field": {"q": "venue:neurips"},
    "nothing": {"q": "zzzqqxv"},
    "raw_tracking": {"raw": "tracking"},
    "all_limited": {"q": "learning", "limit": 5},
}


def run_queries(site: Path, requests: list[dict[str, Any]]) -> list[Any]:
    """Answers from the shipped worker code and lunr.js, run under node against a built site."""
    worker = next((site / "assets").glob("search-worker.*.js"))
    args = [str(vendor_file("lunr.min.js")), str(worker), str(site / "search" / "index.json"), str(site / "search" / "store.json")]
    return run_node_json(QUERY_SCRIPT, args, requests, timeout=120)


@pytest.fixture(scope="module")
def answers(seed_built_root: Path) -> dict[str, Any]:
    names = list(REQUESTS)
    return dict(zip(names, run_queries(seed_built_root, [REQUESTS[n] for n in names])))


@pytest.fixture(scope="module")
def store(seed_built_root: Path) -> dict[str, Any]:
    return json.loads((seed_built_root / "search" / "store.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def papers(seed_site: Path) -> dict[str, Any]:
    """The seed's papers by title, loaded and tagged the way a build does."""
    from digestgen.build import load_and_tag
    from digestgen.config import load_config

    config, _ = load_config(seed_site)
    site = load_and_tag(seed_site, config, {})
    return {p.title: p for p in site.papers.values()}


def titles(answer: dict[str, Any]) -> list[str]:
    return [r["title"] for r in answer["results"]]


def has_word(text: str, pattern: str) -> bool:
    return re.search(rf"(?<![\w]){pattern}", text, re.IGNORECASE) is not None


def has_image(text: str) -> bool:
    return re.search(r"\bimag(e|es|ed|ing)?\b", text, re.IGNORECASE) is not None


def test_tracking_finds_pvt_first(answers):
    assert titles(answers["tracking"])[0] == PVT


def test_title_field_finds_only_titles_with_the_word(answers):
    found = titles(answers["title_recommender"])
    assert RECOMMENDER_TITLES <= set(found)
    assert all(has_word(t, "recommend") for t in found)


def test_required_and_prohibited_terms(answers, papers):
    found = titles(answers["filter_not_image"])
    assert "Beta-Rank: A Robust Convolutional Filter Pruning Method For Imbalanced Medical Image Analysis" not in found
    for title in found:
        text = f"{title} {papers[title].text}"
        assert has_word(text, "filter"), title
        assert not has_image(text), title
    filter_titles = {t for t, p in papers.items() if has_word(t, "filter") and not has_image(f"{t} {p.text}")}
    assert filter_titles and filter_titles <= set(found)


def test_wildcard_prefix(answers):
    found = titles(answers["diffu_prefix"])
    assert DIFFUSION_TITLE in found
    assert set(found) == set(titles(answers["diffusion"]))


def test_results_appear_while_a_word_is_half_typed(answers):
    assert set(titles(answers["half_typed"])) == set(titles(answers["diffusion"]))
    assert PVT in titles(answers["short_prefix"])


def test_every_typed_word_must_match(answers, papers):
    found = titles(answers["two_words"])
    assert found and found[0] == PVT
    for title in found:
        text = f"{title} {papers[title].text}"
        assert has_word(text, "visual") and has_word(text, "track"), title


def test_stop_words_do_not_narrow_or_widen(answers):
    assert set(titles(answers["the_diffusion"])) == set(titles(answers["diffusion"]))


@pytest.mark.parametrize(
    "name, word", [("retrieval", "retriev"), ("distillation", "distill"), ("diffusion", "diffusion")]
)
def test_a_title_match_ranks_above_an_abstract_mention(answers, name, word):
    found = titles(answers[name])
    in_title = [has_word(t, word) for t in found]
    assert any(in_title) and not all(in_title), "the query must hit both kinds of paper"
    first_abstract_only = in_title.index(False)
    assert all(in_title[:first_abstract_only]) and not any(in_title[first_abstract_only:]), found


def test_words_ending_in_vowel_y_are_found(answers, papers):
    """lunr.py and lunr.js stem "key" differently unless the build stems like the browser."""
    with_key = {t for t, p in papers.items() if re.search(r"\bkeys?\b", f"{t} {p.text}", re.IGNORECASE)}
    assert with_key and with_key <= set(titles(answers["vowel_y"]))


def test_fuzzy_matching_survives(answers):
    assert PVT in titles(answers["fuzzy"])


def test_bad_syntax_is_a_friendly_message(answers):
    for name in ("bad_syntax", "unknown_field"):
        answer = answers[name]
        assert answer["total"] == 0 and answer["results"] == []
        assert answer["error"].startswith("That search could not be read")
    assert "title" in answers["unknown_field"]["error"]


def test_no_match_is_an_empty_answer(answers):
    assert answers["nothing"]["total"] == 0 and "error" not in answers["nothing"]


def test_limit_cuts_the_list_but_not_the_count(answers):
    answer = answers["all_limited"]
    assert len(answer["results"]) == 5 and answer["total"] > 5


def test_matched_words_are_marked(answers):
    top = answers["tracking"]["results"][0]
    assert [top["title"][a:b] for a, b in top["titleMarks"]] == ["Tracking"]
    assert all(top["snippet"][a:b].lower().startswith("track") for a, b in top["snippetMarks"])


def test_raw_lunr_agrees_on_refs(answers):
    assert answers["raw_tracking"][0]["ref"] == answers["tracking"]["results"][0]["ref"]


def test_results_carry_date_path_and_tags(answers, papers):
    top = answers["tracking"]["results"][0]
    paper = papers[top["title"]]
    assert top["date"] == paper.published.isoformat()
    assert top["path"] == f"papers/{paper.slug}/"
    assert [t["slug"] for t in top["tags"]] == list(paper.tags)
    assert all(t["path"] == f"tags/{t['slug']}/" for t in top["tags"])


def test_tag_and_date_filters(seed_built_root, store):
    tag_slug = max(store["tags"], key=lambda t: sum(store["tags"].index(t) in d[3] for d in store["docs"]))[0]
    dated = sorted(d[2] for d in store["docs"] if d[2])
    start, end = dated[len(dated) // 4], dated[3 * len(dated) // 4]
    by_tag, by_date, both_empty_query = run_queries(
        seed_built_root,
        [
            {"q": "learning", "tag": tag_slug, "limit": 1000},
            {"q": "learning", "from": start, "to": end, "limit": 1000},
            {"q": "", "tag": tag_slug, "from": start, "limit": 1000},
        ],
    )
    assert by_tag["total"] > 0 and all(tag_slug in [t["slug"] for t in r["tags"]] for r in by_tag["results"])
    assert by_date["total"] > 0 and all(start <= r["date"] <= end for r in by_date["results"])
    expected = [
        d[0]
        for d in store["docs"]
        if d[2] >= start and store["tags"].index(next(t for t in store["tags"] if t[0] == tag_slug)) in d[3]
    ]
    assert titles(both_empty_query) == expected  # no words: every match, newest first


def test_index_has_short_refs_and_no_positions(seed_built_root, store):
    index = json.loads((seed_built_root / "search" / "index.json").read_text("utf-8"))
    assert index["version"] == vendor_file("VERSION").read_text().strip()
    refs = {ref.split("/", 1)[1] for ref, _ in index["fieldVectors"]}
    assert refs == {str(n) for n in range(len(store["docs"]))}
    for _term, posting in index["invertedIndex"]:
        for field, docs in posting.items():
            if field != "_index":
                assert all(metadata == {} for metadata in docs.values())


def test_index_terms_are_those_lunr_js_would_make(seed_built_root, papers, store):
    """A query reaches a word only if lunr.py trimmed and stemmed it the way lunr.js does."""
    index = json.loads((seed_built_root / "search" / "index.json").read_text("utf-8"))
    indexed = {term for term, _posting in index["invertedIndex"]}
    texts = [f"{p.title} {p.text}" for p in papers.values()] + [label for _slug, label, _path in store["tags"]]
    from_js = {term for terms in run_queries(seed_built_root, [{"pipeline": t} for t in texts]) for term in terms}
    assert indexed <= from_js, sorted(indexed - from_js)[:20]
    left_out = from_js - indexed - {""}
    noise = re.compile(r"^[\d.,/%+~^]*\d[\d.,/%+~^]*[.,/%+~^][\d.,/%+~^]*$|://|^www\.")
    assert all(noise.search(term) for term in left_out), sorted(t for t in left_out if not noise.search(t))[:20]
    assert "diffus" in indexed and "e.g" in indexed


def test_store_is_plain_text(store, papers):
    assert store["fields"] == ["title", "path", "date", "tags", "snippet"]
    for doc in store["docs"]:
        title, _path, _date, _tags, snippet = doc
        assert title in papers  # exactly as written, not HTML-escaped
        assert not re.search(r"<[a-zA-Z/]|&(amp|lt|gt|quot|#\d+);", title + snippet)
        assert len(snippet) <= 161


def _build_with_seed(site: Path, out: Path, seed: str) -> None:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    command = [
        sys.executable,
        "-m",
        "digestgen",
        "build",
        "--site",
        str(site),
        "--out",
        str(out),
        "--base-url",
        "http://127.0.0.1:8000/",
    ]
    done = subprocess.run(command, check=False, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


def test_index_and_store_bytes_are_identical_across_builds(seed_site, tmp_path):
    _build_with_seed(seed_site, tmp_path / "a", "1")
    _build_with_seed(seed_site, tmp_path / "b", "2")
    for name in ("index.json", "store.json"):
        assert (tmp_path / "a" / "search" / name).read_bytes() == (tmp_path / "b" / "search" / name).read_bytes()
