"""The search page in real headless Chromium, under the theme's strict Content-Security-Policy."""

from __future__ import annotations

import http.server
import json
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from digestgen.build import build_site
from digestgen.theme import CSP

pytestmark = pytest.mark.browser

PVT = "PVT++: A Simple End-to-End Latency-Aware Visual Tracking Framework"
HOSTILE_TITLE = "Hostile <img src=x onerror=alert(1)> tracking & <b>bold</b> claims"
HOSTILE_LISTING = f"""Daily Papers

Oct 31

{HOSTILE_TITLE}

We track objects <script>alert(2)</script> with a method whose name is "><svg onload=alert(3)>.

  • 2 authors
·
Mar 29, 2022

A Calm Second Paper About Tracking

Plain text about tracking and nothing else.

  • 1 authors
·
Apr 2, 2023
"""


class _ReportHandler(http.server.BaseHTTPRequestHandler):
    """Collects the CSP violation reports Chromium posts (from the page and from the worker)."""

    reports: list[bytes]

    def do_POST(self) -> None:
        self.reports.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def csp_reports() -> Iterator[tuple[str, list[bytes]]]:
    """A loopback endpoint for CSP reports: (report-uri, received reports)."""
    reports: list[bytes] = []
    handler = type("Handler", (_ReportHandler,), {"reports": reports})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/csp", reports
    server.shutdown()
    server.server_close()


@dataclass
class Visit:
    """One browser tab plus everything it did that a user should never see."""

    page: Any
    problems: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@pytest.fixture
def visit(browser, csp_reports) -> Iterator[Any]:
    """Call with a URL to open it in a fresh context; checks after the test that nothing went wrong."""
    visits: list[Visit] = []
    contexts = []
    _report_uri, reports = csp_reports
    reports_before = len(reports)

    def open_url(url: str) -> Visit:
        context = browser.new_context()
        contexts.append(context)
        page = context.new_page()
        seen = Visit(page)
        page.on(
            "console",
            lambda m: seen.problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None,
        )
        page.on("pageerror", lambda e: seen.problems.append(f"page error: {e}"))
        page.on("dialog", lambda d: (seen.dialogs.append(d.message), d.dismiss()))
        context.on("request", lambda r: seen.requests.append(r.url))
        visits.append(seen)
        page.goto(url)
        return seen

    yield open_url
    for seen in visits:
        seen.page.wait_for_timeout(200)  # let late CSP reports arrive before they are counted
    for context in contexts:
        context.close()
    for seen in visits:
        assert seen.problems == []
        assert seen.dialogs == []
        outside = [u for u in seen.requests if urlsplit(u).hostname != "127.0.0.1"]
        assert outside == []
    assert reports[reports_before:] == []


@pytest.fixture
def serve_with_csp(serve_static, csp_reports):
    """Serve a built site with the theme's CSP as a real header (plus a loopback report-uri)."""
    report_uri, _ = csp_reports

    def start(root: Path, prefix: str = "/"):
        return serve_static(root, prefix, {"Content-Security-Policy": f"{CSP}; report-uri {report_uri}"})

    return start


def store_of(site: Path) -> dict[str, Any]:
    return json.loads((site / "search" / "store.json").read_text("utf-8"))


def total_in(status_text: str) -> int:
    """The count a status line such as '12 papers match “x”.' starts with."""
    return int(re.match(r"(\d+) papers? ", status_text).group(1))


def most_used_tag(store: dict[str, Any]) -> tuple[str, str]:
    uses = [sum(n in doc[3] for doc in store["docs"]) for n in range(len(store["tags"]))]
    slug, label, _path = store["tags"][uses.index(max(uses))]
    return slug, label


def result_titles(page) -> list[str]:
    return page.locator("#results > li .result-title").all_inner_texts()


def wait_for_first_title(page, title: str) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#results > li .result-title").first).to_have_text(title)


