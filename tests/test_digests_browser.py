"""Digest, home and search pages in real headless Chromium: re-sorting under the strict CSP, axe-core on
every page kind (light and dark, phone and desktop), live DOM sizes, the search page on a phone."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Iterator

import pytest

from conftest import FIXTURES, missing_tool
from digestgen.build import build_site
from digestgen.theme import CSP
from test_digests import write_big_site

pytestmark = pytest.mark.browser

AXE = os.environ.get("DIGESTGEN_AXE", str(Path(__file__).resolve().parents[1] / ".tools/node_modules/axe-core/axe.min.js"))
# Collects what the page's CSP refused, before any page script runs (an init script is not subject to the CSP).
WATCH_CSP = """
window.__refused = [];
document.addEventListener("securitypolicyviolation", (e) => window.__refused.push(e.violatedDirective + " " + e.blockedURI));
"""


@pytest.fixture(scope="module")
def fixture_built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("fixture") / "site"
    shutil.copytree(FIXTURES / "site", site)
    return build_site(site, base_url="http://127.0.0.1/").out


@pytest.fixture(scope="module")
def big_built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = write_big_site(tmp_path_factory.mktemp("big") / "site", 300, base_url="http://127.0.0.1/")
    return build_site(site).out


@pytest.fixture
def strict_page(browser, serve_static) -> Iterator[Any]:
    """Open (root, path) served with the theme's CSP as a header; after the test: no violation, no error."""
    contexts, pages = [], []

    def open_page(root: Path, path: str, **context_options: Any):
        server = serve_static(root, "/", {"Content-Security-Policy": CSP})
        context = browser.new_context(**context_options)
        contexts.append(context)
        page = context.new_page()
        page.add_init_script(WATCH_CSP)
        page.problems = []
        page.on("console", lambda m: page.problems.append(m.text) if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: page.problems.append(str(e)))
        page.goto(server.url + path)
        pages.append(page)
        return page

    yield open_page
    for page in pages:
        if page.context.browser is not None and not page.is_closed():
            refused = page.evaluate("window.__refused || []")
            assert refused == [] and page.problems == []
    for context in contexts:
        context.close()


def titles(page) -> list[str]:
    return page.locator("#paper-list > li .paper-title a").all_inner_texts()


def test_a_reader_re_sorts_a_digest_under_the_strict_csp(strict_page, fixture_built):
    from playwright.sync_api import expect

    page = strict_page(fixture_built, "2025/10/31/")
    by_upvotes = ["Überlegene Sprachmodelle: Multilingual LLM Pre-training für Alle",
                  "Graph Neural Networks for Molecule Retrieval", "Contrastive Pre-training of Vision Transformers"]
    assert titles(page) == by_upvotes
    expect(page.locator(".sort-control")).to_be_visible()
    expect(page.locator("label[for=sort-select]")).to_have_text("Sort by")
    page.select_option("#sort-select", "listing")
    assert titles(page) == [by_upvotes[1], by_upvotes[2], by_upvotes[0]]
    page.select_option("#sort-select", "date")  # Oct 30, 2025; Oct 28, 2025; Oct 29, 2024
    assert titles(page) == [by_upvotes[1], by_upvotes[0], by_upvotes[2]]
    expect(page.locator("#order-note")).to_have_text("Newest.")
    page.select_option("#sort-select", "default")
    assert titles(page) == by_upvotes


def test_without_javascript_the_digest_is_in_the_curators_order_and_the_control_is_hidden(strict_page, fixture_built):
    page = strict_page(fixture_built, "2025/10/31/", java_script_enabled=False)
    assert titles(page)[0].startswith("Überlegene")
    assert not page.locator(".sort-control").is_visible()
    assert page.locator("#order-note").inner_text() == "Most upvoted first."


def test_re_sorting_a_page_of_a_300_paper_digest(strict_page, big_built):
    page = strict_page(big_built, "2025/11/01/page/2/")
    page.select_option("#sort-select", "listing")
    positions = page.locator("#paper-list > li").evaluate_all("items => items.map(i => Number(i.dataset.position))")
    assert len(positions) == 100 and positions == sorted(positions)


def dom_size(page) -> int:
    return page.evaluate("document.getElementsByTagName('*').length")


def test_live_dom_sizes_of_long_digests_and_home(browser, serve_static, seed_built_root, big_built):
    page = browser.new_page()
    seed, big = serve_static(seed_built_root), serve_static(big_built)
    for url in (seed.url + "2025/10/31/", big.url + "2025/11/01/", big.url + "2025/11/01/page/2/", big.url + "2025/11/01/page/3/"):
        page.goto(url)
        assert dom_size(page) <= 1400, url
    for url in (seed.url, big.url):
        page.goto(url)
        assert dom_size(page) < 800, url
    page.close()


def test_the_first_search_result_is_above_the_fold_on_a_phone(strict_page, seed_built_root):
    from playwright.sync_api import expect

    page = strict_page(seed_built_root, "search/", viewport={"width": 360, "height": 780}, has_touch=True, is_mobile=True)
    page.locator("#q").fill("tracking")
    first = page.locator("#results > li .result-title").first
    expect(first).to_be_visible()
    box = first.bounding_box()
    assert box is not None and box["y"] + box["height"] <= 780
    assert not page.locator("#tag-filter").is_visible()  # behind the disclosure


def test_slash_focuses_the_box_and_one_result_says_matches(strict_page, seed_built_root):
    from playwright.sync_api import expect

    page = strict_page(seed_built_root, "search/")
    page.locator("#q").fill("PVT++")
    expect(page.locator("#search-status")).to_contain_text("1 paper matches “PVT++”")
    page.locator("#q").press("ArrowDown")
    expect(page.locator("#results > li .result-title").first).to_be_focused()
    page.keyboard.press("/")
    expect(page.locator("#q")).to_be_focused()


PAGE_KINDS = {
    "home": "",
    "curated digest": "2025/11/01/",
    "digest": "2025/10/31/",
    "paper": "papers/sparse-mixtures-of-experts-for-tiny-devices/",
    "tags": "tags/",
    "tag": "tags/pre-training/",
    "archive": "archive/",
    "search": "search/?q=pre",
    "not found": "404.html",
}


def axe_violations(page) -> list[str]:
    page.add_script_tag(path=AXE)
    found = page.evaluate("async () => (await axe.run(document)).violations.map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', '))")
    return found


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [360, 1440])
def test_axe_finds_nothing_on_any_page_kind(browser, serve_static, fixture_built, big_built, scheme, width):
    if not Path(AXE).is_file():
        missing_tool(f"axe-core is missing at {AXE}: scripts/test installs it")
    fixture, big = serve_static(fixture_built), serve_static(big_built)
    # The axe script is injected inline, which the theme's own CSP meta tag forbids: bypass it for this check only.
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme, bypass_csp=True)
    page = context.new_page()
    problems = {}
    targets = [(kind, fixture.url + path) for kind, path in PAGE_KINDS.items()]
    targets += [("long digest, page 2", big.url + "2025/11/01/page/2/"), ("big home", big.url)]
    for kind, url in targets:
        page.goto(url)
        if kind == "search":
            page.locator("#results > li").first.wait_for()
        found = axe_violations(page)
        if found:
            problems[kind] = found
    context.close()
    assert problems == {}
