"""`digestgen newsletter`: one digest (or one ISO week of digests) as an email edition.

Read → model → render → write: the site is loaded and tagged as for `build`, an Edition
(the papers of the chosen digests) is turned into plain view data, rendered with the
templates in templates/email/ (HTML with css-inline, plain text, Markdown), fitted to the
size budget, assembled into an .eml, and only then written (and sent with --send).

Size budget: Gmail clips an HTML part beyond about 102 KB, so the HTML part must stay under
newsletter.size_limit_kb (KiB). Full abstracts are tried first, then teasers of
newsletter.teaser_chars, then only the first papers in listing order (the curator's order,
which the site's digest page also keeps) with a link to the rest on the site.
"""

from __future__ import annotations

import datetime as dt
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

from digestgen import trends, urls
from digestgen.build import load_and_tag
from digestgen.config import Config, load_config
from digestgen.errors import DigestgenError
from digestgen.fileio import atomic_write_bytes
from digestgen.mail import Envelope, build_message, check_envelope, send_message, stamp_from_environment
from digestgen.model import Digest, Paper, Site
from digestgen.theme import default_dir
from digestgen.urls import Urls
from digestgen.views import byline, human_date, long_date, snippet

Warn = Callable[[str], None]

# What each service's template engine replaces in the footer with the reader's own link.
ESP_UNSUBSCRIBE = {
    "generic": "",
    "mailchimp": "*|UNSUB|*",
    "listmonk": "{{ UnsubscribeURL }}",
    "kit": "{{ unsubscribe_url }}",
    "buttondown": "{{ unsubscribe_url }}",
}
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
    label = configured or "{}.{}".format(
        re.sub(r"[^a-z0-9]+", "-", config.title.lower()).strip("-") or "digest", urlsplit(config.base_url).hostname
    )
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*\.[A-Za-z0-9._-]+", label):
        raise DigestgenError(f"newsletter.list_id must look like digest.example.org, not {configured!r}")
    phrase = config.title.replace("\\", "").replace('"', "")
    return f'"{phrase}" <{label}>'


def check_unsubscribe_url(url: str) -> None:
    if url and urlsplit(url).scheme not in ("https", "http", "mailto"):
        raise DigestgenError(f"newsletter.unsubscribe_url must be an https:// or mailto: address, not {url!r}")


# --- the model: which papers an edition holds --------------------------------------------


@dataclass(frozen=True)
class Section:
    digest: Digest
    papers: tuple[Paper, ...]


@dataclass(frozen=True)
class Edition:
    name: str  # file stem: digest-2025-10-31 or week-2025-W44
    label: str  # 'October 31, 2025' or 'week 44 of 2025'
    heading: str
    sections: tuple[Section, ...]

    @property
    def count(self) -> int:
        return sum(len(section.papers) for section in self.sections)


def _digest_edition(site: Site, digest: Digest) -> Edition:
    label = long_date(digest.date)
    return Edition(
        f"digest-{digest.date.isoformat()}", label, f"Digest of {label}", (Section(digest, site.digest_papers(digest)),)
    )


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
    seen: set[str] = set()
    sections = []
    for digest in digests:
        # A paper listed on two days of the week is shown once, on the first.
        papers = tuple(p for p in site.digest_papers(digest) if p.slug not in seen)
        seen.update(p.slug for p in papers)
        if papers:
            sections.append(Section(digest, papers))
    monday, sunday = dt.date.fromisocalendar(year, number, 1), dt.date.fromisocalendar(year, number, 7)
    heading = f"Week {number}: {_day_range(monday, sunday)}"
    return Edition(f"week-{year}-W{number:02d}", f"week {number} of {year}", heading, tuple(sections))


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


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def paper_view(paper: Paper, number: int, links: Urls, teaser_chars: int | None) -> dict[str, Any]:
    abstract = paper.text if teaser_chars is None else snippet(paper.text, teaser_chars)
    code = paper.code_link
    meta = [human_date(paper.published)]
    if paper.upvotes:
        meta.append(_plural(paper.upvotes, "upvote"))
    if byline(paper):
        meta.append(byline(paper))
    return {
        "number": number,
        "title": neutralise(paper.title),
        "url": safe_href(links.absolute(urls.paper(paper.slug))),
        "meta": neutralise(" · ".join(meta)),
        "abstract": neutralise(abstract),
        "code_url": safe_href(code.url) if code else "",
    }