def test_search_as_you_type_filter_and_open_a_result(visit, serve_with_csp, seed_built_root):
    from playwright.sync_api import expect

    server = serve_with_csp(seed_built_root)
    page = visit(server.url + "search/").page
    status = page.locator("#search-status")
    expect(status).to_contain_text("Type to search 95 papers")
    expect(status).not_to_contain_text("needs JavaScript")

    page.locator("#q").press_sequentially("trackin", delay=40)
    wait_for_first_title(page, PVT)
    assert page.locator("#results > li").first.locator(".result-title mark").all_inner_texts() == ["Tracking"]
    assert page.locator("#results > li").first.locator("time").get_attribute("datetime") == "2022-11-21"
    expect(page).to_have_url(re.compile(r"/search/\?q=trackin$"))

    # Narrow a broad search to one tag: every result carries it, and the URL says so.
    page.locator("#q").fill("learning")
    expect(status).to_contain_text("match “learning”")
    broad = total_in(status.inner_text())
    assert broad > 50 and page.locator("#results > li").count() == 50  # long lists come in pages
    page.locator("#more-results").click()
    expect(page.locator("#results > li")).to_have_count(min(broad, 100))
    tag_slug, tag_label = most_used_tag(store_of(seed_built_root))
    page.locator(".search-options summary").click()  # the filters are behind a disclosure
    page.select_option("#tag-filter", tag_slug)
    expect(status).to_contain_text(f"tagged {tag_label}")
    items = page.locator("#results > li")
    assert 0 < total_in(status.inner_text()) < broad
    for n in range(items.count()):
        assert tag_label in items.nth(n).locator(".tag").all_inner_texts()
    assert parse_qs(urlsplit(page.url).query) == {"q": ["learning"], "tag": [tag_slug]}

    # Keyboard: Down goes to the first result's link, End to the last, Home back, Enter opens it.
    page.select_option("#tag-filter", "")
    page.locator("#q").fill("visual tracking")
    wait_for_first_title(page, PVT)
    page.locator("#q").press("ArrowDown")
    first = page.locator("#results > li .result-title").first
    expect(first).to_be_focused()
    page.keyboard.press("End")
    expect(page.locator("#results > li .result-title").last).to_be_focused()
    page.keyboard.press("Home")
    expect(first).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/papers/pvt-[^/]+/$"))
    expect(page.locator("h1")).to_have_text(PVT)


def test_the_url_restores_a_search_with_its_filters(visit, serve_with_csp, seed_built_root):
    from playwright.sync_api import expect

    server = serve_with_csp(seed_built_root)
    page = visit(server.url + "search/?q=tracking&from=2022-01-01&to=2022-12-31").page
    wait_for_first_title(page, PVT)
    expect(page.locator("#q")).to_have_value("tracking")
    expect(page.locator("#from")).to_have_value("2022-01-01")
    expect(page.locator("#to")).to_have_value("2022-12-31")
    expect(page.locator(".search-options")).to_have_attribute("open", "")  # filters in use are shown
    dates = page.locator("#results > li time").evaluate_all("nodes => nodes.map(n => n.getAttribute('datetime'))")
    assert dates and all("2022-01-01" <= d <= "2022-12-31" for d in dates)

    page.reload()
    wait_for_first_title(page, PVT)
    expect(page.locator("#search-status")).to_contain_text("from Jan 1, 2022, to Dec 31, 2022")


def test_no_results_and_bad_syntax_are_explained(visit, serve_with_csp, seed_built_root):
    from playwright.sync_api import expect

    server = serve_with_csp(seed_built_root)
    page = visit(server.url + "search/?q=zzzqqxv").page
    status = page.locator("#search-status")
    expect(status).to_contain_text("No papers match “zzzqqxv”")
    assert page.locator("#results > li").count() == 0
    # A pasted title with a colon searches as text.
    page.locator("#q").fill("UL2: Unifying Language Learning Paradigms")
    wait_for_first_title(page, "UL2: Unifying Language Learning Paradigms")
    # A typo: said plainly that nothing matched exactly.
    page.locator("#q").fill("trakcing ")
    expect(status).to_contain_text("No paper matches “trakcing” exactly")
    wait_for_first_title(page, PVT)
    # Newest first, kept in the address bar.
    page.locator("#q").fill("retrieval")
    expect(status).to_contain_text("match “retrieval”")
    page.select_option("#sort", "newest")
    expect(page).to_have_url(re.compile(r"sort=newest"))
    dates = page.locator("#results > li time").evaluate_all("nodes => nodes.map(n => n.getAttribute('datetime') || '')")
    assert len(dates) > 3 and dates == sorted(dates, reverse=True)
    page.select_option("#sort", "")
    page.locator("#q").fill("")
    expect(status).to_contain_text("Type to search 95 papers")
    assert page.locator("#results > li").count() == 0


