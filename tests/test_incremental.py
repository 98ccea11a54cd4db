"""Incremental builds: whatever changed, the output equals a clean build, and little is redone."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES, copy_repo_site

from digestgen import load, watch
from digestgen.build import BuildOptions, build_site
from digestgen.errors import DigestgenError, Superseded
from digestgen.incremental import Session
from digestgen.output import MANIFEST


# Related lists are kept between ordinary builds and made again by --force (issue 19), so they may
# differ from a clean build's by design; tests/test_related.py checks them.
_RELATED = (re.compile(rb'<section class="related".*?</section>\n', re.S), re.compile(rb', "related": \[[^\]]*\]'))


def without_related(data: bytes) -> bytes:
    for pattern in _RELATED:
        data = pattern.sub(b"", data)
    return data


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): without_related(p.read_bytes())
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }


def clean_build(site: Path, tmp_path: Path) -> dict[str, bytes]:
    out = tmp_path / "clean"
    build_site(site, out=out, force=True)
    return tree(out)


def first_paper(site: Path) -> Path:
    return sorted((site / "content" / "papers").glob("*.md"))[0]


@pytest.fixture
def built(tmp_path: Path) -> Path:
    site = copy_repo_site(tmp_path / "site")
    build_site(site)
    return site


def test_a_rebuild_with_no_change_does_nothing(built):
    result = build_site(built)
    assert result.site is None and result.changed == 0
    assert "nothing changed" in result.summary()


def test_one_edited_paper_rerenders_only_the_pages_that_show_it(built, tmp_path):
    paper = first_paper(built)
    paper.write_text(re.sub(r"^title: .*$", "title: A freshly corrected title", paper.read_text(), count=1, flags=re.M))
    result = build_site(built)
    pages = result.pages
    # the paper page, its digest, the home page, its tag pages, the pages that list it as related
    # and the papers before and after it in its digest (their pages name it), and the site-wide pages
    listing_it = sum(paper.stem in slugs for slugs in result.site.related.values())
    assert result.counts["rendered"] <= 1 + 1 + 1 + len(result.site.papers[paper.stem].tags) + listing_it + 2 + 5 < pages / 5
    assert "A freshly corrected title" in (built / "_site" / "papers" / paper.stem / "index.html").read_text()
    assert tree(built / "_site") == clean_build(built, tmp_path)


def test_changed_tags_move_the_paper_between_tag_pages(built, tmp_path):
    paper = first_paper(built)
    paper.write_text(paper.read_text().replace("tags: []", "tags:\n- Hand Picked"))
    build_site(built)
    assert paper.stem in (built / "_site" / "tags" / "hand-picked" / "index.html").read_text()
    assert tree(built / "_site") == clean_build(built, tmp_path)


def test_template_and_stylesheet_edits_give_the_clean_output(built, tmp_path):
    (built / "templates").mkdir()
    (built / "templates" / "_macros.html").write_text(
        (Path(__file__).resolve().parents[1] / "templates" / "_macros.html").read_text().replace('class="paper-row-title"', 'class="paper-row-title teaser"')
    )
    (built / "static").mkdir()
    (built / "static" / "style.css").write_text("body { color: rebeccapurple; }\n")
    result = build_site(built)
    assert result.counts["rendered"] == result.pages  # every page links the new stylesheet
    assert 'class="paper-row-title teaser"' in (built / "_site" / "index.html").read_text()
    assert tree(built / "_site") == clean_build(built, tmp_path)


THEME = Path(__file__).resolve().parents[1]


def edit_tag_template(site: Path) -> None:
    (site / "templates").mkdir(exist_ok=True)
    default = (THEME / "templates" / "tag.html").read_text()
    (site / "templates" / "tag.html").write_text(default.replace("</h1>", "</h1>\n<p class=\"edited\">Edited.</p>", 1))


def add_unused_static_file(site: Path) -> None:
    (site / "static").mkdir(exist_ok=True)
    (site / "static" / "extra.css").write_text("body { margin: 0; }\n")


def edit_stylesheet(site: Path) -> None:
    (site / "static").mkdir(exist_ok=True)
    (site / "static" / "style.css").write_text((THEME / "static" / "style.css").read_text() + "\n/* edited */\n")


ALWAYS_RENDERED = 1  # trends/: drawn from every paper and digest


@pytest.mark.parametrize("edit", [edit_tag_template, add_unused_static_file, edit_stylesheet])
def test_a_template_or_static_edit_renders_only_what_loads_it_and_gives_the_clean_output(built, tmp_path, edit):
    before = tree(built / "_site")
    edit(built)
    result = build_site(built)
    after = tree(built / "_site")
    assert after == clean_build(built, tmp_path)
    html = sorted(path for path in after if path.endswith(".html") and before.get(path) != after[path])
    tag_pages = [path for path in after if path.startswith("tags/") and path.endswith(".html") and path != "tags/index.html"]
    if edit is edit_tag_template:
        assert html == sorted(tag_pages) and result.counts["rendered"] == len(tag_pages) + ALWAYS_RENDERED
        assert all('<p class="edited">' in after[path].decode() for path in tag_pages)
    elif edit is add_unused_static_file:
        assert html == [] and result.counts["rendered"] == ALWAYS_RENDERED
        assert any(path.startswith("assets/extra.") and path.endswith(".css") for path in after)  # copied, linked by none
    else:
        assert result.counts["rendered"] == result.pages and len(html) == result.pages  # each page links the new name


@pytest.mark.parametrize("edit", [edit_tag_template, add_unused_static_file, edit_stylesheet])
def test_a_session_after_a_template_or_static_edit_gives_the_clean_output(tmp_path, edit):
    site = copy_repo_site(tmp_path / "site")
    session = Session(site, BuildOptions(out=tmp_path / "preview", workers=1, private=True))
    first = session.build([])
    edit(site)
    result = session.build([str((site / "templates").resolve()), str((site / "static").resolve())])
    assert tree(tmp_path / "preview") == clean_build(site, tmp_path)
    assert result.counts["rendered"] < first.counts["rendered"] or edit is edit_stylesheet


def test_a_new_listing_and_a_deleted_paper_give_the_clean_output(built, tmp_path):
    listing = FIXTURES / "site" / "listings" / "2025-10-31.txt"
    result = subprocess.run([sys.executable, "-m", "digestgen", "ingest", str(listing), "--date", "2025-11-01", "--site", str(built)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    build_site(built)
    assert (built / "_site" / "2025" / "11" / "01" / "index.html").is_file()
    assert tree(built / "_site") == clean_build(built, tmp_path)

    victim = first_paper(built)
    victim.unlink()
    for digest in (built / "content" / "digests").glob("*.yaml"):
        digest.write_text(digest.read_text().replace(f"- {victim.stem}\n", ""))
    build_site(built)
    assert not (built / "_site" / "papers" / victim.stem).exists()
    assert tree(built / "_site") == clean_build(built, tmp_path)


def test_a_different_base_url_rebuilds_everything(built, tmp_path):
    result = build_site(built, base_url="https://example.org/elsewhere/")
    assert result.counts["rendered"] == result.pages
    assert 'href="/elsewhere/' in (built / "_site" / "index.html").read_text()


def test_parallel_and_serial_rendering_write_the_same_bytes(tmp_path, monkeypatch):
    site = copy_repo_site(tmp_path / "site")
    monkeypatch.setenv("DIGESTGEN_JOBS", "1")
    build_site(site, out=tmp_path / "serial")
    monkeypatch.setenv("DIGESTGEN_JOBS", "3")
    build_site(site, out=tmp_path / "parallel")
    assert tree(tmp_path / "serial") == tree(tmp_path / "parallel")


def test_a_template_error_in_a_worker_is_one_clear_line(tmp_path, monkeypatch):
    site = copy_repo_site(tmp_path / "site")
    (site / "templates").mkdir()
    (site / "templates" / "paper.html").write_text("{% extends 'default/base.html' %}{% block content %}{{ nope.field }}{% endblock %}")
    monkeypatch.setenv("DIGESTGEN_JOBS", "2")
    result = subprocess.run([sys.executable, "-m", "digestgen", "build", "--site", str(site)], capture_output=True, text=True, env={**__import__("os").environ, "DIGESTGEN_JOBS": "2"})
    errors = [line for line in result.stderr.splitlines() if not line.startswith("warning: ")]  # warnings: common tags
    assert result.returncode == 1 and len(errors) == 1 and "nope" in errors[0]
    assert not (site / "_site").exists()


def test_a_new_daily_listing_renders_its_pages_not_the_whole_site(built, tmp_path):
    listing = FIXTURES / "site" / "listings" / "2025-10-30.txt"
    subprocess.run([sys.executable, "-m", "digestgen", "ingest", str(listing), "--date", "2025-11-02", "--site", str(built)], check=True, capture_output=True)
    result = build_site(built)
    # new papers and their tag pages, the new digest, its neighbour, the home page, site-wide lists
    assert result.counts["rendered"] < result.pages / 3
    assert tree(built / "_site") == clean_build(built, tmp_path)


def test_a_changed_taxonomy_retags_every_page_that_shows_tags(built, tmp_path):
    (built / "taxonomy.yaml").write_text("everything:\n  label: Everything\n  phrases: [the]\n")
    (built / "digestgen.yaml").write_text((built / "digestgen.yaml").read_text() + "\ntaxonomy: taxonomy.yaml\n")
    build_site(built)
    # A tag on every paper is not chipped on cards; paper pages still list it.
    assert "Everything" in next((built / "_site" / "papers").glob("*/index.html")).read_text()
    (built / "taxonomy.yaml").write_text("everything:\n  label: All of it\n  phrases: [the]\n")
    build_site(built)
    assert tree(built / "_site") == clean_build(built, tmp_path)


def test_a_long_lived_cache_gives_the_clean_output_after_every_kind_of_edit(tmp_path):
    """What `serve` does: one incremental.Session across builds into its own folder, told which files changed."""
    site = copy_repo_site(tmp_path / "site")
    out = tmp_path / "preview"
    session = Session(site, BuildOptions(out=out, workers=1, private=True))

    def rebuild_matches_clean(*changed: Path) -> None:
        session.build([str(p.resolve()) for p in changed])
        assert tree(out) == clean_build(site, tmp_path)

    rebuild_matches_clean()
    paper = first_paper(site)
    paper.write_text(re.sub(r"^title: .*$", "title: Edited in the preview", paper.read_text(), count=1, flags=re.M))
    rebuild_matches_clean(paper)
    assert "Edited in the preview" in (out / "papers" / paper.stem / "index.html").read_text()
    paper.write_text(paper.read_text().replace("tags: []", "tags:\n- Hand Picked"))
    rebuild_matches_clean(paper)
    twin = paper.with_name("a-twin-written-by-hand.md")
    twin.write_text(paper.read_text().replace("Edited in the preview", "A twin written by hand"))
    rebuild_matches_clean(twin)
    assert (out / "papers" / "a-twin-written-by-hand" / "index.html").is_file()
    digest = sorted((site / "content" / "digests").glob("*.yaml"))[-1]
    head, _, listed = digest.read_text().partition("papers:\n")
    digest.write_text(head + "papers:\n" + "".join(reversed(listed.splitlines(keepends=True))) + "- a-twin-written-by-hand\n")
    rebuild_matches_clean(digest)  # the digest page lists its papers in the new order
    (site / "templates").mkdir()
    macros = (Path(__file__).resolve().parents[1] / "templates" / "_macros.html").read_text()
    (site / "templates" / "_macros.html").write_text(macros.replace('class="paper-row-title"', 'class="paper-row-title teaser"'))
    rebuild_matches_clean(site / "templates", site / "templates" / "_macros.html")
    assert 'class="paper-row-title teaser"' in (out / "index.html").read_text()
    (site / "templates" / "_macros.html").write_text(macros.replace('class="paper-row-title"', 'class="paper-row-title blurb"'))
    rebuild_matches_clean(site / "templates" / "_macros.html")
    (site / "taxonomy.yaml").write_text("everything:\n  label: Everything\n  phrases: [the]\n")
    (site / "digestgen.yaml").write_text((site / "digestgen.yaml").read_text() + "\ntaxonomy: taxonomy.yaml\n")
    rebuild_matches_clean(site / "taxonomy.yaml", site / "digestgen.yaml")
    (site / "taxonomy.yaml").write_text("everything:\n  label: All of it\n  phrases: [the]\n")
    rebuild_matches_clean(site / "taxonomy.yaml")
    assert "All of it" in (out / "papers" / paper.stem / "index.html").read_text()  # cards leave out a tag on every paper
    twin.unlink()
    digest.write_text(digest.read_text().replace("- a-twin-written-by-hand\n", ""))
    rebuild_matches_clean(twin, digest)
    assert not (out / "papers" / "a-twin-written-by-hand").exists()


def test_a_content_problem_seen_through_changed_paths_is_reported_like_a_full_read(tmp_path):
    site = copy_repo_site(tmp_path / "site")
    out = tmp_path / "preview"
    session = Session(site, BuildOptions(out=out, workers=1, private=True))
    session.build([])
    paper = first_paper(site)
    paper.write_text("---\ntitle: [unclosed\n---\nBody\n")
    with pytest.raises(DigestgenError) as caught:
        session.build([str(paper.resolve())])
    with pytest.raises(DigestgenError) as full:
        build_site(site, out=tmp_path / "other")
    assert str(caught.value) == str(full.value) and paper.name in str(caught.value)


@pytest.mark.parametrize("give_up_at", [1, 2])  # before the first task; inside the search index
def test_a_superseded_build_writes_nothing_and_the_next_build_is_whole(tmp_path, give_up_at):
    """serve gives its search catch-up up when an edit arrives: nothing half-done may show."""
    site = copy_repo_site(tmp_path / "site")
    with (site / "digestgen.yaml").open("a") as config:
        config.write("\nsearch_shard_threshold: 10\n")  # the sharded index, which checks as it goes
    out = tmp_path / "preview"
    session = Session(site, BuildOptions(out=out, workers=1, private=True))
    session.build()
    paper = first_paper(site)
    paper.write_text(re.sub(r"^title: .*$", "title: Superseded search", paper.read_text(), count=1, flags=re.M))
    session.build(search=False)
    before = tree(out)
    calls = []

    def check() -> None:
        calls.append(1)
        if len(calls) == give_up_at:
            raise Superseded

    with pytest.raises(Superseded):
        session.build(check=check)
    assert tree(out) == before
    assert not list(tmp_path.glob(".preview.new-*"))  # no staging folder left behind
    session.build()
    assert tree(out) == clean_build(site, tmp_path) != before


def test_a_private_build_that_fails_while_moving_files_leaves_nothing_trusted(tmp_path, monkeypatch):
    """serve's folder has no journal: after moves that stopped halfway, the next build makes every file again."""
    site = copy_repo_site(tmp_path / "site")
    out = tmp_path / "preview"
    session = Session(site, BuildOptions(out=out, workers=1, private=True))
    session.build()
    paper = first_paper(site)
    original = paper.read_text()
    paper.write_text(re.sub(r"^title: .*$", "title: Moved in before the disk filled", original, count=1, flags=re.M))
    real_replace = os.replace

    def disk_full_for_the_manifest(source, target):
        if str(target).endswith(MANIFEST):
            raise OSError(28, "No space left on device")
        real_replace(source, target)

    monkeypatch.setattr("digestgen.output.os.replace", disk_full_for_the_manifest)
    with pytest.raises(OSError):
        session.build([str(paper.resolve())])
    monkeypatch.setattr("digestgen.output.os.replace", real_replace)
    paper.write_text(original)  # undone: the pages' keys are the previous build's again
    session.build([str(paper.resolve())])
    assert tree(out) == clean_build(site, tmp_path)


