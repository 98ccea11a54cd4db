"""Paper pages a researcher can use: links to the paper, BibTeX that compiles, metadata, authors and organizations."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
from pybtex.database import parse_string

from digestgen import bibtex, output
from digestgen.build import build_site
from digestgen.config import Config
from digestgen.errors import DigestgenError
from digestgen.model import Paper, Site
from digestgen.people import site_people

from conftest import FIXTURES, assert_matches_golden, require_command, vnu_command

ARXIV_SITE = FIXTURES / "site-arxiv"
GOLDEN = FIXTURES.parent / "golden" / "site-arxiv"
ATOM = {"a": "http://www.w3.org/2005/Atom"}
HOSTILE_TITLES = [
    r"$\pi_0$: A Vision-Language-Action Flow Model",
    "Cost^2: Cheaper Training",
    "An Unbalanced { Brace",
    "A Closing } Brace Too Many }",
    "100% & More: # of _ Things ~ Paid in $",
    r"Back\slash and \textbf{commands} \input{/etc/passwd}",
    r"$\def\x{\x}\x$ Loops Forever",
    "Math $x^2 + y_1$ and a stray $ sign",
    "@misc{injected, title={x}}",
]


def paper(title: str, slug: str, authors: tuple[str, ...] = ("Ada Lovelace",), year: int = 2025, **extra) -> Paper:
    fields = dict(slug=slug, title=title, body="", text="An abstract.", published=dt.date(year, 1, 2), upvotes=0,
                  authors=authors, organization=None, links=(), arxiv=None, digests=(dt.date(year, 3, 1),), manual_tags=(), source="x")
    fields.update(extra)
    return Paper(**fields)


def site_of(*papers: Paper) -> Site:
    return Site.create(Config(), {p.slug: p for p in papers}, [])


@pytest.fixture(scope="module")
def arxiv_built(tmp_path_factory) -> Path:
    site = tmp_path_factory.mktemp("arxiv") / "site"
    shutil.copytree(ARXIV_SITE, site)
    return build_site(site).out


class Meta(HTMLParser):
    """The head's meta and link tags, and the page's BibTeX entry, as an HTML parser sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.meta: list[tuple[str, str]] = []
        self.links: list[tuple[str, str]] = []
        self.in_bibtex = False
        self.bibtex = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "meta" and ("name" in a or "property" in a):
            self.meta.append((a.get("name") or a.get("property"), a.get("content", "")))
        if tag == "link":
            self.links.append((a.get("rel", ""), a.get("href", "")))
        if tag == "pre" and "bibtex" in (a.get("class") or ""):
            self.in_bibtex = True

    def handle_endtag(self, tag):
        if tag == "pre":
            self.in_bibtex = False

    def handle_data(self, data):
        if self.in_bibtex:
            self.bibtex += data

    def first(self, name: str) -> str | None:
        return next((content for key, content in self.meta if key == name), None)

    def all(self, name: str) -> list[str]:
        return [content for key, content in self.meta if key == name]


def parsed(path: Path) -> Meta:
    meta = Meta()
    meta.feed(path.read_text(encoding="utf-8"))
    return meta


def pages(out: Path) -> dict[str, Path]:
    """Every HTML page by its URL relative to the site, except the 404 page."""
    found = {}
    for path in sorted(out.rglob("index.html")):
        relative = path.parent.relative_to(out).as_posix()
        found["" if relative == "." else relative + "/"] = path
    return found


def entries(out: Path) -> dict[str, str]:
    return {slug: parsed(path).bibtex for slug, path in ((p.parent.name, p) for p in (out / "papers").glob("*/index.html"))}


# --- BibTeX ---------------------------------------------------------------------------------


