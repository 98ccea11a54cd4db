"""The edition a curator sends: intro, picks with notes, top papers, the rest as titles; compliant
headers and unsubscribe by default; the budget measured as sent; SMTP refusals reported."""

from __future__ import annotations

import email
import email.header
import email.policy
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import assert_matches_golden

from digestgen.errors import DigestgenError
from digestgen.mail import html_size_as_sent
from tests.test_newsletter import BASE, SUFFIXES, Recorder, free_port, listing, make_newsletter, new_site, set_config

GOLDEN = Path(__file__).resolve().parent / "golden" / "newsletter"
NAME = "digest-2025-10-31"
PAPERS = [
    ("Sparse Attention for Long Documents", "We make attention sparse so long documents fit in memory.", "Oct 30, 2025 12"),
    ("A Benchmark of Table Reasoning", "Tables are hard for language models; we measure how hard.", "Oct 29, 2025 40"),
    ("Diffusion Models Draw Molecules", "A diffusion model proposes molecules that a chemist can make.", "Oct 28, 2025 3"),
    ("Robots Learn to Fold Laundry", "A robot learns folding from two hundred demonstrations.", "Oct 27, 2025 25"),
    ("An Embarrassing Duplicate Preprint", "This paper should not reach any reader.", "Oct 26, 2025 99"),
    ("Speech Recognition in Noisy Cafés", "Recognising speech over espresso machines and chatter.", "Oct 25, 2025 7"),
]
CURATION = {
    "title": "Attention, tables and robots",
    "intro": "Welcome back. This week is about **long context** and [a benchmark](https://example.org/bench).",
    "order": "upvotes",
    "picks": [
        {"paper": "robots-learn-to-fold-laundry", "note": "The demo video is worth *two minutes*."},
        "sparse-attention-for-long-documents",
        {"paper": "speech-recognition-in-noisy-cafes", "note": "Finally, a café benchmark."},
    ],
    "hide": ["an-embarrassing-duplicate-preprint"],
}


def curate(site: Path, date: str, **fields) -> None:
    record = site / "content" / "digests" / f"{date}.yaml"
    data = yaml.safe_load(record.read_text(encoding="utf-8"))
    data.update(fields)
    record.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


@pytest.fixture(scope="module")
def curated_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = new_site(tmp_path_factory.mktemp("curated"), {"2025-10-31": listing(PAPERS)}, base_url=BASE)
    curate(site, "2025-10-31", **CURATION)
    return site


@pytest.fixture(scope="module")
def curated(curated_site: Path, tmp_path_factory: pytest.TempPathFactory):
    return make_newsletter(curated_site, tmp_path_factory.mktemp("curated-out"), NAME)


def test_the_curated_edition_matches_the_golden_files(curated, regen_golden) -> None:
    # .eml and .html differ from the golden ones only through what they share with .fragment.html and .txt.
    produced, golden = {}, {}
    for suffix in (".txt", ".md", ".fragment.html"):
        name = f"{NAME}{suffix}"
        produced[name] = curated.text(suffix).encode("utf-8")
        if regen_golden:
            (GOLDEN / name).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / name).write_bytes(produced[name])
        golden[name] = (GOLDEN / name).read_bytes() if (GOLDEN / name).is_file() else b""
    assert_matches_golden(produced, golden)


def test_intro_then_picks_with_notes_then_top_papers_in_the_digests_order(curated) -> None:
    text = curated.text(".txt")
    intro, picks, top = text.index("Welcome back."), text.index("EDITOR'S PICKS"), text.index("TOP PAPERS")
    assert intro < picks < top
    order = [text.index(title) for title in ("Robots Learn", "Sparse Attention", "Speech Recognition")]
    assert order == sorted(order) and order[-1] < top  # the picks in the curator's order, before the rest
    rest = text[top:]
    assert rest.index("A Benchmark of Table") < rest.index("Diffusion Models")  # order: upvotes (40 before 3)
    assert "> The demo video is worth two minutes." in text  # the note as plain text
    document = curated.text(".html")
    assert "<strong>long context</strong>" in document and 'href="https://example.org/bench"' in document
    assert "<em>two minutes</em>" in document
    assert "Embarrassing Duplicate" not in text + document + curated.text(".md")  # hidden
    message = curated.message()
    assert message["Subject"] == "Attention, tables and robots · 5 papers · Robots Learn to Fold Laundry"


