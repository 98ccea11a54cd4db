"""The watching room: what kind of change each path is, the debounce, and real watchdog events."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from digestgen.config import Config
from digestgen.layout import is_temp_file
from digestgen.layout import RESCAN
from digestgen.watch import CHANGED, ChangeQueue, Changes, SourceWatcher

SITE = Path("/somewhere/site")


def kind(path: str, is_directory: bool = False, taxonomy: str | None = None) -> str | None:
    watcher = SourceWatcher(SITE, ChangeQueue())
    if taxonomy is not None:
        watcher.taxonomy = SITE / taxonomy
    return watcher.kind_of(SITE / path, is_directory)


@pytest.mark.parametrize(
    "path, expected",
    [
        ("content/papers/a-paper.md", CHANGED),
        ("content/digests/2025-10-31.yaml", CHANGED),
        ("templates/tag.html", CHANGED),
        ("templates/email/edition.html", CHANGED),
        ("static/extra.css", CHANGED),
        ("digestgen.yaml", CHANGED),
        ("content/papers", RESCAN),
        ("content", RESCAN),
        ("content/papers/notes.txt", None),  # not a content file: no build reads it
        ("content/papers/._a-paper.md", None),  # macOS's resource fork
        ("content/papers/.#a-paper.md", None),  # Emacs's lock
        ("content/papers/a-paper.md.swp", None),
        ("content/papers/a-paper.md~", None),
        ("content/papers/4913", None),  # vim's write probe
        ("templates/.tag.html.swp", None),
        ("_site/index.html", None),
        ("README.md", None),
    ],
)
def test_each_path_is_a_kind_of_change(path: str, expected: str | None) -> None:
    assert kind(path) == expected


def test_a_content_folder_that_comes_or_goes_asks_for_a_rescan() -> None:
    assert kind("content/papers/inner", is_directory=True) == RESCAN


def test_the_configured_taxonomy_file_is_watched_and_its_neighbours_are_not() -> None:
    assert kind("vocab/topics.yaml", taxonomy="vocab/topics.yaml") == CHANGED
    assert kind("vocab/other.yaml", taxonomy="vocab/topics.yaml") is None


def test_temp_file_rule() -> None:
    assert all(is_temp_file(n) for n in (".#a.md", ".a.md.swp", "a.md~", ".a.md.x1.tmp", "._a.md", "4913"))
    assert not is_temp_file("a.md")


def test_a_burst_becomes_one_set_of_changes_once_it_is_quiet() -> None:
    queue = ChangeQueue(quiet=0.05)
    for number in range(50):
        queue.add(f"/s/content/papers/p{number % 3}.md", CHANGED)
    queue.add("/s/templates/tag.html", CHANGED)
    changes = queue.next_burst()
    assert changes == Changes({f"/s/content/papers/p{n}.md": CHANGED for n in range(3)} | {"/s/templates/tag.html": CHANGED})
    assert changes.read_only() == [f"/s/content/papers/p{n}.md" for n in range(3)] + ["/s/templates/tag.html"]
    assert not changes.rescan
    assert changes.describe() == "p0.md and 3 more changed; re"  # the terminal's "... changed; rebuilt in" line
    assert not queue.next_burst(idle=0.01)  # nothing since: no changes, not None


def test_a_rescan_is_kept_with_the_paths_and_reads_everything() -> None:
    queue = ChangeQueue(quiet=0)
    queue.add("/s/content/papers/p.md", CHANGED)
    queue.add("/s/content/papers", RESCAN)
    changes = queue.next_burst()
    assert changes and changes.rescan and changes.read_only() is None


def test_a_folder_that_came_and_went_within_a_burst_is_still_a_rescan() -> None:
    queue = ChangeQueue(quiet=0)
    queue.add("/s/content/papers/inner", RESCAN)
    queue.add("/s/content/papers/inner", CHANGED)
    assert queue.next_burst().rescan


def test_the_first_build_has_no_changes_to_describe() -> None:
    assert not Changes() and Changes().describe() == "" and Changes().read_only() == []


def test_stopping_wakes_a_waiting_reader() -> None:
    queue = ChangeQueue()
    got: list[object] = []
    reader = threading.Thread(target=lambda: got.append(queue.next_burst()))
    reader.start()
    queue.stop()
    reader.join(timeout=5)
    assert got == [None]


@pytest.mark.integration
def test_real_file_events_arrive_as_changes(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "content" / "papers").mkdir(parents=True)
    (site / "digestgen.yaml").write_text("title: t\n")
    queue = ChangeQueue(quiet=0.2)
    watcher = SourceWatcher(site.resolve(), queue)
    watcher.use_config(Config(title="t"))  # no taxonomy file of its own
    watcher.start()
    try:
        time.sleep(0.2)
        (site / "content" / "papers" / ".a-paper.md.swp").write_text("scratch")
        (site / "content" / "papers" / "a-paper.md").write_text("---\ntitle: A\n---\n")
        (site / "digestgen.yaml").write_text("title: u\n")
        changes = queue.next_burst(idle=5)
        assert changes.paths == {
            str(site.resolve() / "content" / "papers" / "a-paper.md"): CHANGED,
            str(site.resolve() / "digestgen.yaml"): CHANGED,
        }
        (site / "content" / "digests").mkdir()
        assert queue.next_burst(idle=5).rescan
    finally:
        watcher.stop()