def test_hostile_titles_give_entries_a_bibtex_parser_reads_back_whole():
    papers = [paper(t, f"p{i}") for i, t in enumerate(HOSTILE_TITLES)]
    keys = bibtex.citation_keys(site_of(*papers))
    text = "\n\n".join(bibtex.entry(p, keys[p.slug]) for p in papers)
    database = parse_string(text, "bibtex")
    assert len(database.entries) == len(papers)  # none dropped, none swallowed by the one before
    titles = {key: entry.fields["title"] for key, entry in database.entries.items()}
    assert titles[keys["p0"]] == r"{$\pi_0$: A Vision-Language-Action Flow Model}"  # simple math stays math
    assert titles[keys["p1"]] == r"{Cost\textasciicircum{}2: Cheaper Training}"
    assert titles[keys["p2"]] == r"{An Unbalanced \textbraceleft{} Brace}"
    assert titles[keys["p4"]] == r"{100\% \& More: \# of \_ Things \textasciitilde{} Paid in \$}"
    assert r"\input" not in titles[keys["p5"]] and r"\textbackslash{}input" in titles[keys["p5"]]
    assert r"\def" not in titles[keys["p6"]]  # math with commands outside the short list is text
    assert r"$x^2 + y_1$" in titles[keys["p7"]] and r"stray \$ sign" in titles[keys["p7"]]
    assert all(entry.type == "misc" for entry in database.entries.values())


def test_bibtex_compiles_the_hostile_titles_without_a_warning(tmp_path):
    papers = [paper(t, f"p{i}", authors=("Zoë Ångström", "Research and Development Team", "Smith, Jr.")) for i, t in enumerate(HOSTILE_TITLES)]
    keys = bibtex.citation_keys(site_of(*papers))
    log, bbl = run_bibtex(tmp_path, [bibtex.entry(p, keys[p.slug]) for p in papers])
    assert bbl.count(r"\bibitem") == len(papers)
    assert "Zoë Ångström" in bbl  # Unicode kept as written
    assert "{Research and Development Team}" in bbl  # one corporate name, not split at "and"


def run_bibtex(folder: Path, items: list[str], style: str = "plain") -> tuple[str, str]:
    """Real BibTeX (TeX Live) over the entries; fails the test on any warning or error."""
    require_command("bibtex", "TeX Live's texlive-binaries and texlive-base")
    (folder / "refs.bib").write_text("\n\n".join(items) + "\n", encoding="utf-8")
    (folder / "doc.aux").write_text(f"\\citation{{*}}\n\\bibdata{{refs}}\n\\bibstyle{{{style}}}\n", encoding="utf-8")
    result = subprocess.run(["bibtex", "doc"], cwd=folder, capture_output=True, text=True, timeout=60)
    log = (folder / "doc.blg").read_text(encoding="utf-8", errors="replace")
    assert result.returncode == 0 and "Warning" not in log and "error" not in log.lower(), log
    return log, (folder / "doc.bbl").read_text(encoding="utf-8")


def test_pdflatex_typesets_the_hostile_titles(tmp_path):
    """The failure readers met: `$\\pi_0$` or `Cost^2` stopped pdflatex, an unbalanced brace lost entries."""
    require_command("pdflatex", "TeX Live's texlive-latex-base")
    papers = [paper(t, f"p{i}", authors=("Zoë Ångström", "Bo Li")) for i, t in enumerate(HOSTILE_TITLES)]
    keys = bibtex.citation_keys(site_of(*papers))
    run_bibtex(tmp_path, [bibtex.entry(p, keys[p.slug]) for p in papers])
    document = "\\documentclass{article}\n\\usepackage[utf8]{inputenc}\n\\begin{document}\n\\nocite{*}\n" \
               "\\bibliographystyle{plain}\n\\bibliography{refs}\n\\end{document}\n"
    (tmp_path / "doc.tex").write_text(document, encoding="utf-8")
    result = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and (tmp_path / "doc.pdf").is_file(), result.stdout[-2000:]
    assert "Missing $" not in result.stdout and "Undefined control sequence" not in result.stdout


def test_every_seed_entry_parses_and_bibtex_reads_them_all_without_a_warning(seed_built_root, tmp_path):
    found = entries(seed_built_root)
    assert len(found) == 95
    database = parse_string("\n\n".join(found.values()), "bibtex")
    assert len(database.entries) == 95  # keys unique across the site: no "Repeated entry"
    _, bbl = run_bibtex(tmp_path, list(found.values()))
    assert bbl.count(r"\bibitem") == 95
    for entry in database.entries.values():
        assert "url" not in entry.fields  # the seed has no IDs: our own page is not the paper's URL