def test_told_which_file_changed_a_rebuild_reads_that_file_and_not_the_folder(tmp_path, monkeypatch):
    """serve's rebuild after one save costs one file, not a pass over every paper (which a full read is)."""
    site = copy_repo_site(tmp_path / "site")
    out = tmp_path / "preview"
    session = Session(site, BuildOptions(out=out, workers=1, private=True))
    session.build()
    full_reads, parsed = [], []
    real_read_all, real_parse = load._read_all, load.paper_from_file
    monkeypatch.setattr(load, "_read_all", lambda *a: full_reads.append(1) or real_read_all(*a))
    monkeypatch.setattr(load, "paper_from_file", lambda *a: parsed.append(a[0].name) or real_parse(*a))
    paper = first_paper(site)
    paper.write_text(re.sub(r"^title: .*$", "title: Read on its own", paper.read_text(), count=1, flags=re.M))
    session.build([str(paper.resolve())])
    assert (full_reads, parsed) == ([], [paper.name])
    session.build([str((site / "content").resolve())])
    assert full_reads == [1]  # a folder changed: everything is looked at again


def test_only_a_kept_environment_hashes_every_template(tmp_path, monkeypatch):
    """A one-off build makes its Jinja2 environment once: reading every template to key a kept one is serve's cost."""
    from digestgen import build, incremental

    site = copy_repo_site(tmp_path / "site")
    hashed, real_hash = [], incremental._hash_files
    monkeypatch.setattr(incremental, "_hash_files", lambda digest, root: hashed.append(root) or real_hash(digest, root))
    build_site(site, out=tmp_path / "serial", workers=1)
    prefilled, real_prefill = [], build.prefilled_cache
    monkeypatch.setattr(build, "prefilled_cache", lambda *a: prefilled.append(real_prefill(*a)) or prefilled[-1])
    monkeypatch.setattr(incremental, "PARALLEL_LOAD_THRESHOLD", 1)  # the build parses in workers, into a one-build cache
    build_site(site, out=tmp_path / "forked", workers=2)
    assert prefilled and prefilled[0] is not None and prefilled[0].papers
    assert hashed == []
    Session(site, BuildOptions(out=tmp_path / "preview", workers=1, private=True)).build()
    assert site / "templates" in hashed


