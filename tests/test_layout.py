"""One answer to "what is content": ingest, build and serve's watcher agree (layout.py)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES

from digestgen import load
from digestgen.build import build_site
from digestgen.config import load_config
from digestgen.incremental import content_changes
from digestgen.ingest import ContentStore
from digestgen.layout import RESCAN, content_change, content_files
from digestgen.load import load_site
from digestgen.watch import CHANGED, ChangeQueue, SourceWatcher

PAPER = "a-study-of-nothing-in-particular"
# The start of an AppleDouble file: magic, version, filler, then binary entry offsets (not UTF-8).
APPLE_DOUBLE = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        \x00\x02\x00\x00\x00\x09\x00\x00\x00\x32\x00\x00\x0e\xb0"


@pytest.fixture
def littered(tmp_path: Path) -> Path:
    """The fixture site with what editors, the system and links leave among the papers."""
    site = tmp_path / "site"
    shutil.copytree(FIXTURES / "site", site)
    papers = site / "content" / "papers"
    (papers / f"._{PAPER}.md").write_bytes(APPLE_DOUBLE)  # what macOS leaves beside a file copied to a foreign disk
    (papers / f".#{PAPER}.md").write_text("someone@host.1234:1700000000")  # Emacs's lock
    (papers / f"{PAPER}.md~").write_text("an editor's backup")
    (papers / f".{PAPER}.md.swp").write_bytes(b"b0VIM 9.0\x00")
    elsewhere = tmp_path / "kept-elsewhere.md"
    elsewhere.write_text((papers / f"{PAPER}.md").read_text().replace("A Study of Nothing", "A Linked Study of Nothing"))
    (papers / "a-linked-paper.md").symlink_to(elsewhere)  # a symlink to a file is content
    (papers / "a-dangling-link.md").symlink_to(tmp_path / "nowhere.md")  # one to nothing is not
    digests = site / "content" / "digests"
    (digests / "._2025-10-31.yaml").write_bytes(APPLE_DOUBLE)
    (digests / ".2025-10-31.yaml.swp").write_bytes(b"b0VIM 9.0\x00")
    (digests / "2025-10-31.yaml~").write_text("date: 2025-10-31\npapers: [no-such-paper]\n")
    return site


def test_ingest_and_build_read_the_same_content_files(littered: Path) -> None:
    config, _ = load_config(littered, None)
    built = load_site(littered, config)
    store = ContentStore(littered / "content")  # raised on the ._ file before
    assert set(store.papers) == set(built.papers) == {p.stem for p in content_files(littered / "content", "papers")}
    assert "a-linked-paper" in built.papers and "a-dangling-link" not in built.papers
    assert set(store.digests) == {d.date.isoformat() for d in built.digests}
    assert build_site(littered).counts["papers"] == len(built.papers)


def test_ingest_runs_beside_the_litter(littered: Path) -> None:
    listing = FIXTURES / "site" / "listings" / "2025-10-31.txt"
    done = subprocess.run([sys.executable, "-m", "digestgen", "ingest", str(listing), "--site", str(littered)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr  # it refused to run before: "cannot ingest while content files are unreadable"
    assert (littered / "content" / "papers" / f"._{PAPER}.md").read_bytes() == APPLE_DOUBLE  # left alone
    built = build_site(littered)
    assert built.counts["papers"] == len(content_files(littered / "content", "papers"))


def test_the_watcher_reports_a_change_exactly_for_content_files(littered: Path) -> None:
    watcher = SourceWatcher(littered, ChangeQueue())
    papers = littered / "content" / "papers"
    reported = {path.name for path in papers.iterdir() if watcher.kind_of(path) is not None}
    assert reported == {p.name for p in content_files(littered / "content", "papers")} | {"a-dangling-link.md"}
    # A dangling link is reported (it may be a file being replaced); the build then finds no file there.


# What a change at each path is to content; the comments say where one of the three checks differed.
CHANGES = [
    ("content/papers/a-paper.md", "papers"),
    ("content/digests/2025-10-31.yaml", "digests"),
    ("content", RESCAN),
    ("content/papers", RESCAN),
    ("content/notes.txt", RESCAN),
    ("content/.DS_Store", None),  # the session's list asked for a whole read; the watcher never reported it
    ("content/.git/index", None),
    ("content/papers/.a-paper.md.swp", None),  # the session passed it on to the loader
    ("content/papers/notes.txt", None),  # likewise
    ("content/papers/drafts/a-paper.md", None),  # the loader, told of it, read everything again
    ("content/digests/a-paper.md", None),
    ("templates/content/papers/a-paper.md", None),
]


@pytest.mark.parametrize("path, expected", CHANGES)
def test_watcher_session_and_loader_agree_on_what_a_change_is(path: str, expected: str | None, tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "content" / "papers").mkdir(parents=True)
    assert content_change(tuple(path.split("/"))) == expected
    watched = SourceWatcher(site.resolve(), ChangeQueue()).kind_of(site.resolve() / path)
    a_template = path.startswith("templates/")  # the watcher reports it, though it is no content
    assert watched == (CHANGED if a_template or expected not in (None, RESCAN) else expected)
    listed = content_changes(site, [str(site.resolve() / path)])
    assert listed == (None if expected == RESCAN else [path] if expected else [])
    scan = load.ContentScan(complete=True)
    assert load._patched(site, scan, [path], None) == (expected != RESCAN)  # a whole read only for a rescan
    assert (scan.papers, scan.digests) == ({}, {})
