"""Front matter round trips, safe YAML reading, Markdown escaping, and loading a site's content."""

from __future__ import annotations

import html
import re
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digestgen.config import parse_config
from digestgen.errors import DigestgenError
from digestgen.frontmatter import YamlError, escape_markdown, load_yaml, read_front_matter, unescape_markdown, write_front_matter
from digestgen.load import load_site
from digestgen.views import markdown_renderer

from conftest import copy_repo_site

TRICKY = ["NO", "on", "yes", "~", "null", "1.10", "012345", "0x1F", "12:30:00", "2024-02-30", "---", "...", "key: value",
          "'quoted'", '"double"', "# not a comment", "- item", "[a, b]", "{a: 1}", "&anchor", "*alias", "!tag",
          "emoji 🧪🚀", "مرحبا بالعالم", "line\nbreak", " leading", "trailing ", "tab\there", "\\backslash", "%percent", "@at", "`tick`", "|", ">"]


@pytest.mark.parametrize("value", TRICKY)
def test_tricky_strings_round_trip_exactly(value):
    data = {"title": value, "tags": [value], "organization": value}
    assert read_front_matter(write_front_matter(data, "body\n")) == (data, "body\n")


@settings(max_examples=300, deadline=None)
@given(st.text(), st.lists(st.text(), max_size=3))
def test_any_string_round_trips_through_front_matter(title, tags):
    data = {"title": title, "tags": tags}
    assert read_front_matter(write_front_matter(data, "x\n"))[0] == data


def rendered_text(markdown: str) -> str:
    out = markdown_renderer().render(markdown)
    return html.unescape(re.sub(r"<[^>]+>", "", out)).strip()


_single_line = st.text(alphabet=st.characters(blacklist_categories=["Cc", "Cs", "Zl", "Zp"]), min_size=1).map(str.strip).filter(bool)


@settings(max_examples=400, deadline=None)
@given(_single_line)
def test_escaped_abstract_renders_as_exactly_its_text(text):
    escaped = escape_markdown(text)
    assert unescape_markdown(escaped) == text
    assert rendered_text(escaped) == text


@pytest.mark.parametrize("text", ["1. not a list", "- not a list", "# not a heading", "> not a quote", "*not em*", "_x_",
                                  "<b>no html</b>", "[link](javascript:alert(1))", "`code`", "&amp; stays", "a  \\% b", "==="])
def test_markdown_specials_render_literally(text):
    assert rendered_text(escape_markdown(text)) == text


@pytest.mark.parametrize(
    "text, message",
    [
        ("a: &x [1]\nb: *x\n", "aliases"),
        ("a: !!python/object/apply:os.system ['true']\n", "constructor"),
        ("a: [1\n", "invalid YAML"),
        ("a:" + " [" * 40 + "1" + "]" * 40 + "\n", "YAML"),
    ],
)
def test_unsafe_or_broken_yaml_is_refused(text, message):
    with pytest.raises(YamlError, match=message):
        load_yaml(text)


def test_huge_yaml_is_refused():
    with pytest.raises(YamlError, match="larger"):
        load_yaml("a: " + "x" * 2_000_000)


def test_dates_stay_text_and_are_checked_by_the_model(tmp_path):
    site = copy_repo_site(tmp_path / "site")
    victim = sorted((site / "content" / "papers").glob("*.md"))[0]
    victim.write_text(re.sub(r"published: .*", "published: 2024-02-30", victim.read_text(), count=1))
    other = sorted((site / "content" / "papers").glob("*.md"))[1]
    other.write_text("---\ntitle: [unclosed\n---\nbody\n")
    config, _ = parse_config({}, "test")
    with pytest.raises(DigestgenError) as info:
        load_site(site, config)
    message = str(info.value)
    assert message.startswith("2 problems in 2 content files; nothing was written:\n") and "does not exist" not in message
    lines = message.splitlines()[1:]
    assert len(lines) == 2 and lines == sorted(lines)  # one per line, by file
    assert f"{victim.name}:" in message and "published: expected a real date written YYYY-MM-DD, found '2024-02-30'" in message
    assert f"{other.name}:2: invalid YAML: a list opened with '[' here is never closed" in message


def test_build_reports_malformed_content_in_one_line(tmp_path):
    site = copy_repo_site(tmp_path / "site")
    bad = sorted((site / "content" / "papers").glob("*.md"))[0]
    bad.write_text("---\ntitle: x\nupvotes: many\n---\n")
    result = subprocess.run([sys.executable, "-m", "digestgen", "build", "--site", str(site)], capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert f"{bad.name}:3: upvotes: expected a whole number, found 'many' (for example: upvotes: 12)" in result.stderr
    assert not (site / "_site").exists()


def test_config_errors_are_reported_together_and_unknown_keys_warned():
    with pytest.raises(DigestgenError) as info:
        parse_config({"base_url": "example.org", "tag_page_size": -3, "csp_meta": "yes"}, "digestgen.yaml")
    message = str(info.value)
    assert "base_url" in message and "tag_page_size" in message and "csp_meta" in message
    _, warnings = parse_config({"colour": "blue"}, "digestgen.yaml")
    assert warnings == ["digestgen.yaml: unknown setting 'colour' ignored"]
    _, warnings = parse_config({"titel": "x"}, "digestgen.yaml", lines={("titel",): 4})
    assert warnings == ["digestgen.yaml:4: unknown setting 'titel' ignored (did you mean 'title'?)"]


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.from_regex(r"[a-z_]{1,12}", fullmatch=True), st.one_of(st.text(), st.lists(st.text(), max_size=3), st.integers(), st.none()), max_size=4))
def test_the_fast_yaml_emitter_writes_the_same_text_as_the_reference_one(data):
    from digestgen.frontmatter import dump_yaml

    assert dump_yaml(data, fast=True) == dump_yaml(data, fast=False)


def test_a_paper_file_name_that_is_not_a_slug_is_refused(tmp_path):
    site = copy_repo_site(tmp_path / "site")
    victim = sorted((site / "content" / "papers").glob("*.md"))[0]
    victim.rename(site / "content" / "papers" / "Not A Slug.md")
    config, _ = parse_config({}, "test")
    with pytest.raises(DigestgenError, match="may only use a-z, 0-9 and '-'"):
        load_site(site, config)


def test_hidden_files_beside_the_papers_are_not_content(tmp_path):
    """Editors' lock files and macOS's ._ files are not papers (serve's watcher ignores them too)."""
    site = copy_repo_site(tmp_path / "site")
    (site / "content" / "papers" / "._notes.md").write_bytes(b"\x00\x05\x16\x07 not text")
    (site / "content" / "digests" / ".draft.yaml").write_text("date: [broken\n")
    config, _ = parse_config({}, "test")
    assert len(load_site(site, config).papers) == 95


def test_odd_link_kinds_and_scalar_digests_do_not_crash(tmp_path):
    site = copy_repo_site(tmp_path / "site")
    victim = sorted((site / "content" / "papers").glob("*.md"))[0]
    text = victim.read_text()
    victim.write_text(re.sub(r"links: .*?\ndigests:", "links:\n- kind: [x]\n  url: https://example.org/\ndigests:", text, count=1, flags=re.S))
    config, _ = parse_config({}, "test")
    paper = load_site(site, config).papers[victim.stem]
    assert [(link.kind, link.url) for link in paper.links] == [("project", "https://example.org/")]
