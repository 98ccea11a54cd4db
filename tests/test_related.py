"""Related papers (related.py) on a small site with known clusters, and the kept state between builds."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings, strategies as st

from digestgen import related
from digestgen.build import build_site
from digestgen.config import parse_config
from digestgen.errors import DigestgenError

# Three topics that share no content words, four papers each, and one paper about none of them.
CLUSTERS = {
    "comet": [
        ("Comet Tails Seen by Wide-Field Telescopes", "We image comet tails with wide-field telescopes and measure how the dust tail bends as the comet nears perihelion. Dust grains and ion tails separate under solar wind pressure."),
        ("Dust Grains in Long-Period Comets", "Long-period comets shed dust grains whose sizes we estimate from telescope photometry. The dust tail brightness near perihelion follows the grain size distribution."),
        ("Ion Tails and the Solar Wind", "The ion tail of a comet traces the solar wind. We model ion tail kinks seen by telescopes when the comet crosses solar wind sectors near perihelion."),
        ("A Survey of Comet Nuclei with Small Telescopes", "Small telescopes can resolve comet comae and dust jets. We survey twenty comets, measuring dust production and tail length against perihelion distance."),
    ],
    "bread": [
        ("Sourdough Fermentation at Low Temperature", "Sourdough starters ferment slowly in a cold kitchen. We bake loaves after long fermentation and measure crumb, crust and the sourness of the bread."),
        ("Gluten Networks in Wholemeal Dough", "Wholemeal flour weakens the gluten network of a dough. Kneading time, hydration and fermentation decide the crumb of the baked bread and its crust."),
        ("Baking Bread in a Home Oven with Steam", "Steam in a home oven delays crust formation so the loaf rises further. We bake sourdough and yeasted bread and compare crumb and crust."),
        ("Hydration and Crumb: A Baker's Study", "Bakers raise dough hydration for an open crumb. We knead, ferment and bake loaves at five hydrations and photograph the crumb and the crust of each bread."),
    ],
    "reef": [
        ("Coral Bleaching after Marine Heatwaves", "Marine heatwaves bleach reef corals when symbiotic algae leave the coral tissue. We follow bleaching and recovery on a reef through two summers."),
        ("Symbiotic Algae and Coral Recovery", "Corals recover from bleaching when symbiotic algae return. Reef transects show recovery depends on water temperature and the algae strain."),
        ("Mapping Reef Fish on Bleached Corals", "Reef fish leave bleached coral colonies. Divers mapped fish counts on a reef before and after a marine heatwave bleached the corals."),
        ("Ocean Acidification and Reef Growth", "Acidified seawater slows coral skeleton growth. Reef monitoring across a heatwave links coral growth, bleaching and the symbiotic algae."),
    ],
}
OUTLIER = ("Medieval Tapestry Conservation", "Conservators clean woollen tapestries with gentle suction and stitch torn weft threads onto linen supports before hanging.")


def slug_of(title: str) -> str:
    return "-".join("".join(c for c in w.lower() if c.isalnum()) for w in title.split()).replace("--", "-").strip("-")


def write_paper(
    site: Path, title: str, abstract: str, upvotes: int = 0, digest: str = "2025-10-27", tags: list[str] | None = None,
    slug: str | None = None,
) -> str:
    slug = slug or slug_of(title)
    front = {"title": title, "slug": slug, "published": "2025-10-01", "upvotes": upvotes, "authors": ["Ada Lovelace"],
             "links": [], "digests": [digest], "tags": tags or []}
    (site / "content" / "papers" / f"{slug}.md").write_text(f"---\n{yaml.safe_dump(front, sort_keys=False)}---\n{abstract}\n", encoding="utf-8")
    return slug


def write_digest(site: Path, date: str, slugs: list[str]) -> None:
    (site / "content" / "digests" / f"{date}.yaml").write_text(yaml.safe_dump({"date": date, "papers": slugs}, sort_keys=False), encoding="utf-8")


def make_site(root: Path, config: str = "") -> tuple[Path, dict[str, set[str]]]:
    """The fixture site; returns it and each paper's expected related set (its cluster)."""
    site = root / "site"
    (site / "content" / "papers").mkdir(parents=True)
    (site / "content" / "digests").mkdir()
    (site / "digestgen.yaml").write_text(f"title: Clusters\nbase_url: https://example.org/\n{config}", encoding="utf-8")
    expected: dict[str, set[str]] = {}
    slugs = []
    for papers in CLUSTERS.values():
        members = [write_paper(site, title, abstract, upvotes=n) for n, (title, abstract) in enumerate(papers)]
        slugs += members
        expected.update({m: set(members) - {m} for m in members})
    outlier = write_paper(site, *OUTLIER)
    expected[outlier] = set()
    write_digest(site, "2025-10-27", slugs + [outlier])
    return site, expected


