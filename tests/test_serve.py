"""`digestgen serve`: a real server on loopback, real HTTP requests, real file edits."""

from __future__ import annotations

import http.client
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import build, copy_repo_site

from digestgen.serve import QUIET_SECONDS, BadRequest, Preview, host_allowed, is_temp_file, request_path
from digestgen.theme import default_dir

PAPER = "active-prompt-learning-in-vision-language-models"
PAPER_FILE = Path("content/papers") / f"{PAPER}.md"
SUB_BASE = "http://127.0.0.1:8000/repo/"


def wait_until(predicate: Callable[[], object], timeout: float = 10, interval: float = 0.05) -> object:
    """Poll until `predicate()` is truthy; fail the test with its last value after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s (last value: {value!r})")
        time.sleep(interval)


def settle() -> None:
    """Give the watcher time to deliver any event a step might have caused (for 'nothing happened' checks)."""
    time.sleep(QUIET_SECONDS * 5)


class Live:
    """A started Preview plus what it printed."""

    def __init__(self, site: Path, base_url: str | None = None):
        self.site = site
        self.out: list[str] = []
        self.err: list[str] = []
        self.warnings: list[str] = []
        self.preview = Preview(
            site, "127.0.0.1", 0, base_url, warn=self.warnings.append, say=self.out.append, tell=self.err.append
        )
        self.preview.start()

    @property
    def port(self) -> int:
        assert self.preview.httpd is not None
        return self.preview.httpd.server_port

    @property
    def base(self) -> str:
        return self.preview.state.current().base_path

    @property
    def number(self) -> int:
        return self.preview.state.current().number

    @property
    def root(self) -> Path:
        root = self.preview.state.current().root
        assert root is not None
        return root

    def get(
        self, path: str, headers: dict[str, str] | None = None, method: str = "GET"
    ) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request(method, path, headers=headers or {})
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            connection.close()

    def page(self, relative: str) -> tuple[int, str]:
        status, _, body = self.get(self.base + relative)
        return status, body.decode("utf-8")

    def raw(self, request: bytes) -> bytes:
        """Send bytes as they are; the status line and headers of the answer."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as conn:
            conn.sendall(request)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
        return data

    def raw_status(self, request: bytes) -> int:
        answer = self.raw(request)
        match = re.match(rb"HTTP/1\.[01] (\d{3}) ", answer)
        assert match, f"no HTTP status line in {answer[:200]!r}"
        return int(match.group(1))

    def assert_alive(self) -> None:
        status, html = self.page("")
        assert status == 200 and "<html" in html

    def close(self) -> None:
        self.preview.close()


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


def set_title(site: Path, title: str) -> None:
    path = site / PAPER_FILE
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r"(?m)^title: .*$", f"title: {title}", text, count=1), encoding="utf-8")


def paper_shows(live: Live, text: str) -> bool:
    status, html = live.page(f"papers/{PAPER}/")
    return status == 200 and text in html


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
    settle()  # files are in place a moment before their build's number is published

    base = (theme / "base.html").read_text(encoding="utf-8")
    before = live.number
    (templates / "base.html").write_text(
        base.replace("Made with digestgen", "Made with an edited base"), encoding="utf-8"
    )
    wait_until(lambda: "Made with an edited base" in live.page(f"papers/{PAPER}/")[1])
    settle()
    assert live.number == before + 1, live.out


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
    for name in (f".#{PAPER}.md", f".{PAPER}.md.swp", f"{PAPER}.md~", "4913"):
        (papers / name).write_text("scratch")
    settle()
    assert live.number == before


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
    connection = http.client.HTTPConnection("127.0.0.1", live.port, timeout=10)
    connection.request("GET", live.base + "__digestgen/events")
    response = connection.getresponse()
    assert response.status == 200 and response.getheader("Content-Type") == "text/event-stream"

    def next_number() -> int:
        while True:
            line = response.readline().decode()
            if line.startswith("data: "):
                return int(line[6:])

    first = next_number()
    set_title(live.site, "Announced over events")
    assert next_number() == first + 1
    connection.close()


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


