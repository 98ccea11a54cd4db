"""Digest, home, card, archive and feed output a reader sees (issue 16), built from real sites."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import shutil
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import FIXTURES
from digestgen.build import build_site

ATOM = {"a": "http://www.w3.org/2005/Atom"}
CURATED = "2025/11/01/index.html"


def write_big_site(root: Path, papers: int, digests: int = 1, base_url: str = "https://example.org/big/") -> Path:
    """A site whose latest digest lists `papers` papers (upvotes and dates varied), after `digests - 1`
    one-paper digests, one a day."""
    (root / "content/papers").mkdir(parents=True)
    (root / "content/digests").mkdir(parents=True)
    (root / "digestgen.yaml").write_text(f"title: Big\nbase_url: {base_url}\n")
    last = dt.date(2025, 11, 1)
    slugs = []
    for n in range(papers):
        slug = f"paper-number-{n:04d}"
        slugs.append(slug)
        published = dt.date(2024, 1, 1) + dt.timedelta(days=(n * 37) % 600)
        topic = ("diffusion model", "reinforcement learning", "speech recognition", "graph neural network")[n % 4]
        (root / f"content/papers/{slug}.md").write_text(
            f"---\ntitle: Paper number {n} on {topic}\nslug: {slug}\npublished: '{published}'\n"
            f"upvotes: {(n * 7) % 23}\nauthors: 3\nlinks:\n- kind: code\n  url: https://github.com/example/p{n}\n"
            f"arxiv: '2510.{n:05d}'\n---\nWe study a {topic} with a large language model and a new benchmark, number {n}.\n"
        )
    (root / f"content/digests/{last}.yaml").write_text(f"date: '{last}'\npapers:\n" + "".join(f"- {s}\n" for s in slugs))
    for back in range(1, digests):
        day = last - dt.timedelta(days=back)
        (root / f"content/digests/{day}.yaml").write_text(f"date: '{day}'\npapers:\n- {slugs[back % papers]}\n")
    return root


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.count += 1


def element_count(html: str) -> int:
    """Elements in the markup, as the DOM will have them (the browser tests count the live DOM)."""
    parser = _Elements()
    parser.feed(html)
    return parser.count + 2  # html, head and body are written, but the parser counts them: allow for implied ones


@pytest.fixture(scope="module")
def fixture_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("fixture") / "site"
    shutil.copytree(FIXTURES / "site", site)
    return build_site(site).out


def main_of(html: str) -> str:
    return html[html.index("<main") : html.index("</main>")]


def test_a_curated_digest_shows_its_title_intro_picks_with_notes_then_the_rest(fixture_out):
    page = main_of((fixture_out / CURATED).read_text())
    assert "<h1>Small models, big retrieval</h1>" in page
    assert '<a href="https://example.org/moe">experts paper</a>' in page and "<em>big</em>" in page  # Markdown intro
    picks = page[: page.index('id="papers-heading"')]
    order = [picks.index(t) for t in ("Sparse Mixtures of Experts", "Contrastive Pre-training", "Graph Neural Networks")]
    assert order == sorted(order)  # the curator's pick order, not upvotes
    assert "The clearest routing figure" in picks and "<strong>first</strong>" in picks
    assert "Read section 4 first; the <em>rest</em> is set-up." in picks  # the paper's own note, above its snippet
    assert picks.index("Read section 4 first") < picks.index("We route tokens")
    rest = page[page.index('id="papers-heading"') :]
    assert "Überlegene Sprachmodelle" in rest and "Sparse Mixtures" not in rest
    assert "A Study of Nothing" not in page  # hidden
    assert "4 papers" in page


def test_the_home_page_shows_the_latest_intro_picks_and_a_link_to_the_whole_digest(fixture_out):
    home = main_of((fixture_out / "index.html").read_text())
    assert "Small models, big retrieval" in home and "experts paper" in home
    assert "The clearest routing figure" in home and "A Study of Nothing" not in home.split("recent-heading")[0]
    assert 'href="/fixture/2025/11/01/"' in home
    recent = home[home.index("recent-heading") :]
    assert recent.index("Small models, big retrieval") < recent.index("October 31, 2025")  # newest first


def test_cards_hide_zero_counts_chip_few_specific_tags_and_keep_the_link_order(fixture_out):
    older = main_of((fixture_out / "2025/10/30/index.html").read_text())
    assert "0 upvotes" not in older and "A Study of Nothing" in older
    curated = main_of((fixture_out / CURATED).read_text())
    for card in re.findall(r'<article class="paper-card">.*?</article>', curated, re.S):
        assert card.count('class="tag"') <= 3
        labels = re.findall(r'aria-label="(arXiv|PDF|Code|Project) of ', card)
        assert labels == sorted(labels, key=["arXiv", "PDF", "Code", "Project"].index)
    sparse = re.search(r'<article class="paper-card">(?:(?!</article>).)*Sparse Mixtures.*?</article>', curated, re.S).group(0)
    assert re.findall(r'aria-label="(\w+) of ', sparse) == ["arXiv", "PDF", "Code"]
    # Contrastive learning is on 2 of the 5 papers (40 %): still chipped; a tag on more is not.
    assert "Contrastive learning" in curated


def test_a_tag_on_most_papers_is_not_chipped_but_the_paper_page_lists_it(tmp_path):
    site = write_big_site(tmp_path / "site", 12)  # common tags need tagstage.COMMON_MIN_PAPERS
    out = build_site(site).out
    digest = main_of((out / "2025/11/01/index.html").read_text())
    paper = (out / "papers/paper-number-0000/index.html").read_text()
    assert "Large language models" in paper  # every paper says "large language model"
    assert "Large language models" not in digest
    assert "Benchmarks" not in digest  # and "benchmark"
    # Cards follow the same setting as the build's warning about common tags.
    config = site / "digestgen.yaml"
    config.write_text(config.read_text() + "tagging:\n  common_share: 1\n")
    again = main_of((build_site(site, force=True).out / "2025/11/01/index.html").read_text())
    assert "Large language models" in again


def test_a_300_paper_digest_is_paged_in_compact_rows_and_re_sortable_without_losing_order(tmp_path):
    out = build_site(write_big_site(tmp_path / "site", 300)).out
    first = (out / "2025/11/01/index.html").read_text()
    pages = [first] + [(out / f"2025/11/01/page/{n}/index.html").read_text() for n in (2, 3)]
    assert not (out / "2025/11/01/page/4").exists()
    assert "page 1 of 3" in first and 'href="/big/2025/11/01/page/3/"' in first
    listed = [re.findall(r'data-position="(\d+)" data-upvotes="(\d+)"', page) for page in pages]
    assert [len(rows) for rows in listed] == [100, 100, 100]
    flat = [(int(p), int(u)) for rows in listed for p, u in rows]
    assert sorted(p for p, _ in flat) == list(range(1, 301))  # every paper once
    # auto order with upvotes: most upvoted first across pages, ties by listing position
    assert flat == sorted(flat, key=lambda row: (-row[1], row[0]))
    for page in pages:
        assert 'class="paper-row"' in page and 'class="paper-card"' not in page
        assert element_count(page) <= 1400
        # the reader's sort only reaches the papers on screen, and the control says so
        assert ">Sort this page by</label>" in page


def test_a_95_paper_digest_fits_one_page_and_home_stays_small(seed_built_root):
    digest = (seed_built_root / "2025/10/31/index.html").read_text()
    home = (seed_built_root / "index.html").read_text()
    assert digest.count('class="paper-row"') == 95 and element_count(digest) <= 1400
    assert element_count(home) < 800
    assert main_of(home).count('class="paper-row"') == 20  # home_top_papers
    assert "0 upvotes" not in digest and "0 upvotes" not in home


def test_the_feed_carries_all_of_a_95_paper_day(seed_built_root):
    feed = ET.parse(seed_built_root / "feed.xml").getroot()
    assert len(feed.findall("a:entry", ATOM)) == 95
    digest = (seed_built_root / "2025/10/31/index.html").read_text()
    on_page = re.findall(r'class="paper-row-title" href="/papers/([^/]+)/"', digest)
    in_feed = [e.find("a:link", ATOM).get("href").rstrip("/").rsplit("/", 1)[1] for e in feed.findall("a:entry", ATOM)]
    assert in_feed == on_page  # the digest's own order


def test_feeds_keep_whole_digests_and_ids_that_survive_a_new_base_url(tmp_path):
    site = write_big_site(tmp_path / "site", 120, digests=3)
    one = build_site(site, out=tmp_path / "one", base_url="https://a.example/x/").out
    two = build_site(site, out=tmp_path / "two", base_url="https://b.example/").out
    entries = ET.parse(one / "feed.xml").getroot().findall("a:entry", ATOM)
    assert len(entries) == 120  # the whole latest day, past the usual 50; the older days' papers are in it
    ids = lambda out, path: [e.find("a:id", ATOM).text for e in ET.parse(out / path).getroot().findall("a:entry", ATOM)]
    assert ids(one, "feed.xml") == ids(two, "feed.xml")
    assert ids(one, "feed.xml")[0].startswith("https://arxiv.org/abs/2510.")
    tag_feeds = sorted(p.relative_to(one) for p in (one / "tags").glob("*/feed.xml"))
    assert tag_feeds and all(ids(one, p) == ids(two, p) for p in tag_feeds)
    diffusion = ET.parse(one / "tags/generative-models/feed.xml").getroot().findall("a:entry", ATOM)
    assert len(diffusion) == 30  # every diffusion paper of the 120-paper day, not the first 50 of the tag only


def test_the_archive_of_1400_digests_is_a_compact_table(tmp_path):
    out = build_site(write_big_site(tmp_path / "site", 3, digests=1400)).out
    archive = (out / "archive/index.html").read_text()
    years = re.findall(r'<h2 id="y(\d{4})">', archive)
    assert years == ["2025", "2024", "2023", "2022"]
    assert archive.count('<th scope="row">') == 47  # months from Jan 2022 to Nov 2025 that have digests
    assert len(re.findall(r'aria-label="[A-Z][a-z]+ \d+, \d{4}: \d+ papers?"', archive)) == 1400
    assert element_count(archive) < 1400 + 400  # one link a digest, a row a month
    assert len(archive.encode()) < 200_000


def test_the_tags_index_is_sorted_by_count_and_counts_do_not_wrap_alone(fixture_out):
    tags = main_of((fixture_out / "tags/index.html").read_text())
    counts = [int(c) for c in re.findall(r'&nbsp;<span class="count">(\d+)</span></a>', tags)]
    assert counts and counts == sorted(counts, reverse=True)


def test_curation_edits_re_render_the_pages_that_show_them(tmp_path):
    """Incremental builds: a changed intro, pick note, order or hidden list reaches the digest and home pages."""
    from test_incremental import clean_build, tree

    site = tmp_path / "site"
    shutil.copytree(FIXTURES / "site", site)
    build_site(site)
    curation = site / "content/digests/2025-11-01.yaml"
    text = curation.read_text()
    edits = [
        ("keep the molecules for the weekend", "read the molecules paper on Monday"),
        ("The clearest routing figure", "The best routing figure"),
        ("order: upvotes", "order: listing"),
        ("hide:\n- a-study-of-nothing-in-particular\n", ""),
    ]
    for old, new in edits:
        text = text.replace(old, new)
        curation.write_text(text)
        build_site(site)
        assert tree(site / "_site") == clean_build(site, tmp_path / "clean"), old
    assert "A Study of Nothing" in (site / "_site" / CURATED).read_text()


def test_author_feeds_read_the_digests_as_the_site_and_tag_feeds_do():
    """FeedOrder (kept once for thousands of author feeds) picks what whole_digests picks, in its order:
    whole digests newest first, picks first, hidden papers out, a paper at its newest digest, unlisted last."""
    import random

    from digestgen.config import Config
    from digestgen.feeds import FEED_SIZE, FeedOrder, whole_digests
    from digestgen.model import Digest, Paper, Pick, Site

    rng = random.Random(3)
    papers = {}
    for n in range(400):
        slug = f"p{n:03d}"
        papers[slug] = Paper(slug=slug, title=f"Paper {n}", body="", text="x", published=dt.date(2025, 1, 1) + dt.timedelta(days=n % 90),
                             upvotes=rng.choice([0, 0, 3, 7, 12]), authors=(), organization=None, links=(), arxiv=None,
                             digests=(), manual_tags=(), source=f"{slug}.md")
    listed, digests = list(papers)[:340], []
    for day in range(12):
        slugs = tuple(rng.sample(listed, rng.randint(5, 70)))  # papers recur across digests
        order = ("auto", "listing", "upvotes", "curated")[day % 4]
        picks = tuple(Pick(s) for s in rng.sample(slugs, 2))
        digests.append(Digest(dt.date(2025, 6, 1) + dt.timedelta(days=day), slugs, "d.yaml", picks=picks, order=order,
                              hide=tuple(rng.sample(slugs, 3))))
    seen_in = {}
    for digest in digests:
        for slug in digest.slugs:
            seen_in.setdefault(slug, []).append(digest.date)
    papers = {s: dataclasses.replace(p, digests=tuple(seen_in.get(s, ()))) for s, p in papers.items()}
    site = Site.create(Config(), papers, digests)
    order = FeedOrder(site)
    everyone = tuple(papers)
    subsets = [everyone, everyone[::7], everyone[330:], ()] + [tuple(rng.sample(everyone, rng.randint(1, 200))) for _ in range(60)]
    for only in subsets:
        assert [p.slug for p in order.whole_digests(only)] == [p.slug for p in whole_digests(site, only)]
    assert len(whole_digests(site, everyone)) > FEED_SIZE  # whole days past the usual 50 are covered too
