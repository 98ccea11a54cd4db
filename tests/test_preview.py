"""The preview room: a real Preview (watcher, rebuilds, HTTP) on loopback, real file edits, the command."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
from conftest import build, copy_repo_site
from serve_support import (
    PAPER,
    PAPER_FILE,
    SUB_BASE,
    Live,
    paper_shows,
    rebuilds_naming,
    save_atomically,
    set_title,
    settle,
    wait_until,
)

from digestgen.preview import Preview
from digestgen.theme import default_dir

pytestmark = pytest.mark.integration


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    """A preview of a fresh copy of the repository site at the root path, for tests that edit it."""
    server = Live(copy_repo_site(tmp_path / "site"))
    yield server
    server.close()


@pytest.fixture(scope="module")
def sub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """A preview under the sub-path /repo/, shared by the tests that only read."""
    server = Live(copy_repo_site(tmp_path_factory.mktemp("sub") / "site"), base_url=SUB_BASE)
    yield server
    server.close()

# ---------------------------------------------------------------- rebuilds


def test_edited_paper_title_is_served_after_exactly_one_rebuild(live: Live) -> None:
    before = live.number
    set_title(live.site, "A freshly edited title")
    wait_until(lambda: paper_shows(live, "A freshly edited title"))
    settle()
    assert live.number == before + 1, live.out
    assert any("built in" in line for line in live.out)


def test_search_files_catch_up_once_edits_pause(live: Live) -> None:
    """Changed pages come first; the search store and papers.json follow without a new edit."""
    set_title(live.site, "A title the search should learn")
    wait_until(lambda: paper_shows(live, "A title the search should learn"))
    for path in ("search/store.json", "papers.json"):
        wait_until(lambda path=path: "A title the search should learn" in live.page(path)[1], timeout=20)


def test_template_overrides_created_and_edited_while_serving_are_used(live: Live) -> None:
    theme = default_dir("templates")
    templates = live.site / "templates"
    templates.mkdir()  # the folder did not exist when the preview started
    macros = (theme / "_macros.html").read_text(encoding="utf-8")
    (templates / "_macros.html").write_text(
        macros.replace('<a class="paper-row-title"', '<a data-marker="macro-v1" class="paper-row-title"'),
        encoding="utf-8",
    )
    wait_until(lambda: 'data-marker="macro-v1"' in live.page("")[1])

    # Saved the way editors save atomically, so the save is one file event however loaded the machine is.
    # The new folder's own events may still be rebuilding: count the rebuilds this save caused, by name.
    base = (theme / "base.html").read_text(encoding="utf-8")
    save_atomically(templates / "base.html", base.replace("Made with digestgen", "Made with an edited base"))
    wait_until(lambda: "Made with an edited base" in live.page(f"papers/{PAPER}/")[1])
    wait_until(lambda: rebuilds_naming(live, "base.html"))  # said once its build number is published
    settle()
    assert len(rebuilds_naming(live, "base.html")) == 1, live.out


def test_stylesheet_change_gets_a_new_asset_url(live: Live) -> None:
    def stylesheet() -> str:
        return re.search(r'href="([^"]*style\.[0-9a-f]+\.css)"', live.page("")[1]).group(1)  # type: ignore[union-attr]

    old = stylesheet()
    static = live.site / "static"
    static.mkdir()
    (static / "style.css").write_text((default_dir("static") / "style.css").read_text() + "\n.edited { color: red }\n")
    wait_until(lambda: stylesheet() != old)
    status, headers, body = live.get(stylesheet())
    assert status == 200 and b".edited" in body and headers["content-type"].startswith("text/css")


def test_two_hundred_rapid_writes_make_one_rebuild(live: Live) -> None:
    before = live.number
    path = live.site / PAPER_FILE
    original = path.read_text(encoding="utf-8")
    for i in range(200):
        path.write_text(original.replace("title: ", f"title: Burst {i} ", 1), encoding="utf-8")
    wait_until(lambda: paper_shows(live, "Burst 199 "))
    settle()
    assert live.number == before + 1, live.out


def test_new_paper_saved_atomically_appears_and_deleting_it_removes_it(live: Live) -> None:
    source = (live.site / PAPER_FILE).read_text(encoding="utf-8")
    text = re.sub(r"(?m)^slug: .*$", "slug: a-brand-new-paper", source.replace("title: ", "title: Brand new ", 1))
    text = re.sub(r"(?m)^id: .*$", "id: title:a brand new paper", text)
    temp = live.site / "content/papers/.a-brand-new-paper.md.tmp"
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, live.site / "content/papers/a-brand-new-paper.md")
    wait_until(lambda: live.page("papers/a-brand-new-paper/")[0] == 200)
    (live.site / "content/papers/a-brand-new-paper.md").unlink()
    wait_until(lambda: live.page("papers/a-brand-new-paper/")[0] == 404)


def test_config_change_is_picked_up(live: Live) -> None:
    config = live.site / "digestgen.yaml"
    config.write_text(config.read_text().replace("title: Pre-training papers digest", "title: Renamed digest"))
    wait_until(lambda: "<title>Renamed digest</title>" in live.page("")[1])


def test_an_edit_made_while_the_config_is_broken_shows_once_it_is_fixed(live: Live) -> None:
    """A failed build does not swallow the paths it was told about."""
    config = live.site / "digestgen.yaml"
    good = config.read_text()
    config.write_text(good + "\ntag_page_size: many\n")
    wait_until(lambda: "tag_page_size" in live.page("")[1])  # the error page
    set_title(live.site, "Edited while the config was broken")
    settle()
    config.write_text(good)
    # Sooner than the search catch-up (which reads everything) would start, 1.5 s after the save.
    wait_until(lambda: paper_shows(live, "Edited while the config was broken"), timeout=1.2, interval=0.02)


def test_configured_taxonomy_file_is_watched(live: Live) -> None:
    folder = live.site / "vocab"
    folder.mkdir()
    taxonomy = folder / "topics.yaml"
    taxonomy.write_text("prompting:\n  label: Prompting first\n  phrases: [prompt learning]\n")
    config = live.site / "digestgen.yaml"
    config.write_text(config.read_text() + "\ntaxonomy: vocab/topics.yaml\n")
    wait_until(lambda: "Prompting first" in live.page("tags/")[1])

    taxonomy.write_text("prompting:\n  label: Prompting renamed\n  phrases: [prompt learning]\n")
    wait_until(lambda: "Prompting renamed" in live.page("tags/")[1])


def test_editor_temporary_files_do_not_rebuild(live: Live) -> None:
    before = live.number
    papers = live.site / "content/papers"
    for name in (f".#{PAPER}.md", f".{PAPER}.md.swp", f"{PAPER}.md~", "4913", f"._{PAPER}.md", "notes.txt"):
        (papers / name).write_text("scratch")  # editors' and the system's litter, and a file no build reads
    settle()
    assert live.number == before
    set_title(live.site, "Edited beside the litter")  # and a build beside them reads the papers alone
    wait_until(lambda: paper_shows(live, "Edited beside the litter"))
    assert not live.err, live.err


def test_broken_front_matter_shows_an_error_page_until_fixed(live: Live) -> None:
    path = live.site / PAPER_FILE
    good = path.read_text(encoding="utf-8")
    stylesheet = re.search(r'href="([^"]*style\.[0-9a-f]+\.css)"', live.page("")[1]).group(1)  # type: ignore[union-attr]

    path.write_text(good.replace("title: ", "title: [unclosed ", 1), encoding="utf-8")
    wait_until(lambda: live.page(f"papers/{PAPER}/")[0] == 500)
    html = live.page(f"papers/{PAPER}/")[1]
    assert f"{PAPER}.md" in html and "did not build" in html
    assert live.page("archive/")[0] == 500  # every page shows it
    assert live.get(stylesheet)[0] == 200  # assets of the last good build are still there
    assert any(f"{PAPER}.md" in line and line.startswith("digestgen: error:") for line in live.err)
    # The terminal says what the browser shows, not that the old site is still being served.
    assert any("every page shows this error until a build succeeds" in line for line in live.err)
    assert not any("still serving" in line for line in live.err)

    path.write_text(good.replace("title: ", "title: Fixed ", 1), encoding="utf-8")
    wait_until(lambda: paper_shows(live, "Fixed Active Prompt"))
    assert live.page("archive/")[0] == 200


def test_events_stream_announces_each_build_number(live: Live) -> None:
    with live.events() as next_number:
        first = next_number()
        set_title(live.site, "Announced over events")
        assert next_number() == first + 1


# ---------------------------------------------------------------- what is served


def test_served_folder_is_the_build_output_plus_the_reload_script(sub: Live, tmp_path: Path) -> None:
    built = build(sub.site, tmp_path / "_site", SUB_BASE)
    tag = re.compile(rb'<script src="/repo/__digestgen/livereload\.js" defer></script>\n')
    built_files = {p.relative_to(built).as_posix() for p in built.rglob("*") if p.is_file()}
    served_files = {
        p.relative_to(sub.root).as_posix() for p in sub.root.rglob("*") if p.is_file() and not p.is_symlink()
    }
    assert served_files == built_files
    for relative in sorted(built_files - {".digestgen-manifest.json"}):
        served = (sub.root / relative).read_bytes()
        if relative.endswith(".html"):
            assert len(tag.findall(served)) == 1, relative
            served = tag.sub(b"", served)
        assert served == (built / relative).read_bytes(), relative


def test_reload_script_is_absent_from_build_output_and_present_when_served(sub: Live, tmp_path: Path) -> None:
    built = build(sub.site, tmp_path / "_site", SUB_BASE)
    assert not [path for path in built.rglob("*") if "livereload" in path.name]
    for path in built.rglob("*"):
        if path.is_file():
            assert b"__digestgen" not in path.read_bytes() and b"livereload" not in path.read_bytes(), path

    status, html = sub.page(f"papers/{PAPER}/")
    script = re.search(r'<script src="(/repo/__digestgen/livereload\.js\?build=\d+)" defer></script>', html)
    assert status == 200 and script
    status, headers, body = sub.get(script.group(1))
    assert status == 200 and headers["content-type"].startswith("text/javascript") and b"EventSource" in body


# ---------------------------------------------------------------- the command


@contextlib.contextmanager
def ctrl_c_not_ignored() -> Iterator[None]:
    """Children started meanwhile take Ctrl-C (SIGINT) as a user's terminal gives it, whoever started the tests.

    A shell without job control starts a background job (`scripts/test > log &`) with SIGINT
    ignored, and an ignored signal stays ignored across exec: Python then installs no
    KeyboardInterrupt handler and the served child sleeps through the test's Ctrl-C. A handler, unlike
    SIG_IGN, is reset to the default by exec.
    """
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        yield
        return
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


class Command:
    """`digestgen serve` in a child process; threads collect its output lines as they come."""

    def __init__(self, site: Path, *args: str):
        with ctrl_c_not_ignored():
            self.process = subprocess.Popen(
                [sys.executable, "-m", "digestgen", "serve", "--site", str(site), *args],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
        self.out: list[str] = []
        self.err: list[str] = []
        self._readers = [self._collect(self.process.stdout, self.out), self._collect(self.process.stderr, self.err)]

    @staticmethod
    def _collect(stream: IO[str] | None, lines: list[str]) -> threading.Thread:
        # A thread rather than select(): a buffered readline can take two lines from the pipe at once,
        # and select() would then wait for a third that never comes (this is what made the test flaky).
        def read() -> None:
            for line in stream or ():
                lines.append(line)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        return reader

    def line_matching(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        """The first output line matching `pattern`; the first build of a loaded machine may take a while."""
        found = wait_until(lambda: next(filter(None, (re.search(pattern, line) for line in list(self.out))), None),
                           timeout=timeout)
        return found  # type: ignore[return-value]

    def stop(self, signum: int, timeout: float = 30) -> int:
        """Send `signum` and wait for the process to end and its output to be read; its exit code."""
        self.process.send_signal(signum)
        code = self.process.wait(timeout=timeout)
        for reader in self._readers:
            reader.join(timeout=timeout)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:  # the test failed: stop it the way that still cleans up
            self.process.terminate()
            self.process.wait(timeout=30)


@pytest.fixture
def tests_ignoring_ctrl_c() -> Iterator[None]:
    """This test process as a background job of a script has it: SIGINT ignored."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def test_ctrl_c_stops_the_server_cleanly(tmp_path: Path) -> None:
    assert_ctrl_c_stops_cleanly(copy_repo_site(tmp_path / "site"))


