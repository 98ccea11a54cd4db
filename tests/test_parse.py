"""The digest parser on the seed listing, on every documented variant, and on arbitrary text."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from digestgen.parse import PaperRecord, format_digest, is_chrome, parse_digest

from conftest import SEED

LISTING = dt.date(2025, 10, 31)


def seed():
    return parse_digest(SEED.read_text(encoding="utf-8"))


def by_title(listing, prefix):
    matches = [p for p in listing.papers if p.title.startswith(prefix)]
    assert len(matches) == 1, prefix
    return matches[0]


def test_seed_has_95_papers_and_an_inferred_2025_date():
    listing = seed()
    assert len(listing.papers) == 95
    assert listing.diagnostics == ()
    assert listing.date == LISTING
    assert "inferred" in listing.date_note and "2024" in listing.date_note


def test_seed_first_and_last_papers():
    listing = seed()
    first, last = listing.papers[0], listing.papers[-1]
    assert first.title == "CNN Filter DB: An Empirical Investigation of Trained Convolutional Filters"
    assert (first.published, first.upvotes, first.authors) == (dt.date(2022, 3, 29), 0, 2)
    assert [link.url for link in first.links] == ["https://github.com/paulgavrikov/cnn-filter-db"]
    assert last.title.startswith("BiPFT: Binary Pre-trained Foundation Transformer")
    assert (last.published, last.authors) == (dt.date(2023, 12, 14), 7)  # no final newline in the file


def test_seed_date_forms_and_upvotes():
    listing = seed()
    # "Oct 16 2": no comma, so no year (the listing's) and 2 upvotes
    assert (by_title(listing, "Train a Unified Multimodal").published, by_title(listing, "Train a Unified Multimodal").upvotes) == (dt.date(2025, 10, 16), 2)
    # "Sep 25, 2024 4": a year and 4 upvotes
    prox = by_title(listing, "Programming Every Example")
    assert (prox.published, prox.upvotes) == (dt.date(2024, 9, 25), 4)
    # "Aug 6": the listing's year, no upvotes
    assert by_title(listing, "VisionTS++").published == dt.date(2025, 8, 6)
    # "Apr 1 7": April 1 with 7 upvotes
    qwen = by_title(listing, "Open-Qwen2VL")
    assert (qwen.published, qwen.upvotes) == (dt.date(2025, 4, 1), 7)


def test_seed_variants_organization_missing_meta_and_one_author():
    listing = seed()
    kalm = by_title(listing, "KaLM-Embedding-V2")
    assert (kalm.organization, kalm.authors, kalm.published) == ("KaLM-Embedding KaLM-Embedding", None, dt.date(2025, 6, 25))
    for title in ("UKBOB", "RefineX"):
        paper = by_title(listing, title)
        assert (paper.published, paper.authors, paper.organization, paper.upvotes) == (None, None, None, 0)
    assert sum(p.authors == 1 for p in listing.papers) == 2
    assert sum(p.authors is not None for p in listing.papers) == 92


def test_seed_latex_percent_is_unescaped():
    qwen = by_title(seed(), "Open-Qwen2VL")
    assert "0.36% of 1.4T" in qwen.abstract
    assert "\\%" not in "".join(p.abstract for p in seed().papers)


def test_seed_links_trimmed_and_classified():
    listing = seed()
    urls = {link.url for p in listing.papers for link in p.links}
    assert "https://github.com/Davidup1/URLBERT" in urls  # trailing '.' trimmed
    assert "https://github.com/ghdtjr/A-LLMRec" in urls  # followed by ' .'
    assert "https://github.com/Zplusdragon/PLIP" in urls  # glued to a '~'
    assert "https://emmanuelleb985.github.io/ukbob" in urls
    assert "https://wukong-dataset.github.io/wukong-dataset/" in urls
    kinds = {link.url: link.kind for p in listing.papers for link in p.links}
    assert kinds["https://huggingface.co/datasets/davidbrandfonbrener/color-filtered-c4"] == "dataset"
    assert kinds["https://emmanuelleb985.github.io/ukbob"] == "project"
    assert not any(u.endswith((".", ",", ")")) for u in urls)


def test_year_rule_never_after_the_listing_date():
    text = "Daily Papers\n\nJan 5\n\nA\n\nabstract a\n\n  • 3 authors\n·\nDec 30\n\nB\n\nabstract b\n\n  • 1 authors\n·\nJan 5 3\n"
    listing = parse_digest(text, date=dt.date(2026, 1, 5))
    assert [p.published for p in listing.papers] == [dt.date(2025, 12, 30), dt.date(2026, 1, 5)]
    assert listing.papers[1].upvotes == 3


def test_crlf_bom_and_trailing_whitespace_parse_the_same():
    text = SEED.read_text(encoding="utf-8")
    messy = "\ufeff" + "\r\n".join(line + "  \t" for line in text.split("\n"))
    assert parse_digest(messy).papers == seed().papers


def test_live_page_chrome_is_skipped():
    text = (
        "new\n\nGet trending papers in your email inbox!\n\nSubscribe\n\nDaily Papers\n\nbyAK and the research community\n\n"
        "Submitted by someone\n\nGet the papers once a day!\n\nOct 31, 2025\n\nA title\n\nAn abstract.\n\n  • 2 authors\n·\nOct 30 5\n"
    )
    listing = parse_digest(text)
    assert listing.date == LISTING and listing.date_note is None
    assert [(p.title, p.upvotes) for p in listing.papers] == [("A title", 5)]


def test_problems_become_diagnostics_with_line_numbers():
    text = "Oct 31, 2025\n\nGood\n\nabstract\n\n  • 2 authors\n·\nFeb 30, 2024\n\nLonely title at the end\n"
    listing = parse_digest(text)
    assert [p.title for p in listing.papers] == ["Good"]
    lines = {d.line: d.message for d in listing.diagnostics}
    assert sorted(lines) == [9, 11]
    assert "Feb 30, 2024" in lines[9] and "kept without a date" in lines[9]
    assert "no abstract" in lines[11] and "Lonely title" in lines[11]
    assert listing.papers[0].published is None


def test_listing_without_a_date_asks_for_one():
    listing = parse_digest("Title\n\nAbstract\n")
    assert listing.date is None
    assert any("--date" in d.message for d in listing.diagnostics)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parser_never_raises(text):
    parse_digest(text)
    parse_digest(text, date=LISTING)


_words = st.text(alphabet=st.characters(codec="utf-8", categories=["L", "N"]), min_size=1, max_size=12)
_sentence = st.lists(_words, min_size=1, max_size=12).map(" ".join)


@st.composite
def records(draw):
    # A title that is exactly a line of the page's chrome ("Subscribe") cannot be told from it in saved
    # text, and is read as chrome; an organization can, by the middle dot that follows it.
    title = draw(_sentence.filter(lambda t: not t[0].isdigit() and not is_chrome(t)))
    abstract = draw(_sentence) + "."
    has_meta = draw(st.booleans())
    published = draw(st.dates(min_value=dt.date(2015, 1, 1), max_value=LISTING)) if has_meta else None
    org = draw(st.one_of(st.none(), _sentence)) if has_meta else None
    authors = None if org or not has_meta else draw(st.integers(1, 500))
    upvotes = draw(st.integers(0, 999)) if has_meta else 0
    return PaperRecord(title=title, abstract=abstract, line=0, published=published, upvotes=upvotes, authors=authors, organization=org)


@settings(max_examples=150, deadline=None)
@given(st.lists(records(), min_size=1, max_size=6))
def test_formatted_records_parse_back_to_the_same_records(papers):
    text = format_digest(LISTING, tuple(papers))
    parsed = parse_digest(text)
    assert parsed.date == LISTING
    strip = lambda p: (p.title, p.abstract, p.published, p.upvotes, p.authors, p.organization)  # noqa: E731
    assert [strip(p) for p in parsed.papers] == [strip(p) for p in papers]


def test_an_inferred_listing_date_is_never_in_the_future():
    text = "Dec 24\n\nT\n\nAbs\n\n  • 2 authors\n·\nDec 20\n"
    listing = parse_digest(text, today=dt.date(2026, 11, 26))
    assert listing.date == dt.date(2025, 12, 24) and listing.papers[0].published == dt.date(2025, 12, 20)
    assert parse_digest(text, today=dt.date(2026, 12, 25)).date == dt.date(2026, 12, 24)


def test_an_abstract_ending_like_page_chrome_is_still_an_abstract():
    abstract = "We show that models retrained on fresh data " * 3 + "need updates once a day!"
    listing = parse_digest(f"Oct 31, 2025\n\nFresh Models\n\n{abstract}\n\n  • 2 authors\n·\nOct 1\n")
    assert [p.abstract for p in listing.papers] == [abstract]


def test_an_organization_named_like_page_chrome_is_kept():
    listing = "Title\n\nAn abstract.\n\nSubscribe\n·\nJan 1, 2015\n"
    (paper,) = parse_digest(listing, date=LISTING).papers
    assert (paper.organization, paper.published) == ("Subscribe", dt.date(2015, 1, 1))