def touch(path: Path) -> None:
    """A newer modification time, the same text: the build reads the file again."""
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))


def related_of(out: Path) -> dict[str, list[str]]:
    return {p["slug"]: p["related"] for p in json.loads((out / "papers.json").read_text("utf-8"))["papers"]}


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".digestgen-manifest.json"}


def test_each_paper_is_related_to_its_cluster_and_the_outlier_to_none(tmp_path):
    site, expected = make_site(tmp_path)
    out = build_site(site).out
    found = related_of(out)
    assert {slug: set(lists) for slug, lists in found.items()} == expected
    outlier = slug_of(OUTLIER[0])
    assert found[outlier] == []
    assert 'class="related"' not in (out / "papers" / outlier / "index.html").read_text("utf-8")


def test_the_paper_page_links_its_related_papers(tmp_path):
    site, expected = make_site(tmp_path)
    out = build_site(site).out
    slug = slug_of(CLUSTERS["bread"][0][0])
    page = (out / "papers" / slug / "index.html").read_text("utf-8")
    section = page[page.index('<section class="related"') :]
    section = section[: section.index("</section>")]
    assert "Related papers" in section
    for other in expected[slug]:
        assert f'href="/papers/{other}/"' in section
    assert CLUSTERS["bread"][1][0] in section


def test_words_drop_links_and_join_hyphenated_words():
    analyse = related.Words()
    tokens = analyse("Pre-trained models, see https://github.com/x/y and github.com/lab/repo or lab.github.io; pretrained")
    assert tokens.count(analyse("pretrained")[0]) == 2  # "pre-trained" joined, and "pretrained"
    assert not [t for t in tokens if "github" in t or "/" in t]
    assert analyse("11.16% of the 3.5 models") == analyse("model")


_SPLIT = re.compile(r"[\s\xa0\-\u2010-\u2015]+")
_MENDED = re.compile(r"(\w)[\-\u2010\u2011] +(\w)")
_CHUNK_WITH_HYPHEN = re.compile(r"(?<!\S)(?=[^\s\-\u2010\u2011]*[\-\u2010\u2011])\S+")


@settings(max_examples=400, deadline=None)
@given(st.text(st.sampled_from(list("ab Z1.-\u2010\u2011\u2012\u2014\xa0\u2009\u3000\t\n\x1c/:é")), max_size=40))
def test_words_split_and_join_as_the_regular_expressions_describe(text):
    """The quick paths (no hyphen; str.split for the chunks) give the pieces these expressions give."""
    lowered = _MENDED.sub(r"\1-\2", text.lower())
    pieces = _SPLIT.split(lowered) + [_SPLIT.sub("", chunk) for chunk in _CHUNK_WITH_HYPHEN.findall(lowered)]
    analyse = related.Words()
    assert analyse(text) == [stem for stem in map(analyse._stem, pieces) if stem]


def test_lists_do_not_depend_on_blocks_or_threads(monkeypatch):
    """Similarities are worked out in blocks of rows, several at once in threads: neither changes a list."""
    import datetime as dt
    import random

    from digestgen.config import RelatedConfig
    from digestgen.model import Paper

    rng = random.Random(5)
    papers = []
    for number in range(150):
        title, abstract = rng.choice([paper for cluster in CLUSTERS.values() for paper in cluster])
        words = [w for w in abstract.split() if rng.random() > 0.3] + rng.choice([OUTLIER, *CLUSTERS["reef"]])[1].split()[:6]
        papers.append(Paper(f"p-{number:03d}", title, " ".join(words), " ".join(words), dt.date(2025, 1, 1), 0, (), None, (),
                            None, (), (), f"content/papers/p-{number:03d}.md"))
    settings = RelatedConfig()
    whole = related.compute_all(papers, settings).lists
    monkeypatch.setattr(related, "_BLOCK_CELLS", 150 * 8)  # blocks of 8 rows, or of 2 with four threads
    assert related.compute_all(papers, settings, workers=1).lists == whole
    assert related.compute_all(papers, settings, workers=4).lists == whole
    assert sum(map(len, whole.values())) > 300


