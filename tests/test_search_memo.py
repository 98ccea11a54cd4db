"""The sharded worker scores a term counted 64 times or more in a field as lunr.py does.

The worker scores each distinct (count, length) pair of a term's field once. Its memo key,
length * 64 + count, names one pair only while the count stays under 64: a term counted 70 times in
an abstract of 80 terms has the key of the same term counted 6 times in an abstract of 81. Here one
paper has each, and a third paper, which truly ranks above the 6-count one, would fall below it if
that paper were given the 70-count paper's score.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import run_node_json

from digestgen import search
from digestgen.build import build_site, load_and_tag
from digestgen.config import load_config
from digestgen.theme import vendor_file

QUERY_SCRIPT = Path(__file__).resolve().parent / "js" / "query_shards.mjs"
TERM = "zorblat"
FILLER = "blorp"
# slug: (times the term occurs in the abstract, the abstract's length in terms)
ABSTRACTS = {
    "a-seventy-count": (70, 80),
    "b-six-count": (6, 81),
    "c-ten-count": (10, 81),
}
OTHERS = ["d-unrelated", "e-unrelated"]  # papers without the term, so that it is not in every paper


def _paper(slug: str, title: str, text: str, day: int) -> str:
    return "\n".join([
        "---", f"title: {title}", f"slug: {slug}", f"id: slug:{slug}", f"published: '2024-03-{day:02d}'",
        "upvotes: 0", "links: []", "digests:", "- '2025-10-31'", "tags: []", "---", text, "",
    ])


def _abstract(count: int, length: int) -> str:
    return " ".join([TERM] * count + [FILLER] * (length - count))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("memo")
    site = root / "site"
    (site / "content" / "papers").mkdir(parents=True)
    (site / "content" / "digests").mkdir()
    slugs = [*ABSTRACTS, *OTHERS]
    (site / "digestgen.yaml").write_text("taxonomy: none\nsearch_shard_threshold: 1\n", encoding="utf-8")
    (site / "content" / "digests" / "2025-10-31.yaml").write_text(
        "date: '2025-10-31'\npapers:\n" + "".join(f"- {slug}\n" for slug in slugs), encoding="utf-8"
    )
    # The newest paper comes first in the index: the 70-count one is scored before the 6-count one.
    for day, slug in enumerate(reversed(slugs), start=1):
        count, length = ABSTRACTS.get(slug, (0, 12))
        text = _abstract(count, length) if count else " ".join(["quiet", "meadow", "river"] * 4)
        title = f"Paper {slug.split('-')[0].upper()} on Measurements"
        (site / "content" / "papers" / f"{slug}.md").write_text(_paper(slug, title, text, day), encoding="utf-8")
    build_site(site, out=site / "_site", base_url="http://127.0.0.1:8000/")
    return site


def _answers(site: Path) -> dict:
    """The worker's answer for the term from the sharded site, and from lunr.py's own index of it."""
    config, _ = load_config(site)
    loaded = load_and_tag(site, config, {})
    single = site.parent / "single"
    shutil.rmtree(single, ignore_errors=True)
    single.mkdir()
    (single / "index.json").write_bytes(search.compact_json(search.build_index_with_lunr_py(loaded)))
    (single / "store.json").write_bytes(search.compact_json(search.build_store(loaded)))
    worker = next((site / "_site" / "assets").glob("search-worker.*.js"))
    args = [str(vendor_file("lunr.min.js")), str(worker), str(site / "_site" / "search"), str(single / "index.json"),
            str(single / "store.json")]
    (answer,) = run_node_json(QUERY_SCRIPT, args, [{"q": TERM, "typing": False}])
    return answer


def _slugs(answer: dict) -> list[str]:
    return [r["path"].strip("/").split("/")[-1] for r in answer["results"]]


def test_the_keys_of_the_two_pairs_meet(site):
    """The fixture is what it claims: the site is sharded and the two abstracts' lengths are 80 and 81."""
    search_dir = site / "_site" / "search"
    assert (search_dir / "shards").is_dir() and not (search_dir / "store.json").read_text().count('"docs"')
    config, _ = load_config(site)
    docs = search.build_store(load_and_tag(site, config, {}))["docs"]
    order = [path.strip("/").split("/")[-1] for _title, path, *_rest in docs]
    assert order.index("a-seventy-count") < order.index("b-six-count")
    lengths = (search_dir / "lengths" / "abstract.json").read_text("utf-8")
    expected = [ABSTRACTS.get(slug, (0, 12))[1] for slug in order]
    assert lengths == search.compact_json(search.number_text(expected)).decode()
    (count_a, length_a), (count_b, length_b) = ABSTRACTS["a-seventy-count"], ABSTRACTS["b-six-count"]
    assert length_a * 64 + count_a == length_b * 64 + count_b


def test_a_count_past_64_ranks_as_lunr_py_ranks_it(site):
    answer = _answers(site)
    assert _slugs(answer["single"]) == ["a-seventy-count", "c-ten-count", "b-six-count"]
    assert _slugs(answer["sharded"]) == _slugs(answer["single"])
    assert answer["sharded"] == answer["single"]  # the scores too