def test_search_works_under_a_sub_path(visit, serve_with_csp, seed_built_sub):
    from playwright.sync_api import expect

    server = serve_with_csp(seed_built_sub, "/repo/")
    seen = visit(server.url + "search/?q=tracking")
    page = seen.page
    wait_for_first_title(page, PVT)
    href = page.locator("#results > li .result-title").first.get_attribute("href")
    assert href.startswith("/repo/papers/pvt-")
    for tag_href in page.locator("#results > li .tag").evaluate_all("nodes => nodes.map(n => n.getAttribute('href'))"):
        assert tag_href.startswith("/repo/tags/")
    page.locator("#results > li .result-title").first.click()
    page.wait_for_url(re.compile(r"/repo/papers/pvt-[^/]+/$"))
    expect(page.locator("h1")).to_have_text(PVT)
    assert any(urlsplit(u).path == "/repo/search/index.json" for u in seen.requests)


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory) -> Path:
    """A two-paper site whose first title and abstract are full of HTML."""
    site = tmp_path_factory.mktemp("hostile") / "site"
    listing = site.parent / "2025-10-31.txt"
    listing.write_text(HOSTILE_LISTING, "utf-8")
    for args in (["init", str(site)], ["ingest", str(listing), "--site", str(site)]):
        done = subprocess.run(
            [sys.executable, "-m", "digestgen", *args], check=False, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
    build_site(site, out=site / "_site", base_url="http://127.0.0.1:8000/")
    return site / "_site"


def test_a_title_full_of_html_shows_as_text(visit, serve_with_csp, hostile_site):
    from playwright.sync_api import expect

    assert (
        store_of(hostile_site)["docs"][0][0] == HOSTILE_TITLE or store_of(hostile_site)["docs"][1][0] == HOSTILE_TITLE
    )
    server = serve_with_csp(hostile_site)
    page = visit(server.url + "search/?q=track").page
    expect(page.locator("#results > li")).to_have_count(2)
    assert HOSTILE_TITLE in result_titles(page)
    results = page.locator("#results")
    assert results.locator("img, svg, script, b").count() == 0
    assert "<script>alert(2)</script>" in results.inner_text()
    page.locator("#q").fill("onerror")
    expect(page.locator("#results > li")).to_have_count(1)
    assert result_titles(page) == [HOSTILE_TITLE]


def test_a_worker_that_fails_after_results_leaves_no_more_button(visit, serve_with_csp, seed_built_root, tmp_path):
    from playwright.sync_api import expect

    # The theme's own worker, made to throw (uncaught, as a bug would) on one query, which it then never answers.
    site = tmp_path / "site"
    shutil.copytree(seed_built_root, site)
    (worker,) = (site / "assets").glob("search-worker.*.js")
    bug = (
        'self.addEventListener("message", function (event) {\n'
        '  if (event.data && event.data.q === "explode") { event.stopImmediatePropagation(); throw new Error("a bug"); }\n'
        "});\n"
    )
    worker.write_text(bug + worker.read_text("utf-8"), "utf-8")
    seen = visit(serve_with_csp(site).url + "search/")
    page = seen.page
    page.locator("#q").fill("learning")
    expect(page.locator("#more-results")).to_be_visible()
    page.locator("#q").fill("explode")
    expect(page.locator("#search-status")).to_contain_text("Search could not load")
    expect(page.locator("#more-results")).to_be_hidden()
    expect(page.locator("#results > li")).to_have_count(0)
    seen.problems.clear()  # the thrown error is this test's own doing


def test_more_results_right_after_typing_asks_for_the_new_query_first_page(visit, serve_with_csp, seed_built_root):
    from playwright.sync_api import expect

    page = visit(serve_with_csp(seed_built_root).url + "search/").page
    status = page.locator("#search-status")
    page.locator("#q").fill("learning")
    expect(page.locator("#more-results")).to_be_visible()
    # A new query typed, and "Show more results" clicked before the typing pause ends (same turn).
    page.evaluate(
        """() => {
          const q = document.getElementById("q");
          q.value = "model";
          q.dispatchEvent(new InputEvent("input", {inputType: "insertText", bubbles: true}));
          document.getElementById("more-results").click();
        }"""
    )
    expect(status).to_contain_text("match “model”")
    assert total_in(status.inner_text()) > 50
    expect(page.locator("#results > li")).to_have_count(50)  # the new query's first page, not two