def test_a_hub_paper_is_in_at_most_max_lists_lists(tmp_path):
    site, _ = make_site(tmp_path, "related:\n  max_lists: 2\n")
    hub = write_paper(site, "Comets, Bread and Coral Reefs", " ".join(a for papers in CLUSTERS.values() for _, a in papers[:2]))
    digest = yaml.safe_load((site / "content" / "digests" / "2025-10-27.yaml").read_text())
    write_digest(site, "2025-10-27", digest["papers"] + [hub])
    found = related_of(build_site(site).out)
    appearances = [slug for lists in found.values() for slug in lists]
    assert max(appearances.count(s) for s in set(appearances)) <= 2
    assert appearances.count(hub) == 2  # it is alike to many, but damped


def test_build_output_is_byte_identical_across_hash_seeds_and_cores(tmp_path):
    site, _ = make_site(tmp_path)
    outs = []
    for seed, jobs in (("1", "1"), ("4242", "2")):
        out = tmp_path / f"out-{seed}"
        env = {**os.environ, "PYTHONHASHSEED": seed, "DIGESTGEN_JOBS": jobs}
        done = subprocess.run([sys.executable, "-m", "digestgen", "build", "--site", str(site), "--out", str(out)], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        outs.append(tree(out))
    assert outs[0] == outs[1]
    assert any(related_of(tmp_path / "out-1").values())


def add_comet_paper(site: Path) -> str:
    slug = write_paper(site, "Comet Dust Tails near Perihelion", "Telescopes follow the dust tail of a bright comet through perihelion; dust grains and the ion tail part in the solar wind.", digest="2025-11-03")
    write_digest(site, "2025-11-03", [slug])
    return slug


def test_an_ordinary_build_keeps_old_lists_and_force_recomputes_them(tmp_path):
    site, expected = make_site(tmp_path)
    out = build_site(site).out
    before = tree(out)
    old_lists = related_of(out)
    new = add_comet_paper(site)
    build_site(site)
    after = related_of(out)
    comets = [slug_of(t) for t, _ in CLUSTERS["comet"]]
    assert set(after[new]) == set(comets)  # the new paper is compared against the old ones
    assert {s: l for s, l in after.items() if s != new} == old_lists  # and no old list moves
    for slug in comets:  # so the old comet pages keep their bytes
        assert tree(out)[f"papers/{slug}/index.html"] == before[f"papers/{slug}/index.html"]
    build_site(site, force=True)
    forced = related_of(out)
    assert all(new in forced[slug] for slug in comets)  # --force computes every list again
    assert set(forced[new]) == set(comets)


def test_incremental_equals_force_when_nothing_new_and_for_a_fresh_output(tmp_path):
    site, _ = make_site(tmp_path)
    add_comet_paper(site)
    forced = tree(build_site(site, out=tmp_path / "a", force=True).out)
    assert tree(build_site(site, out=tmp_path / "b").out) == forced  # no kept state: the full computation
    touched = sorted((site / "content" / "papers").glob("*.md"))[0]
    touch(touched)  # read again, same text
    assert tree(build_site(site, out=tmp_path / "a").out) == forced  # kept state, nothing new: the same lists


def edit_the_outlier_and_remove(site: Path, abstract: str, removed_title: str) -> tuple[str, str]:
    """The outlier's abstract replaced and a paper removed (also from its digest); their slugs."""
    outlier = slug_of(OUTLIER[0])
    path = site / "content" / "papers" / f"{outlier}.md"
    path.write_text(path.read_text().replace(OUTLIER[1], abstract))
    removed = slug_of(removed_title)
    (site / "content" / "papers" / f"{removed}.md").unlink()
    digest = yaml.safe_load((site / "content" / "digests" / "2025-10-27.yaml").read_text())
    write_digest(site, "2025-10-27", [s for s in digest["papers"] if s != removed])
    return outlier, removed


def test_an_edited_abstract_gets_a_new_list_and_a_removed_paper_leaves_every_list(tmp_path):
    site, expected = make_site(tmp_path)
    out = build_site(site).out
    reef = CLUSTERS["reef"][0][1] + " " + CLUSTERS["reef"][1][1]
    outlier, removed = edit_the_outlier_and_remove(site, reef, CLUSTERS["bread"][0][0])
    found = related_of(build_site(site).out)
    reefs = {slug_of(t) for t, _ in CLUSTERS["reef"]}
    assert reefs <= set(found[outlier]) | reefs and set(found[outlier]) & reefs
    assert all(removed not in lists for lists in found.values())
    assert removed not in found
    assert out == site / "_site"


def test_a_broken_state_file_means_a_full_computation(tmp_path):
    site, expected = make_site(tmp_path)
    out = build_site(site).out
    state = related.state_path(out)
    assert state.is_file() and not (out / state.name).exists()  # beside the output, never published
    state.write_bytes(b"not a state")
    add_comet_paper(site)
    found = related_of(build_site(site).out)
    assert slug_of("Comet Dust Tails near Perihelion") in found[slug_of(CLUSTERS["comet"][0][0])]
    assert related.load_state(state) is not None  # written again


def test_related_settings_are_checked_together():
    with pytest.raises(DigestgenError) as error:
        parse_config({"related": {"min_similarity": 2, "count": 0, "max_lists": "many"}}, "digestgen.yaml")
    message = str(error.value)
    assert "related.min_similarity: expected a number from 0 to 1, found 2.0" in message
    assert "related.count: expected a positive whole number, found the number 0" in message
    assert "related.max_lists" in message
    config, _ = parse_config({"related": {"min_similarity": 0, "relative_cut": 1}}, "digestgen.yaml")
    assert config.related.min_similarity == 0.0 and isinstance(config.related.min_similarity, float)


def test_changed_settings_compute_every_list_again(tmp_path):
    site, _ = make_site(tmp_path)
    out = build_site(site).out
    assert any(related_of(out).values())
    with (site / "digestgen.yaml").open("a") as config:
        config.write("related:\n  min_similarity: 0.99\n")
    assert not any(related_of(build_site(site).out).values())


def test_papers_json_follows_the_lists_when_the_state_file_is_deleted_and_no_paper_changed(tmp_path):
    site, _ = make_site(tmp_path)
    out = build_site(site).out
    new = add_comet_paper(site)
    build_site(site)  # the old comet lists are kept: they do not name the new paper
    comet = slug_of(CLUSTERS["comet"][0][0])
    assert new not in related_of(out)[comet]
    related.state_path(out).unlink()
    touched = site / "content" / "papers" / f"{comet}.md"
    touch(touched)  # read again, same text
    build_site(site)  # no state: every list computed again, though no paper changed
    page = (out / "papers" / comet / "index.html").read_text("utf-8")
    assert f'href="/papers/{new}/"' in page[page.index('<section class="related"') :]
    assert new in related_of(out)[comet]  # papers.json says what the page says


def test_an_ordinary_build_appends_what_it_changed_to_the_state_and_reads_it_back(tmp_path):
    site, _ = make_site(tmp_path)
    out = build_site(site).out
    path = related.state_path(out)
    base = path.read_bytes()
    new = add_comet_paper(site)
    build_site(site)
    grown = path.read_bytes()
    assert grown.startswith(base) and len(grown) > len(base)  # the full computation's part is not written again
    lists = related_of(out)
    assert related.load_state(path).state.lists == {slug: tuple(found) for slug, found in lists.items() if found}
    touched = site / "content" / "papers" / f"{new}.md"
    touch(touched)
    build_site(site)  # reads the base and the part: the same lists, nothing appended
    assert related_of(out) == lists and path.read_bytes() == grown


@pytest.mark.parametrize("damage", ["cut short", "a byte changed"])
def test_a_build_stopped_while_appending_leaves_the_state_the_previous_build_kept(tmp_path, damage):
    site, _ = make_site(tmp_path)
    out = build_site(site).out
    path = related.state_path(out)
    base = path.read_bytes()
    new = add_comet_paper(site)
    build_site(site)
    after = tree(out)
    appended = path.read_bytes()
    if damage == "cut short":
        path.write_bytes(appended[: len(base) + (len(appended) - len(base)) // 2])
    else:
        middle = len(base) + (len(appended) - len(base)) // 2
        path.write_bytes(appended[:middle] + bytes([appended[middle] ^ 0xFF]) + appended[middle + 1 :])
    kept = related.load_state(path)
    assert kept is not None and kept.parts == 0 and new not in kept.state.lists  # the broken part is not trusted
    touched = site / "content" / "papers" / f"{new}.md"
    touch(touched)
    build_site(site)  # the new paper is new again, and gets the same list
    assert tree(out) == after
    kept = related.load_state(path)
    assert kept.parts == 1 and kept.end == path.stat().st_size  # written over the broken part


def test_writing_the_state_whole_again_changes_no_list(tmp_path, monkeypatch):
    sites = [make_site(tmp_path / name)[0] for name in ("parts", "whole")]
    for site in sites:
        build_site(site)
    for number, (title, abstract) in enumerate(p for papers in CLUSTERS.values() for p in papers[:2]):
        found = []
        for site, most in zip(sites, (1000, 1)):  # the second writes its state whole on every build
            monkeypatch.setattr(related, "_MAX_PARTS", most)
            slug = write_paper(site, f"{title}, Revisited", abstract, digest=f"2025-11-{number + 1:02d}")
            write_digest(site, f"2025-11-{number + 1:02d}", [slug])
            found.append(related_of(build_site(site).out))
        assert found[0] == found[1]
    assert related.load_state(related.state_path(sites[0] / "_site")).parts == 6
    assert related.load_state(related.state_path(sites[1] / "_site")).parts == 0


def test_a_paper_whose_file_changed_but_not_its_title_or_abstract_keeps_its_list(tmp_path):
    site, _ = make_site(tmp_path)
    out = build_site(site).out
    comet = slug_of(CLUSTERS["comet"][0][0])
    new = add_comet_paper(site)
    build_site(site)
    kept = related_of(out)[comet]
    assert new not in kept
    path = site / "content" / "papers" / f"{comet}.md"
    path.write_text(path.read_text().replace("upvotes: 0", "upvotes: 42"))
    build_site(site)
    assert related_of(out)[comet] == kept  # not a new list: the text it is compared by did not change
    assert '42' in (out / "papers" / comet / "index.html").read_text("utf-8")
    edited = path.read_text().replace("We image comet tails", "We image comet tails and dust")
    path.write_text(edited)
    build_site(site)
    assert new in related_of(out)[comet]  # an edited abstract: a new list, against every paper


def test_equal_scores_go_by_slug_in_an_ordinary_build_as_in_a_full_one(tmp_path):
    site, _ = make_site(tmp_path, "related:\n  count: 1\n  max_lists: 100\n")
    title, abstract = CLUSTERS["reef"][0]
    # Slugs before the original's, so that it is not first among the equal scores.
    twins = [write_paper(site, title, abstract, slug=f"a-twin-{letter}") for letter in "bcde"]
    write_digest(site, "2025-10-28", twins)
    out = build_site(site).out
    # A twin earlier by slug than the kept ones, and a paper alike to all five, come in one build: five
    # equal scores where four candidates are kept, so the order of rows in the state must not decide.
    added = [write_paper(site, title, abstract, slug=slug, digest="2025-11-03") for slug in ("a-twin-a", "query")]
    write_digest(site, "2025-11-03", added)
    assert related_of(build_site(site).out)["query"] == ["a-twin-a"]
    assert related_of(build_site(site, out=tmp_path / "forced", force=True).out)["query"] == ["a-twin-a"]


def test_edits_and_removals_are_kept_in_the_state_for_the_next_builds(tmp_path):
    site, _ = make_site(tmp_path)
    out = build_site(site).out
    bread = CLUSTERS["bread"][0][1] + " " + CLUSTERS["bread"][2][1]
    outlier, removed = edit_the_outlier_and_remove(site, bread, CLUSTERS["bread"][1][0])
    build_site(site)
    lists = related_of(out)
    assert set(lists[outlier]) and set(lists[outlier]) <= {slug_of(t) for t, _ in CLUSTERS["bread"]} - {removed}
    new = write_paper(site, "Sourdough Crust and Crumb", CLUSTERS["bread"][1][1], digest="2025-11-03")
    write_digest(site, "2025-11-03", [new])
    build_site(site)  # reads the state with the edit and the removal in it
    after = related_of(out)
    assert {s: l for s, l in after.items() if s != new} == lists
    assert outlier in after[new] and removed not in after[new]  # the edited text is what is compared
