"""The HTTP room of the preview: a real server on loopback serving a published snapshot, real
requests. No build runs here: the server only reads what it is given (serve_http knows nothing of
builds), so these tests publish a folder written by hand in the shape a build writes."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from serve_support import Client

from digestgen.serve_http import BadRequest, BuildState, PreviewServer, Snapshot, host_allowed, request_path
from digestgen.theme import default_dir

BASE = "/repo/"
SCRIPT = (default_dir("static") / "livereload.js").read_bytes()


class Served(Client):
    """A PreviewServer over a BuildState with one published snapshot; `publish` sends another."""

    def __init__(self, root: Path):
        self.root, self.base, self.err = root, BASE, []
        self.state = BuildState(BASE)
        self.publish(Snapshot(1, root, 1, BASE))
        self.httpd = PreviewServer(("127.0.0.1", 0), socket.AF_INET, self.state, SCRIPT, "127.0.0.1", self.err.append)
        self.port = self.httpd.server_port
        self.thread = threading.Thread(target=lambda: self.httpd.serve_forever(poll_interval=0.05), daemon=True)
        self.thread.start()

    def publish(self, snapshot: Snapshot) -> None:
        self.state.publish(snapshot)

    def close(self) -> None:
        self.state.stop()
        self.httpd.shutdown()
        self.httpd.server_close()


# A published folder in the shape a build writes, made by hand: the HTTP room serves what it is given.
SERVED_FILES = {
    "index.html": "<!DOCTYPE html><html><head><title>Home</title></head><body><p>Home</p></body></html>\n",
    "archive/index.html": "<!DOCTYPE html><html><head><title>Archive</title></head><body></body></html>\n",
    "papers/a-paper/index.html": "<!DOCTYPE html><html><head><title>A paper</title></head><body>"
    '<script src="/repo/__digestgen/livereload.js" defer></script></body></html>\n',
    "404.html": "<!DOCTYPE html><html><head><title>Page not found</title></head><body>Page not found</body></html>\n",
    "feed.xml": '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"/>\n',
    "sitemap.xml": '<?xml version="1.0" encoding="utf-8"?><urlset/>\n',
    "papers.json": '{"papers": []}\n',
    "search/index.json": "{}\n",
    "robots.txt": "User-agent: *\n",
    "assets/lunr.LICENSE.txt": "a licence\n",
    "assets/style.0123abcd.css": "body { margin: 0 }\n",
    "assets/search.4567ef01.js": "export {};\n",
    "assets/favicon.89ab2345.svg": '<svg xmlns="http://www.w3.org/2000/svg"/>\n',
}


@pytest.fixture(scope="module")
def sub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A published folder served under /repo/ (tests add files to it)."""
    root = tmp_path_factory.mktemp("served") / "site"
    for relative, text in SERVED_FILES.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text, encoding="utf-8")
    server = Served(root)
    yield server
    server.close()


# ---------------------------------------------------------------- what is served


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
def test_content_types(sub: Served, relative: str, expected: str) -> None:
    if relative.startswith("assets/"):  # content-hashed names
        stem, ext = relative[len("assets/") :].rsplit(".", 1)
        relative = "assets/" + next(sub.root.glob(f"assets/{stem}.*{ext}")).name
    status, headers, body = sub.get(sub.base + relative)
    assert status == 200 and body
    assert headers["content-type"] == expected
    assert headers["cache-control"] == ("no-store" if expected.startswith("text/html") else "no-cache")


def test_webmanifest_content_type(sub: Served) -> None:
    (sub.root / "site.webmanifest").write_text("{}")
    status, headers, _ = sub.get("/repo/site.webmanifest")
    assert status == 200 and headers["content-type"] == "application/manifest+json"


def test_head_request_has_headers_and_no_body(sub: Served) -> None:
    status, headers, body = sub.get("/repo/feed.xml", method="HEAD")
    assert status == 200 and int(headers["content-length"]) > 0 and body == b""


