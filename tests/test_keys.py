"""The key audit: over the fixture site and a sequence of edits, an equal key means an equal page.

For every page (and every keyed site-wide file: search, feeds, sitemap, papers.json) in every state
of the site, the audit renders it with a collector, makes the key the build would record, and
notes what the page was made from: its whole context, the sources of the templates it loaded, the
assets it asked for, and its bytes. Whenever a page's key equals one it had in an earlier state,
all of that must be equal too; otherwise the build would keep showing the old page.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any, Callable

from conftest import FIXTURES

from digestgen import pages, related
from digestgen.build import build_site, load_and_tag, plan_site
from digestgen.config import load_config
from digestgen.render import Reads, render_page

DEFAULT_DIGEST = Path(__file__).resolve().parents[1] / "templates" / "digest.html"
# The case: a theme override that shows how many papers the previous digest has.
PREVIOUS_COUNT = '{% if digest.previous %}<p class="previous-count">{{ digest.previous.count }} papers before</p>{% endif %}\n'


def _plain(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=repr, ensure_ascii=False)


def made_from(site_dir: Path, out: Path) -> dict[str, tuple[str, str | None, str]]:
    """Every output's key and a digest of everything it was made from, as a build of the site now sees them."""
    config, _ = load_config(site_dir)
    site = related.relate_site(load_and_tag(site_dir, config, {}), out)
    plan = plan_site(site_dir, site, ())
    found: dict[str, tuple[str, str | None, str]] = {}  # url -> (kind, key, what it was made from)
    for job, core in zip(plan.jobs, plan.cores, strict=True):
        reads, context = Reads(), job.make_context()
        html = render_page(plan.env, job, plan.globals, reads, context)
        sources = {name: plan.env.loader.get_source(plan.env, name)[0] for name in sorted(reads.templates)}
        assets = {name: plan.assets[name].output for name in sorted(reads.assets)}
        seen = [job.template, job.title, job.description, plan.globals["site"], context, sources, assets, html.decode()]
        found[job.url] = (job.template, plan.keys.after(core, reads), _plain(seen))
    for task in plan.site_wide:
        files = task.make()
        for path in task.paths:
            found[path] = (path.split("/")[0], task.key, hashlib.sha256(files[path]).hexdigest())
    return found


class Audit:
    """Each output's keys so far, and what each key was made from."""

    def __init__(self) -> None:
        self.seen: dict[str, dict[str, str]] = {}
        self.compared: dict[str, int] = {}  # kind of output -> equal keys met again

    def check(self, state: str, found: dict[str, tuple[str, str | None, str]]) -> list[str]:
        holes = []
        for url, (kind, key, made) in found.items():
            if key is None:
                continue  # always made again
            earlier = self.seen.setdefault(url, {})
            if key in earlier:
                self.compared[kind] = self.compared.get(kind, 0) + 1
                if earlier[key] != made:
                    holes.append(f"after {state}: /{url} kept its key but not what it shows")
            earlier[key] = made
        return holes


# ---------------------------------------------------------------- the edits


def _papers(site: Path) -> Path:
    return site / "content" / "papers"


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def _new_paper(site: Path, slug: str, title: str, digest: str, extra: str = "") -> None:
    (_papers(site) / f"{slug}.md").write_text(
        f"---\ntitle: {title}\nslug: {slug}\nid: title:{title.lower()}\npublished: '2025-10-29'\nupvotes: 3\n"
        f"links: []\ndigests:\n- '{digest}'\ntags: []\n{extra}---\nA paper about contrastive pre-training of "
        "vision transformers and graph neural networks for retrieval.\n"
    )


def add_to_the_previous_digest(site: Path) -> None:
    """2025-10-31 is the digest before the latest: its count shows on the latest digest and home."""
    _new_paper(site, "a-late-addition", "A Late Addition", "2025-10-31")


def retitle_a_paper(site: Path) -> None:
    _edit(_papers(site) / "graph-neural-networks-for-molecule-retrieval.md",
          "title: Graph Neural Networks for Molecule Retrieval", "title: Graph Networks for Retrieving Molecules")


def give_an_author_and_an_org_a_second_paper(site: Path) -> None:
    _new_paper(site, "tiny-experts-again", "Tiny Experts Again", "2025-11-01",
               "authors:\n- Ada Example\n- Dan Newcomer\norganization: Example Lab\n")
    _edit(site / "content" / "digests" / "2025-11-01.yaml", "- sparse-mixtures-of-experts-for-tiny-devices\n",
          "- sparse-mixtures-of-experts-for-tiny-devices\n- tiny-experts-again\n")


def rename_an_author(site: Path) -> None:
    _edit(_papers(site) / "tiny-experts-again.md", "- Dan Newcomer", "- Dana Newcomer")


def tag_more_papers(site: Path) -> None:
    """A tag on more papers: tag pages, chips on every card that shows the tag, the tags index."""
    for name in ("contrastive-pre-training-of-vision-transformers", "sparse-mixtures-of-experts-for-tiny-devices"):
        _edit(_papers(site) / f"{name}.md", "tags: []", "tags:\n- Reading Group")


