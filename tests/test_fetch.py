"""`digestgen fetch` over real HTTP against a loopback server that plays Hugging Face and arXiv."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from digestgen.fetch import Http

from conftest import FIXTURES
from test_ingest import paper, snapshot

SOURCES = FIXTURES / "sources"
DELAY = 0.4
ENTRY = """<entry>
    <id>http://arxiv.org/abs/{id}v1</id>
    <published>2025-10-01T00:00:00Z</published>
    <title>Paper number {id}</title>
    <summary>The abstract of
  paper {id}.</summary>
    <author><name>Ada Lovelace</name></author>
    <link href="http://arxiv.org/abs/{id}v1" rel="alternate" type="text/html"/>
    <link title="pdf" href="http://arxiv.org/pdf/{id}v1" rel="related" type="application/pdf"/>
    <arxiv:primary_category term="cs.LG" scheme="http://arxiv.org/schemas/atom"/>
    <category term="cs.LG" scheme="http://arxiv.org/schemas/atom"/>
  </entry>"""
ERROR = """<entry><id>http://arxiv.org/api/errors#incorrect_id_format_for_{id}</id><title>Error</title>
    <summary>incorrect id format for {id}</summary></entry>"""


class Remote:
    """What the fake services were asked, and what they should answer next."""

    def __init__(self) -> None:
        self.requests: list[tuple[float, str, str]] = []  # (time, path with query, User-Agent)
        self.failures: list[int] = []  # status codes to answer before the real answer
        self.lock = threading.Lock()

    def answer(self, path: str) -> tuple[int, str, bytes]:
        parts = urlsplit(path)
        query = parse_qs(parts.query)
        if parts.path == "/api/daily_papers":
            if query.get("date") == ["2025-10-31"] or query.get("week") == ["2025-W44"]:
                return 200, "application/json", (SOURCES / "hf-daily-2025-10-31.json").read_bytes()
            return 200, "application/json", b"[]"
        if parts.path == "/rss/cs.LG":
            return 200, "application/rss+xml", (SOURCES / "arxiv-rss-cs.LG.xml").read_bytes()
        if parts.path == "/api/query":
            ids = query.get("id_list", [""])[0].split(",")
            entries = [ERROR.format(id=i) if i.endswith("99999") else ENTRY.format(id=i) for i in ids if i]
            feed = ('<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" '
                    'xmlns:arxiv="http://arxiv.org/schemas/atom">\n  ' + "\n  ".join(entries) + "\n</feed>\n")
            return 200, "application/atom+xml", feed.encode()
        return 404, "text/plain", b"not found"


def make_handler(remote: Remote) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            with remote.lock:
                remote.requests.append((time.monotonic(), self.path, self.headers.get("User-Agent", "")))
                failure = remote.failures.pop(0) if remote.failures else None
            if failure:
                self.send_response(failure)
                self.send_header("Retry-After", "0")
                self.end_headers()
                return
            status, kind, body = remote.answer(self.path)
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    return Handler


@pytest.fixture
def remote():
    state = Remote()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.port = server.server_address[1]
    yield state
    server.shutdown()
    server.server_close()


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "digestgen", *args], capture_output=True, text=True, timeout=120)


def make_site(tmp_path: Path, port: int, delay: float = DELAY, timeout: float = 10) -> Path:
    site = tmp_path / "site"
    assert run("init", str(site)).returncode == 0
    base = f"http://127.0.0.1:{port}"
    with open(site / "digestgen.yaml", "a", encoding="utf-8") as config:
        config.write(
            f"\nsources:\n  hf_api: {base}/api\n  arxiv_api: {base}/api/query\n  arxiv_rss: {base}/rss\n"
            f"  arxiv_delay_s: {delay}\n  timeout_s: {timeout}\n"
        )
    return site


def test_fetch_hf_saves_the_raw_answer_and_a_later_ingest_is_offline_and_identical(remote, tmp_path):
    site = make_site(tmp_path, remote.port)
    result = run("fetch", "hf", "--date", "2025-10-31", "--site", str(site))
    assert result.returncode == 0, result.stderr
    assert "2 new" in result.stdout
    saved = site / "sources" / "hf-2025-10-31.json"
    assert saved.read_bytes() == (SOURCES / "hf-daily-2025-10-31.json").read_bytes()
    ((_, path, agent),) = remote.requests
    assert path.startswith("/api/daily_papers?date=2025-10-31") and agent.startswith("digestgen/")
    data, _ = paper(site, "sparse-attention-for-very-long-widgets")
    assert data["arxiv"] == "2510.01234" and data["digests"] == ["2025-10-31"]

    before = snapshot(site / "content")
    again = run("ingest", str(site / "sources"), "--site", str(site))
    assert again.returncode == 0 and "0 new, 0 updated, 2 unchanged" in again.stdout
    assert snapshot(site / "content") == before and len(remote.requests) == 1


def test_fetch_hf_week_dates_each_paper_by_its_item(remote, tmp_path):
    site = make_site(tmp_path, remote.port)
    result = run("fetch", "hf", "--week", "2025-W44", "--site", str(site))
    assert result.returncode == 0, result.stderr
    assert (site / "sources" / "hf-2025-W44.json").is_file()
    assert (site / "content" / "digests" / "2025-10-31.yaml").is_file()


def test_fetch_arxiv_category_saves_the_feed_by_its_date(remote, tmp_path):
    site = make_site(tmp_path, remote.port)
    result = run("fetch", "arxiv", "--category", "cs.LG", "--site", str(site))
    assert result.returncode == 0, result.stderr
    assert (site / "sources" / "arxiv-cs.LG-2025-10-31.xml").is_file()
    assert "2 new" in result.stdout and "'replace' entries left out" in result.stderr
    assert remote.requests[0][1] == "/rss/cs.LG"


def test_fetch_arxiv_ids_reports_unknown_ones_and_a_second_run_asks_nothing(remote, tmp_path):
    site = make_site(tmp_path, remote.port)
    args = ("fetch", "arxiv", "--ids", "2510.01234v2", "math/0501001", "2510.99999", "--date", "2025-10-31", "--site", str(site))
    result = run(*args)
    assert result.returncode == 0, result.stderr
    assert "2 new" in result.stdout and "arXiv has no paper 2510.99999; skipped" in result.stderr
    assert len(remote.requests) == 1
    data, body = paper(site, "paper-number-2510-01234")
    assert data["arxiv"] == "2510.01234" and data["authors"] == ["Ada Lovelace"]
    assert (site / "sources" / "arxiv-api-2025-10-31.xml").is_file()
    again = run(*args)
    assert again.returncode == 0, again.stderr
    assert "0 new, 0 updated, 2 unchanged" in again.stdout and "said by an earlier lookup" in again.stderr
    assert len(remote.requests) == 1  # answered from the cache


def test_an_id_list_file_is_looked_up_through_the_api_in_spaced_batches(remote, tmp_path):
    site = make_site(tmp_path, remote.port, delay=1.0)
    ids = tmp_path / "reading-2025-10-31.txt"
    ids.write_text("# a long reading list\n" + "\n".join(f"2510.{n:05d}" for n in range(1, 202)) + "\n")
    result = run("ingest", str(ids), "--site", str(site))
    assert result.returncode == 0, result.stderr
    assert "201 new" in result.stdout
    times = [t for t, _, _ in remote.requests]
    assert len(times) == 3  # batches of 100
    # Seen from the server, so with some slack for a busy machine; without the spacing they come ~10 ms apart.
    assert all(later - earlier >= 0.8 for earlier, later in zip(times, times[1:]))


def test_the_client_waits_out_the_spacing_between_calls_to_one_host():
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    http = Http(timeout_s=1, spacing_s={"arxiv.test": 3.0}, sleep=sleep, clock=lambda: now[0])
    http._once = lambda url: b"ok"  # the network is the loopback tests' business; this is the clock's
    http.get("http://arxiv.test/a")
    now[0] += 1.0  # the caller worked for a second
    http.get("http://arxiv.test/b")
    http.get("http://other.test/c")  # another host is not held back
    assert slept == [2.0]


def test_busy_answers_are_retried_then_given_up_with_one_line(remote, tmp_path):
    site = make_site(tmp_path, remote.port, delay=0)
    remote.failures = [503, 429]
    result = run("fetch", "hf", "--date", "2025-10-31", "--site", str(site))
    assert result.returncode == 0, result.stderr
    assert len(remote.requests) == 3

    remote.requests.clear()
    remote.failures = [503] * 10
    before = snapshot(site)
    result = run("fetch", "hf", "--date", "2025-10-31", "--site", str(site))
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert "answered 503" in result.stderr and "after 4 tries" in result.stderr
    assert len(remote.requests) == 4 and snapshot(site) == before


def test_offline_is_one_clear_line(tmp_path):
    site = make_site(tmp_path, 9)  # the discard port: nothing listens on loopback
    result = run("fetch", "arxiv", "--category", "cs.LG", "--site", str(site))
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert "cannot reach 127.0.0.1:9" in result.stderr and "offline" in result.stderr


def test_a_slow_service_times_out_with_one_line(tmp_path):
    class Slow(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            time.sleep(3)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        site = make_site(tmp_path, server.server_address[1], timeout=0.5)
        started = time.monotonic()
        result = run("fetch", "hf", "--date", "2025-10-31", "--site", str(site))
        assert result.returncode == 1 and "timed out" in result.stderr and result.stderr.count("\n") == 1
        assert time.monotonic() - started < 3
    finally:
        server.shutdown()
        server.server_close()


def test_bad_fetch_arguments(tmp_path):
    site = make_site(tmp_path, 9)
    assert "give one of --category, --ids or --id-file" in run("fetch", "arxiv", "--site", str(site)).stderr
    assert "not in the form YYYY-Www" in run("fetch", "hf", "--week", "44", "--site", str(site)).stderr
    bad = run("fetch", "arxiv", "--category", "cs.LG/../x", "--site", str(site))
    assert bad.returncode == 1 and "is not an arXiv category" in bad.stderr
    (site / "digestgen.yaml").write_text("sources:\n  arxiv_api: ftp://example.org/\n  arxiv_delay_s: -1\n")
    config = run("fetch", "hf", "--site", str(site))
    assert "sources.arxiv_api must be an absolute http(s) URL" in config.stderr and "sources.arxiv_delay_s" in config.stderr