@pytest.mark.parametrize(
    "relative, expected",
    [
        ("", "text/html; charset=utf-8"),
        ("archive/index.html", "text/html; charset=utf-8"),
        ("feed.xml", "application/atom+xml"),
        ("sitemap.xml", "application/xml"),
        ("papers.json", "application/json"),
        ("search/index.json", "application/json"),
        ("robots.txt", "text/plain; charset=utf-8"),
        ("assets/lunr.LICENSE.txt", "text/plain; charset=utf-8"),
        ("assets/style.css", "text/css; charset=utf-8"),
        ("assets/search.js", "text/javascript; charset=utf-8"),
        ("assets/favicon.svg", "image/svg+xml"),
    ],
)
def test_content_types(sub: Live, relative: str, expected: str) -> None:
    if relative.startswith("assets/"):  # content-hashed names
        stem, ext = relative[len("assets/") :].rsplit(".", 1)
        relative = "assets/" + next(sub.root.glob(f"assets/{stem}.*{ext}")).name
    status, headers, body = sub.get(sub.base + relative)
    assert status == 200 and body
    assert headers["content-type"] == expected
    assert headers["cache-control"] == ("no-store" if expected.startswith("text/html") else "no-cache")


def test_webmanifest_content_type(sub: Live) -> None:
    (sub.root / "site.webmanifest").write_text("{}")
    status, headers, _ = sub.get("/repo/site.webmanifest")
    assert status == 200 and headers["content-type"] == "application/manifest+json"


def test_head_request_has_headers_and_no_body(sub: Live) -> None:
    status, headers, body = sub.get("/repo/feed.xml", method="HEAD")
    assert status == 200 and int(headers["content-length"]) > 0 and body == b""


def test_redirects_to_the_base_path_and_to_folder_slashes(sub: Live) -> None:
    assert sub.get("/")[0:2][0] == 302 and sub.get("/")[1]["location"] == "/repo/"
    assert sub.get("/repo")[1]["location"] == "/repo/"
    status, headers, _ = sub.get("/repo/archive")
    assert status == 302 and headers["location"] == "/repo/archive/"
    status, headers, _ = sub.get("/repo/search?q=transfer")
    assert status == 302 and headers["location"] == "/repo/search/?q=transfer"


def test_missing_page_is_the_site_404_page_with_status_404(sub: Live) -> None:
    for path in ("/repo/no/such/page/", "/repo/nothing.css", "/elsewhere/"):
        status, headers, body = sub.get(path)
        assert status == 404, path
        assert b"Page not found" in body and headers["content-type"] == "text/html; charset=utf-8"


# ---------------------------------------------------------------- safety


@pytest.mark.parametrize(
    "target",
    [
        b"/repo/../../../../etc/passwd",
        b"/repo/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        b"/repo/%2E%2E%2f%2E%2E%2fetc%2fpasswd",
        b"/repo/..%2f..%2f..%2fetc/passwd",
        b"/repo/%2f..%2f..%2fetc/passwd",
        b"//etc/passwd",
        b"/repo//etc/passwd",
        b"http://127.0.0.1/etc/passwd",
        b"/repo/..\\..\\..\\etc\\passwd",
        b"/repo/%5c..%5c..%5cetc%5cpasswd",
        b"/repo/index.html%00.txt",
        b"/etc/passwd",
        b"/repo/./index.html",
    ],
)
def test_paths_that_leave_the_output_folder_are_refused(sub: Live, target: bytes) -> None:
    answer = sub.raw(b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert 400 <= int(answer.split(b" ")[1]) < 500, answer[:100]
    assert b"root:" not in answer
    sub.assert_alive()


def test_symlinks_out_of_the_output_folder_are_not_followed(sub: Live, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "passwords.txt").write_text("root:hunter2")
    (sub.root / "leak.txt").symlink_to(secret / "passwords.txt")
    (sub.root / "leakdir").symlink_to(secret, target_is_directory=True)
    for path in ("/repo/leak.txt", "/repo/leakdir/passwords.txt", "/repo/leakdir/", "/repo/leakdir"):
        status, _, body = sub.get(path)
        assert 400 <= status < 500 and b"hunter2" not in body, path
    sub.assert_alive()


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", "localhost.evil.example", ""]
)
def test_foreign_host_header_is_refused(sub: Live, host: str) -> None:
    status = sub.raw_status(f"GET /repo/ HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    assert status in (403, 421)
    sub.assert_alive()


@pytest.mark.parametrize("host", ["localhost", "localhost:1234", "127.0.0.1:80", "[::1]:8000", "LOCALHOST"])
def test_loopback_host_headers_are_accepted(sub: Live, host: str) -> None:
    assert sub.raw_status(f"GET /repo/ HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()) == 200


def test_request_without_host_header_is_refused(sub: Live) -> None:
    assert sub.raw_status(b"GET /repo/ HTTP/1.0\r\n\r\n") in (400, 403, 421)


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n",
        b"GET\r\n\r\n",
        b"GET / / HTTP/1.1 extra\r\n\r\n",
        b"GET /repo/ HTTP/1.x\r\nHost: localhost\r\n\r\n",
        b"GET /repo/\x1b[31m HTTP/1.1\r\nHost: localhost\r\n\r\n",
        b"GET /" + b"a" * 65536,  # longer than any request line may be
        b"GET /repo/ HTTP/1.1\r\n" + b"X-Filler: x\r\n" * 101,  # more headers than allowed
        b"GET /repo/ HTTP/1.1\r\nX-Big: " + b"x" * 65537,  # a header line too long
    ],
)
def test_malformed_and_oversized_requests_get_4xx_and_the_server_keeps_running(sub: Live, request_bytes: bytes) -> None:
    status = sub.raw_status(request_bytes)
    assert 400 <= status < 500
    sub.assert_alive()


