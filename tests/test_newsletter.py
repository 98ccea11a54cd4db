"""`digestgen newsletter`: the .eml a mail client reads, the HTML a browser renders, the files a
mail service imports, and delivery through a real SMTP server on loopback."""

from __future__ import annotations

import email
import email.policy
import email.utils
import html
import html.parser
import os
import re
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from digestgen.cli import cli
from digestgen.errors import DigestgenError
from digestgen.mail import html_size_as_sent
from digestgen.newsletter import ESP_UNSUBSCRIBE, ZWJ, markdown_text, neutralise, run_newsletter

BASE = "https://example.org/repo/"
EPOCH = "1761955200"  # 2025-11-01 00:00:00 UTC
SEED_NAME = "digest-2025-10-31"
SUFFIXES = (".eml", ".html", ".fragment.html", ".txt", ".md")
# The tag openers and closers of Mailchimp, listmonk (Go), Kit (Liquid), Buttondown (Django) and wikis.
ESP_TAG = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}|\*\||\|\*|\[\[|\]\]")
FORBIDDEN_TAGS = {"script", "iframe", "form", "svg", "object", "embed", "input", "button", "img", "video", "audio"}
HOSTILE_TITLE = "<script>alert(1)</script> & {{ x }} *|MERGE|* {% if %} [[wiki]] Title"
HOSTILE_ABSTRACT = (
    "Abstract with <script>alert(1)</script> & {{ x }} *|MERGE|* and {% raw %} [[ y ]] {# c #} "
    "and <b>bold</b> &amp; more. Code at github.com/foo/bar for all."
)


# --- helpers ---------------------------------------------------------------------------------


@dataclass
class Bundle:
    out: Path
    name: str
    lines: list[str]

    def path(self, suffix: str) -> Path:
        return self.out / f"{self.name}{suffix}"

    def text(self, suffix: str) -> str:
        return self.path(suffix).read_text(encoding="utf-8")

    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.path(".eml").read_bytes(), policy=email.policy.default)


def make_newsletter(site: Path, out: Path, name: str, epoch: str | None = EPOCH, **options) -> Bundle:
    """Run the command in-process with SOURCE_DATE_EPOCH set (or unset)."""
    arguments = {"date": None, "week": None, "out": out, "esp": "generic", "base_url": None, "send": False}
    arguments.update({"warn": lambda message: None, **options})
    with pytest.MonkeyPatch.context() as patch:
        if epoch is None:
            patch.delenv("SOURCE_DATE_EPOCH", raising=False)
        else:
            patch.setenv("SOURCE_DATE_EPOCH", epoch)
        lines = list(run_newsletter(site, **arguments))
    return Bundle(out, name, lines)


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    environment.update(env or {})
    command = [sys.executable, "-m", "digestgen", *args]
    return subprocess.run(command, check=False, capture_output=True, text=True, env=environment, timeout=120)


def listing(papers: list[tuple[str, str, str]]) -> str:
    """A Daily Papers listing: (title, abstract, date line) per paper."""
    blocks = [f"{title}\n\n{abstract}\n\n  \u2022 3 authors\n\u00b7\n{date}\n" for title, abstract, date in papers]
    return "Daily Papers\n\nOct 31\n\n" + "\n".join(blocks)


def set_config(site: Path, **changes) -> None:
    path = site / "digestgen.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    newsletter = changes.pop("newsletter", {})
    config.update(changes)
    config["newsletter"] = {**config.get("newsletter", {}), **newsletter}
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


def variant(site: Path, folder: Path, **config) -> Path:
    """Another site with the same content/ and a changed digestgen.yaml."""
    copy = folder / "site"
    copy.mkdir(parents=True)
    (copy / "content").symlink_to(site / "content")
    (copy / "digestgen.yaml").write_bytes((site / "digestgen.yaml").read_bytes())
    set_config(copy, **config)
    return copy


def new_site(root: Path, listings: dict[str, str], **config) -> Path:
    """`digestgen init`, then one `digestgen ingest --date` per listing."""
    runner = CliRunner()
    site = root / "site"
    assert runner.invoke(cli, ["init", str(site)]).exit_code == 0
    for date, text in listings.items():
        source = root / f"listing-{date}.txt"
        source.write_text(text, encoding="utf-8")
        result = runner.invoke(cli, ["ingest", str(source), "--date", date, "--site", str(site)])
        assert result.exit_code == 0, result.output
    set_config(site, base_url=config.pop("base_url", "https://example.org/"), **config)
    return site


