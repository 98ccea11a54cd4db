"""`digestgen build`: golden output, every URL, escaping, determinism, atomic and safe output."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from digestgen import output
from digestgen.build import build_site
from digestgen.errors import DigestgenError

from conftest import FIXTURES, assert_matches_golden, copy_repo_site, vnu_command

FIXTURE_SITE = FIXTURES / "site"
GOLDEN = FIXTURES.parent / "golden" / "site"
# Assets are copies of static files, named by a hash of their bytes that the golden pages already
# record (and lunr.js is third-party code fetched at install time). The manifest records
# modification times of the inputs, which differ from checkout to checkout.
NOT_GOLDEN = ("assets/", output.MANIFEST)


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.relative_to(folder).as_posix().startswith(NOT_GOLDEN)
    }


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "digestgen", *args], capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture
def fixture_site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    shutil.copytree(FIXTURE_SITE, site)
    return site


def test_fixture_site_matches_the_golden_output(fixture_site, regen_golden):
    out = build_site(fixture_site).out
    if regen_golden:
        shutil.rmtree(GOLDEN, ignore_errors=True)
        shutil.copytree(out, GOLDEN, ignore=shutil.ignore_patterns("assets", output.MANIFEST))
    assert_matches_golden(tree(out), tree(GOLDEN))


def test_fixture_site_pages_and_theme_override(fixture_site):
    out = build_site(fixture_site).out
    for page in ("index.html", "2025/10/30/index.html", "2025/10/31/index.html", "archive/index.html", "tags/index.html",
                 "tags/pre-training/index.html", "tags/reading-group/index.html", "search/index.html", "404.html",
                 "feed.xml", "tags/pre-training/feed.xml", "sitemap.xml", "robots.txt", "papers.json", ".nojekyll"):
        assert (out / page).is_file(), page
    home = (out / "index.html").read_text()
    assert "Footer from the fixture site&#39;s own template." in home or "Footer from the fixture site's own template." in home
    assert 'href="/fixture/assets/favicon.' in home
    favicon = next((out / "assets").glob("favicon.*.svg")).read_text()
    assert "#7c3aed" in favicon  # the site's static file won over the theme's
    digest = (out / "2025/10/31/index.html").read_text().split("<main", 1)[1]  # the head's description names titles too
    # No order written: the most upvoted first (21, 4, 2 upvotes), not the listing's order.
    order = [digest.index(t) for t in ("Überlegene Sprachmodelle", "Graph Neural Networks", "Contrastive Pre-training")]
    assert order == sorted(order)
    assert 'rel="prev" href="/fixture/2025/10/30/"' in digest
    paper = (out / "papers/uberlegene-sprachmodelle-multilingual-llm-pre-training-fur-alle/index.html").read_text()
    assert "3.5% on average" in paper and "October 30, 2025" in paper and "October 31, 2025" in paper
    assert "@misc{uberlegene2025," in paper and "21 upvotes" in paper
    reading = (out / "tags/reading-group/index.html").read_text()
    assert "Tag: Reading Group" in reading and "A Study of Nothing in Particular" in reading


def test_tag_pages_paginate_newest_first(fixture_site):
    out = build_site(fixture_site).out  # tag_page_size is 1 in the fixture
    first = (out / "tags/pre-training/index.html").read_text()
    second = (out / "tags/pre-training/page/2/index.html").read_text()
    assert "page 1 of 2" in first and 'href="/fixture/tags/pre-training/page/2/"' in first
    assert "Überlegene" in first and "Contrastive Pre-training" not in first  # 2025 before 2024
    assert "page 2 of 2" in second and "Contrastive Pre-training" in second


def test_feeds_sitemap_and_json_use_absolute_urls(fixture_site):
    out = build_site(fixture_site, base_url="https://digest.example.com/sub").out
    ns = {"a": "http://www.w3.org/2005/Atom"}
    feed = ET.parse(out / "feed.xml").getroot()
    links = [e.get("href") for e in feed.iterfind(".//a:link", ns) if e.get("rel") != "related"]  # related: the paper's own
    assert links and all(h.startswith("https://digest.example.com/sub/") for h in links)
    assert len(feed.findall("a:entry", ns)) == 5
    locs = [e.text for e in ET.parse(out / "sitemap.xml").getroot().iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
    assert "https://digest.example.com/sub/papers/a-study-of-nothing-in-particular/" in locs
    assert all(loc.startswith("https://digest.example.com/sub/") for loc in locs)
    data = json.loads((out / "papers.json").read_text())
    assert data["version"] == 2 and len(data["papers"]) == 5
    graph = next(p for p in data["papers"] if p["slug"].startswith("graph"))
    assert graph["organization"] == "Example Lab" and graph["links"] == [{"kind": "dataset", "url": "https://huggingface.co/datasets/example/molecules"}]
    assert "Sitemap: https://digest.example.com/sub/sitemap.xml" in (out / "robots.txt").read_text()
    assert 'href="/sub/search/"' in (out / "index.html").read_text()


def test_seed_site_has_every_page(seed_built_root):
    out = seed_built_root
    assert len(list((out / "papers").glob("*/index.html"))) == 95
    assert (out / "2025/10/31/index.html").read_text().count('class="paper-row"') == 95  # a long digest: rows
    tags = list((out / "tags").glob("*/index.html"))
    assert len(tags) >= 10
    assert all(json.loads((out / "papers.json").read_text())["papers"][i]["tags"] for i in range(95))


HOSTILE_TITLE = "Attack <script>alert(1)</script> </script><img src=x onerror=alert(2)> & Co"
HOSTILE_ABSTRACT = "See [click](javascript:alert(3)) and <iframe src=javascript:alert(4)></iframe> plus `code` *stars* {{ 7*7 }}."


def hostile_site(tmp_path: Path) -> Path:
    site = tmp_path / "hostile"
    assert run("init", str(site)).returncode == 0
    listing = tmp_path / "2025-10-31.txt"
    listing.write_text(f"{HOSTILE_TITLE}\n\n{HOSTILE_ABSTRACT}\n\n  • 2 authors\n·\nOct 1 3\n", encoding="utf-8")
    assert run("ingest", str(listing), "--site", str(site)).returncode == 0
    paper = next((site / "content/papers").glob("*.md"))
    paper.write_text(paper.read_text().replace("tags: []", "tags:\n- <b>bold</b>") + "\n[hand link](javascript:alert(5)) <b>raw</b>\n")
    return site


def test_hostile_text_is_text_everywhere(tmp_path):
    out = build_site(hostile_site(tmp_path)).out
    markup = ("<script>alert", "<img src=x", "<iframe", "<b>", 'href="javascript', "href='javascript")
    checked = 0
    for path in out.rglob("*"):
        if path.suffix in (".html", ".xml"):
            text = path.read_text(encoding="utf-8")
            assert not [m for m in markup if m in text], path
            checked += 1
    assert checked > 10
    paper_html = next((out / "papers").glob("*/index.html")).read_text()
    assert "Attack &lt;script&gt;alert(1)&lt;/script&gt;" in paper_html
    assert "{{ 7*7 }}" in paper_html  # data is never evaluated as a template
    feed = ET.parse(out / "feed.xml").getroot()
    assert feed.find("{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}title").text == HOSTILE_TITLE
    data = json.loads((out / "papers.json").read_text())
    assert data["papers"][0]["title"] == HOSTILE_TITLE
    store = (out / "search" / "store.json").read_text()
    assert HOSTILE_TITLE in json.loads(store)["docs"][0]


def test_same_input_gives_identical_bytes_whatever_the_environment(tmp_path):
    site = copy_repo_site(tmp_path / "site")
    trees = []
    for index, (seed, tz, locale) in enumerate([("0", "UTC", "C.UTF-8"), ("12345", "Pacific/Kiritimati", "C"), ("random", "America/St_Johns", "C.UTF-8")]):
        env = {**os.environ, "PYTHONHASHSEED": seed, "TZ": tz, "LC_ALL": locale}
        result = run("build", "--site", str(site), "--out", str(tmp_path / f"out{index}"), env=env)
        assert result.returncode == 0, result.stderr
        trees.append(tree(tmp_path / f"out{index}"))
    assert trees[0] == trees[1] == trees[2]


def test_failed_build_leaves_the_previous_site(tmp_path):
    site = copy_repo_site(tmp_path / "site")
    first = build_site(site).out
    before = tree(first)
    (site / "templates").mkdir()
    (site / "templates" / "paper.html").write_text("{% extends 'default/base.html' %}{% block content %}{{ missing_value }}{% endblock %}")
    result = run("build", "--site", str(site))
    errors = [line for line in result.stderr.splitlines() if not line.startswith("warning: ")]  # warnings: common tags
    assert result.returncode == 1 and len(errors) == 1 and "missing_value" in errors[0]
    assert tree(first) == before
    assert not list(first.parent.glob("._site.new-*"))


def test_build_killed_while_moving_files_is_finished_by_the_next_build(tmp_path, monkeypatch):
    site = copy_repo_site(tmp_path / "site")
    out = build_site(site).out
    (site / "static").mkdir()
    (site / "static" / "style.css").write_text("body { color: teal; }\n")  # every page changes
    real_replace = os.replace
    calls = []

    def killed_after_ten_moves(src, dst):
        calls.append(src)
        if len(calls) == 10:
            raise KeyboardInterrupt("killed")
        real_replace(src, dst)

    monkeypatch.setattr(output.os, "replace", killed_after_ten_moves)
    with pytest.raises(KeyboardInterrupt):
        build_site(site)
    monkeypatch.setattr(output.os, "replace", real_replace)
    assert (out / output.JOURNAL).is_file()
    build_site(site)
    assert not (out / output.JOURNAL).exists() and not list(out.parent.glob("._site.new-*"))
    build_site(site, out=tmp_path / "clean")
    assert tree(out) == tree(tmp_path / "clean")


def test_a_build_that_fails_while_rendering_changes_nothing(tmp_path):
    site = copy_repo_site(tmp_path / "site")
    out = build_site(site).out
    before = tree(out)
    paper = next((site / "content" / "papers").glob("*.md"))
    paper.write_text(paper.read_text().replace("upvotes:", "upvotes: [oops]\nold_upvotes:", 1))
    result = run("build", "--site", str(site))
    assert result.returncode == 1 and "upvotes" in result.stderr
    assert tree(out) == before


def test_files_digestgen_did_not_write_are_kept(tmp_path):
    site = copy_repo_site(tmp_path / "site")
    out = build_site(site).out
    (out / "CNAME").write_text("digest.example.org\n")
    (out / "papers" / "my-notes.txt").write_text("mine")
    victim = next((site / "content" / "papers").glob("*.md"))
    slug = victim.stem
    victim.unlink()
    for digest in (site / "content" / "digests").glob("*.yaml"):
        digest.write_text(digest.read_text().replace(f"- {slug}\n", ""))
    build_site(site)
    assert (out / "CNAME").read_text() == "digest.example.org\n"
    assert (out / "papers" / "my-notes.txt").read_text() == "mine"
    assert not (out / "papers" / slug).exists()


def test_output_folder_with_foreign_files_is_refused(tmp_path):
    site = copy_repo_site(tmp_path / "site")
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    result = run("build", "--site", str(site), "--out", str(precious))
    assert result.returncode == 1 and "did not write" in result.stderr
    assert sorted(p.name for p in precious.iterdir()) == ["thesis.tex"]


@pytest.mark.parametrize("target", [".", "content", "content/papers", "..", "/", "HOME", "static"])
def test_dangerous_output_folders_are_refused(tmp_path, target):
    site = copy_repo_site(tmp_path / "home" / "site")
    env = {**os.environ, "HOME": str(tmp_path / "home")}
    out = {"HOME": str(tmp_path / "home"), ".": str(site), "..": str(site.parent), "/": "/"}.get(target, str(site / target))
    before = tree(tmp_path / "home")
    result = run("build", "--site", str(site), "--out", out, env=env)
    assert result.returncode == 1 and "refusing" in result.stderr and result.stderr.count("\n") == 1
    assert tree(tmp_path / "home") == before


def test_two_outputs_claiming_one_path_is_an_error():
    from digestgen.pages import check_unique

    with pytest.raises(DigestgenError, match="two outputs claim the path 'papers/x/index.html'"):
        check_unique(["index.html", "papers/x/index.html", "papers/x/index.html"])


def test_markdown_body_renders_safely(tmp_path):
    out = build_site(hostile_site(tmp_path)).out
    html = next((out / "papers").glob("*/index.html")).read_text()
    assert "[hand link](javascript:alert(5))" in html  # the unsafe link stays text
    assert "&lt;b&gt;raw&lt;/b&gt;" in html


def test_html_is_valid_according_to_the_nu_checker(seed_built_sub, tmp_path):
    pages = sorted(str(p) for p in seed_built_sub.rglob("*.html") if "/papers/" not in str(p))
    pages += sorted(str(p) for p in seed_built_sub.rglob("papers/*/index.html"))[:10]
    result = subprocess.run([*vnu_command(), "--errors-only", "--format", "text", *pages], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[:3000]


def test_force_repairs_an_output_file_changed_by_hand(tmp_path):
    site = copy_repo_site(tmp_path / "site")
    out = build_site(site).out
    expected = (out / "archive" / "index.html").read_bytes()
    (out / "archive" / "index.html").write_text("scribbled over")
    build_site(site, force=True)
    assert (out / "archive" / "index.html").read_bytes() == expected


def test_a_manifest_naming_files_outside_the_output_is_not_believed(tmp_path):
    site = copy_repo_site(tmp_path / "site")
    out = tmp_path / "out"
    out.mkdir()
    notes = site / "NOTES.txt"
    notes.write_text("mine")
    (out / output.MANIFEST).write_text(json.dumps({"files": {"../site/NOTES.txt": {"sha256": "x"}, "/etc/hostname": {}}}))
    build_site(site, out=out)
    assert notes.read_text() == "mine"


def test_two_builds_of_one_folder_at_once_are_refused(tmp_path):
    site = copy_repo_site(tmp_path / "site")
    out = build_site(site).out
    with output.SiteWriter(out):
        with pytest.raises(DigestgenError, match="another digestgen build"):
            build_site(site, force=True)