def test_log_lines_escape_control_characters(sub: Live) -> None:
    sub.raw_status(b"GET /repo/\x1b]0;pwned\x07 HTTP/1.1\r\nHost: localhost\r\n\r\n")
    logged = "\n".join(sub.err)
    assert "\x1b" not in logged and "\x07" not in logged and "\\x1b" in logged


@pytest.mark.parametrize(
    "target, ok",
    [
        ("/", True),
        ("/a/b/", True),
        ("/a%20b.html?x=1", True),
        ("/a/../b", False),
        ("/a/%2e%2e/b", False),
        ("//x", False),
        ("/a\\b", False),
        ("x", False),
        ("/%ff", False),
    ],
)
def test_request_path_accepts_only_plain_paths(target: str, ok: bool) -> None:
    if ok:
        assert request_path(target).startswith("/")
    else:
        with pytest.raises(BadRequest):
            request_path(target)


def test_host_check_and_temp_file_rules() -> None:
    assert host_allowed("192.168.1.5:8000", "0.0.0.0") and not host_allowed("evil.example", "0.0.0.0")
    assert host_allowed("preview.lan:8000", "preview.lan") and not host_allowed("192.168.1.5", "127.0.0.1")
    assert all(is_temp_file(n) for n in (".#a.md", ".a.md.swp", "a.md~", ".a.md.x1.tmp"))
    assert not is_temp_file("a.md")


# ---------------------------------------------------------------- the command


def start_cli(site: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "digestgen", "serve", "--site", str(site), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_line_matching(stream, pattern: str, timeout: float = 20) -> re.Match[str]:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        ready, _, _ = select.select([stream], [], [], 0.2)
        if ready:
            line = stream.readline()
            seen.append(line)
            match = re.search(pattern, line)
            if match:
                return match
    pytest.fail(f"no line matching {pattern!r} within {timeout} s; got {seen!r}")


def test_ctrl_c_stops_the_server_cleanly(tmp_path: Path) -> None:
    site = copy_repo_site(tmp_path / "site")
    process = start_cli(site, "--port", "0")
    try:
        match = read_line_matching(process.stdout, r"serving (http://127\.0\.0\.1:\d+/) .* live in (\S+)")
        url, workdir = match.group(1), Path(match.group(2))
        port = int(url.rsplit(":", 1)[1].strip("/"))
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/")
        assert connection.getresponse().status == 200
        connection.close()
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:  # the test failed: stop it the way that still cleans up
            process.terminate()
            process.wait(timeout=10)
    assert process.returncode == 0
    assert "Traceback" not in stderr
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