def test_a_preview_rebuild_reads_the_config_once(tmp_path, monkeypatch):
    """serve needs the config's base path before the build (for the reload script's URL): the build takes that copy."""
    from digestgen import config as config_module
    from digestgen import preview

    site = copy_repo_site(tmp_path / "site")
    with (site / "digestgen.yaml").open("a", encoding="utf-8") as config:
        config.write("\nno_such_setting: 1\n")
    session, reads, warnings = Session(site), [], []
    real_parse = config_module.load_yaml_lines
    monkeypatch.setattr(config_module, "load_yaml_lines", lambda *a: reads.append(1) or real_parse(*a))
    for changes in (None, preview.Changes({str(first_paper(site).resolve()): watch.CHANGED})):
        reads.clear()
        preview.build_preview(site, tmp_path / "preview", None, warnings.append, session, changes)
        assert reads == [1]
    assert len([w for w in warnings if "no_such_setting" in w]) == 2  # its warnings still said, once a build

SESSION_MEMORY_PROBE = r"""
import gc, sys
from pathlib import Path
from digestgen.build import BuildOptions
from digestgen.incremental import Session
site = Path(sys.argv[1])
session = Session(site, BuildOptions(out=Path(sys.argv[2]), workers=1, private=True))
session.build([])
paper = sorted((site / "content" / "papers").glob("*.md"))[0]
text = paper.read_text()
for number in range(5):  # the first builds fill caches that are meant to last
    paper.write_text(text + f"\nEdit {number}.\n")
    session.build([str(paper)])
settled = len(gc.get_objects())
for number in range(40):
    paper.write_text(text + f"\nEdit {number}.\n")
    session.build([str(paper)])
print(len(gc.get_objects()) - settled)
"""


def test_a_long_lived_session_does_not_grow_build_by_build(tmp_path):
    """serve holds one Session for hours: what a build leaves behind must be collectable by the next."""
    site = tmp_path / "site"
    shutil.copytree(FIXTURES / "site", site)
    done = subprocess.run([sys.executable, "-c", SESSION_MEMORY_PROBE, str(site), str(tmp_path / "preview")],
                          capture_output=True, text=True, check=True)
    grown = int(done.stdout.strip().splitlines()[-1])
    assert grown < 3000, f"{grown} more live objects after 40 builds"