def test_the_preheader_is_the_intro_and_the_subject_a_template(curated_site: Path, tmp_path: Path) -> None:
    bundle = make_newsletter(curated_site, tmp_path / "a", NAME)
    assert re.search(r'class="preheader"[^>]*>Welcome back\. This week is about long context', bundle.text(".html"))
    set_config(curated_site, newsletter={"subject": "{site} — {date}: {top}"})
    try:
        again = make_newsletter(curated_site, tmp_path / "b", NAME)
        assert again.message()["Subject"] == "Research digest — October 31, 2025: Robots Learn to Fold Laundry"
        set_config(curated_site, newsletter={"subject": "{papers} today"})
        with pytest.raises(DigestgenError, match=r"newsletter.subject: unknown placeholder \{papers\}; use \{site\}"):
            make_newsletter(curated_site, tmp_path / "c", NAME)
    finally:
        set_config(curated_site, newsletter={"subject": "{title} · {count} · {top}"})


def test_a_300_paper_digest_fits_the_budget_with_intro_and_picks_intact(tmp_path: Path) -> None:
    words = "transformer attention robot molecule benchmark diffusion speech table graph vision".split()
    papers = [
        (f"Paper {i:03d} on {words[i % 10]} {words[(i * 7) % 10]}", " ".join(words * 30) + f" number {i}.", f"Oct 1, 2025 {i % 50}")
        for i in range(300)
    ]
    site = new_site(tmp_path, {"2025-10-31": listing(papers)}, base_url=BASE)
    picks = [{"paper": f"paper-{i:03d}-on-{words[i % 10]}-{words[(i * 7) % 10]}", "note": "Worth it. " * 40} for i in (5, 150, 299)]
    curate(site, "2025-10-31", intro="An intro " * 100, picks=picks)
    set_config(site, newsletter={"size_limit_kb": 60})
    bundle = make_newsletter(site, tmp_path / "out", NAME)
    document = bundle.text(".html")
    assert html_size_as_sent(document) <= 60 * 1024
    assert bundle.text(".txt").count("An intro") == 100 and document.count("Worth it.") == 120  # all kept
    listed = len(re.findall(r'class="(?:title|rest)-link"', document))
    assert 3 < listed < 300 and f"{300 - listed} more papers on the site" in document
    assert re.search(r"abstracts shortened to teasers, \d+ of 300 papers", "\n".join(bundle.lines))


def test_a_week_gathers_its_picks_first_then_its_most_upvoted(tmp_path: Path) -> None:
    monday = listing([("Monday Quiet Paper", "Little attention.", "Oct 20, 2025 1"), ("Monday Pick", "Chosen.", "Oct 20, 2025 2")])
    friday = listing([("Friday Popular Paper", "Much attention.", "Oct 24, 2025 90"), ("Friday Pick", "Chosen too.", "Oct 24, 2025 0")])
    site = new_site(tmp_path, {"2025-10-27": monday, "2025-10-31": friday}, base_url=BASE)
    curate(site, "2025-10-27", picks=["monday-pick"])
    curate(site, "2025-10-31", picks=["friday-pick"])
    text = make_newsletter(site, tmp_path / "out", "week-2025-W44", week="2025-W44").text(".txt")
    positions = [text.index(t) for t in ("Monday Pick", "Friday Pick", "Friday Popular Paper", "Monday Quiet Paper")]
    assert positions == sorted(positions)


def test_sections_by_tag_are_an_option(curated_site: Path, tmp_path: Path) -> None:
    set_config(curated_site, newsletter={"group_by": "tag"})
    try:
        text = make_newsletter(curated_site, tmp_path, NAME).text(".txt")
    finally:
        set_config(curated_site, newsletter={"group_by": "none"})
    assert "TOP PAPERS" not in text
    headings = re.findall(r"\n\n([A-Z][A-Z &,'-]+)\n=+\n", text)
    assert headings[0] == "EDITOR'S PICKS" and len(headings) >= 2


# --- compliance ----------------------------------------------------------------------------------


def test_sending_without_an_unsubscribe_link_is_refused_and_export_warns(curated_site: Path, tmp_path: Path) -> None:
    with pytest.raises(DigestgenError) as refused:
        make_newsletter(curated_site, tmp_path / "send", NAME, send=True)
    assert "no unsubscribe link, so it is not sent: set newsletter.unsubscribe_url" in str(refused.value)
    assert not (tmp_path / "send").exists()
    warnings: list[str] = []
    make_newsletter(curated_site, tmp_path / "export", NAME, warn=warnings.append)
    assert warnings == [
        "the edition has no unsubscribe link; before you send it, set newsletter.unsubscribe_url in digestgen.yaml "
        "(an https:// page or a mailto: address), or export for your mail service with --esp NAME, which fills in its own"
    ]
    quiet: list[str] = []
    make_newsletter(curated_site, tmp_path / "esp", NAME, esp="mailchimp", warn=quiet.append)
    assert quiet == []  # the service puts its own link in