def test_every_arxiv_fixture_entry_is_arxiv_style_and_compiles(arxiv_built, tmp_path):
    found = entries(arxiv_built)
    database = parse_string("\n\n".join(found.values()), "bibtex")
    pi = database.entries["black2024pi0"]
    assert pi.fields["eprint"] == "2410.24164" and pi.fields["archivePrefix"] == "arXiv" and pi.fields["primaryClass"] == "cs.LG"
    assert pi.fields["url"] == "https://arxiv.org/abs/2410.24164" and pi.fields["year"] == "2024"
    assert [str(p) for p in pi.persons["author"]] == ["Black, Kevin", "Brown, Noah", "Driess, Danny", "Müller, José"]
    cost = database.entries["black2025cost2"]
    assert cost.fields["doi"] == "10.1000/example_doi.2025"
    # Two "Learning" papers by the same first author in the same year: the later-listed one gets a suffix.
    assert {"black2025learning", "black2025learningb"} <= set(database.entries)
    run_bibtex(tmp_path, list(found.values()))


def test_keys_are_stable_and_a_newer_paper_leaves_the_older_keys_alone():
    old = paper("Learning Things", "learning-things", digests=(dt.date(2025, 3, 1),))
    twin = paper("Learning Other Things", "a-learning-other-things", digests=(dt.date(2025, 3, 2),))
    first = bibtex.citation_keys(site_of(old, twin))
    assert first == {"learning-things": "lovelace2025learning", "a-learning-other-things": "lovelace2025learningb"}
    newer = paper("Learning More", "aaa-learning-more", digests=(dt.date(2025, 4, 1),))
    second = bibtex.citation_keys(site_of(newer, old, twin))
    assert second["learning-things"] == first["learning-things"] and second["a-learning-other-things"] == first["a-learning-other-things"]
    assert second["aaa-learning-more"] == "lovelace2025learningc"
    # A suffixed key never takes a key another paper has as its own.
    clash = paper("Learningb Systems", "clash", digests=(dt.date(2025, 1, 1),))
    keys = bibtex.citation_keys(site_of(old, twin, clash))
    assert len(set(keys.values())) == 3 and keys["clash"] == "lovelace2025learningb"


def test_key_uses_family_name_year_and_first_significant_word():
    assert bibtex.base_key(paper("The Art of Fine-Tuning", "x", authors=("Ada King Lovelace",), year=2021)) == "lovelace2021art"
    assert bibtex.base_key(paper("On Ørsted's Field", "x", authors=("Hans Christian Ørsted",), year=1820)) == "orsted1820orsteds"
    assert bibtex.base_key(paper("A Study", "x", authors=())) == "study2025"
    assert bibtex.base_key(paper("Über Alles", "x", authors=("Zoë Müller",))) == "muller2025uber"


# --- the paper page -------------------------------------------------------------------------


def test_arxiv_paper_page_shows_authors_facts_and_links_in_order(arxiv_built):
    page = (arxiv_built / "papers/cost-2-pricing-compute-for-100-more-of-your-budget/index.html").read_text()
    row = re.findall(r'class="paper-link paper-link-(\w+)" href="([^"]+)"', page)
    assert row == [
        ("abstract", "https://arxiv.org/abs/2501.00001"),
        ("pdf", "https://arxiv.org/pdf/2501.00001"),
        ("huggingface", "https://huggingface.co/papers/2501.00001"),
        ("code", "https://github.com/example/cost2"),
    ]
    assert "title-searches" not in page  # the ID is known: no need to search for the title
    assert '<a href="/arxiv/authors/kevin-black/">Kevin Black</a>' in page
    assert 'href="/arxiv/search/?q=Ada%20O%27Neil"' in page  # one paper: a search for the name
    assert "Proc. Example Conf. #7, pp. 1_10 (2025)" in page and 'href="https://doi.org/10.1000/example_doi.2025"' in page
    assert "cs.DC" in page
    pi = (arxiv_built / "papers/pi-0-a-vision-language-action-flow-model/index.html").read_text()
    assert 'href="/arxiv/orgs/physical-example/">Physical Example</a>' in pi
    assert "See project website at https://example.org/pi0" in pi  # the comment
    assert [kind for kind, _ in re.findall(r'paper-link-(\w+)" href="([^"]+)"', pi)] == ["abstract", "pdf", "huggingface", "project"]


