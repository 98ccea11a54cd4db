"""The paper and digest model every source and page shares: the fields a file may carry, and curation."""

from __future__ import annotations

from pathlib import Path

import pytest

from digestgen.config import load_config
from digestgen.errors import DigestgenError
from digestgen.ingest import Source, ingest
from digestgen.load import load_site

RICH = """---
title: Sparse Attention at Scale
arxiv: '2510.01234'
arxiv_version: 2
authors: [Ada Lovelace, Saša Petrović, Alan Turing]
categories: [cs.LG, cs.CL]
keywords: [sparse attention, long context]
comment: 12 pages, 3 figures
journal_ref: Proc. Imaginary Conf. 2025
doi: 10.1234/example.5678
comments: 3
upvotes: 42
published: 2025-10-01
note: Read *section 3* first.
remove_tags: [Few-shot]
digests: [2025-10-02]
---
An abstract.
"""

PLAIN = """---
title: {title}
authors: 2
upvotes: {upvotes}
digests: [2025-10-02]
---
Another abstract.
"""


def _site(tmp_path: Path, digest: str) -> Path:
    (tmp_path / "content/papers").mkdir(parents=True)
    (tmp_path / "content/digests").mkdir(parents=True)
    (tmp_path / "digestgen.yaml").write_text("title: T\nbase_url: https://example.org/\n")
    (tmp_path / "content/papers/sparse.md").write_text(RICH)
    (tmp_path / "content/papers/second.md").write_text(PLAIN.format(title="Second", upvotes=7))
    (tmp_path / "content/papers/third.md").write_text(PLAIN.format(title="Third", upvotes=0))
    (tmp_path / "content/digests/2025-10-02.yaml").write_text(digest)
    return tmp_path


def _load(site: Path):
    config, _ = load_config(site, None)
    return load_site(site, config)


def test_a_paper_file_carries_every_source_field(tmp_path):
    site = _load(_site(tmp_path, "date: 2025-10-02\npapers: [third, second, sparse]\n"))
    paper = site.papers["sparse"]
    assert paper.authors == ("Ada Lovelace", "Saša Petrović", "Alan Turing") and paper.author_count == 3
    assert (paper.arxiv, paper.arxiv_version) == ("2510.01234", 2)
    assert paper.categories == ("cs.LG", "cs.CL") and paper.primary_category == "cs.LG"
    assert paper.keywords == ("sparse attention", "long context")
    assert (paper.comment, paper.journal_ref, paper.doi, paper.comments) == (
        "12 pages, 3 figures", "Proc. Imaginary Conf. 2025", "10.1234/example.5678", 3)
    assert paper.note == "Read *section 3* first." and paper.removed_tags == ("few-shot",)
    older = site.papers["second"]
    assert older.authors == () and older.author_count == 2  # a count, as text listings give it


def test_the_default_order_is_most_upvoted_first_and_ties_keep_the_listing(tmp_path):
    site = _load(_site(tmp_path, "date: 2025-10-02\npapers: [third, second, sparse]\n"))
    assert site.digest_order(site.digests[0]) == ("sparse", "second", "third")


def test_curation_picks_by_slug_or_arxiv_id_order_and_hide(tmp_path):
    digest = (
        "date: 2025-10-02\npapers: [third, second, sparse]\ntitle: Attention week\nintro: Hello *readers*.\n"
        "order: curated\npicks:\n  - third\n  - {paper: '2510.01234', note: Why it matters}\nhide: [second]\n"
    )
    site = _load(_site(tmp_path, digest))
    record = site.digests[0]
    assert (record.title, record.intro) == ("Attention week", "Hello *readers*.")
    assert [(p.slug, p.note) for p in record.picks] == [("third", ""), ("sparse", "Why it matters")]
    assert site.digest_order(record) == ("third", "sparse")


def test_a_pick_that_names_no_paper_of_the_digest_is_an_error_with_its_line(tmp_path):
    digest = "date: 2025-10-02\npapers: [third, second]\npicks:\n  - second\n  - 2501.99999\n"
    with pytest.raises(DigestgenError) as error:
        _load(_site(tmp_path, digest))
    assert "content/digests/2025-10-02.yaml:5: picks: '2501.99999' is not a paper of this digest" in str(error.value)


def test_an_unknown_order_is_an_error_naming_the_choices(tmp_path):
    with pytest.raises(DigestgenError) as error:
        _load(_site(tmp_path, "date: 2025-10-02\npapers: [third]\norder: best\n"))
    assert "2025-10-02.yaml:3: order: expected one of listing, upvotes, curated" in str(error.value)


