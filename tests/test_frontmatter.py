"""Front matter round trips, safe YAML reading, Markdown escaping, and loading a site's content."""

from __future__ import annotations

import html
import re
import subprocess
import sys

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from digestgen.config import parse_config
from digestgen.errors import DigestgenError
from digestgen.frontmatter import (
    YamlError,
    _loaded_lines,
    dump_yaml,
    escape_markdown,
    load_yaml,
    read_front_matter,
    read_simple_yaml,
    simple_yaml,
    unescape_markdown,
    write_front_matter,
)
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

    assert dump_yaml(data, fast=True, direct=False) == dump_yaml(data, fast=False)


# Strings PyYAML has to quote, or nearly has to: indicators first, last and inside, document markers,
# what the resolvers read as bool, null, numbers and dates, quotes, line breaks, tabs, controls, unicode.
AWKWARD = TRICKY + [
    "", "-", "?", ":", "-x", "?x", ":x", "- x", "? x", ": x", "--x", "..x", ".x", "x.", "x-", "x?", "a:", "a :b", "a:b",
    "a #b", "a#b", "#", "a,b", ",a", "[", "]x", "x]", "{", "}", "x'y", "it's", "''", '"', "<<", "=", "1e3", ".inf", "-.INF",
    ".NaN", "0o17", "+1", "-1", "1_000", "0b101", "190:20:30", "2024-01-01", "2024-01-01 10:00:00", "2024-1-1",
    "Null", "NULL", "True", "FALSE", "Off", "y", "n", "Y", "N", "é", "Zoë Ågård", "O'Brien", "\u00a0x", "x\u00a0",
    "a  b", "\u2028", "a\u2029b", "\ufeffx", "\x85", "\x7f", "\x00", "a\rb", "a\r\nb", "\n", "\t", "x\n", "\ud7ff\ue000\ufffd",
    "x" * 1200, ("word " * 900).strip(),
]


def _written_as_pyyaml_writes(data):
    text = dump_yaml(data)
    assert text == dump_yaml(data, direct=False)  # the bytes PyYAML (libyaml) writes
    if simple_yaml(data) is not None:
        assert text == dump_yaml(data, fast=False)  # and its pure-Python emitter
    assert yaml.safe_load(text) == data and load_yaml(text) == data


@pytest.mark.parametrize("value", AWKWARD)
def test_the_direct_writer_writes_awkward_strings_as_pyyaml_does(value):
    for data in (
        {"title": value},
        {"authors": [value]},
        {"authors": ["Ada Lovelace", value, "Alan Turing"]},
        {"links": [{"kind": "code", "url": value}, {"kind": value, "url": "https://example.org"}]},
        {"extra": {"note": value}},
        {value: "x"},
        {"extra": {value: 1}},
    ):
        _written_as_pyyaml_writes(data)


def test_the_direct_writer_quotes_only_what_yaml_would_misread():
    assert simple_yaml({"title": "yes", "id": "2024-01-01", "n": "007", "k": "key: value", "e": ""}) == (
        "title: 'yes'\nid: '2024-01-01'\nn: '007'\nk: 'key: value'\ne: ''\n"
    )
    assert simple_yaml({"authors": ["Nadia Okafor", "No", "O'Brien"], "tags": [], "x": {}}) == (
        "authors:\n- Nadia Okafor\n- 'No'\n- O'Brien\ntags: []\nx: {}\n"
    )
    # Not one-line text it can vouch for: PyYAML writes these.
    assert simple_yaml({"title": "a\nb"}) is None and simple_yaml({"title": "\t"}) is None and simple_yaml({"x": 1.5}) is None


_awkward_char = st.one_of(st.sampled_from(list(" -:#'\"?,.[]{}&*!|>%@`~=<+_\t\n\r\x85\u2028\ufeff0123456789eExXoObBnNyYtTfF")), st.characters(blacklist_categories=["Cs"]))
_awkward_text = st.one_of(st.sampled_from(AWKWARD), st.text(_awkward_char, max_size=12))
_keys = st.one_of(st.from_regex(r"[A-Za-z_][A-Za-z0-9_-]{0,8}", fullmatch=True), _awkward_text)
_scalars = st.one_of(_awkward_text, st.integers(), st.booleans(), st.none(), st.floats(allow_nan=False))
_values = st.one_of(
    _scalars,
    st.lists(_scalars, max_size=5),
    st.lists(st.one_of(_scalars, st.dictionaries(_keys, _scalars, min_size=1, max_size=3)), max_size=4),
    st.dictionaries(_keys, _scalars, max_size=3),
)


@settings(max_examples=600, deadline=None)
@given(st.dictionaries(_keys, _values, max_size=6))
def test_any_front_matter_is_written_as_pyyaml_writes_it_and_read_back_the_same(data):
    _written_as_pyyaml_writes(data)