def test_text_only_paper_links_to_a_title_search_and_abstract_links_are_clickable(seed_built_root):
    out = seed_built_root
    page = next(p.read_text() for p in sorted((out / "papers").glob("*/index.html")) if "github.com/" in p.read_text())
    assert "https://arxiv.org/search/?searchtype=title&amp;query=%22" in page
    assert "https://scholar.google.com/scholar?q=%22" in page and "https://huggingface.co/papers?q=" in page
    abstract = page.split('class="abstract">', 1)[1].split("</div>", 1)[0]
    assert re.search(r'<a href="https://github\.com/[^"]+" rel="noopener">', abstract)


def test_unsafe_links_in_abstracts_stay_text(tmp_path):
    from test_build import hostile_site

    out = build_site(hostile_site(tmp_path)).out
    text = next((out / "papers").glob("*/index.html")).read_text()
    assert 'href="javascript:' not in text and "<iframe" not in text


def test_previous_and_next_paper_within_each_digest(arxiv_built):
    cost = (arxiv_built / "papers/cost-2-pricing-compute-for-100-more-of-your-budget/index.html").read_text()
    digests = cost.split('id="digests-heading"', 1)[1].split("</section>", 1)[0]
    assert "October 30, 2025" in digests and "October 31, 2025" in digests
    # Oct 30 lists pi0 then Cost^2 by upvotes (12, 3); Oct 31 lists Cost^2 after the 7-upvote Learning paper.
    assert re.search(r'Previous: <a rel="prev" href="/arxiv/papers/pi-0-a-vision-language-action-flow-model/">', digests)
    assert re.search(r'Previous: <a rel="prev" href="/arxiv/papers/learning-unbalanced-braces-in-titles/">', digests)
    assert re.search(r'Next: <a rel="next" href="/arxiv/papers/learning-to-escape-and-in-strings-with-hashes/">', digests)


def test_a_neighbour_retitled_changes_the_page_in_an_incremental_build(tmp_path):
    site = tmp_path / "site"
    shutil.copytree(ARXIV_SITE, site)
    build_site(site)
    path = site / "content/papers/pi-0-a-vision-language-action-flow-model.md"
    path.write_text(path.read_text().replace("for General Robot Control", "for Every Robot"))
    out = build_site(site).out
    assert "Flow Model for Every Robot" in (out / "papers/cost-2-pricing-compute-for-100-more-of-your-budget/index.html").read_text()


# --- metadata on every page -----------------------------------------------------------------


@pytest.mark.parametrize("which", ["seed", "arxiv"])
def test_every_page_has_canonical_description_and_social_tags(which, seed_built_root, arxiv_built):
    out, base = (seed_built_root, "http://127.0.0.1:8000/") if which == "seed" else (arxiv_built, "https://example.org/arxiv/")
    descriptions: dict[str, list[str]] = {}
    for relative, path in pages(out).items():
        meta = parsed(path)
        canonical = [href for rel, href in meta.links if rel == "canonical"]
        assert canonical == [base + relative], relative
        assert meta.first("og:url") == base + relative
        description = meta.first("description")
        assert description and meta.first("og:description") == description == meta.first("twitter:description"), relative
        assert meta.first("og:title") and meta.first("twitter:card") == "summary" and meta.first("og:site_name")
        descriptions.setdefault(description, []).append(relative)
        if relative.startswith("papers/"):
            assert meta.first("og:type") == "article"
            assert meta.first("citation_title") == meta.first("og:title")  # the title as text: formulas as Unicode
    shared = {d: where for d, where in descriptions.items() if len(where) > 1}
    assert shared == {}, f"pages sharing a description: {list(shared.values())[:3]}"
    assert "noindex" in (out / "404.html").read_text()


