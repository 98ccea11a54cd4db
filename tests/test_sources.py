"""Every input format read by its pure parser: the documented shapes, their quirks, hostile and broken input."""

from __future__ import annotations

import datetime as dt
import json
import time
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digestgen.errors import DigestgenError
from digestgen.parse import parse_digest
from digestgen.sources import detect, read_text
from digestgen.sources.arxiv_atom import parse_arxiv_api
from digestgen.sources.arxiv_feed import parse_arxiv_feed
from digestgen.sources.arxiv_mail import parse_arxiv_mail
from digestgen.sources.hfjson import parse_hf_json
from digestgen.sources.hfpage import parse_hf_page
from digestgen.sources.idlist import parse_id_list, read_id
from digestgen.sources.text import clean, clean_line, tex_name, unwrap

from conftest import FIXTURES

SOURCES = FIXTURES / "sources"


def fixture(name: str) -> str:
    return (SOURCES / name).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "name, kind",
    [
        ("hf-daily-2025-10-31.json", "hf-json"),
        ("hf-paper.json", "hf-json"),
        ("hf-page-2025-10-31.html", "hf-page"),
        ("arxiv-api.xml", "arxiv-api"),
        ("arxiv-rss-cs.LG.xml", "arxiv-feed"),
        ("arxiv-atom-cs.LG.xml", "arxiv-feed"),
        ("arxiv-mail.txt", "arxiv-mail"),
        ("ids.txt", "id-list"),
        ("../seed-digest.txt", "text"),
    ],
)
def test_each_format_is_detected_from_its_content(name, kind):
    assert detect(fixture(name)) == kind


def test_other_json_html_and_xml_are_named_not_guessed():
    assert detect('{"results": []}') == "json"
    assert detect("<!DOCTYPE html><html><body><p>A blog</p></body></html>") == "html"
    assert detect('<?xml version="1.0"?><catalog><book/></catalog>') == "xml"
    with pytest.raises(DigestgenError, match="this is an HTML page: save it as text, or give the page's JSON"):
        read_text("<html><body>Another site</body></html>", "page.html")


def test_hf_daily_list_reads_item_and_paper_fields():
    papers = parse_hf_json(fixture("hf-daily-2025-10-31.json")).papers
    first, second = papers
    assert first.arxiv == "2510.01234" and first.names == ("Ada Lovelace", "Alan Turing")
    assert first.published == dt.date(2025, 10, 29) and first.listed == dt.date(2025, 10, 31)
    assert first.upvotes == 42 and first.comments == 3 and first.organization == "Acme Research"
    assert first.keywords == ("sparse attention", "long context")
    # The paper's summary, hard-wrapped, is unwrapped; its blank line stays a paragraph break.
    assert first.abstract == "We study sparse attention over very long widget sequences. Our method scales linearly.\n\nCode is at https://github.com/acme/widgets."
    assert [(link.kind, link.url) for link in first.links] == [
        ("arxiv", "https://arxiv.org/abs/2510.01234"),
        ("pdf", "https://arxiv.org/pdf/2510.01234"),
        ("code", "https://github.com/acme/widgets"),
        ("project", "https://acme.github.io/widgets/"),
    ]
    # Optional fields on the item rather than on the paper are read too.
    assert second.keywords == ("gadgets",)
    assert ("code", "https://github.com/grace/gadgets") in [(link.kind, link.url) for link in second.links]
    assert second.comments == 0


def test_hf_bare_paper_object_and_daily_papers_object():
    (paper,) = parse_hf_json(fixture("hf-paper.json")).papers
    assert paper.arxiv == "2510.01234" and paper.upvotes == 44 and paper.listed is None
    wrapped = json.dumps({"dailyPapers": json.loads(fixture("hf-daily-2025-10-31.json"))})
    assert [p.arxiv for p in parse_hf_json(wrapped).papers] == ["2510.01234", "2510.05678"]


def test_hf_page_json_is_read_and_highlight_spacing_fixed():
    (paper,) = parse_hf_page(fixture("hf-page-2025-10-31.html")).papers
    assert paper.abstract == "We reward code with unit tests. Instead of labels, we run them."
    assert paper.names == ("Barbara Liskov",) and paper.listed == dt.date(2025, 10, 31)


def test_truncated_json_keeps_the_whole_items_and_names_the_broken_one():
    text = fixture("hf-daily-2025-10-31.json")
    cut = text[: text.index('"Dense Gadgets')]
    listing = parse_hf_json(cut)
    assert [p.arxiv for p in listing.papers] == ["2510.01234"]
    (problem,) = listing.diagnostics
    assert "item 1" in problem.message and problem.line > 1


