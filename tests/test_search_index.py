"""The search as the browser runs it: the worker's engine and real lunr.js (node) over what lunr.py built.

The seed site (content/papers) answers the query language, the spelling variants and pasted titles;
a copy of it with a few papers written here, with author names, organizations and arXiv IDs, answers
the author and organization searches, filters, counts and sorting.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from digestgen import search, searchtext
from digestgen.theme import vendor_file

from conftest import build, copy_repo_site, run_node_json

QUERY_SCRIPT = Path(__file__).resolve().parent / "js" / "query_index.mjs"
PVT = "PVT++: A Simple End-to-End Latency-Aware Visual Tracking Framework"
CLIP_PAPER = "Learning Transferable Visual Models From Natural Language Supervision"
DIFFUSION_TITLE = "Diffusion Models Beat GANs on Image Classification"


def run_queries(site: Path, requests: list[dict[str, Any]]) -> list[Any]:
    """Answers from the shipped worker code and lunr.js, run under node against a built site."""
    worker = next((site / "assets").glob("search-worker.*.js"))
    args = [str(vendor_file("lunr.min.js")), str(worker), str(site / "search")]
    return run_node_json(QUERY_SCRIPT, args, requests, timeout=120)


def ask(site: Path, **request: Any) -> dict[str, Any]:
    return run_queries(site, [request])[0]


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


# --- The normalisation the index and the query share ------------------------------------------------


def test_the_worker_makes_the_same_words_as_the_index(seed_built_root, papers, store):
    texts = [t for p in papers.values() for t in (p.title, p.text)] + [label for _slug, label, _path in store["tags"]]
    texts += ["PriorCLIP DenseCLIP CLIPSeg LLMs iPhone ConvNeXt GPT-4V 3.5% e.g. model's “quoted” Ünïcödé-wörds x_y", "α=0.5 with β-VAE, Σ and π₀ on ℝⁿ"]
    from_js = run_queries(seed_built_root, [{"words": t} for t in texts])
    for text, words in zip(texts, from_js):
        assert words == [{"joined": w.joined, "parts": list(w.parts)} for w in searchtext.words(text)], text


def indexed_terms(text: str) -> str:
    """Every term the index holds for the text, chunk by chunk, space-separated."""
    return " ".join(term for chunk in searchtext.chunks(text) for term in searchtext.chunk_terms(chunk))


def test_compounds_are_indexed_whole_and_split():
    assert indexed_terms("pre-training") == "pre training pretraining"
    assert indexed_terms("PriorCLIP and LLMs") == "prior clip priorclip and llms"
    assert indexed_terms("88.53% at https://github.com/openai/CLIP.") == "at"
    assert searchtext.link_names(["https://github.com/openai/CLIP.git", "https://example.org/x/y"]) == ["CLIP"]


@pytest.mark.parametrize("text", [
    "Code at https://github.com/openai/CLIP.", "see (WWW.example.org/x) and www.lab.io", "no links here", "a://b wwwx",
    "ftp://host/file https://x.y/z?q=1#f,", "",
])
def test_links_are_found_in_the_chunks_already_split(text):
    found = searchtext.urls_in(text, text.split())
    assert found == [c.strip("().,") for c in text.split() if re.match(r"^[(]?(https?://|www\.)", c, re.IGNORECASE)]


@pytest.mark.parametrize("variants", [
    ("pretraining", "pre-training", "pre training", "Pre-Training"),
    ("finetuning", "fine-tuning", "fine tuning"),
    ("multimodal", "multi-modal", "multi modal"),
    ("pretrained models", "pre-trained models", "pre trained models"),
    ("priorclip", "PriorCLIP", "prior-clip"),
])
def test_spelling_variants_find_the_same_papers(seed_built_root, variants):
    answers = run_queries(seed_built_root, [{"q": v, "limit": 1000, "typing": False} for v in variants])
    found = [sorted(r["ref"] for r in a["results"]) for a in answers]
    assert found[0], variants
    assert all(f == found[0] for f in found), variants


def test_llm_pretraining_data_finds_data_papers(seed_built_root):
    """It found nothing before: "pretraining" did not meet "pre-training". (Toxicity of the Commons says
    "large language model", never LLM, so it is not expected.)"""
    found = titles(ask(seed_built_root, q="LLM pretraining data", typing=False))
    assert "RefineX: Learning to Refine Pre-training Data at Scale from Expert-Guided Programs" in found
    assert "Programming Every Example: Lifting Pre-training Data Quality like Experts at Scale" in found


def test_camel_case_compounds_are_found_by_their_parts(seed_built_root):
    found = titles(ask(seed_built_root, q="CLIP", limit=1000, typing=False))
    assert "PriorCLIP: Visual Prior Guided Vision-Language Model for Remote Sensing Image-Text Retrieval" in found
    assert "DenseCLIP: Language-Guided Dense Prediction with Context-Aware Prompting" in found


def test_a_repository_name_in_a_link_finds_its_paper(seed_built_root):
    """The CLIP paper names CLIP only in its code link."""
    assert CLIP_PAPER in titles(ask(seed_built_root, q="CLIP", limit=10, typing=False))


def test_only_the_word_being_typed_is_a_prefix(seed_built_root, papers):
    apple = ask(seed_built_root, q="Apple", limit=1000, typing=False)
    for title in titles(apple):
        assert has_word(f"{title} {papers[title].text}", "apple"), title  # not applied, applications
    typed = ask(seed_built_root, q="Appl", limit=1000)  # still typing: words starting so
    assert len(typed["results"]) > len(apple["results"])
    # An earlier word is not a prefix: "diffusi tracking" looks for the word "diffusi" exactly.
    assert ask(seed_built_root, q="visu tracking", typing=False)["total"] == 0 or \
        ask(seed_built_root, q="visu tracking", typing=False).get("fuzzy")


def test_results_appear_while_a_word_is_half_typed(seed_built_root):
    half, whole = run_queries(seed_built_root, [{"q": "diffusi", "limit": 1000}, {"q": "diffusion", "limit": 1000}])
    assert set(titles(half)) == set(titles(whole)) and DIFFUSION_TITLE in titles(half)
    assert PVT in titles(ask(seed_built_root, q="trac"))


def test_a_tag_match_counts_less_than_the_abstract(seed_built_root, store):
    """Boosts as built: title most, tags least."""
    index = json.loads((seed_built_root / "search" / "index.json").read_text("utf-8"))
    assert index["fields"] == list(search.INDEX_FIELDS)
    assert search.FIELD_BOOSTS["tags"] < search.FIELD_BOOSTS["abstract"] < search.FIELD_BOOSTS["title"]


# --- The query language -------------------------------------------------------------------------------


def test_every_seed_title_pasted_whole_finds_its_paper_first(seed_built_root, papers):
    names = sorted(papers)
    answers = run_queries(seed_built_root, [{"q": t, "limit": 3, "typing": False} for t in names])
    wrong = [(t, titles(a)[:1]) for t, a in zip(names, answers) if titles(a)[:1] != [t]]
    assert not wrong, wrong
    assert sum(":" in t for t in names) >= 50  # most of them have a colon that names no field


def test_tracking_finds_pvt_first(seed_built_root):
    assert titles(ask(seed_built_root, q="tracking"))[0] == PVT


def test_quoted_phrase_is_checked_against_the_text(seed_built_root, papers):
    answer = ask(seed_built_root, q='"diffusion models" image', limit=1000, typing=False)
    assert answer["total"] > 0
    for title in titles(answer):
        text = f"{title} {papers[title].text}"
        assert re.search(r"diffusion models?\b", text, re.IGNORECASE), title
    loose = ask(seed_built_root, q="models diffusion image", limit=1000, typing=False)
    assert set(titles(answer)) <= set(titles(loose))


def test_a_phrase_with_words_apart_is_not_found(seed_built_root, papers):
    words = ask(seed_built_root, q="learning models", limit=1000, typing=False)
    phrase = ask(seed_built_root, q='"learning models"', limit=1000, typing=False)
    assert 0 < phrase["total"] < words["total"]
    for title in titles(phrase):
        assert re.search(r"learning models?", f"{title} {papers[title].text}", re.IGNORECASE), title


def test_negated_words_and_phrases(seed_built_root, papers):
    answer = ask(seed_built_root, q="filter -image", limit=1000, typing=False)
    assert answer["total"] > 0
    for title in titles(answer):
        text = f"{title} {papers[title].text}"
        assert has_word(text, "filter") and not re.search(r"\bimag(e|es|ed|ing)?\b", text, re.IGNORECASE), title
    no_phrase = ask(seed_built_root, q='retrieval -"dense retrieval"', limit=1000, typing=False)
    assert no_phrase["total"] > 0
    assert not any(re.search("dense retrieval", f"{t} {papers[t].text}", re.IGNORECASE) for t in titles(no_phrase))


def test_title_field(seed_built_root):
    found = titles(ask(seed_built_root, q="title:recommender", limit=1000, typing=False))
    assert found and all(has_word(t, "recommend") for t in found)


def test_a_colon_that_names_no_field_is_text(seed_built_root):
    for q in ("venue:neurips", "UL2: unifying", "title:"):
        answer = ask(seed_built_root, q=q, typing=False)
        assert "error" not in answer, q
    assert titles(ask(seed_built_root, q="UL2: unifying", typing=False))[0] == "UL2: Unifying Language Learning Paradigms"


def test_fuzzy_fallback_says_nothing_matched_exactly(seed_built_root):
    typo = ask(seed_built_root, q="trakcing", typing=False)
    assert typo.get("fuzzy") and PVT in titles(typo)
    assert not ask(seed_built_root, q="visual tracking").get("fuzzy")


@pytest.mark.parametrize("q", ["Kaiming He", "Yann LeCun", "2401.99999x", "resnet 1502"])
def test_no_fuzzy_fallback_for_names_or_numbers(seed_built_root, q):
    answer = ask(seed_built_root, q=q, typing=False)
    assert answer["total"] == 0 and not answer.get("fuzzy")


def test_no_match_is_an_empty_answer(seed_built_root):
    answer = ask(seed_built_root, q="zzzqqxv")
    assert answer["total"] == 0 and "error" not in answer


def test_limit_cuts_the_list_but_not_the_count(seed_built_root):
    answer = ask(seed_built_root, q="learning", limit=5)
    assert len(answer["results"]) == 5 and answer["total"] > 5


# --- What a result shows ------------------------------------------------------------------------------


def test_matched_words_are_marked(seed_built_root):
    top = ask(seed_built_root, q="tracking", typing=False)["results"][0]
    assert [top["title"][a:b] for a, b in top["titleMarks"]] == ["Tracking"]
    assert all(top["snippet"][a:b].lower().startswith("track") for a, b in top["snippetMarks"])


def test_every_top_result_shows_a_marked_word(seed_built_root):
    queries = ["pruning", "remote sensing", "contrastive", "distillation", "retrieval", "diffusion", "prompt", "noise"]
    for q, answer in zip(queries, run_queries(seed_built_root, [{"q": q, "limit": 10, "typing": False} for q in queries])):
        for result in answer["results"]:
            tag_marks = [m for tag in result["tags"] for m in tag["marks"]]
            assert result["snippetMarks"] or result["titleMarks"] or tag_marks, (q, result["title"])
            for a, b in result["snippetMarks"]:
                assert 0 <= a < b <= len(result["snippet"])


def test_the_snippet_is_cut_around_the_first_match(seed_built_root, papers):
    """A word found only late in an abstract is still shown, with an ellipsis before it."""
    answer = ask(seed_built_root, q="gauntlet", typing=False)
    (result,) = answer["results"]
    assert result["snippet"].startswith("\u2026") and result["snippetMarks"]
    a, b = result["snippetMarks"][0]
    assert result["snippet"][a:b] == "gauntlet"
    assert len(result["snippet"]) <= 250


def test_results_carry_date_path_and_tags(seed_built_root, papers):
    top = ask(seed_built_root, q="tracking")["results"][0]
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
    number = next(n for n, t in enumerate(store["tags"]) if t[0] == tag_slug)
    expected = [d[0] for d in store["docs"] if d[2] >= start and number in d[3]]
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


def test_store_is_plain_text(store, papers):
    assert store["fields"] == search.STORE_FIELDS
    for doc in store["docs"]:
        title, _path, _date, _tags, text, organization, authors, upvotes, _arxiv = doc
        assert title in papers and text == papers[title].text  # exactly as written, not HTML-escaped
        assert not re.search(r"<[a-zA-Z/]|&(amp|lt|gt|quot|#\d+);", title + text)
        assert isinstance(authors, list) and isinstance(upvotes, int) and isinstance(organization, str)


# --- Authors, organizations, arXiv IDs, sorting: a few papers written for these tests -----------------

PEOPLE_PAPERS = {
    "sparse-mixture-routing": dict(
        title="Sparse Mixture Routing for Efficient Transformers", arxiv="2403.01111", published="2024-03-02",
        upvotes=40, organization="Apple", authors=["Kaiming He", "Ana Souza"],
        text="We route tokens through a sparse mixture of experts and report applied results on translation.",
    ),
    "diffusion-for-weather": dict(
        title="Diffusion Models for Weather Forecasting", arxiv="2405.02222", published="2024-05-10",
        upvotes=3, organization="Google DeepMind", authors=["Ana Souza", "Ravi Patel"],
        text="A diffusion model forecasts weather fields; the diffusion model is conditioned on reanalysis data.",
    ),
    "video-diffusion-survey": dict(
        title="A Survey of Video Generation", arxiv="2407.03333", published="2024-07-20",
        upvotes=12, organization="Google DeepMind", authors=["Ravi Patel"],
        text="Video generation with a diffusion model is surveyed, along with autoregressive video models.",
    ),
    "undated-note-on-routing": dict(
        title="A Note on Token Routing", arxiv=None, published=None, upvotes=0, organization=None,
        authors=["Kaiming He"], text="Token routing in transformers, revisited without experiments.",
    ),
}


def _front_matter(slug: str, paper: dict[str, Any]) -> str:
    lines = ["---", f"title: {json.dumps(paper['title'])}", f"slug: {slug}", f"id: slug:{slug}"]
    if paper["published"]:
        lines.append(f"published: '{paper['published']}'")
    lines.append(f"upvotes: {paper['upvotes']}")
    lines.append(f"authors: {json.dumps(paper['authors'])}")
    if paper["organization"]:
        lines.append(f"organization: {json.dumps(paper['organization'])}")
    if paper["arxiv"]:
        lines.append(f"arxiv: '{paper['arxiv']}'")
    lines += ["links: []", "digests:", "- '2025-10-31'", "tags: []", "---", paper["text"], ""]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def people_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = copy_repo_site(tmp_path_factory.mktemp("people-site"))
    for slug, paper in PEOPLE_PAPERS.items():
        (site / "content" / "papers" / f"{slug}.md").write_text(_front_matter(slug, paper), encoding="utf-8")
    return build(site, tmp_path_factory.mktemp("people-out") / "_site", "http://127.0.0.1:8000/")


def slugs(answer: dict[str, Any]) -> list[str]:
    return [r["path"].strip("/").split("/")[-1] for r in answer["results"]]


def test_authors_and_organizations_are_searchable(people_site):
    assert slugs(ask(people_site, q="Kaiming He", typing=False)) == ["sparse-mixture-routing", "undated-note-on-routing"] or \
        set(slugs(ask(people_site, q="Kaiming He", typing=False))) == {"sparse-mixture-routing", "undated-note-on-routing"}
    assert set(slugs(ask(people_site, q="author:souza", typing=False))) == {"sparse-mixture-routing", "diffusion-for-weather"}
    assert slugs(ask(people_site, q="Apple", typing=False))[0] == "sparse-mixture-routing"
    assert set(slugs(ask(people_site, q="org:deepmind", typing=False))) == {"diffusion-for-weather", "video-diffusion-survey"}
    top = ask(people_site, q="author:patel", typing=False)["results"][0]
    assert top["organization"] == "Google DeepMind" and "Ravi Patel" in top["authors"]


def test_organization_and_author_filters_with_counts(people_site):
    answer = ask(people_site, q="diffusion", facets=True, limit=100, typing=False)
    orgs = {f["name"]: f["count"] for f in answer["facets"]["organizations"]}
    assert orgs["Google DeepMind"] == 2
    authors = {f["name"]: f["count"] for f in answer["facets"]["authors"]}
    assert authors["Ravi Patel"] == 2 and authors["Ana Souza"] == 1
    filtered = ask(people_site, q="diffusion", org="Google DeepMind", limit=100, typing=False)
    assert set(slugs(filtered)) == {"diffusion-for-weather", "video-diffusion-survey"}
    by_author = ask(people_site, q="", author="Kaiming He", limit=100)
    assert slugs(by_author) == ["sparse-mixture-routing", "undated-note-on-routing"]  # newest first, undated last


def test_sorting_keeps_every_paper(people_site):
    relevance, newest, upvoted = run_queries(people_site, [
        {"q": "routing", "limit": 100, "typing": False, "sort": sort} for sort in ("", "newest", "upvotes")
    ])
    assert set(slugs(relevance)) == set(slugs(newest)) == set(slugs(upvoted))
    assert slugs(newest)[-1] == "undated-note-on-routing"  # without a date: last, not dropped
    assert slugs(upvoted)[0] == "sparse-mixture-routing"
    everything = ask(people_site, q="", sort="upvotes", limit=1000)
    upvotes = [r["upvotes"] for r in everything["results"]]
    assert upvotes == sorted(upvotes, reverse=True) and everything["total"] == len(upvotes)


@pytest.mark.parametrize("q", ["2405.02222", "arXiv:2405.02222", "https://arxiv.org/abs/2405.02222v3",
                               "arxiv.org/pdf/2405.02222", "https://huggingface.co/papers/2405.02222"])
def test_an_arxiv_id_or_url_goes_to_its_paper(people_site, q):
    answer = ask(people_site, q=q)
    assert answer["direct"] == "2405.02222" and slugs(answer) == ["diffusion-for-weather"]


def test_an_unknown_arxiv_id_says_so(people_site):
    answer = ask(people_site, q="2405.09999")
    assert answer["direct"] == "2405.09999" and answer["total"] == 0


def test_phrase_query_with_a_word_after_it(people_site):
    answer = ask(people_site, q='"diffusion model" video', limit=100, typing=False)
    assert "video-diffusion-survey" in slugs(answer) and "diffusion-for-weather" not in slugs(answer)
    for result in answer["results"]:
        text = f"{result['title']} {result['snippet']}".lower()
        assert "video" in text and "diffusion model" in text, result["title"]


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