def test_paper_pages_carry_the_scholarly_tags(arxiv_built):
    meta = parsed(arxiv_built / "papers/pi-0-a-vision-language-action-flow-model/index.html")
    assert meta.all("citation_author") == ["Kevin Black", "Noah Brown", "Danny Driess", "José Müller"]
    assert meta.first("citation_title") == "π₀: A Vision-Language-Action Flow Model for General Robot Control"
    assert meta.first("citation_publication_date") == "2024/10/31"
    assert meta.first("citation_pdf_url") == "https://arxiv.org/pdf/2410.24164"
    assert meta.first("citation_arxiv_id") == "2410.24164"
    assert meta.first("description").startswith("We propose a flow matching architecture")
    cost = parsed(arxiv_built / "papers/cost-2-pricing-compute-for-100-more-of-your-budget/index.html")
    assert cost.first("citation_doi") == "10.1000/example_doi.2025"


def test_feeds_and_papers_json_carry_authors_and_links(arxiv_built):
    feed = ET.parse(arxiv_built / "feed.xml").getroot()
    entry = next(e for e in feed.iterfind("a:entry", ATOM) if e.findtext("a:title", namespaces=ATOM).startswith("π₀"))
    assert [a.findtext("a:name", namespaces=ATOM) for a in entry.iterfind("a:author", ATOM)] == ["Kevin Black", "Noah Brown", "Danny Driess", "José Müller"]
    related = [link.get("href") for link in entry.iterfind("a:link", ATOM) if link.get("rel") == "related"]
    assert related == ["https://arxiv.org/abs/2410.24164", "https://arxiv.org/pdf/2410.24164", "https://huggingface.co/papers/2410.24164", "https://example.org/pi0/"]
    data = json.loads((arxiv_built / "papers.json").read_text())
    pi = next(p for p in data["papers"] if p["slug"].startswith("pi-0"))
    assert pi["authors"][0] == "Kevin Black" and [link["url"] for link in pi["links"]] == related


# --- authors and organizations --------------------------------------------------------------


