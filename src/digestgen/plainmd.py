"""Render paper bodies that are plain escaped text without running markdown-it.

Most bodies are `escape_markdown` of an abstract: paragraphs of prose in which every
character CommonMark could act on is backslash-escaped. For those, markdown-it's output is
`<p>…</p>` per paragraph with the escapes removed and the text HTML-escaped, which is
cheap to produce directly. Anything else, including hand-written Markdown, goes to
markdown-it. The fast path only accepts what it can be sure of: a decline costs time, a
wrong accept would be a wrong page.

The rule assumes markdown-it configured as `views.markdown_renderer()` configures it
(the CommonMark preset without plugins or replaced render rules); breaks, linkify and
typographer are checked, since they change the rendering of plain text.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml

from digestgen.frontmatter import unescape_markdown

# A line of plain escaped text. Refused unless backslash-escaped: every character an inline
# rule starts on (`\` escapes and hard breaks, `` ` `` code, `*` `_` emphasis, `[` `!` links
# and images, `<` autolinks and HTML, `&` entities) or a block starts with (`#` headings,
# `>` quotes, `~` fences), and `]` `|` `{` `}`, which escape_markdown escapes as well, so
# refusing them costs nothing. Only ASCII punctuation may follow a backslash: markdown-it
# keeps the backslash before anything else, and one that ends a line is a hard break. No
# control characters: markdown-it rewrites NUL and CR, and a tab is indentation.
_TEXT = r"[^\\`*_\[\]<>&!|~{}#\x00-\x1f\x7f-\x9f]*"
_ESCAPE = r"\\[!-/:-@\[-`{-~]"
# Text runs joined by escapes, i.e. (char | escape)* unrolled: several times faster in `re`.
_PLAIN_LINE = re.compile(f"{_TEXT}(?:{_ESCAPE}{_TEXT})*")

# A line start that could open a block or underline the line above: a bullet (`-`, `+`),
# a thematic break or setext underline (`-`, `=`), an ordered list marker (`1.`, `1)`).
_BLOCK_START = re.compile(r"[-+=]|\d+[.)]")

# Paragraphs are separated by one or more empty lines (a line of spaces is refused below).
_PARAGRAPH_BREAK = re.compile(r"\n\n+")


def render_body(md: MarkdownIt, body: str) -> str:
    """HTML of a paper body: a direct rendering when the body is plain escaped text, else markdown-it's."""
    paragraphs = plain_paragraphs(body) if _renders_plain_text_plainly(md) else None
    if paragraphs is None:
        return md.render(body)
    return "".join(f"<p>{_paragraph_html(paragraph)}</p>\n" for paragraph in paragraphs)


def plain_paragraphs(body: str) -> list[str] | None:
    """The paragraphs of `body` (still escaped, lines joined by newlines), or None when it is not plain text."""
    text = body.strip("\n")
    if not text:
        return []
    paragraphs = _PARAGRAPH_BREAK.split(text)
    if all(_is_plain_line(line) for paragraph in paragraphs for line in paragraph.split("\n")):
        return paragraphs
    return None


def _is_plain_line(line: str) -> bool:
    # Edge whitespace is indentation, a hard break or trimmed by markdown-it (with a
    # Unicode set of its own); Python's notion of whitespace covers that set.
    return line == line.strip() and not _BLOCK_START.match(line) and _PLAIN_LINE.fullmatch(line) is not None


def _paragraph_html(paragraph: str) -> str:
    # A newline inside a paragraph is a soft break, which markdown-it renders as a newline.
    return escapeHtml(unescape_markdown(paragraph))


def _renders_plain_text_plainly(md: MarkdownIt) -> bool:
    """False when an option makes markdown-it rewrite plain text (line breaks, links, typography)."""
    return not (md.options.get("breaks") or md.options.get("linkify") or md.options.get("typographer"))
