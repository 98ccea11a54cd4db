"""`digestgen ingest` of every source format: detection, one paper across sources, hand edits kept, refusals."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from digestgen.frontmatter import dump_yaml, read_front_matter, simple_yaml, split_front_matter
from digestgen.ingest import body_abstract

from conftest import FIXTURES
from test_ingest import listing, paper, run, site, snapshot  # noqa: F401  (site is a fixture)

SOURCES = FIXTURES / "sources"
WIDGETS = "sparse-attention-for-very-long-widgets"


def ingest(site: Path, *args: str):
    result = run("ingest", *map(str, args), "--site", str(site))
    return result


@pytest.mark.parametrize(
    "name, papers",
    [
        ("hf-daily-2025-10-31.json", 2),
        ("hf-paper.json", 1),
        ("hf-page-2025-10-31.html", 1),
        ("arxiv-api.xml", 2),
        ("arxiv-rss-cs.LG.xml", 2),
        ("arxiv-atom-cs.LG.xml", 1),
        ("arxiv-mail.txt", 2),
    ],
)
def test_each_format_ingests_and_a_second_ingest_changes_no_byte(site, name, papers):
    result = ingest(site, SOURCES / name, "--date", "2025-10-31")
    assert result.returncode == 0, result.stderr
    assert f"{papers} new, 0 updated" in result.stdout
    before = snapshot(site / "content")
    again = ingest(site, SOURCES / name, "--date", "2025-10-31")
    assert again.returncode == 0 and f"0 new, 0 updated, {papers} unchanged" in again.stdout
    assert snapshot(site / "content") == before


def test_every_source_s_front_matter_is_written_directly_to_the_bytes_pyyaml_writes(site):
    """The fast writer is what ingest uses for every format's papers, and it changes no byte of them."""
    names = [p for p in sorted(SOURCES.iterdir()) if p.name != "ids.txt"]  # an ID list needs the arXiv API
    assert ingest(site, *names, "--date", "2025-10-31").returncode == 0
    papers = sorted((site / "content" / "papers").glob("*.md"))
    assert len(papers) == 5  # the fixtures share papers across sources
    for path in papers:
        text = path.read_text(encoding="utf-8")
        data, _ = read_front_matter(text)
        assert simple_yaml(data) is not None, path.name
        assert split_front_matter(text)[0] == dump_yaml(data, direct=False), path.name


def test_lone_surrogates_in_json_escapes_are_dropped_not_a_crash(site, tmp_path):
    item = {"paper": {"id": "2510.00001", "title": "Broken \ud800pair", "summary": "An abstract\udfff.", "authors": [{"name": "Ada \ud83d"}]}}
    listing = tmp_path / "hf-2025-10-31.json"
    listing.write_text(json.dumps([item]), encoding="utf-8")  # json.dumps writes them as \\u escapes
    result = ingest(site, listing)
    assert result.returncode == 0, result.stderr
    data, body = paper(site, "broken-pair")
    assert data["title"] == "Broken pair" and data["authors"] == ["Ada"] and body_abstract(body) == "An abstract."


def test_rich_fields_reach_the_front_matter(site):
    assert ingest(site, SOURCES / "arxiv-api.xml", "--date", "2025-10-31").returncode == 0
    data, body = paper(site, WIDGETS)
    assert data["arxiv"] == "2510.01234" and data["arxiv_version"] == 2
    assert data["authors"] == ["Ada Lovelace", "Alan Turing"] and "author_count" not in data
    assert data["categories"] == ["cs.LG", "cs.AI"] and data["primary_category"] == "cs.LG"
    assert data["doi"] == "10.1234/widgets.2025.1" and data["comment"] == "12 pages, 3 figures"
    assert {"kind": "pdf", "url": "https://arxiv.org/pdf/2510.01234"} in data["links"]
    assert "upvotes" not in data  # arXiv has none: nothing is made up
    assert "$O(n \\log n)$" in body_abstract(body)
    old, _ = paper(site, "an-old-style-identifier")
    assert old["arxiv"] == "math/0501001"