def tag_an_unrelated_paper(site: Path) -> None:
    """Tags shared by more papers come later among the chips of the papers that had them: those
    papers' cards and pages change though their own files do not."""
    _edit(_papers(site) / "a-study-of-nothing-in-particular.md", "tags:\n- Reading Group", "tags:\n- Reading Group\n- Computer Vision")


def change_upvotes(site: Path) -> None:
    """The latest digest is ordered by upvotes: its pages and home list papers in another order."""
    _edit(_papers(site) / "contrastive-pre-training-of-vision-transformers.md", "upvotes: 2", "upvotes: 40")


def curate_again(site: Path) -> None:
    digest = site / "content" / "digests" / "2025-11-01.yaml"
    _edit(digest, "The clearest routing figure", "The plainest routing figure")
    _edit(digest, "title: Small models, big retrieval", "title: Small models, bigger retrieval")


def retitle_the_previous_digest(site: Path) -> None:
    _edit(site / "content" / "digests" / "2025-10-31.yaml", "source: 2025-10-31.txt\n",
          "source: 2025-10-31.txt\ntitle: The last day of October\n")


def edit_the_tag_template(site: Path) -> None:
    default = DEFAULT_DIGEST.with_name("tag.html").read_text()
    (site / "templates" / "tag.html").write_text(default.replace("</h1>", "</h1>\n<p>Edited tag page.</p>", 1))


def add_an_unused_stylesheet(site: Path) -> None:
    (site / "static" / "extra.css").write_text("body { margin: 0; }\n")


def edit_the_stylesheet(site: Path) -> None:
    (site / "static" / "style.css").write_text((DEFAULT_DIGEST.parents[1] / "static" / "style.css").read_text() + "\n/* edited */\n")


def remove_a_paper(site: Path) -> None:
    (_papers(site) / "a-late-addition.md").unlink()


EDITS: list[Callable[[Path], None]] = [
    add_to_the_previous_digest, retitle_a_paper, tag_an_unrelated_paper, give_an_author_and_an_org_a_second_paper, rename_an_author,
    tag_more_papers, change_upvotes, curate_again, retitle_the_previous_digest, edit_the_tag_template,
    add_an_unused_stylesheet, edit_the_stylesheet, remove_a_paper,
]


def fixture_site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    shutil.copytree(FIXTURES / "site", site)
    (site / "templates" / "digest.html").write_text(DEFAULT_DIGEST.read_text().replace("</h1>", "</h1>\n" + PREVIOUS_COUNT, 1))
    return site


def audit(tmp_path: Path) -> tuple[list[str], Audit]:
    site, book = fixture_site(tmp_path), Audit()
    holes = book.check("the first build", made_from(site, tmp_path / "out"))
    for edit in EDITS:
        edit(site)
        holes += book.check(edit.__name__.replace("_", " "), made_from(site, tmp_path / "out"))
    return holes, book


# ---------------------------------------------------------------- the tests


def test_over_a_sequence_of_edits_an_equal_key_means_an_equal_page(tmp_path):
    holes, book = audit(tmp_path)
    assert holes == [], "\n".join(holes)
    # Not vacuous: every kind of keyed page met a key it had before, and so did the feeds and the search files.
    kinds = ["home.html", "digest.html", "paper.html", "tag.html", "author.html", "org.html", "authors.html", "orgs.html",
             "tags.html", "archive.html", "search.html", "404.html"]
    for kind in [*kinds, "feed.xml", "tags", "authors", "search", "sitemap.xml", "papers.json"]:
        assert book.compared.get(kind, 0) > 0, (kind, book.compared)


def test_the_audit_catches_a_digest_key_that_covers_its_neighbours_dates_and_not_their_counts(tmp_path, monkeypatch):
    """The key digests had before: the neighbours' dates, while the page shows their counts."""

    def dates_only(site, index, links):
        before = site.digests[index - 1].date if index > 0 else None
        after = site.digests[index + 1].date if index + 1 < len(site.digests) else None
        return f"{before}|{after}"

    monkeypatch.setattr(pages, "_neighbours", dates_only)
    holes, _ = audit(tmp_path)
    assert "after add to the previous digest: /2025/11/01/ kept its key but not what it shows" in holes


def test_the_override_shows_the_previous_digests_count_after_a_paper_is_added_to_it(tmp_path):
    """What a reader of the issue's theme sees: incremental builds keep the count true without --force."""
    site = fixture_site(tmp_path)
    out = build_site(site).out
    count = re.compile(r'<p class="previous-count">(\d+) papers before</p>')
    assert count.findall((out / "2025" / "11" / "01" / "index.html").read_text()) == ["3"]
    add_to_the_previous_digest(site)
    result = build_site(site)
    assert count.findall((out / "2025" / "11" / "01" / "index.html").read_text()) == ["4"]
    assert 0 < result.counts["rendered"] < result.counts["pages"]