def test_items_without_title_or_abstract_or_of_the_wrong_shape_are_one_line_each():
    items = [
        {"paper": {"id": "2510.00001", "title": "Good", "summary": "Fine."}},
        {"paper": {"id": "2510.00002", "summary": "No title."}},
        {"paper": {"id": "2510.00003", "title": "No abstract"}},
        "a string",
        {"paper": {"id": "2510.00004", "title": "Also good", "summary": "Yes.", "upvotes": "many", "authors": "nobody"}},
    ]
    listing = parse_hf_json(json.dumps(items))
    assert [p.title for p in listing.papers] == ["Good", "Also good"]
    assert listing.papers[1].upvotes == 0 and listing.papers[1].names == ()
    messages = [d.message for d in listing.diagnostics]
    assert messages == ["item 1 has no title; skipped", "item 2 ('No abstract') has no abstract; skipped", "item 3 is not an object; skipped"]


def test_arxiv_api_entries_old_ids_and_error_entries():
    listing = parse_arxiv_api(fixture("arxiv-api.xml"))
    first, old = listing.papers
    assert (first.arxiv, first.arxiv_version) == ("2510.01234", 2)
    assert first.title == "Sparse Attention for Very Long Widgets"
    assert first.abstract == "We study sparse attention over very long widget sequences, with $O(n \\log n)$ cost. Our method scales linearly."
    assert first.categories == ("cs.LG", "cs.AI") and first.primary_category == "cs.LG"
    assert (first.comment, first.journal_ref, first.doi) == ("12 pages, 3 figures", "J. Widgets 1 (2025) 1-12", "10.1234/widgets.2025.1")
    assert first.published == dt.date(2025, 10, 1) and not first.has_upvotes
    assert (old.arxiv, old.arxiv_version) == ("math/0501001", 1)
    assert ("pdf", "https://arxiv.org/pdf/math/0501001") in [(link.kind, link.url) for link in old.links]
    (error,) = listing.diagnostics
    assert "entry 2" in error.message and "incorrect id format for 2510.99999" in error.message


def test_rss_feed_takes_new_and_cross_and_counts_replacements():
    listing = parse_arxiv_feed(fixture("arxiv-rss-cs.LG.xml"))
    assert listing.date == dt.date(2025, 10, 31)
    new, cross = listing.papers
    # dc:creator is one comma-separated string; its TeX accents are decoded.
    assert new.names == ("Ada Lovelace", "Alan Turing", "Saša Petrović")
    assert new.abstract.startswith("We study sparse attention") and "Announce Type" not in new.abstract
    assert (new.arxiv, new.arxiv_version) == ("2510.01234", 1)
    assert cross.doi == "10.5555/cross.1" and cross.journal_ref == "Stat. Widgets 2 (2025)"
    assert cross.categories == ("stat.ML", "cs.LG")
    assert [d.message for d in listing.diagnostics] == [
        "1 'replace' entries left out (pass --announce replace to include them)",
        "1 'replace-cross' entries left out (pass --announce replace-cross to include them)",
    ]
    everything = parse_arxiv_feed(fixture("arxiv-rss-cs.LG.xml"), frozenset({"new", "cross", "replace", "replace-cross"}))
    assert [p.arxiv_version for p in everything.papers] == [1, 1, 3, 2]


def test_atom_announcement_feed():
    (paper,) = parse_arxiv_feed(fixture("arxiv-atom-cs.LG.xml")).papers
    assert paper.arxiv == "2510.01234" and paper.names == ("Ada Lovelace", "Alan Turing")
    assert paper.listed == dt.date(2025, 10, 31)


def test_listing_email_blocks_cross_lists_replacements_and_tex_accents():
    listing = parse_arxiv_mail(fixture("arxiv-mail.txt"))
    first, cross = listing.papers
    assert first.title == "Sparse Attention for Very Long Widgets"
    assert first.names == ("Ada Lovelace", "Saša Petrović", "Boötes Collaboration")
    assert first.categories == ("cs.LG", "cs.AI") and first.primary_category == "cs.LG"
    assert first.comment == "12 pages, 3 figures" and first.journal_ref == "J. Widgets 1 (2025) 1-12"
    assert first.abstract == "We study sparse attention over very long widget sequences, with $O(n \\log n)$ cost.\n\nA second paragraph."
    assert first.published == dt.date(2025, 10, 1) and first.line == 3
    assert cross.arxiv == "2510.02222" and cross.names == ("Florence Nightingale", "øystein Ore")
    assert [d.message for d in listing.diagnostics] == ["1 'replace' entries left out (pass --announce replace to include them)"]
    with_replacements = parse_arxiv_mail(fixture("arxiv-mail.txt"), frozenset({"new", "cross", "replace"}))
    assert [(p.arxiv, p.arxiv_version) for p in with_replacements.papers][-1] == ("2509.03333", 3)


