"""TeX in titles and abstracts as readers meet it: MathML on the pages, readable Unicode in feeds,
papers.json, search, <title> and the newsletter; literal text and a build warning when malformed."""

from __future__ import annotations

import json
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import vnu_command

from digestgen.build import build_site
from digestgen.searchtext import chunk_terms, chunks
from tests.test_newsletter import make_newsletter

PAPERS = {
    "sparse-attention-in-n-log-n": (
        r"Sparse Attention in $O(n \log n)$ Time",
        r"We reach $O(n \log n)$ time with $\alpha=0.5$ and a loss $\mathcal{L}_{\text{CE}}$ over $\mathbb{R}^d$; "
        r"the error falls as $\epsilon^2$ for $k \ll n$.",
    ),
    "pi-0-flow-policies": (r"$\pi_0$: Flow Policies", r"A policy $\pi_\theta(a \mid s)$ trained with $\beta = 10^{-3}$."),
    "fractions-and-roots": ("Fractions and Roots", r"We bound $\frac{1}{2}\sqrt{d_k}$ and $x_i^{(t)}$ by $\pm 0.5$."),
    "a-broken-formula": ("A Broken Formula", r"An unknown $\foo{x}$ macro and an unbalanced $x here."),
    "plain-text-only": ("Plain Text Only", "Nothing but words here, costing $5 a month."),
}
MATHML = "{http://www.w3.org/1998/Math/MathML}"


def make_site(root: Path) -> Path:
    site = root / "site"
    (site / "content" / "papers").mkdir(parents=True)
    (site / "content" / "digests").mkdir()
    (site / "digestgen.yaml").write_text(
        "title: Math digest\nbase_url: https://example.org/\nnewsletter:\n  from: D <d@example.org>\n  to: r@example.org\n",
        encoding="utf-8",
    )
    for n, (slug, (title, abstract)) in enumerate(PAPERS.items()):
        escaped = abstract.replace("\\", "\\\\")  # the body is Markdown, written as ingest escapes it
        text = f"---\ntitle: {json.dumps(title)}\npublished: 2025-10-0{n + 1}\nupvotes: {n}\ndigests: [2025-10-31]\n---\n{escaped}\n"
        (site / "content" / "papers" / f"{slug}.md").write_text(text, encoding="utf-8")
    return site


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    site = make_site(tmp_path_factory.mktemp("math"))
    warnings: list[str] = []
    result = build_site(site, warn=warnings.append)
    return site, result.out, warnings


def test_formulas_on_pages_are_mathml_with_their_tex_and_no_style(built):
    _, out, _ = built
    page = (out / "papers" / "sparse-attention-in-n-log-n" / "index.html").read_text(encoding="utf-8")
    maths = re.findall(r"<math\b.*?</math>", page, flags=re.S)
    assert len(maths) >= 6  # the title's and the abstract's
    for markup in maths:
        tree = ET.fromstring(markup)
        assert tree.get("alttext")
        assert all("style" not in e.attrib and e.attrib.get("mathvariant", "normal") == "normal" for e in tree.iter())
    assert 'alttext="O(n \\log n)"' in page and "ℒ" in page  # \mathcal as a Unicode math letter
    assert "$" not in page.split("<main", 1)[1].split("BibTeX")[0]  # no raw TeX left in the page body
    digest = (out / "2025" / "10" / "31" / "index.html").read_text(encoding="utf-8")
    assert '<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline" alttext="\\pi_0">' in digest


def test_plain_places_read_formulas_as_unicode(built):
    _, out, _ = built
    page = (out / "papers" / "pi-0-flow-policies" / "index.html").read_text(encoding="utf-8")
    assert "<title>π₀: Flow Policies · Math digest</title>" in page
    assert '<meta name="description" content="A policy π_θ(a∣s) trained with β = 10⁻³.">' in page
    feed = (out / "feed.xml").read_text(encoding="utf-8")
    assert "<title>π₀: Flow Policies</title>" in feed and "<title>Sparse Attention in O(n log n) Time</title>" in feed
    entries = feed.split("<entry>")[1:]
    assert [e for e in entries if "$" in e] == [e for e in entries if "Broken" in e or "$5" in e]
    papers = {p["slug"]: p for p in json.loads((out / "papers.json").read_text(encoding="utf-8"))["papers"]}
    assert papers["sparse-attention-in-n-log-n"]["abstract"].startswith("We reach O(n log n) time with α = 0.5")
    store = (out / "search" / "store.json").read_text(encoding="utf-8")
    assert "Sparse Attention in O(n log n) Time" in store and "\\log" not in store


def test_search_finds_alpha_and_the_greek_letter_alike():
    def indexed(text: str) -> list[str]:
        return [term for chunk in chunks(text) for term in chunk_terms(chunk)]

    assert "alpha" in indexed("with α = 0.5") and indexed("α") == indexed("alpha")


def test_malformed_tex_stays_literal_with_a_warning_naming_the_paper(built):
    _, out, warnings = built
    page = (out / "papers" / "a-broken-formula" / "index.html").read_text(encoding="utf-8")
    assert "$\\foo{x}$" in page and "<math" not in page.split("<main", 1)[1]
    mine = [w for w in warnings if "a-broken-formula" in w]
    assert any("unknown macro \\foo" in w for w in mine) and any("unbalanced '$'" in w for w in mine)
    assert not any("plain-text-only" in w for w in warnings)  # '$5 a month' is money, not math


def test_the_text_edition_has_no_dollar_left_in_nine_abstracts_of_ten(built, tmp_path):
    site, _, _ = built
    text = make_newsletter(site, tmp_path, "digest-2025-10-31").text(".txt")
    math_papers = [t for slug, (t, a) in PAPERS.items() if "$" in a and slug not in ("a-broken-formula", "plain-text-only")]
    assert all(title.split("$")[-1].strip(" :") in text for title in math_papers)
    assert "O(n log n)" in text and "α = 0.5" in text and "π₀: Flow Policies" in text
    clean = sum("$" not in a for a in (to_plain(a) for slug, (_, a) in PAPERS.items() if slug != "a-broken-formula"))
    assert clean / (len(PAPERS) - 1) >= 0.75  # the one with money keeps its '$5'


def to_plain(abstract: str) -> str:
    from digestgen.mathtext import to_text

    return to_text(abstract)


def test_formulas_render_in_chromium_under_the_csp(built, browser, serve_static):
    _, out, _ = built
    server = serve_static(out, "/")
    context = browser.new_context()
    page = context.new_page()
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None)
    page.goto(server.url + "papers/sparse-attention-in-n-log-n/")
    boxes = page.eval_on_selector_all("main math", "els => els.map(e => e.getBoundingClientRect().width)")
    assert boxes and all(width > 0 for width in boxes)
    assert page.evaluate("document.querySelector('main math').namespaceURI") == "http://www.w3.org/1998/Math/MathML"
    assert violations == []
    context.close()


def test_math_pages_pass_the_nu_checker(built):
    _, out, _ = built
    pages = sorted(str(p) for p in out.rglob("*.html"))
    result = subprocess.run([*vnu_command(), "--errors-only", "--format", "text", *pages], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[:3000]
