"""Messages a person can act on: every content and config problem names its file and line, in the
user's words, with an example; several problems one per line, sorted and capped; right plurals."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digestgen.build import build_site
from digestgen.errors import DigestgenError
from digestgen.words import plural

GOOD = "---\ntitle: A Good Paper\npublished: 2025-10-01\nupvotes: 3\ntags: [vision]\ndigests: [2025-10-31]\n---\nAn abstract.\n"


def make_site(root: Path, papers: dict[str, str], config: str = "title: T\nbase_url: https://example.org/\n") -> Path:
    (root / "content" / "papers").mkdir(parents=True)
    (root / "content" / "digests").mkdir(parents=True)
    (root / "digestgen.yaml").write_text(config, encoding="utf-8")
    for slug, text in papers.items():
        (root / "content" / "papers" / f"{slug}.md").write_text(text, encoding="utf-8")
    return root


def run(site: Path, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "digestgen", *args, "--site", str(site), "--out", str(site / "out")]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


PAPER_CASES = [
    (
        "title:\npublished: 2025-10-01\n",
        "content/papers/p.md:2: title: expected text, found nothing (for example: title: Attention Is All You Need)",
    ),
    (
        "title: X\nupvotes: many\n",
        "content/papers/p.md:3: upvotes: expected a whole number, found 'many' (for example: upvotes: 12)",
    ),
    (
        "title: X\ntags: vision, nlp\n",
        "content/papers/p.md:3: tags: expected a list in brackets, found 'vision, nlp' (for example: tags: [vision, nlp])",
    ),
    (
        "title: X\npublished: 2024-02-30\n",
        "content/papers/p.md:3: published: expected a real date written YYYY-MM-DD, found '2024-02-30' "
        "(for example: published: 2025-10-31)",
    ),
    (
        "title: X\nauthors: Ada Lovelace\n",
        "content/papers/p.md:3: authors: expected a list of names, found 'Ada Lovelace' "
        "(for example: authors: [Ada Lovelace, Alan Turing])",
    ),
    ("title: 'unclosed\nupvotes: 3\n", "content/papers/p.md:2: invalid YAML: a quote opened here is never closed; add the closing quote"),
    ("title: [unclosed\n", "content/papers/p.md:2: invalid YAML: a list opened with '[' here is never closed; add the ']'"),
    ("title: a: b\n", "content/papers/p.md:2: invalid YAML: a ':' inside a value; put the whole value in quotes"),
]


@pytest.mark.parametrize("front, line", PAPER_CASES)
def test_a_bad_front_matter_field_is_one_line_with_file_line_and_example(tmp_path, front, line):
    site = make_site(tmp_path, {"p": f"---\n{front}---\nAbstract.\n"})
    result = run(site, "build")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr == f"digestgen: error: {line}\n"
    assert not (site / "out").exists()


CONFIG_CASES = [
    ("title: 'unclosed\nbase_url: https://example.org/\n", "digestgen.yaml:1: invalid YAML: a quote opened here is never closed"),
    (
        "title: T\nbase_url: notaurl\n",
        "digestgen.yaml:2: base_url: expected an absolute http(s) URL, found 'notaurl' (for example: base_url: "
        "https://example.org/, or pass --base-url URL)",
    ),
    (
        "title: T\nbase_url: https://example.org/\ntag_page_size: lots\n",
        "digestgen.yaml:3: tag_page_size: expected a positive whole number, found 'lots' (for example: tag_page_size: 50)",
    ),
    (
        "title: T\nbase_url: https://example.org/\nnewsletter:\n  group_by: tags\n",
        "digestgen.yaml:4: newsletter.group_by: expected none or tag, found 'tags' (for example: group_by: tag)",
    ),
    (
        "title: T\nbase_url: https://example.org/\nnewsletter:\n  smtp:\n    security: tls\n",
        "digestgen.yaml:5: newsletter.smtp.security: expected starttls, ssl or none, found 'tls' "
        "(for example: security: starttls)",
    ),
]


@pytest.mark.parametrize("config, line", CONFIG_CASES)
def test_a_bad_setting_is_one_line_with_its_line(tmp_path, config, line):
    site = make_site(tmp_path, {"p": GOOD}, config)
    result = run(site, "build")
    assert result.returncode == 1
    assert result.stderr.startswith(f"digestgen: error: {site}/{line}") and result.stderr.count("\n") == 1


def test_unknown_keys_are_warned_once_each_with_the_closest_known_one(tmp_path):
    typo = GOOD.replace("upvotes: 3\n", "upvote: 3\n")
    site = make_site(
        tmp_path,
        {"a": typo, "b": typo, "c": GOOD.replace("tags:", "colour: red\ntags:")},
        "titel: T\nbase_url: https://example.org/\n",
    )
    result = run(site, "build")
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        f"warning: {site}/digestgen.yaml:1: unknown setting 'titel' ignored (did you mean 'title'?)",
        "warning: content/papers/c.md:5: unknown field 'colour' ignored",
        "warning: content/papers/a.md:4: unknown field 'upvote' ignored (did you mean 'upvotes'?); also in 1 other file",
    ]


def test_several_bad_files_are_one_per_line_sorted_with_a_count_and_a_cap(tmp_path):
    papers = {f"p{n:02d}": "---\ntitle: X\nupvotes: many\n---\nA.\n" for n in range(25)}
    papers["p00"] = "---\ntitle: X\npublished: soon\nupvotes: many\n---\nA.\n"
    site = make_site(tmp_path, papers)
    result = run(site, "build")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0] == "digestgen: error: 25 problems in 25 content files; nothing was written:"
    assert lines[1] == "content/papers/p00.md:3: published: expected a real date written YYYY-MM-DD, found 'soon' (for example: published: 2025-10-31)"
    assert lines[2].startswith("content/papers/p01.md:3: upvotes: expected a whole number")
    assert len(lines) == 1 + 20 + 1 and lines[-1] == "and 5 more"
    assert [line.split(":")[0] for line in lines[1:21]] == sorted(line.split(":")[0] for line in lines[1:21])
    assert not (site / "out").exists()


def test_several_bad_settings_are_one_per_line(tmp_path):
    site = make_site(tmp_path, {"p": GOOD}, "title: T\nbase_url: nope\ncsp_meta: yes please\n")
    lines = run(site, "build").stderr.splitlines()
    assert lines[0] == "digestgen: error: 2 problems in the configuration:"
    assert lines[1].startswith(f"{site}/digestgen.yaml:2: base_url: expected an absolute http(s) URL, found 'nope'")
    assert lines[2] == f"{site}/digestgen.yaml:3: csp_meta: expected true or false, found 'yes please' (for example: csp_meta: true)"


def test_plural_forms():
    assert [plural(n, "paper") for n in (0, 1, 2)] == ["0 papers", "1 paper", "2 papers"]
    assert plural(1, "match", "matches") == "1 match" and plural(3, "match", "matches") == "3 matches"


def test_a_one_paper_site_says_so_in_the_singular(tmp_path):
    site = make_site(tmp_path, {"p": GOOD})
    result = run(site, "build")
    assert result.returncode == 0, result.stderr
    assert "(1 paper, 1 digest, " in result.stdout
    pages = (site / "out" / "index.html").read_text() + (site / "out" / "archive" / "index.html").read_text()
    assert "1 papers" not in pages.replace("&nbsp;", " ") and "1&nbsp;paper<" in pages


# --- any mutation of a front matter: a build, or lines that each name a file and a line ----------

VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.text(max_size=8),
    st.lists(st.one_of(st.text(max_size=5), st.integers()), max_size=3),
    st.dictionaries(st.sampled_from(["kind", "url", "x"]), st.text(max_size=5), max_size=2),
)
FIELDS = st.sampled_from(
    ["title", "published", "upvotes", "authors", "author_count", "organization", "links", "arxiv", "tags",
     "digests", "categories", "keywords", "note", "remove_tags", "comments", "doi"]
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=FIELDS, value=VALUES)
def test_any_front_matter_mutation_builds_or_names_file_and_line(tmp_path_factory, field, value):
    import yaml

    root = tmp_path_factory.mktemp("mutation")
    data = yaml.safe_load(GOOD.split("---\n")[1])
    data[field] = value
    site = make_site(root, {"p": "---\n" + yaml.safe_dump(data, sort_keys=False) + "---\nAbstract.\n"})
    try:
        build_site(site, out=root / "out", workers=1)
    except DigestgenError as error:
        lines = str(error).splitlines()
        assert lines and all(line.startswith("content/papers/p.md:") and line.split(":")[1].isdigit() for line in lines), lines


def test_an_unknown_key_in_a_digest_file_is_warned_with_the_closest_known_one(tmp_path):
    site = make_site(tmp_path, {"p": GOOD})
    (site / "content" / "digests" / "2025-10-31.yaml").write_text("date: 2025-10-31\npapers: [p]\npciks: [p]\n")
    result = run(site, "build")
    assert result.returncode == 0, result.stderr
    assert "warning: content/digests/2025-10-31.yaml:3: unknown field 'pciks' ignored (did you mean 'picks'?)" in result.stderr