def test_headers_are_encoded_correctly_for_a_non_ascii_title(curated_site: Path, tmp_path: Path) -> None:
    set_config(curated_site, title='Lecture «Σ» du "vendredi"', newsletter={"unsubscribe_url": "https://example.org/u?id=1"})
    try:
        bundle = make_newsletter(curated_site, tmp_path, NAME)
    finally:
        set_config(curated_site, title="Research digest", newsletter={"unsubscribe_url": ""})
    raw = bundle.path(".eml").read_bytes()
    raw.decode("ascii")
    header = re.search(rb"^List-Id: (.*?)\r\n(?! )", raw, re.M | re.S).group(1).decode()
    assert header.endswith(" <lecture-du-vendredi.example.org>")  # the label is never inside an encoded word
    phrase = header.rsplit(" <", 1)[0]
    decoded = "".join(part.decode(charset or "ascii") if isinstance(part, bytes) else part
                      for part, charset in email.header.decode_header(phrase))
    assert decoded == "Lecture «Σ» du vendredi"
    message = bundle.message()
    assert message["List-Unsubscribe"] == "<https://example.org/u?id=1>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "Attention, tables and robots" in message["Subject"]


def test_the_budget_counts_the_html_part_as_it_is_sent(curated) -> None:
    message = email.message_from_bytes(curated.path(".eml").read_bytes(), policy=email.policy.SMTP)
    html_part = next(p for p in message.walk() if p.get_content_type() == "text/html")
    assert html_part["Content-Transfer-Encoding"] == "quoted-printable"
    wire = html_part.get_payload(decode=False).replace("\r\n", "\n").replace("\n", "\r\n").encode("ascii")
    assert html_size_as_sent(curated.text(".html")) == len(wire) > len(curated.path(".html").read_bytes())
    report = "\n".join(curated.lines)
    assert f"HTML part {len(wire) / 1024:.1f} KB as sent" in report