def _read_as_pyyaml_reads(text, first_line=2):
    """The fast reader reads `text` as PyYAML's loader does (values, their types, their lines), or leaves it to it."""
    fast = read_simple_yaml(text, first_line)
    if fast is not None:
        assert repr(fast) == repr(_loaded_lines(text, first_line))
    return fast


@pytest.mark.parametrize("value", AWKWARD)
def test_the_fast_reader_reads_awkward_strings_as_pyyaml_does(value):
    for data in (
        {"title": value},
        {"authors": [value]},
        {"authors": ["Ada Lovelace", value, "Alan Turing"], "upvotes": 3},
        {"links": [{"kind": "code", "url": value}, {"kind": value, "url": "https://example.org"}]},
        {"extra": {"note": value}},
        {value: "x"},
        {"extra": {value: 1}},
        {"title": f"A title long enough for PyYAML to fold it at eighty characters: {value} and then some more"},
    ):
        if simple_yaml(data) is not None:
            assert _read_as_pyyaml_reads(simple_yaml(data)) is not None  # all the writer writes, it reads
        _read_as_pyyaml_reads(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))  # folded at width 80
        _read_as_pyyaml_reads(yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=20))


def test_the_fast_reader_reads_the_usual_front_matter_and_its_lines():
    text = (
        "title: 'PVP-7275: Foundation Models for Generalist Geospatial Artificial\n  Intelligence'\nupvotes: 0\n"
        "links:\n- kind: code\n  url: https://github.com/lab0/project-7275\ndigests:\n- '2024-06-30'\ntags: []\n"
        "authors:\n- Lena Petrović 14\n- Zoë Brown 8\nnote: a plain text that PyYAML folded\n  over two rows\n"
    )
    data, lines = _read_as_pyyaml_reads(text)
    assert data["title"] == "PVP-7275: Foundation Models for Generalist Geospatial Artificial Intelligence"
    assert data["links"] == [{"kind": "code", "url": "https://github.com/lab0/project-7275"}] and data["upvotes"] == 0
    assert data["authors"] == ["Lena Petrović 14", "Zoë Brown 8"]
    assert data["note"] == "a plain text that PyYAML folded over two rows"
    assert lines[("upvotes",)] == 4 and lines[("links", 0, "url")] == 7 and lines[("authors", 1)] == 13


@pytest.mark.parametrize("text", [
    "a: 1\n\nb: 2\n", "# comment\na: 1\n", "a: 1 # comment\n", "a: \"x\"\n", "a:\n", "a: x\na: y\n", "a: yes\n",
    "a: 1.5\n", "a: 0x1F\n", "a: [x]\n", "a:\n  - x\n", "a:\n- x\n  y: z\n", "a: 'x\n\n  y'\n", "a: x\n\ty\n",
    "a: |\n  x\n", "a: x \n  y\n", "a: x\n  # y\n", "- x\n", "a: &x y\nb: *x\n",
])
def test_the_fast_reader_leaves_anything_else_to_pyyaml(text):
    assert read_simple_yaml(text) is None


_inserts = st.sampled_from([" ", ":", "'", "#", "-", "\n", "\t", "\n  ", "\n- ", "", "x"])
_edits = st.lists(st.tuples(st.integers(0, 10_000), _inserts), max_size=3)


@settings(max_examples=600, deadline=None)
@given(st.dictionaries(_keys, _values, max_size=6), _edits, st.sampled_from([4096, 80, 20]))
def test_front_matter_edited_by_hand_is_read_as_pyyaml_reads_it_or_left_to_it(data, edits, width):
    text = dump_yaml(data) if width == 4096 else yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=width)
    for position, insert in edits:  # an empty insert deletes the character there
        position %= len(text) + 1
        text = text[:position] + insert + text[position + (not insert):]
    try:
        _read_as_pyyaml_reads(text)
    except YamlError:
        assert read_simple_yaml(text, 2) is None  # what PyYAML refuses, the fast reader never reads


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


def test_a_number_too_long_for_python_is_a_content_error_naming_the_paper(tmp_path):
    """Past 4,300 digits int() refuses a number: that is the paper's problem, reported as such, not a crash."""
    site = copy_repo_site(tmp_path / "site")
    victim = sorted((site / "content" / "papers").glob("*.md"))[0]
    victim.write_text(re.sub(r"^upvotes: .*$", "upvotes: " + "9" * 4301, victim.read_text(), count=1, flags=re.M))
    assert "9" * 4301 in victim.read_text()
    config, _ = parse_config({}, "test")
    with pytest.raises(DigestgenError) as raised:
        load_site(site, config)
    assert victim.name in str(raised.value) and "\n" not in str(raised.value)
