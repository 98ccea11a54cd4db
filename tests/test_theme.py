"""The default theme: contrast in light and dark, no layout break from 320 px, landmarks, no JS needed."""

from __future__ import annotations

import re

import pytest

from conftest import REPO

STYLE = (REPO / "static" / "style.css").read_text()
# (foreground, background) pairs that the theme puts text on.
TEXT_PAIRS = [
    ("--text", "--bg"), ("--muted", "--bg"), ("--accent", "--bg"), ("--text", "--surface"), ("--muted", "--surface"),
    ("--accent", "--surface"), ("--tag-text", "--tag-bg"), ("--accent-text", "--accent"),
]


def variables(block: str) -> dict[str, str]:
    return dict(re.findall(r"(--[a-z-]+):\s*(#[0-9a-fA-F]{6})\s*;", block))


def schemes() -> dict[str, dict[str, str]]:
    light = variables(STYLE.split("@media (prefers-color-scheme: dark)")[0])
    dark_block = re.search(r"@media \(prefers-color-scheme: dark\)\s*\{\s*:root\s*\{(.*?)\}", STYLE, re.S)
    assert dark_block, "the theme has a dark scheme"
    return {"light": light, "dark": {**light, **variables(dark_block.group(1))}}


def luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_colours_meet_wcag_aa_contrast(scheme):
    colours = schemes()[scheme]
    failures = [(fg, bg, round(contrast(colours[fg], colours[bg]), 2)) for fg, bg in TEXT_PAIRS if contrast(colours[fg], colours[bg]) < 4.5]
    assert failures == []
    assert contrast(colours["--focus"], colours["--bg"]) >= 3  # focus ring: non-text contrast


PAGES = ["", "2025/10/31/", "papers/pvt-a-simple-end-to-end-latency-aware-visual-tracking-framework/", "tags/", "tags/pre-training/", "archive/", "search/", "no/such/page/"]


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_pages_fit_from_320px_to_wide_screens_without_script_errors(seed_built_root, serve_static, browser, scheme):
    server = serve_static(seed_built_root)
    for width in (320, 768, 1440):
        context = browser.new_context(viewport={"width": width, "height": 800}, color_scheme=scheme)
        page = context.new_page()
        problems: list[str] = []
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        page.on("request", lambda request: problems.append(request.url) if not request.url.startswith(server.url) else None)
        for path in PAGES:
            page.goto(server.url + path)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, (width, path, overflow)
        context.close()
        assert [p for p in problems if "404" not in p] == []


@pytest.mark.browser
def test_landmarks_skip_link_and_visible_focus(seed_built_root, serve_static, browser):
    server = serve_static(seed_built_root)
    page = browser.new_page()
    page.goto(server.url)
    assert page.locator("header").count() == 1 and page.locator("main#main").count() == 1 and page.locator("footer").count() == 1
    assert page.locator("nav[aria-label=Main]").count() == 1
    page.keyboard.press("Tab")
    focused = page.evaluate("[document.activeElement.textContent, getComputedStyle(document.activeElement).outlineStyle, document.activeElement.getBoundingClientRect().top]")
    assert focused[0] == "Skip to content" and focused[1] != "none" and focused[2] >= 0
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"
    page.close()


@pytest.mark.browser
def test_pages_work_with_javascript_off(seed_built_sub, serve_static, browser):
    server = serve_static(seed_built_sub, "/repo/")
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(server.url)
    page.fill("#header-q", "tracking")
    page.press("#header-q", "Enter")
    page.wait_for_url("**/repo/search/?q=tracking")
    assert "Search needs JavaScript" in page.inner_text("#search-status")
    page.goto(server.url)
    page.click("text=Archive")
    page.wait_for_url("**/repo/archive/")
    assert page.locator("a[href^='/repo/2025/10/31/']").count() >= 1
    context.close()