def test_id_list_reads_every_documented_form():
    listing = parse_id_list(fixture("ids.txt"))
    assert [arxiv for _, arxiv in listing.ids] == ["2510.01234", "2510.05678", "math/0501001", "2510.07777", "2510.08888", "2510.09999"]
    assert listing.diagnostics == ()
    assert read_id("https://example.org/abs/2510.01234") is None and read_id("hello") is None
    mixed = parse_id_list("2510.01234\nnot an id\n2510.01234v3\n")
    assert [d.message for d in mixed.diagnostics] == ["'not an id' is not an arXiv ID or URL; skipped", "2510.01234 is listed again (first on line 1); kept once"]


def test_text_cleaning():
    assert clean_line("Safe\u202e txet\u2066 title\u200b\x07\ufdd0\uffff") == "Safe txet title"
    assert clean_line("Lone \ud800surrogate\udfff") == "Lone surrogate" and clean("a\udc00b") == "ab"
    assert unwrap("  one\n  two\n\n\n three\r\nfour ") == "one two\n\nthree four"
    assert tex_name(r"Sa\v{s}a Petrovi\'c") == "Saša Petrović" and tex_name("R&D Group") == "R&D Group"
    assert tex_name(r"{\O}ystein M\"uller") == "Øystein Müller"


BOMB = """<?xml version="1.0"?>
<!DOCTYPE feed [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
<!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;"><!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;"><!ENTITY i "&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;">]>
<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>http://arxiv.org/abs/2510.01234v1</id><title>&i;</title><summary>x</summary></entry></feed>
"""
XXE = """<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<rss version="2.0" xmlns:arxiv="http://arxiv.org/schemas/atom"><channel><item><title>&secret;</title>
<description>arXiv:2510.01234v1 Announce Type: new Abstract: x</description><arxiv:announce_type>new</arxiv:announce_type></item></channel></rss>
"""


@pytest.mark.parametrize("text, parse", [(BOMB, parse_arxiv_api), (XXE, parse_arxiv_feed)])
def test_xml_bombs_and_external_entities_are_refused_quickly_in_bounded_memory(text, parse):
    tracemalloc.start()
    started = time.perf_counter()
    listing = parse(text)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert listing.papers == ()
    (problem,) = listing.diagnostics
    assert "entity" in problem.message and "\n" not in problem.message
    assert "root:" not in problem.message  # nothing of /etc/passwd
    assert elapsed < 1 and peak < 5_000_000


def test_entities_without_a_doctype_are_broken_xml_not_expanded():
    listing = parse_arxiv_api('<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>&lol;</title></entry></feed>')
    assert listing.papers == () and "undefined entity" in listing.diagnostics[0].message
    lower = parse_arxiv_feed('<!doctype rss [<!ENTITY x "y">]><rss><channel><item><title>&x;</title></item></channel></rss>')
    assert lower.papers == () and lower.diagnostics


def test_a_bidi_override_in_a_title_cannot_leak_out():
    item = {"paper": {"id": "2510.00001", "title": "Evil \u202egnp.exe", "summary": "Fine \u2067isolate"}}
    (paper,) = parse_hf_json(json.dumps([item])).papers
    assert paper.title == "Evil gnp.exe" and paper.abstract == "Fine isolate"


PARSERS = [parse_hf_json, parse_hf_page, parse_arxiv_api, parse_arxiv_feed, parse_arxiv_mail, parse_id_list, detect, parse_digest]
FRAGMENTS = st.sampled_from(
    ["[", "]", "{", "}", '"paper":', '"title":', '"summary":', "<feed xmlns='http://www.w3.org/2005/Atom'>", "<entry>", "</entry>",
     "<id>http://arxiv.org/abs/2510.01234v1</id>", "<title>", "</title>", "\\\\\n", "arXiv:2510.01234\n", "Title: x\n",
     "<rss>", "<item>", "&amp;", "&x;", "<!DOCTYPE a [<!ENTITY x 'y'>]>", "\x00", "\u202e", "\ufffe", "\n", " ", ",", "null", "1e999"]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(FRAGMENTS, st.text(max_size=20)), max_size=30).map("".join))
def test_no_input_makes_a_parser_raise(text):
    for parse in PARSERS:
        parse(text)


@settings(max_examples=60, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10), lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(["paper", "title", "summary", "id", "authors", "upvotes", "publishedAt", "organization", "ai_keywords", "githubRepo"]), inner, max_size=6), max_leaves=20))
def test_no_json_shape_makes_the_hf_parser_raise(value):
    parse_hf_json(json.dumps(value))


def test_deep_nesting_is_a_diagnostic_not_a_crash():
    assert "nested too deeply" in parse_hf_json("[" * 100_000).diagnostics[0].message
    deep = "<a>" * 5000 + "x" + "</a>" * 5000
    feed = f'<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>http://arxiv.org/abs/2510.01234v1</id><title>{deep}</title><summary>s</summary></entry></feed>'
    assert [p.title for p in parse_arxiv_api(feed).papers] == ["x"]