class Elements(html.parser.HTMLParser):
    """Every start tag with its attributes, and the text of <style> elements."""

    def __init__(self, document: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.styles: list[str] = []
        self._in_style = False
        self.feed(document)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {name: value or "" for name, value in attrs}))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)

    def urls(self) -> list[str]:
        return [
            attrs[name]
            for _tag, attrs in self.tags
            for name in ("href", "src", "background", "action")
            if name in attrs
        ]


def outside_media_queries(css: str) -> str:
    """The CSS left after removing every @media block (matched by braces)."""
    rest, depth, index = [], 0, 0
    while index < len(css):
        if depth == 0 and css.startswith("@media", index):
            depth, index = -1, css.index("{", index)
        char = css[index]
        if depth == 0:
            rest.append(char)
        elif char == "{":
            depth = 1 if depth == -1 else depth + 1
        elif char == "}":
            depth -= 1
        index += 1
    return "".join(rest)


def strip_zwj(text: str) -> str:
    return text.replace(ZWJ, "")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed_edition(seed_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    """The 95-paper seed digest as an edition for https://example.org/repo/ with the default budget."""
    return make_newsletter(seed_site, tmp_path_factory.mktemp("seed-newsletter"), SEED_NAME, base_url=BASE)


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    papers = [
        (HOSTILE_TITLE, HOSTILE_ABSTRACT, "Oct 16 2"),
        ("A Second Plain Paper", "Nothing special here.", "Mar 29, 2022"),
    ]
    return new_site(tmp_path_factory.mktemp("hostile"), {"2025-10-29": listing(papers)})


@pytest.fixture(scope="module")
def week_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Digests on Monday and Wednesday of 2025-W44 (one paper on both days) and Monday of W45."""
    shared = ("Shared Paper On Two Days", "Listed on Monday and again on Wednesday.", "Oct 1")
    return new_site(
        tmp_path_factory.mktemp("week"),
        {
            "2025-10-27": listing([("Monday Paper Alpha", "First of the week.", "Oct 2"), shared]),
            "2025-10-29": listing([shared, ("Wednesday Paper Beta", "Middle of the week.", "Oct 3")]),
            "2025-11-03": listing([("Next Week Paper Gamma", "Belongs to week 45.", "Oct 4")]),
        },
    )


# --- the .eml ---------------------------------------------------------------------------------


def test_eml_is_multipart_alternative_with_text_then_html(seed_edition: Bundle) -> None:
    message = seed_edition.message()
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    # The parts are the standalone files (the .eml travels with CRLF line ends).
    assert parts[0].get_content().replace("\r\n", "\n") == seed_edition.text(".txt")
    assert parts[1].get_content().replace("\r\n", "\n") == seed_edition.text(".html")


def test_eml_headers_come_from_the_configuration(seed_edition: Bundle) -> None:
    message = seed_edition.message()
    assert message["From"] == "Research digest <digest@example.org>"
    assert message["To"] == "readers@example.org"
    top = html.unescape(re.search(r'class="title-link"[^>]*>([^<]+)<', seed_edition.text(".html")).group(1))
    assert message["Subject"].startswith("October 31, 2025 · 95 papers · ")  # the date, the count, the top paper
    assert top and message["Subject"].endswith(top)
    assert email.utils.parsedate_to_datetime(message["Date"]).timestamp() == int(EPOCH)
    assert re.fullmatch(r"<[0-9a-f]{32}@example\.org>", message["Message-ID"])
    assert message["List-Id"].endswith("<pre-training-papers-digest.example.org>")
    # unsubscribe_url is not configured in the seed site
    assert message["List-Unsubscribe"] is None and message["List-Unsubscribe-Post"] is None


def test_eml_lines_end_in_crlf_and_stay_short(seed_edition: Bundle) -> None:
    raw = seed_edition.path(".eml").read_bytes()
    assert raw.count(b"\n") == raw.count(b"\r\n") > 100
    assert b"\r" not in raw.replace(b"\r\n", b"")
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    raw.decode("ascii")  # 8-bit text is transfer-encoded, headers are encoded words


# --- the HTML part ---------------------------------------------------------------------------


def test_every_link_is_absolute_and_nothing_active_is_present(seed_edition: Bundle) -> None:
    for suffix in (".html", ".fragment.html"):
        document = seed_edition.text(suffix)
        elements = Elements(document)
        assert elements.urls(), suffix
        assert all(url.startswith("https://") for url in elements.urls()), suffix
        assert not {tag for tag, _ in elements.tags} & FORBIDDEN_TAGS, suffix
        assert "data:" not in document and "javascript:" not in document.lower()
        assert not any(name.startswith("on") for _, attrs in elements.tags for name in attrs), suffix
    site_links = [u for u in Elements(seed_edition.text(".html")).urls() if not u.startswith("https://github.com/")]
    assert all(u.startswith(BASE) for u in site_links)


def test_html_is_built_for_mail_clients(seed_edition: Bundle) -> None:
    document = seed_edition.text(".html")
    elements = Elements(document)
    html_attrs = next(attrs for tag, attrs in elements.tags if tag == "html")
    assert html_attrs["lang"] == "en"
    assert all(attrs.get("role") == "presentation" for tag, attrs in elements.tags if tag == "table")
    assert any(tag == "meta" and attrs.get("name") == "color-scheme" for tag, attrs in elements.tags)
    assert document.index('<meta charset="utf-8">') < 1024
    # Styles are inlined; only media queries (dark mode, narrow screens) stay in <style>.
    css = "".join(elements.styles)
    assert "@media (prefers-color-scheme: dark)" in css
    assert outside_media_queries(css).strip() == ""
    cells = [attrs for tag, attrs in elements.tags if tag == "td" and "paper" in attrs.get("class", "").split()]
    assert cells and all("background-color" in a["style"] and re.search(r"(^|;)color:", a["style"]) for a in cells)
    # A hidden preheader made from the digest
    preheader = next(attrs for tag, attrs in elements.tags if "preheader" in attrs.get("class", ""))
    assert "display:none" in preheader["style"]
    assert re.search(r"display:none[^>]*>95 papers: [A-Z]", document)


def test_seed_digest_lists_top_papers_with_abstracts_then_the_rest_as_titles(seed_edition: Bundle) -> None:
    document = seed_edition.text(".html")
    assert html_size_as_sent(document) <= 96 * 1024
    with_abstract = re.findall(r'class="title-link" href="([^"]+)"', document)
    titles_only = re.findall(r'class="rest-link" href="([^"]+)"', document)
    assert len(with_abstract) == 10 and len(titles_only) == 85  # newsletter.top_papers, then every other paper
    assert "Top papers" in document and "Also in this edition" in document
    assert document.index("Top papers") < document.index("Also in this edition")
    report = "\n".join(seed_edition.lines)
    assert re.search(r"HTML part \d+\.\d KB as sent, of the 96\.0 KB budget \(full abstracts, all 95 papers\)", report)
    assert "dry run: nothing sent" in report
    # The top papers are the digest's own order: most upvoted first.
    metas = re.findall(r'class="meta"[^>]*>([^<]*)<', document)
    upvotes = [int(m.group(1)) if (m := re.search(r"(\d+) upvotes?", meta)) else 0 for meta in metas]
    assert upvotes[:10] == sorted(upvotes[:10], reverse=True) and upvotes[0] > 0


def test_a_smaller_budget_trims_from_the_end(seed_site: Path, seed_edition: Bundle, tmp_path: Path) -> None:
    site = variant(seed_site, tmp_path, newsletter={"size_limit_kb": 30})
    bundle = make_newsletter(site, tmp_path / "out", SEED_NAME, base_url=BASE)
    document = bundle.text(".html")
    assert html_size_as_sent(document) <= 30 * 1024
    listed = len(re.findall(r'class="(?:title|rest)-link"', document))
    assert 10 < listed < 95
    assert f"{95 - listed} more papers on the site" in document
    assert f"{95 - listed} more papers on the site:" in bundle.text(".txt")
    full = re.findall(r'class="title-link" href="([^"]+)"', seed_edition.text(".html"))
    assert re.findall(r'class="title-link" href="([^"]+)"', document) == full  # the top papers stay, the list is cut


def test_a_budget_nothing_fits_in_is_refused_and_nothing_is_written(seed_site: Path, tmp_path: Path) -> None:
    site = variant(seed_site, tmp_path, newsletter={"size_limit_kb": 2})
    with pytest.raises(DigestgenError, match="size_limit_kb"):
        make_newsletter(site, tmp_path / "out", SEED_NAME, base_url=BASE)
    assert not (tmp_path / "out").exists()


def test_a_small_digest_keeps_full_abstracts(hostile_site: Path, tmp_path: Path) -> None:
    bundle = make_newsletter(hostile_site, tmp_path, "digest-2025-10-29")
    assert "Nothing special here." in bundle.text(".html")
    assert "more papers on the site" not in bundle.text(".html")
    assert "full abstracts, all 2 papers" in "\n".join(bundle.lines)


def test_fragment_is_the_body_only_with_styles_inlined(seed_edition: Bundle) -> None:
    fragment = seed_edition.text(".fragment.html")
    assert not re.search(r"<(html|head|body|style|meta|title)\b", fragment)
    assert fragment.lstrip().startswith('<div class="preheader"')
    assert 'class="paper" style="' in fragment
    assert Elements(fragment).urls() == Elements(seed_edition.text(".html")).urls()


# --- the plain-text part and the Markdown -----------------------------------------------------


def test_text_part_lists_every_title_and_link_with_unbroken_urls(seed_edition: Bundle) -> None:
    text = seed_edition.text(".txt")
    document = seed_edition.text(".html")
    titles = [html.unescape(t) for t in re.findall(r'class="title-link"[^>]*>([^<]+)</a>', document)]
    links = re.findall(r'<a class="title-link" href="([^"]+)"', document)
    flowing = " ".join(text.split())
    assert titles and all(" ".join(t.split()) in flowing for t in titles)
    lines = text.splitlines()
    assert all(any(line.strip() == url for line in lines) for url in links)
    for line in lines:
        words = line.split()
        # only a line that carries one long URL may pass the 72 columns
        assert len(line) <= 72 or (words and words[-1].startswith("https://") and len(words) <= 2), line
    assert "<" not in text.replace("<script>", "")  # written for reading, not scraped from the HTML


def test_markdown_has_no_front_matter_and_links_every_paper(seed_edition: Bundle) -> None:
    markdown = seed_edition.text(".md")
    assert markdown.startswith("# Digest of October 31, 2025\n")
    rendered = MarkdownIt("commonmark").render(markdown)
    titles = re.findall(r'<a class="title-link" href="([^"]+)"', seed_edition.text(".html"))
    assert all(f'href="{url}"' in rendered for url in titles)


# --- hostile content and mail-service template syntax ----------------------------------------


def test_hostile_title_and_abstract_stay_inert_text(hostile_site: Path, tmp_path: Path) -> None:
    bundle = make_newsletter(hostile_site, tmp_path, "digest-2025-10-29")
    for suffix in (".html", ".fragment.html"):
        document = bundle.text(suffix)
        elements = Elements(document)
        assert "script" not in {tag for tag, _ in elements.tags} and "b" not in {tag for tag, _ in elements.tags}
        assert HOSTILE_TITLE in strip_zwj(html.unescape(document))
        assert "&amp;amp; more" in strip_zwj(document)  # '&amp;' in an abstract shows as typed
    text = strip_zwj(bundle.text(".txt"))
    assert "<script>alert(1)</script>" in text and "*|MERGE|*" in text
    rendered = MarkdownIt("commonmark").render(bundle.text(".md"))  # a renderer that allows raw HTML
    assert "<script" not in rendered and "<b>" not in rendered
    assert HOSTILE_TITLE in strip_zwj(html.unescape(rendered))
    assert HOSTILE_ABSTRACT in strip_zwj(html.unescape(re.sub(r"<[^>]+>", "", rendered)))
    for suffix in SUFFIXES[1:]:
        assert not ESP_TAG.search(bundle.text(suffix)), suffix
    message = bundle.message()
    for part in message.iter_parts():
        assert not ESP_TAG.search(part.get_content())
    assert not ESP_TAG.search(str(message["Subject"]))


def test_hostile_html_runs_no_script_in_a_browser(hostile_site: Path, tmp_path: Path, browser) -> None:
    bundle = make_newsletter(hostile_site, tmp_path, "digest-2025-10-29")
    page = browser.new_page()
    try:
        page.goto(bundle.path(".html").as_uri())
        assert page.evaluate("document.querySelectorAll('script, b').length") == 0
        title = page.locator(".title-link").first.text_content()
        assert strip_zwj(title) == HOSTILE_TITLE
    finally:
        page.close()


@pytest.mark.parametrize("esp", ["mailchimp", "listmonk", "kit", "buttondown"])
def test_esp_edition_has_only_that_services_unsubscribe_placeholder(
    hostile_site: Path, tmp_path: Path, esp: str
) -> None:
    bundle = make_newsletter(hostile_site, tmp_path, "digest-2025-10-29", esp=esp)
    placeholder = ESP_UNSUBSCRIBE[esp]
    for suffix in (".html", ".fragment.html", ".txt", ".md"):
        content = bundle.text(suffix)
        assert content.count(placeholder) == 1, suffix
        assert not ESP_TAG.search(content.replace(placeholder, "")), suffix
    footer_link = [u for u in Elements(bundle.text(".html")).urls() if not u.startswith("https://")]
    assert footer_link == [placeholder]


def test_list_unsubscribe_only_when_configured(hostile_site: Path, tmp_path: Path) -> None:
    plain = make_newsletter(hostile_site, tmp_path / "plain", "digest-2025-10-29").message()
    assert plain["List-Unsubscribe"] is None and "Unsubscribe" not in plain.get_body(("html",)).get_content()

    unsubscribe = "https://example.org/unsubscribe?list=papers"
    site = variant(
        hostile_site, tmp_path, newsletter={"unsubscribe_url": unsubscribe, "reply_to": "editor@example.org"}
    )
    bundle = make_newsletter(site, tmp_path / "with", "digest-2025-10-29")
    message = bundle.message()
    assert message["List-Unsubscribe"] == "<https://example.org/unsubscribe?list=papers>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Reply-To"] == "editor@example.org"
    assert "https://example.org/unsubscribe?list=papers" in Elements(bundle.text(".html")).urls()
    assert "Unsubscribe: https://example.org/unsubscribe?list=papers" in bundle.text(".txt")


def test_neutralise_breaks_every_service_tag() -> None:
    for hostile in ("{{ x }}", "{% if %}", "{# c #}", "*|MERGE|*", "[[ y ]]", "{{{x}}}", "{%- raw -%}", "*||*"):
        made_safe = neutralise(hostile)
        assert not ESP_TAG.search(made_safe) and strip_zwj(made_safe) == hostile


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cc", "Cs", "Co", "Cn")), min_size=1, max_size=60))
def test_markdown_text_renders_back_to_exactly_the_text(raw: str) -> None:
    text = " ".join(raw.split())
    if not text:
        return
    rendered = MarkdownIt("commonmark").render(markdown_text(text))
    assert rendered.startswith("<p>") and rendered.endswith("</p>\n"), rendered
    assert html.unescape(rendered[3:-5]) == text


# --- base_url, selection and errors through the real command line ------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        [],  # the seed config's base_url is the local preview address
        ["--base-url", "repo/"],
        ["--base-url", "http://localhost:8000/"],
        ["--base-url", "http://127.0.0.1:8000/"],
    ],
)
def test_refuses_a_base_url_readers_cannot_open(seed_site: Path, tmp_path: Path, extra: list[str]) -> None:
    result = run_cli("newsletter", "--site", str(seed_site), "--out", str(tmp_path / "out"), *extra)
    assert result.returncode != 0
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("digestgen: error:")
    assert "base_url" in result.stderr and "--base-url" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("config", ["base_url: papers/\n", "title: No base_url set\n"])
def test_relative_or_missing_base_url_in_the_config_is_one_line(
    hostile_site: Path, tmp_path: Path, config: str
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "content").symlink_to(hostile_site / "content")
    (site / "digestgen.yaml").write_text(config, encoding="utf-8")
    result = run_cli("newsletter", "--site", str(site))
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1 and "base_url" in result.stderr
    assert "Traceback" not in result.stderr and not (site / "_newsletter").exists()


def test_week_collects_the_digests_of_that_iso_week(week_site: Path, tmp_path: Path) -> None:
    bundle = make_newsletter(week_site, tmp_path, "week-2025-W44", week="2025-W44")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"week-2025-W44{s}" for s in SUFFIXES)
    text = bundle.text(".txt")
    for title in ("Monday Paper Alpha", "Shared Paper On Two Days", "Wednesday Paper Beta"):
        assert text.count(title) == 1, title  # a paper listed on two days appears once
    assert "Next Week Paper Gamma" not in text
    assert text.index("Monday Paper Alpha") < text.index("Wednesday Paper Beta")  # no upvotes: the days' order
    assert bundle.message()["Subject"].startswith("Week 44 of 2025 · 3 papers · Monday Paper Alpha")


def test_date_picks_one_digest_and_latest_is_the_default(week_site: Path, tmp_path: Path) -> None:
    import datetime as dt

    chosen = make_newsletter(week_site, tmp_path / "date", "digest-2025-10-27", date=dt.date(2025, 10, 27))
    assert "Monday Paper Alpha" in chosen.text(".txt") and "Wednesday Paper Beta" not in chosen.text(".txt")
    latest = make_newsletter(week_site, tmp_path / "latest", "digest-2025-11-03")
    assert "Next Week Paper Gamma" in latest.text(".txt")


@pytest.mark.parametrize(
    "selection, message",
    [
        (["--date", "2025-10-30"], "no digest dated 2025-10-30"),
        (["--week", "2025-W50"], "no digest in week 2025-W50"),
        (["--week", "2025-44"], "not an ISO week"),
        (["--week", "2025-W54"], "not an ISO week"),
    ],
)
def test_missing_digest_is_a_clear_error(week_site: Path, tmp_path: Path, selection: list[str], message: str) -> None:
    result = run_cli("newsletter", "--site", str(week_site), "--out", str(tmp_path / "out"), *selection)
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


# --- reproducible output ----------------------------------------------------------------------


def test_same_input_gives_the_same_bytes(seed_site: Path, seed_edition: Bundle, tmp_path: Path) -> None:
    again = tmp_path / "again"
    result = run_cli(
        "newsletter",
        "--site",
        str(seed_site),
        "--out",
        str(again),
        "--base-url",
        BASE,
        env={"SOURCE_DATE_EPOCH": EPOCH, "PYTHONHASHSEED": "12345", "TZ": "Asia/Kolkata", "LC_ALL": "C.UTF-8"},
    )
    assert result.returncode == 0, result.stderr
    for suffix in SUFFIXES:
        assert (again / f"{SEED_NAME}{suffix}").read_bytes() == seed_edition.path(suffix).read_bytes(), suffix


def test_without_source_date_epoch_only_date_and_message_id_change(hostile_site: Path, tmp_path: Path) -> None:
    fixed = make_newsletter(hostile_site, tmp_path / "fixed", "digest-2025-10-29")
    now = make_newsletter(hostile_site, tmp_path / "now", "digest-2025-10-29", epoch=None)
    for suffix in SUFFIXES[1:]:
        assert now.path(suffix).read_bytes() == fixed.path(suffix).read_bytes(), suffix
    a, b = fixed.message(), now.message()
    assert a["Date"] != b["Date"] and a["Message-ID"] != b["Message-ID"]
    assert abs(email.utils.parsedate_to_datetime(b["Date"]).timestamp() - __import__("time").time()) < 3600
    strip = re.compile(rb"^(Date|Message-ID): .*\r\n", re.MULTILINE)
    assert strip.sub(b"", fixed.path(".eml").read_bytes()) == strip.sub(b"", now.path(".eml").read_bytes())


# --- delivery over SMTP -----------------------------------------------------------------------


class Recorder:
    """An aiosmtpd handler that keeps every envelope it receives."""

    def __init__(self) -> None:
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted"


def with_smtp(hostile_site: Path, folder: Path, port: int, **smtp) -> Path:
    """The hostile site, sending to two readers through 127.0.0.1:port without TLS."""
    server = {"host": "127.0.0.1", "port": port, "security": "none", "user": "", **smtp}
    readers = "Readers <readers@example.org>, second@example.net"
    unsubscribe = "https://example.org/unsubscribe"
    return variant(hostile_site, folder, newsletter={"to": readers, "smtp": server, "unsubscribe_url": unsubscribe})


def test_send_delivers_the_eml_to_a_real_smtp_server(hostile_site: Path, tmp_path: Path) -> None:
    from aiosmtpd.controller import Controller

    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        site = with_smtp(hostile_site, tmp_path, port)
        bundle = make_newsletter(site, tmp_path / "out", "digest-2025-10-29", send=True)
    finally:
        controller.stop()
    assert "sent digest-2025-10-29.eml to readers@example.org, second@example.net" in bundle.lines[-1]
    (envelope,) = recorder.envelopes
    assert envelope.mail_from == "digest@example.org"
    assert envelope.rcpt_tos == ["readers@example.org", "second@example.net"]
    received = email.message_from_bytes(envelope.content, policy=email.policy.default)
    written = bundle.message()
    assert received["Subject"] == written["Subject"] and received["Message-ID"] == written["Message-ID"]
    assert [p.get_content_type() for p in received.iter_parts()] == ["text/plain", "text/html"]
    for got, expected in zip(received.iter_parts(), written.iter_parts()):
        assert got.get_content() == expected.get_content()


def test_send_failures_are_one_clear_line(hostile_site: Path, tmp_path: Path) -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    closed_port = free_port()  # nothing listens there any more
    site = with_smtp(hostile_site, tmp_path / "refused", closed_port)
    with pytest.raises(DigestgenError, match=f"nothing accepts connections at 127.0.0.1:{closed_port}"):
        make_newsletter(site, tmp_path / "refused-out", "digest-2025-10-29", send=True)

    port = free_port()
    controller = Controller(
        Recorder(),
        hostname="127.0.0.1",
        port=port,
        auth_require_tls=False,
        authenticator=lambda *args: AuthResult(success=False, handled=False),
    )
    controller.start()
    try:
        site = with_smtp(hostile_site, tmp_path / "auth", port, user="editor", password_env="NEWSLETTER_TEST_PASSWORD")
        with pytest.raises(DigestgenError, match="NEWSLETTER_TEST_PASSWORD"):
            make_newsletter(site, tmp_path / "auth-out-1", "digest-2025-10-29", send=True)
        os.environ["NEWSLETTER_TEST_PASSWORD"] = "wrong"
        try:
            with pytest.raises(DigestgenError, match="refused the login of 'editor'"):
                make_newsletter(site, tmp_path / "auth-out-2", "digest-2025-10-29", send=True)
        finally:
            del os.environ["NEWSLETTER_TEST_PASSWORD"]
    finally:
        controller.stop()


def test_send_refuses_a_service_edition(hostile_site: Path, tmp_path: Path) -> None:
    result = run_cli("newsletter", "--site", str(hostile_site), "--esp", "mailchimp", "--send", "--out", str(tmp_path))
    assert result.returncode == 1 and "--esp generic" in result.stderr and len(result.stderr.splitlines()) == 1


# --- in a real browser ------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.parametrize("width", [375, 600])
def test_email_fits_phone_and_desktop_widths(seed_edition: Bundle, browser, width: int) -> None:
    page = browser.new_page(viewport={"width": width, "height": 900})
    try:
        page.goto(seed_edition.path(".html").as_uri())
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert page.evaluate("document.querySelector('.container').getBoundingClientRect().width") <= 600
    finally:
        page.close()


def _luminance(css_color: str) -> float:
    red, green, blue = (int(v) / 255 for v in re.findall(r"\d+", css_color)[:3])
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_contrasts_with_its_background_in_light_and_dark(seed_edition: Bundle, browser, scheme: str) -> None:
    page = browser.new_page(viewport={"width": 600, "height": 900})
    try:
        page.emulate_media(color_scheme=scheme)
        page.goto(seed_edition.path(".html").as_uri())
        for selector in (".paper", ".masthead", ".footer", ".abstract", ".title-link", ".meta", ".more-link"):
            text, ground = page.evaluate(
                """(s) => { const e = document.querySelector(s); const st = getComputedStyle(e);
                   let b = e; while (getComputedStyle(b).backgroundColor === 'rgba(0, 0, 0, 0)') b = b.parentElement;
                   return [st.color, getComputedStyle(b).backgroundColor]; }""",
                selector,
            )
            assert abs(_luminance(text) - _luminance(ground)) > 0.4, (selector, text, ground)
        body = page.evaluate("getComputedStyle(document.querySelector('.paper')).backgroundColor")
        assert (_luminance(body) < 0.2) == (scheme == "dark")
    finally:
        page.close()