def test_text_then_json_keeps_the_slug_and_every_hand_edit(site, tmp_path):
    text = tmp_path / "2025-10-30.txt"
    text.write_text(listing(("Sparse Attention for Very Long Widgets", "Widgets, sparsely.", "Oct 29 5")))
    assert ingest(site, text).returncode == 0
    path = site / "content" / "papers" / f"{WIDGETS}.md"
    path.write_text(path.read_text().replace("Widgets, sparsely.", "My own abstract.").replace("tags: []", "tags:\n- mine\nnote: Read section 3."))

    result = ingest(site, SOURCES / "hf-daily-2025-10-31.json")
    assert result.returncode == 0, result.stderr
    assert "1 new, 1 updated" in result.stdout
    assert f"updated {WIDGETS}:" in result.stdout and "arxiv filled in" in result.stdout
    assert "kept the hand-edited title/abstract" in result.stdout
    assert sorted(p.stem for p in (site / "content" / "papers").glob("*.md")) == ["dense-gadgets-densely", WIDGETS]
    data, body = paper(site, WIDGETS)
    assert body_abstract(body) == "My own abstract." and data["tags"] == ["mine"] and data["note"] == "Read section 3."
    assert data["arxiv"] == "2510.01234" and data["authors"] == ["Ada Lovelace", "Alan Turing"]
    assert "author_count" not in data and data["upvotes"] == 42 and data["keywords"] == ["sparse attention", "long context"]
    assert data["digests"] == ["2025-10-30", "2025-10-31"]

    # Later the arXiv feed names the same paper: found by its arXiv ID, one file still.
    result = ingest(site, SOURCES / "arxiv-rss-cs.LG.xml")
    assert result.returncode == 0 and "1 new, 1 updated" in result.stdout
    data, _ = paper(site, WIDGETS)
    assert data["upvotes"] == 42 and data["categories"] == ["cs.LG", "cs.AI"]
    assert data["digests"] == ["2025-10-30", "2025-10-31"]


def test_an_older_text_listing_after_json_does_not_take_the_names_away(site, tmp_path):
    assert ingest(site, SOURCES / "hf-daily-2025-10-31.json").returncode == 0
    text = tmp_path / "2025-10-30.txt"
    text.write_text(listing(("Sparse Attention for Very Long Widgets", "Widgets, sparsely.", "Oct 29 5")))
    assert ingest(site, text).returncode == 0
    data, body = paper(site, WIDGETS)
    assert data["authors"] == ["Ada Lovelace", "Alan Turing"] and "author_count" not in data and data["upvotes"] == 42
    assert body_abstract(body).startswith("We study sparse attention")  # the older text does not roll it back
    assert data["digests"] == ["2025-10-30", "2025-10-31"]


def test_an_old_file_with_an_author_count_is_migrated_when_its_listing_comes_again(site, tmp_path):
    text = tmp_path / "2025-10-30.txt"
    text.write_text(listing(("Legacy Paper", "An abstract.", "Oct 29 5")))
    assert ingest(site, text).returncode == 0
    path = site / "content" / "papers" / "legacy-paper.md"
    path.write_text(path.read_text().replace("author_count: 3", "authors: 3"))  # as older digestgen wrote it
    result = ingest(site, text)
    assert "author count moved from authors to author_count" in result.stdout
    data, _ = paper(site, "legacy-paper")
    assert data["author_count"] == 3 and "authors" not in data


def test_sources_of_one_day_given_together_are_one_paper(site):
    result = ingest(site, SOURCES / "arxiv-rss-cs.LG.xml", SOURCES / "hf-daily-2025-10-31.json")
    assert result.returncode == 0, result.stderr
    assert "3 new" in result.stdout
    data, _ = paper(site, WIDGETS)
    assert data["upvotes"] == 42 and data["categories"] == ["cs.LG", "cs.AI"]
    digest = (site / "content" / "digests" / "2025-10-31.yaml").read_text()
    assert digest.count(WIDGETS) == 1