def test_ctrl_c_stops_the_server_cleanly_when_the_tests_run_in_the_background(
    tmp_path: Path, tests_ignoring_ctrl_c: None
) -> None:
    """A full run started with `&` failed the test above: the served child inherited SIGINT ignored."""
    assert_ctrl_c_stops_cleanly(copy_repo_site(tmp_path / "site"))


def test_ctrl_c_during_start_leaves_close_nothing_to_wait_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C just before the HTTP thread starts: close() must not wait for a server loop that never ran."""
    start = threading.Thread.start

    def interrupted(thread: threading.Thread) -> None:
        if thread.name == "digestgen-http":
            raise KeyboardInterrupt
        start(thread)

    monkeypatch.setattr(threading.Thread, "start", interrupted)
    preview = Preview(copy_repo_site(tmp_path / "site"), "127.0.0.1", 0)
    with pytest.raises(KeyboardInterrupt):
        preview.start()
    monkeypatch.undo()
    closing = threading.Thread(target=preview.close, daemon=True)  # a hang must fail the test, not stall it
    closing.start()
    closing.join(timeout=10)
    assert not closing.is_alive()
    assert preview.workdir is not None and not preview.workdir.exists()


def assert_ctrl_c_stops_cleanly(site: Path) -> None:
    command = Command(site, "--port", "0")
    try:
        match = command.line_matching(r"serving (http://127\.0\.0\.1:\d+/) .* live in (\S+)")
        url, workdir = match.group(1), Path(match.group(2))
        port = int(url.rsplit(":", 1)[1].strip("/"))
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/")
        assert connection.getresponse().status == 200
        connection.close()
        code = command.stop(signal.SIGINT)
    finally:
        command.kill()
    assert code == 0, command.err
    assert "Traceback" not in "".join(command.err)
    assert command.out[-1].strip() == "stopped"
    assert not workdir.exists()


def test_busy_port_is_a_one_line_error(tmp_path: Path) -> None:
    site = copy_repo_site(tmp_path / "site")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "digestgen", "serve", "--site", str(site), "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("digestgen: error:") and str(port) in result.stderr and "in use" in result.stderr


# ---------------------------------------------------------------- a real browser


@pytest.mark.browser
def test_open_page_reloads_by_itself_under_the_csp(live: Live, browser) -> None:
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    try:
        page.goto(f"http://127.0.0.1:{live.port}/papers/{PAPER}/")
        # Polled from Python: page.wait_for_function would evaluate a string, which the page's CSP forbids.
        wait_until(lambda: "Active Prompt" in page.title())
        set_title(live.site, "Reloaded in the browser")
        wait_until(lambda: "Reloaded in the browser" in page.title())
        set_title(live.site, "[broken")
        wait_until(lambda: "Build failed" in page.title())
        set_title(live.site, "Back again")
        wait_until(lambda: "Back again" in page.title())
    finally:
        page.close()
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p]