def test_ingest_keeps_the_curators_fields_and_layout(tmp_path):
    listing = (
        "Daily Papers\n\nOct 2\n\nA Paper Title\n\nAn abstract long enough to be one.\n\n  • 2 authors\n·\nOct 1, 2025 3\n"
    )
    site = tmp_path
    (site / "digestgen.yaml").write_text("title: T\n")
    ingest(site, [Source("2025-10-02.txt", listing)])
    record = site / "content/digests/2025-10-02.yaml"
    curated = "# my comment\ntitle: Hand-made\n" + record.read_text() + "intro: Hi.\n"
    record.write_text(curated)
    ingest(site, [Source("2025-10-02.txt", listing)])
    assert record.read_text() == curated  # nothing the listing owns changed: not even rewritten
    ingest(site, [Source("2025-10-02.txt", listing.replace("A Paper Title", "Another Title"))])
    text = record.read_text()
    assert "title: Hand-made" in text and "intro: Hi." in text and "another-title" in text


def test_an_unquoted_arxiv_id_with_trailing_zeros_still_names_its_paper(tmp_path):
    site = _site(tmp_path, "date: 2025-10-02\npapers: [third, second, sparse]\npicks: [2510.01230]\n")
    paper = site / "content/papers/sparse.md"
    paper.write_text(paper.read_text().replace("'2510.01234'", "'2510.01230'"))
    assert [p.slug for p in _load(site).digests[0].picks] == ["sparse"]


@pytest.mark.parametrize(
    ("digest", "message"),
    [
        ("papers: [sparse, second]\nhide: [.inf]\n", r"2025-10-02.yaml:2: hide: expected a paper's slug or arXiv ID, found the number inf$"),
        ("papers: [sparse, second]\npicks:\n  - sparse\n  - .nan\n", r"2025-10-02.yaml:4: picks: expected a paper's slug"),
        ("papers: [sparse, second]\nhide:\n  - sparse\n  - {a: 1}\n", r"2025-10-02.yaml:4: hide: expected a paper's slug or arXiv ID, found a mapping of keys$"),
        ("papers: [sparse]\ntitle: 12\n", r"2025-10-02.yaml:2: title: expected text, found the number 12"),
        ("papers: [sparse]\n\nintro: [a]\n", r"2025-10-02.yaml:3: intro: expected text, found a list"),
        ("papers: [sparse]\ndate: 2025-13-40\n", r"2025-10-02.yaml:2: date: expected a real date"),
    ],
)
def test_an_odd_value_in_a_digests_curation_is_one_line_with_its_line(tmp_path, digest, message):
    with pytest.raises(DigestgenError, match=message):
        _load(_site(tmp_path, digest))


def test_a_pick_that_is_also_hidden_is_an_error_at_the_picks_line(tmp_path):
    # Otherwise the pick silently vanishes from the pages and the email.
    digest = "papers: [sparse, second]\npicks:\n  - second\n  - '2510.01234'\nhide: [sparse]\n"
    with pytest.raises(DigestgenError) as error:
        _load(_site(tmp_path, digest))
    assert str(error.value) == (
        "content/digests/2025-10-02.yaml:4: picks: '2510.01234' is also hidden (hide:); pick it or hide it, not both"
    )


def test_a_blank_digest_title_counts_as_no_title(tmp_path):
    site = _load(_site(tmp_path, "papers: [sparse]\ntitle: '   '\n"))
    assert site.digests[0].title is None


def test_a_digest_title_is_one_line(tmp_path):
    # A YAML "\n" in the title would end the Markdown edition's heading and the page's <h1> mid-title.
    site = _load(_site(tmp_path, 'papers: [sparse]\ntitle: "Long\\n\\n  context "\n'))
    assert site.digests[0].title == "Long context"


def test_ingest_warns_of_picks_and_hidden_papers_its_listing_dropped(tmp_path):
    entry = "{title}\n\nAn abstract long enough to be one.\n\n  • 2 authors\n·\nOct 1, 2025 3\n"
    titles = ["Kept Paper", "Gone By Id", "Gone By Slug"]
    listing = "Daily Papers\n\nOct 2\n\n" + "\n".join(entry.format(title=t) for t in titles)
    site = tmp_path
    (site / "digestgen.yaml").write_text("title: T\n")
    ingest(site, [Source("2025-10-02.txt", listing)])
    paper = site / "content/papers/gone-by-id.md"
    paper.write_text(paper.read_text().replace("\ntitle:", "\narxiv: '2510.01230'\ntitle:", 1))
    record = site / "content/digests/2025-10-02.yaml"
    record.write_text(record.read_text() + "picks:\n- kept-paper\n- {paper: 2510.01230, note: Why}\nhide: [gone-by-slug]\n")
    shorter = "Daily Papers\n\nOct 2\n\n" + entry.format(title="Kept Paper")
    report = ingest(site, [Source("2025-10-02.txt", shorter)])
    left = [w for w in report.warnings if "no longer in this digest" in w]
    assert left == [
        "content/digests/2025-10-02.yaml: picks: '2510.01230' is no longer in this digest (this listing replaced its "
        "papers); the build stops there until you remove it",
        "content/digests/2025-10-02.yaml: hide: 'gone-by-slug' is no longer in this digest (this listing replaced its "
        "papers); the build stops there until you remove it",
    ]
    assert not [w for w in ingest(site, [Source("2025-10-02.txt", shorter)]).warnings if "no longer" in w]
