"""The plain-text fast path renders exactly what markdown-it renders, and fires on real paper bodies."""

from __future__ import annotations

import sys
import unicodedata
from pathlib import Path

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from digestgen.frontmatter import escape_markdown
from digestgen.load import paper_from_file
from digestgen.plainmd import plain_paragraphs, render_body
from digestgen.views import markdown_renderer

REPO = Path(__file__).resolve().parents[1]
SEED_PAPERS = REPO / "content" / "papers"
MD = markdown_renderer()

_PUNCTUATION = st.text(alphabet=st.sampled_from(list("ab &<>\"'*_`#-+=.!\\[](){}|~:;0123456789\n \t")))
# Whitespace and control characters that CommonMark, Python and markdown-it each define differently.
_ODD_SPACES = st.text(alphabet=st.sampled_from(list("ab1.-= \n\t\r\x00\x0b\x0c\x1c\x85\xa0\u1680\u2000\u200b\u2028\u2029\u202f\u3000\ufeff")))
# Whole Markdown constructs, so that entities, list markers, fences and breaks are generated often.
_PIECES = ["a", "b c", " ", "  ", "    ", "\t", "\n", "\n\n", "\\", "\\\n", "&amp;", "&#35;", "&copy", "&x;", "1.", "1)",
           "12345678901.", "-", "+", "*", "_", "=", "===", "---", "***", "```", "~~~", "#", ">", "<a>", "<http://x.y>",
           "<me@x.y>", "http://x.y", "[a]", "[a]: /u", "(b)", "![i](j)", "`c`", "**e**", "_e_", "\xa0", "\u3000", "é", "🧪"]
_CONSTRUCTS = st.lists(st.sampled_from(_PIECES), max_size=12).map("".join)
_ANY_TEXT = st.one_of(_PUNCTUATION, _ODD_SPACES, _CONSTRUCTS, st.text())

# Prose as an abstract is: words without spaces or control characters, single spaces, lines, paragraphs.
_WORD = st.text(st.characters(blacklist_categories=["Cc", "Cs", "Zs", "Zl", "Zp"]), min_size=1, max_size=8)
_LINE = st.lists(_WORD, min_size=1, max_size=8).map(" ".join)
_PARAGRAPH = st.lists(_LINE, min_size=1, max_size=3).map("\n".join)
_PROSE = st.lists(_PARAGRAPH, min_size=1, max_size=3).map("\n\n".join)


def assert_same_html(body: str) -> None:
    assert render_body(MD, body) == MD.render(body), repr(body)


def assert_same_html_noting_the_path(body: str) -> None:
    """assert_same_html, counting fast-path hits in hypothesis's statistics (--hypothesis-show-statistics)."""
    event("fast path" if plain_paragraphs(body) is not None else "markdown-it")
    assert_same_html(body)


@settings(max_examples=1500, deadline=None)
@given(_ANY_TEXT)
def test_escaped_text_renders_as_markdown_it_renders_it(text):
    assert_same_html_noting_the_path(escape_markdown(text))


@settings(max_examples=1500, deadline=None)
@given(_ANY_TEXT)
def test_raw_text_renders_as_markdown_it_renders_it(text):
    assert_same_html_noting_the_path(text)


@settings(max_examples=1000, deadline=None)
@given(_PROSE, st.sampled_from(["", "\n", "\n\n"]))
def test_escaped_prose_takes_the_fast_path(text, ending):
    body = escape_markdown(text) + ending
    assert plain_paragraphs(body) is not None, repr(body)
    assert_same_html(body)


def _boundary_code_points() -> list[str]:
    """Every code point below U+3100, and every space, control and format character."""
    odd = [chr(cp) for cp in range(0x3100, sys.maxunicode + 1) if unicodedata.category(chr(cp)) in {"Zs", "Zl", "Zp", "Cc", "Cf"}]
    return [chr(cp) for cp in range(0x3100) if not 0xD800 <= cp <= 0xDFFF] + odd


def test_every_boundary_character_renders_as_markdown_it_renders_it():
    for char in _boundary_code_points():
        for body in (char, f"a{char}", f"{char}a", f"a{char}b\n", f"a\n{char}\nb", f"a\n\n{char}", f"\\{char}", f"1{char} a"):
            assert_same_html(body)
            assert_same_html(escape_markdown(body))


def test_the_fast_path_fires_for_the_seed_papers():
    paths = sorted(SEED_PAPERS.glob("*.md"))
    assert paths, "no seed papers found"
    bodies = [paper_from_file(path, path.relative_to(REPO).as_posix()).body for path in paths]
    accepted = [body for body in bodies if plain_paragraphs(body) is not None]
    assert len(accepted) >= 0.95 * len(bodies)
    for body in bodies:
        assert_same_html(body)


def test_paragraphs_and_escapes_are_rendered_directly():
    body = "Fast \\& \\<safe\\> \"quoted\" 1\\. 50% a\\_b\nsecond line\n\n\n\\- third: x\\*y \\`z\\` \\\\ \\{\\}\n"
    assert plain_paragraphs(body) is not None
    assert render_body(MD, body) == (
        "<p>Fast &amp; &lt;safe&gt; &quot;quoted&quot; 1. 50% a_b\nsecond line</p>\n<p>- third: x*y `z` \\ {}</p>\n"
    )
    assert_same_html(body)
    assert render_body(MD, "") == MD.render("") == ""


@pytest.mark.parametrize("body", [
    "- a list\n- of items\n",
    "1. first\n2. second\n",
    "see [the code](https://example.com/code)\n",
    "some *emphasis* and __strong__\n",
    "AT&amp;T\n",
    "AT&T\n",
    "    indented code\n",
    "text\n    lazy continuation\n",
    "\ttabbed\n",
    "hard  \nbreak\n",
    "hard\\\nbreak\n",
    "Title\n===\n",
    "Title\n---\n",
    "<https://example.com>\n",
    "a < b\n",
    "`code`\n",
    "# Heading\n",
    "> quote\n",
    "a \\ b\n",
    " leading space\n",
    "\xa0nbsp at the start\n",
    "nbsp at the end\xa0\n",
    "carriage\rreturn\n",
])
def test_markdown_and_doubtful_text_fall_back_to_markdown_it(body):
    assert plain_paragraphs(body) is None
    assert_same_html(body)


@pytest.mark.parametrize("options", [{"breaks": True}, {"typographer": True}])
def test_options_that_change_plain_text_fall_back_to_markdown_it(options):
    md = MarkdownIt("commonmark", {"html": False, **options})
    if options.get("typographer"):
        md.enable(["replacements", "smartquotes"])
    body = "one (c) -- \"two\"\nthree www.example.com\n"
    assert plain_paragraphs(body) is not None  # so only the option check keeps it off the fast path
    assert render_body(md, body) == md.render(body) != MD.render(body)
