"""`digestgen newsletter`: one digest (or one ISO week of digests) as an email edition.

Read → model → render → write: the site is loaded and tagged as for `build`, an Edition
(the papers of the chosen digests) is turned into plain view data, rendered with the
templates in templates/email/ (HTML with css-inline, plain text, Markdown), fitted to the
size budget, assembled into an .eml, and only then written (and sent with --send).

An edition is the digest's intro, the curator's picks with their notes, the top papers in the
digest's order (newsletter.top_papers, with abstracts), the other papers as titles, and a link to
the site; a week's edition gathers its picks first, then its most upvoted papers.

Size budget: Gmail clips an HTML part beyond about 102 KB, so the HTML part, measured as it is
sent (quoted-printable), must stay under newsletter.size_limit_kb (KiB). Full abstracts are tried
first, then teasers of newsletter.teaser_chars, then the edition is cut from the end (titles,
then top papers) with a link to the rest on the site; the intro and the picks always stay.
"""

from __future__ import annotations

import datetime as dt
import html
import os
import re
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import css_inline
import jinja2
from markdown_it import MarkdownIt

from digestgen import trends, urls
from digestgen.build import load_and_tag
from digestgen.config import Config, load_config
from digestgen.errors import DigestgenError
from digestgen.fileio import atomic_write_bytes
from digestgen.mail import (
    Envelope,
    build_message,
    check_envelope,
    html_size_as_sent,
    send_message,
    stamp_from_environment,
)
from digestgen.model import Digest, Paper, Site
from digestgen.theme import default_dir
from digestgen.urls import Urls
from digestgen.views import byline, human_date, long_date, markdown_renderer, snippet
from digestgen.words import plural

Warn = Callable[[str], None]

# What each service's template engine replaces in the footer with the reader's own link.
ESP_UNSUBSCRIBE = {
    "generic": "",
    "mailchimp": "*|UNSUB|*",
    "listmonk": "{{ UnsubscribeURL }}",
    "kit": "{{ unsubscribe_url }}",
    "buttondown": "{{ unsubscribe_url }}",
}
NO_UNSUBSCRIBE = "the edition has no unsubscribe link"
ADD_UNSUBSCRIBE = (
    "set newsletter.unsubscribe_url in digestgen.yaml (an https:// page or a mailto: address), "
    "or export for your mail service with --esp NAME, which fills in its own"
)
LOCAL_HOSTS = {"localhost", "127.0.0.1", "0.0.0.0", "::1", "[::1]"}
ZWJ = "\u200d"
# Openers and closers of Mailchimp (*|…|*), Go/Liquid/Django/Jinja ({{ }}, {% %}, {# #})
# and wiki-style ([[ ]]) tags; a zero-width joiner between the two characters makes them
# plain text to every engine, survives HTML re-serialisation and is invisible to readers.
_TEMPLATE_PAIR = re.compile(
    r"(?<=\{)(?=[{%#])|(?<=[}%#])(?=\})|(?<=\*)(?=\|)|(?<=\|)(?=\*)|(?<=\[)(?=\[)|(?<=\])(?=\])"
)
_MARKDOWN_INLINE = re.compile(r"([\\`*_\[\]<>|~&])")
_MARKDOWN_BLOCK_START = re.compile(r"^([#+=-])|^(\d+)([.)])")
# Characters that are legal in a URL but that a template engine or Markdown would act on.
_URL_SAFE = "/:?=&%#@!$'+,;~.-_"
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
TEXT_WIDTH = 72
LIST_NAME_CHARS = 32
PREHEADER_CHARS = 140


# --- user content made inert -------------------------------------------------------------


def neutralise(text: str) -> str:
    """Break every mail-service template tag in untrusted text so that it stays text."""
    return _TEMPLATE_PAIR.sub(ZWJ, text)


def markdown_text(text: str) -> str:
    """Plain text as Markdown that renders to exactly that text (no markup, no HTML)."""
    escaped = _MARKDOWN_INLINE.sub(r"\\\1", text)
    return _MARKDOWN_BLOCK_START.sub(
        lambda m: f"\\{m.group(1)}" if m.group(1) else f"{m.group(2)}\\{m.group(3)}", escaped
    )