@pytest.mark.skipif(shutil.which("spamassassin") is None and not os.environ.get("CI"), reason="SpamAssassin is not installed (scripts/test installs it)")
def test_spamassassins_stock_rules_score_the_seed_edition_at_most_zero(seed_site: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    shutil.copytree(seed_site, site, symlinks=True)
    set_config(site, newsletter={"unsubscribe_url": "https://example.org/unsubscribe"})
    bundle = make_newsletter(site, tmp_path / "out", "digest-2025-10-31", base_url=BASE)
    home = tmp_path / "home"
    home.mkdir()
    done = subprocess.run(
        ["spamassassin", "-L", "-t"], input=bundle.path(".eml").read_bytes(), capture_output=True, timeout=120,
        env={**os.environ, "HOME": str(home)},
    )
    report = done.stdout.decode("utf-8", "replace")
    score = float(re.search(r"Content analysis details:\s+\((-?[\d.]+) points", report).group(1))
    assert score <= 0.0, report[report.index("Content analysis details"):]


# --- SMTP refusals -------------------------------------------------------------------------------


class RefuseOne(Recorder):
    """Accepts every recipient but one, which gets the server's own reason."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address == "gone@example.net":
            return "550 5.1.1 User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_refused_recipient_is_reported_with_the_servers_reason_and_the_other_gets_the_mail(
    curated_site: Path, tmp_path: Path
) -> None:
    from aiosmtpd.controller import Controller

    recorder = RefuseOne()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    server = {"host": "127.0.0.1", "port": port, "security": "none", "user": ""}
    set_config(curated_site, newsletter={"to": "readers@example.org, gone@example.net", "smtp": server,
                                          "unsubscribe_url": "https://example.org/u"})
    try:
        with pytest.raises(DigestgenError) as error:
            make_newsletter(curated_site, tmp_path / "out", NAME, send=True)
        set_config(curated_site, newsletter={"to": "gone@example.net"})
        with pytest.raises(DigestgenError) as every:
            make_newsletter(curated_site, tmp_path / "out2", NAME, send=True)
    finally:
        controller.stop()
        set_config(curated_site, newsletter={"to": "readers@example.org", "unsubscribe_url": "",
                                              "smtp": {"host": "127.0.0.1", "port": 587, "security": "starttls"}})
    assert "delivered to readers@example.org but refused gone@example.net (550 5.1.1 User unknown)" in str(error.value)
    (envelope,) = recorder.envelopes
    assert envelope.rcpt_tos == ["readers@example.org"]
    assert "refused every recipient, nothing was sent: gone@example.net (550 5.1.1 User unknown)" in str(every.value)
    assert all((tmp_path / "out" / f"{NAME}{s}").is_file() for s in SUFFIXES)  # the files are written before sending


HOSTILE_INTRO = (
    "Hello <script>alert(1)</script> readers.\n\n"
    "<img src=x onerror=alert(2)>\n\n"
    "See [the site](javascript:alert(3)), [a page](/relative/page), [write](mailto:ed@example.org) "
    "and [the benchmark](https://example.org/bench), with `<code>` and **bold**."
)
HOSTILE_NOTE = "A note with <iframe src=https://evil.example></iframe> and [x](vbscript:msgbox(1))."


def test_curator_markdown_in_the_md_edition_stays_text_under_any_markdown_renderer(tmp_path: Path) -> None:
    # Services that take Markdown (Buttondown, listmonk) render it with raw HTML on: a curator's intro and notes
    # must reach them as Markdown that shows the same text, never tags, and only links that work in an inbox.
    from markdown_it import MarkdownIt

    site = new_site(tmp_path, {"2025-10-31": listing(PAPERS[:2])}, base_url=BASE)
    curate(site, "2025-10-31", intro=HOSTILE_INTRO, picks=[{"paper": "a-benchmark-of-table-reasoning", "note": HOSTILE_NOTE}])
    bundle = make_newsletter(site, tmp_path / "out", NAME)
    service = MarkdownIt("commonmark", {"html": True})
    service.validateLink = lambda url: True  # the service's own link rules are not ours to rely on
    rendered = service.render(bundle.text(".md"))
    for tag in ("<script", "<img", "<iframe"):
        assert tag not in rendered
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered and "&lt;iframe" in rendered  # shown as text
    for scheme in ("javascript:", "vbscript:", "/relative"):
        assert f'href="{scheme}' not in rendered
    assert 'href="https://example.org/bench"' in rendered and 'href="mailto:ed@example.org"' in rendered
    assert "<code>&lt;code&gt;</code>" in rendered and "<strong>bold</strong>" in rendered
    assert 'href="mailto:ed@example.org"' in bundle.text(".html")  # the HTML part keeps mailto links too


@pytest.mark.parametrize(
    "title",
    [
        "Revue hebdomadaire des prépublications en apprentissage automatique",  # long enough to fold
        "Ça <digest> du jour",  # angle brackets would make a second <list-id>
        "Dépêches\nde la semaine",  # a YAML "\n" in the title
    ],
)
def test_any_site_title_gives_one_list_id_header_with_the_label_last(curated_site: Path, tmp_path: Path, title: str) -> None:
    set_config(curated_site, title=title)
    try:
        bundle = make_newsletter(curated_site, tmp_path, NAME)
    finally:
        set_config(curated_site, title="Research digest")
    raw = bundle.path(".eml").read_bytes()
    header = re.search(rb"^List-Id: (.*?)\r\n(?! )", raw, re.M | re.S).group(1).decode()
    unfolded = re.sub(r"\r\n[ \t]", " ", header)
    assert unfolded.count("<") == 1 and unfolded.endswith(".example.org>")  # the one list-id, never encoded
    decoded = str(bundle.message()["List-Id"])
    assert " ".join(title.replace("<", "").replace(">", "").split()) in decoded


def test_an_edition_whose_papers_are_all_hidden_is_refused_with_the_reason(tmp_path: Path) -> None:
    site = new_site(tmp_path, {"2025-10-31": listing(PAPERS[:2])}, base_url=BASE)
    curate(site, "2025-10-31", hide=["sparse-attention-for-long-documents", "a-benchmark-of-table-reasoning"])
    with pytest.raises(DigestgenError, match=r"^the digest of October 31, 2025 has nothing to send: its 2 papers are all hidden"):
        make_newsletter(site, tmp_path / "out", NAME)
    assert not (tmp_path / "out").exists()  # nothing written
    curate(site, "2025-10-31", intro="No papers worth your time today; back on Monday.")
    bundle = make_newsletter(site, tmp_path / "out", NAME)  # an intro alone is an edition
    assert "back on Monday" in bundle.text(".txt")
    assert bundle.lines[-2].endswith("(full abstracts, its intro and no papers)")
    assert bundle.message()["Subject"] == "October 31, 2025 · 0 papers"  # no separator left dangling