def _preheader(edition: Edition) -> str:
    titles = " · ".join(p.title for section in edition.sections for p in section.papers[:6])
    return neutralise(snippet(f"{_plural(edition.count, 'paper')}: {titles}", PREHEADER_CHARS))


def edition_view(
    site: Site, edition: Edition, links: Urls, esp: str, teaser_chars: int | None, keep: int
) -> dict[str, Any]:
    """Everything the three templates show; only the first `keep` papers are listed."""
    config = site.config
    sections, number = [], 0
    for section in edition.sections:
        room = max(0, keep - number)
        shown = section.papers[:room]
        digest_url = safe_href(links.absolute(urls.digest(section.digest.date)))
        sections.append(
            {
                "label": long_date(section.digest.date),
                "url": digest_url,
                "papers": [paper_view(p, number + i + 1, links, teaser_chars) for i, p in enumerate(shown)],
                "more": len(section.papers) - len(shown),
            }
        )
        number += len(shown)
    single = len(edition.sections) == 1
    web_url = sections[0]["url"] if single else safe_href(links.absolute(urls.archive()))
    total = edition.count
    lead = f"{_plural(total, 'paper')}, in the order of the listing."
    if number < total:
        lead += f" This email lists the first {number}; the other {total - number} are on the site."
    return {
        "language": config.language,
        "subject": neutralise(f"{config.title}: {_plural(total, 'paper')}, {edition.label}"),
        "site_title": neutralise(config.title),
        "site_description": neutralise(config.description),
        "site_url": safe_href(links.absolute(urls.home())),
        "heading": neutralise(edition.heading),
        "lead": lead,
        "rising": neutralise(trends.rising_line(site, edition.sections[-1].digest.date)) if edition.sections else "",  # issue 19
        "preheader": _preheader(edition),
        "web_url": web_url,
        "sectioned": not single,
        "sections": sections,
        "shown": number,
        "total": total,
        "shortened": teaser_chars is not None,
        "unsubscribe_url": ESP_UNSUBSCRIBE[esp] or config.newsletter.unsubscribe_url,
    }


# --- rendering ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Parts:
    html: str  # standalone document, CSS inlined; also the .eml's HTML part
    fragment: str  # the body only, for services that wrap their own template
    text: str
    markdown: str

    @property
    def html_size(self) -> int:
        return len(self.html.encode("utf-8"))


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


def fit_to_budget(
    render: Callable[[int | None, int], tuple[dict[str, Any], Parts]], total: int, teaser_chars: int, limit: int
) -> Fitted:
    """Full abstracts if they fit, else teasers, else the most leading papers that fit."""
    view, parts = render(None, total)
    if parts.html_size <= limit:
        return Fitted(view, parts, limit)
    view, parts = render(teaser_chars, total)
    if parts.html_size <= limit:
        return Fitted(view, parts, limit)
    best: Fitted | None = None
    low, high = 1, total - 1
    while low <= high:  # size grows with every paper kept, so the largest fitting count is found by bisection
        keep = (low + high) // 2
        view, parts = render(teaser_chars, keep)
        if parts.html_size <= limit:
            best, low = Fitted(view, parts, limit), keep + 1
        else:
            high = keep - 1
    if best is None:
        raise DigestgenError(
            f"the email does not fit newsletter.size_limit_kb ({limit // 1024} KB) even with a single paper "
            f"({parts.html_size / 1024:.1f} KB); raise the limit or shorten newsletter.teaser_chars"
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
        detail += f", first {view['shown']} of {view['total']} papers with a link to the rest"
    else:
        detail += f", all {view['total']} papers"
    return f"{name}: HTML part {_kb(fitted.parts.html_size)} of the {_kb(fitted.limit)} budget ({detail})"


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
    links = Urls(config.base_url)
    renderer = EmailRenderer(make_email_environment(site))

    def render(teaser_chars: int | None, keep: int) -> tuple[dict[str, Any], Parts]:
        view = edition_view(model, edition, links, esp, teaser_chars, keep)
        return view, renderer.render(view)

    settings = config.newsletter
    fitted = fit_to_budget(render, edition.count, settings.teaser_chars, settings.size_limit_kb * 1024)
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
    server = f"{settings.smtp.host}:{settings.smtp.port}"
    if not send:
        yield f"dry run: nothing sent (pass --send to deliver {edition.name}.eml to {settings.to} through {server})"
        return
    send_message(eml, envelope, settings.smtp)
    yield f"sent {edition.name}.eml to {', '.join(envelope.recipients)} through {server}"