def test_titles_that_differ_by_invisible_characters_are_one_paper(site, tmp_path):
    first = tmp_path / "2025-10-30.txt"
    first.write_text(listing(("Sparse Attention for Very Long Widgets", "Widgets.", "Oct 29 5")))
    second = tmp_path / "2025-10-31.txt"
    second.write_text(listing(("Sparse\u200b Atten\u00adtion for Very\u2060 Long \u200eWidgets", "Widgets.", "Oct 29 6")))
    assert ingest(site, first).returncode == 0
    result = ingest(site, second)
    assert result.returncode == 0 and "0 new, 1 updated" in result.stdout
    assert [p.stem for p in (site / "content" / "papers").glob("*.md")] == [WIDGETS]


def test_a_readme_is_refused_with_one_line_and_nothing_written(site):
    before = snapshot(site)
    result = ingest(site, Path(__file__).parents[1] / "README.md", "--date", "2025-10-01")
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert "not a listing" in result.stderr and "tried Hugging Face JSON" in result.stderr
    assert snapshot(site) == before


def test_an_html_page_of_another_site_is_refused(site, tmp_path):
    page = tmp_path / "blog.html"
    page.write_text("<!DOCTYPE html>\n<html><head><title>Blog</title></head><body><h1>Hi</h1></body></html>\n")
    result = ingest(site, page)
    assert result.returncode == 1
    assert "blog.html: this is an HTML page: save it as text, or give the page's JSON" in result.stderr


def test_bad_items_are_reported_by_index_and_the_rest_ingested(site, tmp_path):
    items = json.loads((SOURCES / "hf-daily-2025-10-31.json").read_text())
    items.insert(1, {"paper": {"id": "2510.00002", "summary": "No title here."}})
    bad = tmp_path / "hf-2025-10-31.json"
    bad.write_text(json.dumps(items))
    result = ingest(site, bad)
    assert result.returncode == 0, result.stderr
    assert "hf-2025-10-31.json: item 1 has no title; skipped" in result.stderr
    assert "2 new, 0 updated, 0 unchanged, 1 skipped" in result.stdout


def test_truncated_json_ingests_the_whole_items(site, tmp_path):
    text = (SOURCES / "hf-daily-2025-10-31.json").read_text()
    cut = tmp_path / "hf-2025-10-31.json"
    cut.write_text(text[: text.index('"Dense Gadgets')])
    result = ingest(site, cut)
    assert result.returncode == 0 and "1 new" in result.stdout
    assert "item 1: broken JSON" in result.stderr or "ends after item 1" in result.stderr


def test_a_nul_byte_is_reported_with_its_line_and_the_listing_kept(site, tmp_path):
    text = tmp_path / "2025-10-31.txt"
    text.write_text(listing(("Nul Paper", "An abs\x00tract.", "Oct 29 5")))
    result = ingest(site, text)
    assert result.returncode == 0, result.stderr
    assert "2025-10-31.txt:7: NUL byte removed" in result.stderr
    assert body_abstract(paper(site, "nul-paper")[1]) == "An abstract."


def test_announce_takes_replacements_when_asked(site):
    result = run("ingest", str(SOURCES / "arxiv-rss-cs.LG.xml"), "--announce", "replace", "--site", str(site))
    assert result.returncode == 0 and "3 new" in result.stdout
    assert "'replace-cross' entries left out" in result.stderr


def test_format_overrides_detection(site, tmp_path):
    mail = tmp_path / "mail.txt"
    shutil.copy(SOURCES / "arxiv-mail.txt", mail)
    result = run("ingest", str(mail), "--format", "text", "--date", "2025-10-31", "--site", str(site))
    assert result.returncode == 1  # read as Daily Papers text, it shows no listing details
    assert run("ingest", str(mail), "--format", "arxiv-mail", "--date", "2025-10-31", "--site", str(site)).returncode == 0


def test_a_folder_is_ingested_in_name_order_without_hidden_files(site, tmp_path):
    folder = tmp_path / "sources"
    (folder / ".cache").mkdir(parents=True)
    shutil.copy(SOURCES / "hf-daily-2025-10-31.json", folder / "hf-2025-10-31.json")
    shutil.copy(SOURCES / "arxiv-rss-cs.LG.xml", folder / "arxiv-cs.LG-2025-10-31.xml")
    (folder / ".cache" / "junk.txt").write_text("not a listing")
    result = ingest(site, folder)
    assert result.returncode == 0, result.stderr
    assert "3 new" in result.stdout