def wrap_text(text: str, indent: str = "", first: str | None = None, width: int = TEXT_WIDTH) -> str:
    """Wrap at `width` columns without ever breaking a URL or other long word."""
    return textwrap.fill(
        text,
        width=width,
        initial_indent=indent if first is None else first,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


def safe_href(url: str) -> str:
    """An absolute http(s) URL with template and Markdown characters percent-encoded; '' if unusable."""
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        return ""
    return quote(url, safe=_URL_SAFE)


# --- configuration checks ----------------------------------------------------------------


def check_public_base_url(base_url: str, source: str) -> None:
    """The email's links must work in a reader's inbox: absolute and not the local preview."""
    hint = "set base_url in digestgen.yaml to the public address of the site, or pass --base-url https://…"
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DigestgenError(
            f"{source} {base_url!r} is not an absolute http(s) URL; the email needs absolute links: {hint}"
        )
    host = parts.hostname.lower()
    if host in LOCAL_HOSTS or host.endswith(".localhost") or host.startswith("127."):
        raise DigestgenError(f"{source} is the local preview address {base_url}, which readers cannot open: {hint}")


def list_id(config: Config) -> str:
    """List-Id (RFC 2919): newsletter.list_id, else derived from the title and the site's host."""
    configured = config.newsletter.list_id.strip().strip("<>")
    # A long derived label would no longer fit one header line, and the folding would encode it.
    name = re.sub(r"[^a-z0-9]+", "-", config.title.lower()).strip("-")
    name = name if len(name) <= LIST_NAME_CHARS else name[: LIST_NAME_CHARS + 1].rsplit("-", 1)[0].strip("-")
    label = configured or "{}.{}".format(name or "digest", urlsplit(config.base_url).hostname)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*\.[A-Za-z0-9._-]+", label):
        raise DigestgenError(f"newsletter.list_id must look like digest.example.org, not {configured!r}")
    phrase = config.title.replace("\\", "").replace('"', "")
    return f'"{phrase}" <{label}>'


def check_unsubscribe_url(url: str) -> None:
    if url and urlsplit(url).scheme not in ("https", "http", "mailto"):
        raise DigestgenError(f"newsletter.unsubscribe_url must be an https:// or mailto: address, not {url!r}")


# --- the model: which papers an edition holds --------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One paper of an edition, with the digest that listed it and the curator's note when picked."""

    paper: Paper
    digest: Digest
    note: str = ""  # Markdown


@dataclass(frozen=True)
class Edition:
    name: str  # file stem: digest-2025-10-31 or week-2025-W44
    label: str  # 'October 31, 2025' or 'week 44 of 2025'
    heading: str
    digests: tuple[Digest, ...]
    picks: tuple[Entry, ...]  # the curator's picks, first
    papers: tuple[Entry, ...]  # every other shown paper, in the edition's order (the top ones first)
    title: str | None = None  # the digest's own title, when its curator gave one

    @property
    def count(self) -> int:
        return len(self.picks) + len(self.papers)

    @property
    def intros(self) -> tuple[tuple[Digest, str], ...]:
        return tuple((d, d.intro) for d in self.digests if d.intro.strip())


def _entries(site: Site, digests: list[Digest], by_upvotes: bool) -> tuple[tuple[Entry, ...], tuple[Entry, ...]]:
    """Picks (in the curators' order) and the other papers, each paper once (on its first digest)."""
    picks: list[Entry] = []
    others: list[Entry] = []
    seen: set[str] = set()
    for digest in digests:
        shown = set(site.digest_order(digest))
        for pick in digest.picks:
            if pick.slug in shown and pick.slug not in seen:
                seen.add(pick.slug)
                picks.append(Entry(site.papers[pick.slug], digest, pick.note))
    for digest in digests:
        for slug in site.digest_order(digest):
            if slug not in seen:
                seen.add(slug)
                others.append(Entry(site.papers[slug], digest))
    if by_upvotes:  # a week: its most upvoted papers first, ties in the order the days listed them
        others.sort(key=lambda entry: -entry.paper.upvotes)
    return tuple(picks), tuple(others)


def _digest_edition(site: Site, digest: Digest) -> Edition:
    label = long_date(digest.date)
    picks, papers = _entries(site, [digest], by_upvotes=False)
    heading = digest.title or f"Digest of {label}"
    return Edition(f"digest-{digest.date.isoformat()}", label, heading, (digest,), picks, papers, digest.title)


def _parse_week(week: str) -> tuple[int, int]:
    match = _WEEK.match(week.strip())
    try:
        if not match:
            raise ValueError
        year, number = int(match.group(1)), int(match.group(2))
        dt.date.fromisocalendar(year, number, 1)
    except ValueError:
        raise DigestgenError(f"--week {week!r} is not an ISO week such as 2025-W44") from None
    return year, number


def _week_edition(site: Site, week: str) -> Edition:
    year, number = _parse_week(week)
    digests = [d for d in site.digests if tuple(d.date.isocalendar())[:2] == (year, number)]
    if not digests:
        raise DigestgenError(f"no digest in week {year}-W{number:02d}; {_available(site)}")
    picks, papers = _entries(site, digests, by_upvotes=True)
    monday, sunday = dt.date.fromisocalendar(year, number, 1), dt.date.fromisocalendar(year, number, 7)
    heading = f"Week {number}: {_day_range(monday, sunday)}"
    return Edition(f"week-{year}-W{number:02d}", f"week {number} of {year}", heading, tuple(digests), picks, papers)


def _day_range(first: dt.date, last: dt.date) -> str:
    """'October 27 – November 2, 2025', naming the first year only when it differs."""
    start = long_date(first) if first.year != last.year else long_date(first).rsplit(",", 1)[0]
    return f"{start} – {long_date(last)}"


def _available(site: Site) -> str:
    if not site.digests:
        return "this site has no digests yet (run digestgen ingest)"
    dates = [d.date.isoformat() for d in site.digests]
    shown = ", ".join(dates[-5:])
    return f"digests exist for {shown}" if len(dates) <= 5 else f"the latest digests are {shown}"


def check_not_empty(site: Site, edition: Edition) -> None:
    """An edition with no paper and no intro would be an empty email: say why there is nothing."""
    if edition.count or edition.intros:
        return
    listed = len({slug for digest in edition.digests for slug in digest.slugs})
    what = f"the digest of {edition.label}" if len(edition.digests) == 1 else edition.label[:1].upper() + edition.label[1:]
    why = f"its {plural(listed, 'paper')} are all hidden (hide:)" if listed else "it lists no papers"
    if listed == 1:
        why = "its one paper is hidden (hide:)"
    raise DigestgenError(f"{what} has nothing to send: {why}; show a paper or write an intro (intro:) to send one")


def select_edition(site: Site, date: dt.date | None, week: str | None) -> Edition:
    """The digest of --date, every digest of --week, or the latest digest."""
    if week is not None:
        return _week_edition(site, week)
    if date is not None:
        digest = next((d for d in site.digests if d.date == date), None)
        if digest is None:
            raise DigestgenError(f"no digest dated {date.isoformat()}; {_available(site)}")
        return _digest_edition(site, digest)
    if site.latest is None:
        raise DigestgenError(_available(site))
    return _digest_edition(site, site.latest)


# --- views: plain data for the templates ----------------------------------------------------


SUBJECT_FIELDS = ("site", "title", "date", "count", "top")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_DANGLING = re.compile(r"^[\s·|–—:,-]+|[\s·|–—:,-]+$")


def fill_template(template: str, values: dict[str, str], setting: str) -> str:
    """Replace {name} placeholders; an unknown one is a one-line error naming the choices."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        if name not in values:
            raise DigestgenError(
                f"newsletter.{setting}: unknown placeholder {{{name}}}; use " + ", ".join(f"{{{n}}}" for n in values)
            )
        return values[name]

    filled = " ".join(_PLACEHOLDER.sub(value, template).split())
    # An empty value ({top} of an edition with no papers) must not leave its separator behind.
    filled = re.sub(r"(?:\s*[·|–—:,-])+\s*(?=\s[·|–—:,-]\s)", "", filled)
    return _DANGLING.sub("", filled)


def _top_title(edition: Edition) -> str:
    first = edition.picks[0] if edition.picks else edition.papers[0] if edition.papers else None
    return first.paper.plain_title if first else ""


def subject_values(config: Config, edition: Edition) -> dict[str, str]:
    return {
        "site": config.title,
        "title": edition.title or edition.label[:1].upper() + edition.label[1:],
        "date": edition.label,
        "count": plural(edition.count, "paper"),
        "top": _top_title(edition),
    }


def markdown_plain(md: MarkdownIt, source: str) -> str:
    """A curator's Markdown as plain text: what a reader of the text part should see."""
    paragraphs = []
    for token in md.parse(source):
        if token.type != "inline" or not token.children:
            continue
        words, target, start = [], "", 0
        for child in token.children:
            if child.type in ("text", "code_inline"):
                words.append(child.content)
            elif child.type in ("softbreak", "hardbreak"):
                words.append(" ")
            elif child.type == "link_open":
                target, start = str(child.attrs.get("href", "")), len(words)
            elif child.type == "link_close" and target and "".join(words[start:]).strip() != target:
                words.append(f" ({target})")  # a text reader needs the address itself
        paragraphs.append(" ".join("".join(words).split()))
    return "\n\n".join(p for p in paragraphs if p)


def _note_view(md: MarkdownIt, note: str) -> dict[str, str]:
    """A note (Markdown) in the three forms: HTML (raw HTML off, safe links), text, Markdown."""
    if not note.strip():
        return {"html": "", "text": "", "markdown": ""}
    return {
        "html": neutralise(_absolute_links_only(md.render(note))),
        "text": neutralise(markdown_plain(md, note)),
        "markdown": neutralise(markdown_safe(md, note)),
    }


_HREF = re.compile(r'href="([^"]*)"')


def _absolute_links_only(rendered: str) -> str:
    """A relative link cannot work in an inbox: it is dropped, its text kept."""
    rendered = re.sub(r'<a href="(?!https?://|mailto:)[^"]*">(.*?)</a>', r"\1", rendered, flags=re.S)
    return _HREF.sub(lambda m: f'href="{inbox_href(html.unescape(m.group(1))) or "#"}"', rendered)


def inbox_href(url: str) -> str:
    """A link a curator wrote that works in an inbox: http(s) as safe_href, or a mailto: address."""
    if urlsplit(url).scheme.lower() == "mailto":
        return quote(url, safe=_URL_SAFE)
    return safe_href(url)


def _longest_backticks(code: str) -> int:
    return max((len(run) for run in re.findall("`+", code)), default=0)


def _code_span(code: str) -> str:
    """`code` between enough backticks that none inside can close it."""
    fence = "`" * (_longest_backticks(code) + 1)
    padded = f" {code} " if code.startswith("`") or code.endswith("`") or not code.strip() else code
    return f"{fence}{padded}{fence}"


def _inline_markdown(children: list[Any]) -> str:
    """Inline tokens back to Markdown: text escaped, emphasis and code kept, links only when inbox_href allows."""
    parts: list[list[str]] = [[]]  # one buffer per open link, the text around them first
    targets: list[str] = []
    for child in children:
        out = parts[-1]
        if child.type == "text":
            out.append(markdown_text(child.content))
        elif child.type == "code_inline":
            out.append(_code_span(child.content))
        elif child.type in ("softbreak", "hardbreak"):
            out.append("\n")
        elif child.type in ("em_open", "em_close", "strong_open", "strong_close"):
            out.append(child.markup)
        elif child.type == "image":
            out.append(markdown_text(child.content))  # its alt text: mail services strip remote images anyway
        elif child.type == "link_open":
            targets.append(inbox_href(str(child.attrs.get("href", ""))))
            parts.append([])
        elif child.type == "link_close" and targets:
            label, target = "".join(parts.pop()), targets.pop()
            parts[-1].append(f"[{label}]({target})" if target else label)
    return "".join(parts[0])


def _block_lines(text: str, prefix: str, marker: str = "") -> list[str]:
    """A block's lines under its containers' prefix; a list item's first line carries its marker."""
    lines = text.split("\n")
    first = prefix[: len(prefix) - len(marker)] + marker if marker else prefix
    return [first + lines[0]] + [prefix + line for line in lines[1:]]


def markdown_safe(md: MarkdownIt, source: str) -> str:
    """A curator's Markdown rewritten from its parse: the same text, emphasis, code, lists, quotes and
    headings, but no raw HTML and only links that work in an inbox, whatever renderer the service uses."""
    lines: list[str] = []
    prefixes: list[str] = []
    marker, heading, tight = "", "", False
    for token in md.parse(source):
        prefix = "".join(prefixes)
        opens = token.type in ("blockquote_open", "bullet_list_open", "ordered_list_open")
        if opens and lines and not marker and not (tight and prefixes):  # a blank line inside would loosen a tight list
            lines.append(prefix.rstrip())  # a blank line: the block does not continue the one before
        if token.type == "blockquote_open":
            prefixes.append("> ")
        elif token.type in ("blockquote_close", "list_item_close"):
            prefixes.pop()
        elif token.type == "list_item_open":
            marker = f"{token.info}{token.markup} " if token.info else f"{token.markup} "
            prefixes.append(" " * len(marker))
        elif token.type == "heading_open":
            heading = "#" * int(token.tag[1:]) + " "
        elif token.type == "hr":
            lines += [prefix.rstrip(), prefix + "---"]
        elif token.type in ("code_block", "fence"):
            fence = "`" * max(3, _longest_backticks(token.content) + 1)
            lines += ([prefix.rstrip()] if lines and not marker else []) + _block_lines(
                f"{fence}\n{token.content.rstrip(chr(10))}\n{fence}", prefix, marker
            )
            marker = ""
        elif token.type == "inline":
            if lines and not (token.hidden or marker) or heading:
                lines.append(prefix.rstrip())
            lines += _block_lines(heading + _inline_markdown(token.children or []), prefix, marker)
            marker, heading, tight = "", "", token.hidden
    return "\n".join(lines).strip("\n")


def paper_view(paper: Paper, number: int, links: Urls, teaser_chars: int | None, note: dict[str, str] | None = None) -> dict[str, Any]:
    abstract = paper.text if teaser_chars is None else snippet(paper.text, teaser_chars)
    code = paper.code_link
    meta = [human_date(paper.published)]
    if paper.upvotes:
        meta.append(plural(paper.upvotes, "upvote"))
    if byline(paper):
        meta.append(byline(paper))
    return {
        "number": number,
        "title": neutralise(paper.plain_title),
        "url": safe_href(links.absolute(urls.paper(paper.slug))),
        "meta": neutralise(" · ".join(meta)),
        "abstract": neutralise(abstract),
        "code_url": safe_href(code.url) if code else "",
        "note": note or {"html": "", "text": "", "markdown": ""},
    }


def _title_view(paper: Paper, number: int, links: Urls) -> dict[str, Any]:
    return {"number": number, "title": neutralise(paper.plain_title), "url": safe_href(links.absolute(urls.paper(paper.slug)))}


def _preheader(config: Config, edition: Edition, md: MarkdownIt, values: dict[str, str]) -> str:
    if config.newsletter.preheader.strip():
        return neutralise(snippet(fill_template(config.newsletter.preheader, values, "preheader"), PREHEADER_CHARS))
    intro = " ".join(markdown_plain(md, text) for _digest, text in edition.intros)
    if intro.strip():
        return neutralise(snippet(" ".join(intro.split()), PREHEADER_CHARS))
    titles = " · ".join(entry.paper.plain_title for entry in (edition.picks + edition.papers)[:6])
    return neutralise(snippet(f"{plural(edition.count, 'paper')}: {titles}", PREHEADER_CHARS))


def _groups(site: Site, entries: list[dict[str, Any]], papers: list[Paper], group_by: str) -> list[dict[str, Any]]:
    """The top papers as one group, or under the most specific tag of each (the rarest on the site)."""
    if group_by != "tag":
        return [{"label": "", "papers": entries}] if entries else []
    sizes = {tag.slug: len(tag.papers) for tag in site.tags}
    grouped: dict[str, list[dict[str, Any]]] = {}
    for entry, paper in zip(entries, papers, strict=True):
        tag = min(paper.tags, key=lambda t: (sizes.get(t, 0), t)) if paper.tags else ""
        grouped.setdefault(tag, []).append(entry)
    named = sorted((t for t in grouped if t), key=lambda t: site.tag_label(t).casefold())
    groups = [{"label": neutralise(site.tag_label(t)), "papers": grouped[t]} for t in named]
    if "" in grouped:
        groups.append({"label": "Other papers", "papers": grouped[""]})
    return groups


def edition_view(
    site: Site, edition: Edition, links: Urls, esp: str, teaser_chars: int | None, keep: int,
    md: MarkdownIt | None = None, rising: str = "",
) -> dict[str, Any]:
    """Everything the templates show: the intro, the picks with notes, then the first `keep` other
    papers (the top ones with teasers, the rest as titles), then a link to the site."""
    config = site.config
    md = md or markdown_renderer()
    settings = config.newsletter
    values = subject_values(config, edition)
    kept = edition.papers[:keep]
    top_count = min(settings.top_papers, len(kept))
    number = len(edition.picks)
    picks = [paper_view(e.paper, i + 1, links, teaser_chars, _note_view(md, e.note)) for i, e in enumerate(edition.picks)]
    top = [paper_view(e.paper, number + i + 1, links, teaser_chars) for i, e in enumerate(kept[:top_count])]
    rest = [_title_view(e.paper, number + top_count + i + 1, links) for i, e in enumerate(kept[top_count:])]
    single = len(edition.digests) == 1
    web_url = safe_href(links.absolute(urls.digest(edition.digests[0].date))) if single else safe_href(links.absolute(urls.archive()))
    total, shown = edition.count, len(edition.picks) + len(kept)
    lead = plural(total, "paper")
    if edition.picks:
        lead += f"; {plural(len(edition.picks), 'pick')} first"
    lead += "."
    if shown < total:
        lead += f" This email lists {shown}; the other {total - shown} are on the site."
    return {
        "language": config.language,
        "subject": neutralise(fill_template(settings.subject, values, "subject")),
        "site_title": neutralise(config.title),
        "site_description": neutralise(config.description),
        "site_url": safe_href(links.absolute(urls.home())),
        "heading": neutralise(edition.heading),
        "lead": lead,
        "preheader": _preheader(config, edition, md, values),
        "intros": [
            {"label": long_date(digest.date) if not single else "", **_note_view(md, text)} for digest, text in edition.intros
        ],
        "picks": picks,
        "groups": _groups(site, top, [e.paper for e in kept[:top_count]], settings.group_by),
        "rest": rest,
        "more": total - shown,
        "rising": neutralise(rising),
        "web_url": web_url,
        "shown": shown,
        "total": total,
        "shortened": teaser_chars is not None,
        "unsubscribe_url": ESP_UNSUBSCRIBE[esp] or settings.unsubscribe_url,
    }


# --- rendering ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Parts:
    html: str  # standalone document, CSS inlined; also the .eml's HTML part
    fragment: str  # the body only, for services that wrap their own template
    text: str
    markdown: str


def make_email_environment(site_dir: Path) -> jinja2.Environment:
    """Site templates/email/ win over the default theme's; HTML autoescaped, text and Markdown not."""
    loader = jinja2.ChoiceLoader(
        [jinja2.FileSystemLoader(str(site_dir / "templates")), jinja2.FileSystemLoader(str(default_dir("templates")))]
    )
    env = jinja2.Environment(
        loader=loader,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["wrap"] = wrap_text
    env.filters["md"] = markdown_text
    return env


def _charset_first(html: str) -> str:
    """Move the charset back to the top: css-inline puts the kept media queries first in <head>,
    and browsers look for the charset in the first 1024 bytes."""
    meta = '<meta charset="utf-8">'
    if meta not in html or "<head>" not in html:
        return html
    return html.replace(meta, "", 1).replace("<head>", "<head>" + meta, 1)


class EmailRenderer:
    """Renders a view into the four text forms of an edition."""

    def __init__(self, env: jinja2.Environment):
        self.env = env
        self.css = self._source("email/email.css")
        # Rules are copied into style attributes; @media rules stay in <style> for clients that use them.
        self.inliner = css_inline.CSSInliner(keep_at_rules=True, minify_css=True, load_remote_stylesheets=False)
        self.fragment_inliner = css_inline.CSSInliner(minify_css=True, load_remote_stylesheets=False)

    def _source(self, name: str) -> str:
        try:
            return self.env.loader.get_source(self.env, name)[0]  # type: ignore[union-attr]
        except jinja2.TemplateNotFound:
            raise DigestgenError(f"the email template {name} is missing") from None

    def _render(self, name: str, view: dict[str, Any]) -> str:
        try:
            return self.env.get_template(name).render(edition=view, css=self.css)
        except jinja2.TemplateSyntaxError as exc:
            raise DigestgenError(
                f"template syntax error: {exc.message}", path=exc.filename or exc.name, line=exc.lineno
            ) from None
        except jinja2.TemplateNotFound as exc:
            raise DigestgenError(f"the email template {exc.name} is missing") from None
        except jinja2.UndefinedError as exc:
            raise DigestgenError(f"template {name} uses an undefined value: {exc.message}") from None

    def render(self, view: dict[str, Any]) -> Parts:
        return Parts(
            html=_charset_first(self.inliner.inline(self._render("email/edition.html", view))).rstrip("\n") + "\n",
            fragment=self.fragment_inliner.inline_fragment(self._render("email/body.html", view), self.css).strip()
            + "\n",
            text=self._render("email/edition.txt", view),
            markdown=self._render("email/edition.md", view),
        )


@dataclass(frozen=True)
class Fitted:
    view: dict[str, Any]
    parts: Parts
    limit: int  # bytes
    size: int  # the HTML part as sent, in bytes


Render = Callable[[int | None, int], tuple[dict[str, Any], Parts]]


def fit_to_budget(render: Render, total: int, teaser_chars: int, limit: int, size: Callable[[Parts], int]) -> Fitted:
    """Full abstracts if they fit, else teasers, else the most papers that fit, trimmed from the end
    (the list of titles first, then the top papers); the intro and the picks always stay."""
    for teasers in (None, teaser_chars):
        view, parts = render(teasers, total)
        if size(parts) <= limit:
            return Fitted(view, parts, limit, size(parts))
    best: Fitted | None = None
    low, high = 0, total - 1
    while low <= high:  # size grows with every paper kept, so the largest fitting count is found by bisection
        keep = (low + high) // 2
        view, parts = render(teaser_chars, keep)
        if size(parts) <= limit:
            best, low = Fitted(view, parts, limit, size(parts)), keep + 1
        else:
            high = keep - 1
    if best is None:
        raise DigestgenError(
            f"the email does not fit newsletter.size_limit_kb ({limit // 1024} KB) even with only its intro and "
            f"picks ({size(parts) / 1024:.1f} KB as sent); raise the limit or shorten newsletter.teaser_chars"
        )
    return best


# --- the command ----------------------------------------------------------------------------


def _kb(size: int) -> str:
    return f"{size / 1024:.1f} KB"


def _out_dir(site_dir: Path, out: Path | None) -> Path:
    folder = out if out is not None else site_dir / "_newsletter"
    if folder.exists() and not folder.is_dir():
        raise DigestgenError("the output folder is a file", path=folder)
    return folder


def _budget_line(fitted: Fitted, name: str) -> str:
    view = fitted.view
    detail = "full abstracts" if not view["shortened"] else "abstracts shortened to teasers"
    if view["shown"] < view["total"]:
        detail += f", {view['shown']} of {plural(view['total'], 'paper')} with a link to the rest"
    else:
        detail += {0: ", its intro and no papers", 1: ", its one paper"}.get(view["total"], f", all {view['total']} papers")
    return f"{name}: HTML part {_kb(fitted.size)} as sent, of the {_kb(fitted.limit)} budget ({detail})"


def _checked_settings(site: Path, esp: str, base_url: str | None, send: bool, warn: Warn) -> tuple[Config, Envelope]:
    """Every setting the edition needs, checked before any content is read."""
    if esp not in ESP_UNSUBSCRIBE:
        raise DigestgenError(f"--esp must be one of {', '.join(ESP_UNSUBSCRIBE)}, not {esp!r}")
    if send and esp != "generic":
        raise DigestgenError(
            f"--send delivers the email itself, so it needs --esp generic (the {esp} edition is for {esp})"
        )
    if base_url is not None:
        check_public_base_url(base_url, "--base-url")
    config, warnings = load_config(site, base_url)
    for message in warnings:
        warn(message)
    check_public_base_url(config.base_url, "base_url")
    settings = config.newsletter
    check_unsubscribe_url(settings.unsubscribe_url)
    if send and not settings.unsubscribe_url:
        raise DigestgenError(f"{NO_UNSUBSCRIBE}, so it is not sent: {ADD_UNSUBSCRIBE}")
    envelope = Envelope(settings.sender, settings.to, settings.reply_to, list_id(config), settings.unsubscribe_url)
    check_envelope(envelope)
    return config, envelope


def run_newsletter(
    site: Path,
    date: dt.date | None,
    week: str | None,
    out: Path | None,
    esp: str,
    base_url: str | None,
    send: bool,
    warn: Warn,
) -> Iterator[str]:
    """Render one edition, write its files only once all of them rendered, optionally send it; yield report lines."""
    config, envelope = _checked_settings(site, esp, base_url, send, warn)
    stamp = stamp_from_environment(os.environ)
    folder = _out_dir(site, out)

    model = load_and_tag(site, config, timings={})
    edition = select_edition(model, date, week)
    check_not_empty(model, edition)
    links = Urls(config.base_url)
    renderer = EmailRenderer(make_email_environment(site))

    md = markdown_renderer()
    rising = trends.rising_line(model, edition.digests[-1].date)

    def render(teaser_chars: int | None, keep: int) -> tuple[dict[str, Any], Parts]:
        view = edition_view(model, edition, links, esp, teaser_chars, keep, md, rising)
        return view, renderer.render(view)

    settings = config.newsletter
    limit = settings.size_limit_kb * 1024
    fitted = fit_to_budget(render, len(edition.papers), settings.teaser_chars, limit, lambda parts: html_size_as_sent(parts.html))
    parts = fitted.parts
    eml = build_message(
        subject=fitted.view["subject"],
        text=parts.text,
        html=parts.html,
        envelope=envelope,
        stamp=stamp,
        fallback_domain=urlsplit(config.base_url).hostname or "localhost",
    )
    files = {
        f"{edition.name}.eml": eml,
        f"{edition.name}.html": parts.html.encode("utf-8"),
        f"{edition.name}.fragment.html": parts.fragment.encode("utf-8"),
        f"{edition.name}.txt": parts.text.encode("utf-8"),
        f"{edition.name}.md": parts.markdown.encode("utf-8"),
    }
    for name, data in files.items():
        atomic_write_bytes(folder / name, data)
    for name, data in files.items():
        yield f"wrote {folder / name} ({_kb(len(data))})"
    yield _budget_line(fitted, edition.name)
    if not fitted.view["unsubscribe_url"]:
        warn(f"{NO_UNSUBSCRIBE}; before you send it, {ADD_UNSUBSCRIBE}")
    server = f"{settings.smtp.host}:{settings.smtp.port}"
    if not send:
        yield f"dry run: nothing sent (pass --send to deliver {edition.name}.eml to {settings.to} through {server})"
        return
    delivered = send_message(eml, envelope, settings.smtp)
    yield f"sent {edition.name}.eml to {', '.join(delivered)} through {server}"