def test_redirects_to_the_base_path_and_to_folder_slashes(sub: Served) -> None:
    assert sub.get("/")[0:2][0] == 302 and sub.get("/")[1]["location"] == "/repo/"
    assert sub.get("/repo")[1]["location"] == "/repo/"
    status, headers, _ = sub.get("/repo/archive")
    assert status == 302 and headers["location"] == "/repo/archive/"
    status, headers, _ = sub.get("/repo/search?q=transfer")
    assert status == 302 and headers["location"] == "/repo/search/?q=transfer"


def test_missing_page_is_the_site_404_page_with_status_404(sub: Served) -> None:
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
def test_paths_that_leave_the_output_folder_are_refused(sub: Served, target: bytes) -> None:
    answer = sub.raw(b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert 400 <= int(answer.split(b" ")[1]) < 500, answer[:100]
    assert b"root:" not in answer
    sub.assert_alive()


def test_symlinks_out_of_the_output_folder_are_not_followed(sub: Served, tmp_path: Path) -> None:
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
def test_foreign_host_header_is_refused(sub: Served, host: str) -> None:
    status = sub.raw_status(f"GET /repo/ HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    assert status in (403, 421)
    sub.assert_alive()


@pytest.mark.parametrize("host", ["localhost", "localhost:1234", "127.0.0.1:80", "[::1]:8000", "LOCALHOST"])
def test_loopback_host_headers_are_accepted(sub: Served, host: str) -> None:
    assert sub.raw_status(f"GET /repo/ HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()) == 200


def test_request_without_host_header_is_refused(sub: Served) -> None:
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
def test_malformed_and_oversized_requests_get_4xx_and_the_server_keeps_running(sub: Served, request_bytes: bytes) -> None:
    status = sub.raw_status(request_bytes)
    assert 400 <= status < 500
    sub.assert_alive()


def test_log_lines_escape_control_characters(sub: Served) -> None:
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


def test_host_check() -> None:
    assert host_allowed("192.168.1.5:8000", "0.0.0.0") and not host_allowed("evil.example", "0.0.0.0")
    assert host_allowed("preview.lan:8000", "preview.lan") and not host_allowed("192.168.1.5", "127.0.0.1")


# ---------------------------------------------------------------- snapshots


def test_a_snapshot_with_an_error_turns_html_into_the_error_page_and_keeps_assets(sub: Served) -> None:
    stylesheet = next(sub.root.glob("assets/style.*.css")).name
    good = sub.state.current()
    sub.publish(Snapshot(good.number + 1, good.root, good.root_number, BASE, error="content/papers/x.md:3: bad"))
    try:
        status, headers, body = sub.get(BASE + "archive/")
        assert status == 500 and b"did not build" in body and b"content/papers/x.md:3: bad" in body
        assert b"livereload.js?build=" in body  # the error page reloads itself once fixed
        assert sub.get(BASE + "assets/" + stylesheet)[0] == 200
    finally:
        sub.publish(good)
    assert sub.get(BASE + "archive/")[0] == 200


def test_events_stream_announces_each_published_number(sub: Served) -> None:
    good = sub.state.current()
    with sub.events() as next_number:
        assert next_number() == good.number
        sub.publish(Snapshot(good.number + 1, good.root, good.number + 1, BASE))
        assert next_number() == good.number + 1

def test_served_pages_name_the_snapshot_that_wrote_them(sub: Served) -> None:
    """The reload script's URL carries the build number, so a build finishing mid-load still reloads."""
    status, _, body = sub.get(BASE + "papers/a-paper/")
    number = sub.state.current().root_number
    assert status == 200 and f"livereload.js?build={number}".encode() in body
    status, headers, script = sub.get(BASE + "__digestgen/livereload.js")
    assert status == 200 and headers["content-type"].startswith("text/javascript") and b"EventSource" in script