def test_author_and_org_pages_list_papers_newest_first_with_feeds_paginated(arxiv_built):
    first = (arxiv_built / "authors/kevin-black/index.html").read_text()  # tag_page_size is 2 here
    second = (arxiv_built / "authors/kevin-black/page/2/index.html").read_text()
    assert "4 papers, newest first; page 1 of 2" in first and 'href="/arxiv/authors/kevin-black/page/2/"' in first
    order = [first.index("Learning to Escape"), first.index("Learning")]
    assert "Cost" not in first and "Cost" in second and "Vision-Language-Action" in second
    assert order[1] <= order[0]
    feed = ET.parse(arxiv_built / "authors/kevin-black/feed.xml").getroot()
    assert len(feed.findall("a:entry", ATOM)) == 4
    org = (arxiv_built / "orgs/physical-example/index.html").read_text()
    assert "Papers from Physical Example" in org and (arxiv_built / "orgs/physical-example/feed.xml").is_file()
    index = (arxiv_built / "authors/index.html").read_text()
    assert 'href="/arxiv/authors/noah-brown/"' in index and "Ada O" not in index  # one paper: no page
    assert 'href="/arxiv/orgs/physical-example/"' in (arxiv_built / "orgs/index.html").read_text()
    locs = {e.text for e in ET.parse(arxiv_built / "sitemap.xml").getroot().iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")}
    assert {"https://example.org/arxiv/authors/", "https://example.org/arxiv/orgs/", "https://example.org/arxiv/authors/kevin-black/",
            "https://example.org/arxiv/authors/kevin-black/page/2/", "https://example.org/arxiv/orgs/physical-example/"} <= locs


def test_accented_names_that_fold_alike_get_two_pages(arxiv_built):
    """'José Müller' and 'Jose Muller' are written differently: two names, two pages, neither lost."""
    index = (arxiv_built / "authors/index.html").read_text()
    assert 'href="/arxiv/authors/jose-muller/">José Müller<' in index or 'href="/arxiv/authors/jose-muller/">Jose Muller<' in index
    pages_of = sorted(p.name for p in (arxiv_built / "authors").iterdir() if p.name.startswith("jose-muller"))
    assert len(pages_of) == 2 and pages_of[1].startswith("jose-muller-")


def test_one_name_is_one_page_whatever_its_case_or_spacing():
    a = paper("One", "one", authors=("Wei  Zhang", "Ada Lovelace"))
    b = paper("Two", "two", authors=("wei zhang",))
    c = paper("Three", "three", authors=("Wei Zhang", "WEI ZHANG"))  # one paper lists the name once
    people = site_people(site_of(a, b, c), 2)
    [wei] = [g for g in people.authors if g.slug == "wei-zhang"]
    assert wei.name == "Wei Zhang" and sorted(wei.papers) == ["one", "three", "two"]
    assert people.author_slug("WEI  zhang") == "wei-zhang" and people.author_slug("Ada Lovelace") is None
    nameless = site_people(site_of(paper("A", "a", authors=("王小明",)), paper("B", "b", authors=("王小明",))), 2)
    assert [g.slug for g in nameless.authors] and nameless.authors[0].slug.startswith("author-")


def test_min_papers_is_a_config_key(tmp_path):
    site = tmp_path / "site"
    shutil.copytree(ARXIV_SITE, site)
    config = site / "digestgen.yaml"
    config.write_text(config.read_text().replace("min_papers: 2", "min_papers: 1"))
    out = build_site(site).out
    assert (out / "authors/ada-o-neil/index.html").is_file()
    config.write_text(config.read_text().replace("min_papers: 1", "min_papers: 0"))
    with pytest.raises(DigestgenError, match="author_pages.min_papers: expected a positive whole number"):
        build_site(site)


# --- golden output and the copy button ------------------------------------------------------


def test_arxiv_fixture_matches_the_golden_output(tmp_path, regen_golden):
    site = tmp_path / "site"
    shutil.copytree(ARXIV_SITE, site)
    out = build_site(site).out
    if regen_golden:
        shutil.rmtree(GOLDEN, ignore_errors=True)
        shutil.copytree(out, GOLDEN, ignore=shutil.ignore_patterns("assets", output.MANIFEST))
    tree = lambda folder: {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))  # noqa: E731
                           if p.is_file() and not p.relative_to(folder).as_posix().startswith(("assets/", output.MANIFEST))}
    assert_matches_golden(tree(out), tree(GOLDEN))


@pytest.mark.browser
def test_copy_button_copies_the_entry_under_the_strict_csp(arxiv_built, serve_static, browser):
    server = serve_static(arxiv_built, "/arxiv/")
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.goto(server.url + "papers/pi-0-a-vision-language-action-flow-model/")
    button = page.locator("button.copy-bibtex")
    assert button.is_visible()
    button.click()
    page.wait_for_function("document.querySelector('.copy-status').textContent === 'Copied.'")
    assert page.evaluate("navigator.clipboard.readText()") == page.inner_text("pre.bibtex")
    assert problems == []  # no CSP violation
    context.close()
    off = browser.new_context(java_script_enabled=False)
    page = off.new_page()
    page.goto(server.url + "papers/pi-0-a-vision-language-action-flow-model/")
    assert not page.locator("button.copy-bibtex").is_visible() and "@misc{black2024pi0," in page.inner_text("pre.bibtex")
    off.close()


def test_arxiv_fixture_pages_pass_the_nu_checker(arxiv_built):
    """Authors, facts, links row, neighbours and the author and organization pages are valid HTML."""
    pages = sorted(str(p) for p in arxiv_built.rglob("*.html"))
    result = subprocess.run([*vnu_command(), "--errors-only", "--format", "text", *pages], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[:3000]
