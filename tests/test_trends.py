"""The /trends/ page, the tag pages' trend lines and the newsletter's rising line, on a site with known weeks."""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from defusedxml import ElementTree
from test_related import CLUSTERS, slug_of, write_digest, write_paper

from digestgen import trends
from digestgen.build import build_site

# The tags are written by hand; the phrases are words no paper uses.
TAXONOMY = "taxonomy:\n" + "".join(f"  {t.lower()}: {{label: {t}, phrases: [zq{t.lower()}zq]}}\n" for t in ("Astronomy", "Baking", "Reefs"))
NEWSLETTER = "newsletter:\n  from: Digest <digest@example.org>\n  to: readers@example.org\n"
WEEK_1, WEEK_2 = "2025-10-27", "2025-11-05"  # a Monday, and the Wednesday of the next week


def make_site(root: Path) -> Path:
    """Week 1: four comet papers (Astronomy), two bread papers (Baking). Week 2: two more bread
    papers and four reef papers (Reefs); so Reefs +4, Baking 0, Astronomy -4."""
    site = root / "site"
    (site / "content" / "papers").mkdir(parents=True)
    (site / "content" / "digests").mkdir()
    (site / "digestgen.yaml").write_text("title: Weeks\nbase_url: https://example.org/\n" + NEWSLETTER + TAXONOMY, encoding="utf-8")
    first = [write_paper(site, t, a, 3, WEEK_1, ["Astronomy"]) for t, a in CLUSTERS["comet"]]
    first += [write_paper(site, t, a, 40 + n, WEEK_1, ["Baking"]) for n, (t, a) in enumerate(CLUSTERS["bread"][:2])]
    second = [write_paper(site, t, a, 0, WEEK_2, ["Baking"]) for t, a in CLUSTERS["bread"][2:]]
    second += [write_paper(site, t, a, 120, WEEK_2, ["Reefs"]) for t, a in CLUSTERS["reef"]]
    write_digest(site, WEEK_1, first)
    write_digest(site, WEEK_2, second)
    return site


@pytest.fixture
def built(tmp_path: Path) -> tuple[Path, object]:
    site = make_site(tmp_path)
    result = build_site(site)
    return result.out, result.site


def svgs(html: str) -> list:
    """Every inline SVG of a page, parsed as XML (entities refused)."""
    return [ElementTree.fromstring(m) for m in re.findall(r"<svg\b.*?</svg>", html, flags=re.S)]


def test_tags_rise_and_fall_week_against_week(built):
    _, site = built
    moves = {m["slug"]: (m["now"], m["before"], m["change"]) for m in trends.tag_moves(site)}
    assert moves == {"reefs": (4, 0, 4), "baking": (2, 2, 0), "astronomy": (0, 4, -4)}
    assert trends.rising_line(site) == "Rising this week: Reefs (+4)"
    assert trends.rising_line(site, dt.date(2025, 10, 31)) == ""  # the site's first week: nothing to rise from
    line = trends.tag_trends(site)["reefs"]
    assert line["series"] == [0] * 10 + [0, 4]


def test_the_trends_page_draws_svg_with_classes_only_and_links_bars_to_tags(built):
    out, _ = built
    html = (out / "trends" / "index.html").read_text("utf-8")
    charts = svgs(html)
    assert len(charts) >= 3 + 3  # movers, per digest, upvotes, and a trend line per tag
    for svg in charts:
        assert svg.find("title") is not None and svg.find("title").text
        assert svg.find("desc") is not None and svg.find("desc").text
        for element in svg.iter():
            assert "style" not in element.attrib
            assert not [name for name in element.attrib if name.startswith("on")]
            assert element.tag not in ("script", "foreignObject", "style")
    movers = next(svg for svg in charts if svg.find("title").text == "Tags rising and falling")
    assert sorted(a.get("href") for a in movers.iter("a")) == ["/tags/astronomy/", "/tags/reefs/"]
    assert "<script" not in html.split("</footer>")[0]
    assert html.index(CLUSTERS["reef"][0][0]) < html.index(CLUSTERS["bread"][1][0])  # most upvoted first
    assert "Ada Lovelace" in html  # top authors, when the data has names
    assert re.search(r"<td>100\+</td><td>4</td>", html)  # the upvote table: four papers with 100 or more


def test_a_tag_page_shows_its_trend_line(built):
    out, _ = built
    html = (out / "tags" / "reefs" / "index.html").read_text("utf-8")
    (line,) = svgs(html)
    assert line.find("desc").text == "12 weeks to the week of Nov 3, 2025, oldest first: 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4"
    assert all("style" not in e.attrib for e in line.iter())


def test_the_newsletter_says_what_rose_this_week(tmp_path):
    site = make_site(tmp_path)
    out = tmp_path / "edition"
    done = subprocess.run([sys.executable, "-m", "digestgen", "newsletter", "--site", str(site), "--out", str(out), "--base-url", "https://example.org/"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    for suffix in (".txt", ".md", ".fragment.html"):
        (written,) = out.glob(f"*{suffix}")
        assert "Rising this week: Reefs (+4)" in written.read_text("utf-8")


# --- In Chromium, under the CSP -------------------------------------------------------------------

from test_search_browser import csp_reports, serve_with_csp, visit  # noqa: E402,F401  (fixtures)

ACCENTS = {"light": (0x0B, 0x57, 0xC2), "dark": (0x8A, 0xB4, 0xF8)}  # --accent in static/style.css


def _near(pixel: tuple[int, ...], colour: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 12 for a, b in zip(pixel[:3], colour))


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_charts_render_in_the_theme_colours_under_the_csp(built, visit, serve_with_csp, scheme):
    from PIL import Image

    out, _ = built
    server = serve_with_csp(out)
    seen = visit(server.url + "trends/")
    page = seen.page
    page.emulate_media(color_scheme=scheme)
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    for selector, share in (("svg.chart-bars", 0.01), ("svg.chart-columns", 0.01), ("td svg.sparkline", 0.005)):
        chart = page.locator(selector).first
        box = chart.bounding_box()
        assert box and box["width"] > 50 and box["height"] > 10
        image = Image.open(io.BytesIO(chart.screenshot())).convert("RGB")
        data = image.tobytes()
        pixels = [tuple(data[i : i + 3]) for i in range(0, len(data), 3)]
        accent = sum(_near(p, ACCENTS[scheme]) for p in pixels)
        assert accent > len(pixels) * share, (selector, scheme)  # bars or lines drawn in the theme's accent
        corner = image.getpixel((0, image.height - 1))
        assert f"rgb({corner[0]}, {corner[1]}, {corner[2]})" == background  # no box painted behind the chart
