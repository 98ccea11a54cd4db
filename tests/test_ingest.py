"""`digestgen ingest` end to end: files written, idempotence, hand edits, collisions, bad input."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from digestgen.frontmatter import read_front_matter
from digestgen.ingest import body_abstract

from conftest import FIXTURES, SEED, assert_matches_golden

GOLDEN = FIXTURES.parent / "golden" / "seed-content"
ENTRY = """{title}

{abstract}

  • {authors} authors
·
{date}
"""


def run(*args: str, cwd: Path | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "digestgen", *args], cwd=cwd, input=stdin, capture_output=True, text=True, timeout=120
    )


def listing(*entries: tuple[str, str, str], header: str = "Daily Papers\n\nOct 31, 2025\n\n") -> str:
    return header + "\n".join(ENTRY.format(title=t, abstract=a, authors=3, date=d) for t, a, d in entries)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    result = run("init", str(tmp_path / "site"))
    assert result.returncode == 0, result.stderr
    return tmp_path / "site"


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def paper(site: Path, slug: str) -> tuple[dict, str]:
    return read_front_matter((site / "content" / "papers" / f"{slug}.md").read_text(encoding="utf-8"))


def test_seed_ingests_into_95_files_matching_the_golden_snapshot(site, regen_golden):
    result = run("ingest", str(SEED), "--site", str(site))
    assert result.returncode == 0, result.stderr
    assert "95 new, 0 updated, 0 unchanged, 0 skipped" in result.stdout
    assert "inferred" in result.stderr and "2025-10-31" in result.stderr
    content = snapshot(site / "content")
    papers = [name for name in content if name.startswith("papers/") and name.endswith(".md")]
    assert len(papers) == 95
    if regen_golden:
        shutil.rmtree(GOLDEN, ignore_errors=True)
        shutil.copytree(site / "content", GOLDEN)
    assert_matches_golden(content, snapshot(GOLDEN))


def test_abstract_body_renders_back_to_the_listing_text(site):
    run("ingest", str(SEED), "--site", str(site))
    data, body = paper(site, "open-qwen2vl-compute-efficient-pre-training-of-fully-open-multimodal-llms-on")
    assert data["published"] == "2025-04-01" and data["upvotes"] == 7 and data["author_count"] == 5
    assert data["digests"] == ["2025-10-31"] and data["tags"] == []
    assert "0.36% of 1.4T" in body_abstract(body)


def test_reingesting_the_same_listing_changes_no_byte(site):
    run("ingest", str(SEED), "--site", str(site))
    before = snapshot(site / "content")
    result = run("ingest", str(SEED), "--site", str(site))
    assert result.returncode == 0
    assert "0 new, 0 updated, 95 unchanged" in result.stdout
    assert snapshot(site / "content") == before


def test_newer_listing_updates_what_it_owns_and_keeps_hand_edits(site, tmp_path):
    first = tmp_path / "2025-10-30.txt"
    first.write_text(listing(("Sparse Widgets", "We study widgets.", "Oct 1 2"), ("Dense Gadgets", "Gadgets, densely.", "Oct 2")))
    assert run("ingest", str(first), "--site", str(site)).returncode == 0
    path = site / "content" / "papers" / "sparse-widgets.md"
    text = path.read_text(encoding="utf-8")
    text = text.replace("title: Sparse Widgets", "title: Sparse Widgets (corrected)").replace("tags: []", "tags:\n- my-own-tag")
    path.write_text(text + "\nMy note: read section 3.\n", encoding="utf-8")

    second = tmp_path / "2025-10-31.txt"
    second.write_text(listing(("Sparse Widgets", "We study widgets.", "Oct 1 9"), ("Dense Gadgets", "Gadgets, densely.", "Oct 2 4")))
    result = run("ingest", str(second), "--site", str(site))
    assert result.returncode == 0, result.stderr
    assert "0 new, 2 updated" in result.stdout
    assert "upvotes 2 → 9" in result.stdout
    data, body = paper(site, "sparse-widgets")
    assert data["title"] == "Sparse Widgets (corrected)"
    assert data["tags"] == ["my-own-tag"]
    assert "My note: read section 3." in body
    assert data["upvotes"] == 9
    assert data["digests"] == ["2025-10-30", "2025-10-31"]
    digest = (site / "content" / "digests" / "2025-10-31.yaml").read_text()
    assert digest.index("sparse-widgets") < digest.index("dense-gadgets")


def test_listing_text_change_is_taken_unless_edited_by_hand(site, tmp_path):
    first = tmp_path / "2025-10-30.txt"
    first.write_text(listing(("Typo Tittle", "Old abstract.", "Oct 1")))
    run("ingest", str(first), "--site", str(site))
    second = tmp_path / "2025-10-31.txt"
    second.write_text(listing(("Typo Tittle", "New abstract, fixed upstream.", "Oct 1")))
    result = run("ingest", str(second), "--site", str(site))
    assert "abstract updated from the listing" in result.stdout
    assert body_abstract(paper(site, "typo-tittle")[1]) == "New abstract, fixed upstream."
    (site / "content" / "papers" / "typo-tittle.md").write_text(
        (site / "content" / "papers" / "typo-tittle.md").read_text().replace("New abstract", "My abstract")
    )
    third = tmp_path / "2025-11-01.txt"
    third.write_text(listing(("Typo Tittle", "Yet another abstract.", "Oct 1")))
    result = run("ingest", str(third), "--site", str(site))
    assert "kept the hand-edited title/abstract" in result.stdout
    assert body_abstract(paper(site, "typo-tittle")[1]).startswith("My abstract")


def test_older_listing_does_not_roll_back_upvotes(site, tmp_path):
    newer = tmp_path / "2025-10-31.txt"
    newer.write_text(listing(("Stable Paper", "Abstract.", "Oct 1 10")))
    older = tmp_path / "2025-10-01.txt"
    older.write_text(listing(("Stable Paper", "Abstract.", "Oct 1 1"), header="Oct 1, 2025\n\n"))
    run("ingest", str(newer), "--site", str(site))
    run("ingest", str(older), "--site", str(site))
    data, _ = paper(site, "stable-paper")
    assert data["upvotes"] == 10
    assert data["digests"] == ["2025-10-01", "2025-10-31"]


def test_slugs_are_ascii_inside_content_and_collision_free(site, tmp_path):
    titles = [
        "Deep Learning: A Survey",
        "Deep Learning — a survey!",  # same words, other punctuation: another paper
        "DEEP LEARNING: A SURVEY",  # only case differs: the same paper
        "../../etc/passwd",
        "Ünïcödé Mödels für Sprache",
        "变换器模型",
        "A" * 50 + " " + "very long title " * 30,
        "con",
    ]
    source = tmp_path / "2025-10-31.txt"
    source.write_text(listing(*[(t, f"Abstract {i}.", "Oct 1") for i, t in enumerate(titles)]))
    result = run("ingest", str(source), "--site", str(site))
    assert result.returncode == 0, result.stderr
    assert "7 new" in result.stdout and "same paper as line" in result.stderr
    files = sorted((site / "content" / "papers").glob("*.md"))
    assert len(files) == 7
    for path in files:
        assert path.resolve().parent == (site / "content" / "papers").resolve()
        assert path.stem.isascii() and len(path.stem) <= 100
        assert all(c.isalnum() or c == "-" for c in path.stem)
    stems = {p.stem for p in files}
    assert "deep-learning-a-survey" in stems
    assert any(s.startswith("deep-learning-a-survey-") for s in stems)
    assert "etc-passwd" in stems and "unicode-models-fur-sprache" in stems and "con-paper" in stems


def test_crlf_and_bom_listing_gives_the_same_files(site, tmp_path):
    crlf = tmp_path / "crlf.txt"
    crlf.write_bytes(b"\xef\xbb\xbf" + SEED.read_bytes().replace(b"\n", b"\r\n"))
    run("ingest", str(crlf), "--site", str(site))
    assert snapshot(site / "content" / "papers") == snapshot(GOLDEN / "papers")


def test_stdin_and_date_option(site):
    result = run("ingest", "-", "--date", "2024-02-29", "--site", str(site), stdin=listing(("Leap Paper", "Abs.", "Feb 28")))
    assert result.returncode == 0, result.stderr
    assert (site / "content" / "digests" / "2024-02-29.yaml").is_file()
    assert paper(site, "leap-paper")[0]["published"] == "2024-02-28"


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "no paper found"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "not UTF-8"),
        (b"\x00\x01\x02binary", "binary"),
        (b"\xff\xfeO\x00c\x00t\x00", "not UTF-8"),
    ],
)
def test_bad_files_fail_with_one_line_and_write_nothing(site, tmp_path, content, message):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(content)
    before = snapshot(site)
    result = run("ingest", str(bad), "--site", str(site))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and message in result.stderr and "Traceback" not in result.stderr
    assert snapshot(site) == before


def test_missing_file_and_missing_site(site, tmp_path):
    result = run("ingest", str(tmp_path / "nope.txt"), "--site", str(site))
    assert result.returncode == 1 and "nope.txt: no such file" in result.stderr
    result = run("ingest", str(SEED), "--site", str(tmp_path / "not-a-site"))
    assert result.returncode == 1 and "digestgen init" in result.stderr


def test_truncated_listing_keeps_complete_papers_and_warns(site, tmp_path):
    text = SEED.read_text(encoding="utf-8")
    cut = tmp_path / "cut.txt"
    cut.write_text(text[: text.index("Open-Qwen2VL") + 40])  # ends inside a title line
    result = run("ingest", str(cut), "--site", str(site))
    assert result.returncode == 0
    assert "no abstract and was skipped" in result.stderr
    assert "8 new" in result.stdout and "1 skipped" in result.stdout


def test_a_bad_file_among_good_ones_writes_nothing(site, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xff")
    result = run("ingest", str(SEED), str(bad), "--site", str(site))
    assert result.returncode == 1
    assert not list((site / "content" / "papers").glob("*.md"))


def test_init_refuses_an_existing_site(site):
    result = run("init", str(site))
    assert result.returncode == 1 and "already exists" in result.stderr


def test_a_hand_written_paper_file_keeps_its_body(site, tmp_path):
    papers = site / "content" / "papers"
    papers.mkdir(parents=True, exist_ok=True)
    (papers / "paper-one.md").write_text("---\ntitle: Paper One\ntags: [mine]\n---\nMy own notes on this paper.\n")
    source = tmp_path / "2025-10-31.txt"
    source.write_text(listing(("Paper One", "The listing's abstract.", "Oct 1 3")))
    result = run("ingest", str(source), "--site", str(site))
    assert result.returncode == 0 and "kept the hand-edited title/abstract" in result.stdout
    data, body = paper(site, "paper-one")
    assert body == "My own notes on this paper.\n" and data["tags"] == ["mine"] and data["upvotes"] == 3


def test_a_newer_listing_without_details_keeps_what_is_known(site, tmp_path):
    first = tmp_path / "2025-10-30.txt"
    first.write_text(listing(("Known Paper", "Abstract.", "Oct 1, 2024 5")))
    run("ingest", str(first), "--site", str(site))
    second = tmp_path / "2025-10-31.txt"
    second.write_text("Daily Papers\n\nOct 31, 2025\n\nKnown Paper\n\nAbstract.\n\nNext Paper\n\nOther abstract.\n")
    result = run("ingest", str(second), "--site", str(site))
    assert result.returncode == 0, result.stderr
    data, _ = paper(site, "known-paper")
    assert (data["published"], data["upvotes"], data["author_count"]) == ("2024-10-01", 5, 3)
    assert data["digests"] == ["2025-10-30", "2025-10-31"]


def test_undecodable_standard_input_is_one_line(site):
    result = subprocess.run([sys.executable, "-m", "digestgen", "ingest", "-", "--site", str(site)], input=b"Oct 31\n\nT\xff\n\nAbs\n", capture_output=True)
    assert result.returncode == 1 and b"<stdin>:3: not UTF-8" in result.stderr and result.stderr.count(b"\n") == 1


def test_unreadable_content_stops_ingest_with_one_line(site, tmp_path):
    (site / "content" / "digests" / "2025-01-01.yaml").write_bytes(b"date: \xff\n")
    (site / "content" / "papers" / "folder.md").mkdir()
    result = run("ingest", str(SEED), "--site", str(site))
    assert result.returncode == 1 and "2025-01-01.yaml: not UTF-8 text" in result.stderr and result.stderr.count("\n") == 1


def test_a_symlinked_paper_or_digest_is_updated_through_its_link(site, tmp_path):
    """A curator who keeps content elsewhere and links it in finds the linked files updated, links intact."""
    first = tmp_path / "2025-10-30.txt"
    first.write_text(listing(("Sparse Widgets", "We study widgets.", "Oct 1 2")))
    assert run("ingest", str(first), "--site", str(site)).returncode == 0
    kept = tmp_path / "curated"
    kept.mkdir()
    links = {site / "content" / "papers" / "sparse-widgets.md": kept / "sparse-widgets.md",
             site / "content" / "digests" / "2025-10-30.yaml": kept / "2025-10-30.yaml"}
    for link, target in links.items():
        link.rename(target)
        target.chmod(0o640)
        link.symlink_to(os.path.relpath(target, link.parent))
    second = tmp_path / "2025-10-31.txt"
    second.write_text(listing(("Sparse Widgets", "We study widgets.", "Oct 1 9")))
    result = run("ingest", str(second), "--site", str(site))
    assert result.returncode == 0, result.stderr
    assert "upvotes 2 → 9" in result.stdout
    for link, target in links.items():
        assert link.is_symlink() and link.resolve() == target.resolve()
        assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert paper(site, "sparse-widgets")[0]["upvotes"] == 9
    assert read_front_matter((kept / "sparse-widgets.md").read_text("utf-8"))[0]["digests"] == ["2025-10-30", "2025-10-31"]
    assert not [p for p in kept.iterdir() if p.name.startswith(".")]  # no temporary left beside the target


def test_a_link_into_a_missing_folder_is_one_line_and_writes_nothing(site, tmp_path):
    first = tmp_path / "2025-10-30.txt"
    first.write_text(listing(("Sparse Widgets", "We study widgets.", "Oct 1 2")))
    assert run("ingest", str(first), "--site", str(site)).returncode == 0
    link = site / "content" / "papers" / "sparse-widgets.md"
    link.unlink()
    link.symlink_to(tmp_path / "unmounted" / "sparse-widgets.md")  # a dangling link: not content, so a new paper
    before = snapshot(site)
    second = tmp_path / "2025-10-31.txt"
    second.write_text(listing(("Sparse Widgets", "We study widgets.", "Oct 1 9")))
    result = run("ingest", str(second), "--site", str(site))
    assert result.returncode == 1 and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "sparse-widgets.md: is a symlink to" in result.stderr and "folder does not exist" in result.stderr
    assert snapshot(site) == before and link.is_symlink() and not (tmp_path / "unmounted").exists()


def test_a_pick_that_a_reingest_dropped_stops_the_build_at_its_line_and_keeps_the_site(site, tmp_path):
    """The curator picked a paper; the day's listing, ingested again, no longer has it: ingest warns, the build refuses."""
    day = tmp_path / "2025-10-31.txt"
    day.write_text(listing(("Sparse Widgets", "We study widgets.", "Oct 1 2"), ("Dense Gadgets", "Gadgets, densely.", "Oct 2")))
    assert run("ingest", str(day), "--site", str(site)).returncode == 0
    record = site / "content" / "digests" / "2025-10-31.yaml"
    record.write_text(record.read_text("utf-8") + "title: My day\npicks:\n- paper: dense-gadgets\n  note: Read this.\n")
    out = tmp_path / "out"
    assert run("build", "--site", str(site), "--out", str(out)).returncode == 0
    built = snapshot(out)
    day.write_text(listing(("Sparse Widgets", "We study widgets.", "Oct 1 2")))
    result = run("ingest", str(day), "--site", str(site))
    assert result.returncode == 0  # and it says so at once, naming the pick
    assert "content/digests/2025-10-31.yaml: picks: 'dense-gadgets' is no longer in this digest" in result.stderr
    line = record.read_text("utf-8").splitlines().index("- paper: dense-gadgets") + 1
    expected = f"digestgen: error: content/digests/2025-10-31.yaml:{line}: picks: 'dense-gadgets' is not a paper of this digest\n"
    before = snapshot(site)
    for command in (["build", "--out", str(out)], ["newsletter", "--base-url", "https://example.org/", "--out", str(tmp_path / "mail")]):
        result = run(*command, "--site", str(site))
        assert (result.returncode, result.stderr) == (1, expected)
    assert snapshot(out) == built and not (tmp_path / "mail").exists() and snapshot(site) == before
