"""TeX in titles and abstracts: MathML Core for pages, readable Unicode for plain text, literal text
(and a problem to warn about) for anything malformed, and nothing a hostile formula can inject."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digestgen import mathtext
from digestgen.mathtext import MATHML, formula_text, html_with_math, parse_formula, split_math, to_html, to_text

CORPUS = [
    line for line in (Path(__file__).parent / "fixtures" / "math-formulas.txt").read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.startswith("#")
]


def test_the_corpus_is_large_enough():
    assert len(CORPUS) >= 300


@pytest.mark.parametrize("tex", CORPUS)
def test_every_formula_of_the_corpus_becomes_mathml_core_without_styles(tex):
    formula = parse_formula(tex)
    assert formula.tree is not None, formula.problem
    tree = ET.fromstring(to_html(f"${tex}$"))
    assert tree.tag == f"{{{MATHML}}}math" and tree.get("alttext") == tex
    for element in tree.iter():
        assert "style" not in element.attrib and "href" not in element.attrib and "mathcolor" not in element.attrib
        assert element.attrib.get("mathvariant", "normal") == "normal", tex
    text = formula_text(formula)
    assert text and "\\" not in text, (tex, text)


@pytest.mark.parametrize(
    "tex, text",
    [
        (r"\alpha", "α"),
        (r"x^2", "x²"),
        (r"\mathbb{R}^n", "ℝⁿ"),
        (r"O(n \log n)", "O(n log n)"),
        (r"\mathcal{L}", "ℒ"),
        (r"\boldsymbol{\theta}", "𝜽"),
        (r"\mathbf{x}", "𝐱"),
        (r"1.5 \times 10^{-3}", "1.5 × 10⁻³"),
        (r"\mu \pm \sigma", "μ ± σ"),
        (r"\pm 0.5", "±0.5"),
        (r"\frac{1}{2}", "1/2"),
        (r"\sqrt{d_k}", "√dₖ"),
        (r"x \sim p(x)", "x ∼ p(x)"),
        (r"\hat{y}", "ŷ"),
        (r"\operatorname{softmax}(QK^T)", "softmax(QKᵀ)"),
        (r"\text{if } x > 0", "if x > 0"),
        (r"\log_2 n", "log₂ n"),
        (r"\sum_{i=1}^{n} x_i", "∑ᵢ₌₁ⁿ xᵢ"),
    ],
)
def test_formulas_read_as_unicode(tex, text):
    assert formula_text(parse_formula(tex)) == text


def test_what_unicode_cannot_carry_keeps_its_tex_between_dollars():
    matrix = r"\begin{pmatrix}1&2\\3&4\end{pmatrix}"
    assert to_text(f"the matrix ${matrix}$ here") == f"the matrix ${matrix}$ here"


def test_a_whole_abstract_in_both_forms():
    abstract = r"We reach $O(n \log n)$ time with $\alpha=0.5$; see \url{https://example.org/code}~\cite{smith}."
    problems: list[str] = []
    assert to_text(abstract, problems) == "We reach O(n log n) time with α = 0.5; see https://example.org/code."
    rendered = to_html(abstract, problems)
    assert problems == []
    assert rendered.count("<math ") == 2 and 'alttext="\\alpha=0.5"' in rendered
    assert '<a href="https://example.org/code">https://example.org/code</a>' in rendered and "cite" not in rendered


def test_text_mode_commands_become_markup_or_text():
    text = r"\textbf{Bold}, \emph{emphasis}, \textit{italic}, \texttt{code}, \href{https://a.example/}{a link}, 50\% \& more"
    assert to_html(text) == (
        "<strong>Bold</strong>, <em>emphasis</em>, <em>italic</em>, <code>code</code>, "
        '<a href="https://a.example/">a link</a>, 50% &amp; more'
    )
    assert to_text(text) == "Bold, emphasis, italic, code, a link (https://a.example/), 50% & more"


@pytest.mark.parametrize(
    "hostile",
    [
        r"\href{javascript:alert(1)}{click}",
        r"$\href{javascript:alert(1)}{x}$",
        r"$\style{color:red}{x}$",
        r"$\color{red} x$",
        r"\href{data:text/html,<script>alert(1)</script>}{x}",
        "<script>alert(1)</script> $x<y$ & $\\text{<b>bold</b>}$",
        r"\url{javascript:alert(1)}",
    ],
)
def test_a_hostile_formula_injects_nothing(hostile):
    rendered = to_html(hostile)
    assert "javascript" not in " ".join(re.findall(r'href="([^"]*)"', rendered)).lower()  # as text it is inert
    assert "<script" not in rendered and "style=" not in rendered and "href=\"data:" not in rendered
    assert "mathcolor" not in rendered


@pytest.mark.parametrize(
    "text",
    ["$" * 10_000, "{" * 10_000, "$" + "{" * 5_000 + "x" + "}" * 5_000 + "$", "$x^" * 3_000 + "$", "\\textbf{" * 3_000],
)
def test_hostile_sizes_stay_literal_with_bounded_work(text, monkeypatch):
    # Bounded work is counted, not timed (timings belong in bench/): the converter is tried at most
    # MAX_FORMULAS times per text, and whatever it was not given, or refused, stays exactly as written.
    calls = []
    real = mathtext.latex_to_element
    monkeypatch.setattr(mathtext, "latex_to_element", lambda tex, **options: calls.append(tex) or real(tex, **options))
    problems: list[str] = []
    assert html.unescape(to_html(text, problems)) == text
    assert to_text(text, problems) == text
    assert len(calls) <= 2 * mathtext.MAX_FORMULAS
    assert all(len(tex) <= mathtext.MAX_FORMULA_CHARS for tex in calls)


def test_malformed_math_stays_literal_and_is_reported():
    problems: list[str] = []
    assert to_text(r"an unknown $\foo{x}$ macro", problems) == r"an unknown $\foo{x}$ macro"
    assert to_text(r"a broken $\frac{1}{$ fraction", problems) == r"a broken $\frac{1}{$ fraction"
    assert to_text("an unbalanced $x here", problems) == "an unbalanced $x here"
    assert len(problems) == 3 and "unknown macro \\foo" in problems[0] and "unbalanced" in problems[2]


def test_money_is_not_math_and_raises_no_warning():
    problems: list[str] = []
    assert to_text("It costs $5 and $10 per hour.", problems) == "It costs $5 and $10 per hour."
    assert split_math("It costs $5 and $10 per hour.")[0].kind == "text" and problems == []


def test_delimiters_of_every_kind():
    kinds = [(s.kind, s.text) for s in split_math(r"a $x$ b \(y\) c $$z$$ d \[w\] e \$ f")]
    assert kinds == [
        ("text", "a "), ("inline", "x"), ("text", " b "), ("inline", "y"), ("text", " c "), ("display", "z"),
        ("text", " d "), ("display", "w"), ("text", " e \\$ f"),
    ]
    assert to_text(r"costs \$5") == "costs $5"


def test_rendered_html_converts_text_but_not_links_or_code():
    rendered = '<p>We use $\\alpha$ &amp; $x&lt;y$ <a href="https://e.org/$a$">$b$</a> <code>$c$</code></p>'
    converted = html_with_math(rendered)
    assert converted.count("<math ") == 2 and "<a href=\"https://e.org/$a$\">$b$</a>" in converted
    assert "<code>$c$</code>" in converted and "&amp;" in converted
    assert html_with_math("<p>plain</p>") == "<p>plain</p>"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list("$\\{}^_()abc x12α") + ["\\frac", "\\alpha", "\\text", "\\href", "\\("]), max_size=40).map("".join))
def test_no_text_makes_the_converters_raise(text):
    to_text(text)
    ET.fromstring(f"<p>{to_html(text)}</p>")  # always well-formed markup
