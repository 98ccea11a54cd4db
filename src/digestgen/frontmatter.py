"""Front matter and YAML: written with safe_dump, read with a stricter safe loader.

The loader keeps every scalar the dumper wrote as the same value, refuses aliases
(billion-laughs), deep nesting and huge files, and leaves dates as strings so that a
bad date such as 2024-02-30 is reported by the model, not raised by PyYAML. The usual
front matter, laid out as the writer lays it out, is read without PyYAML, to the same values.
"""

from __future__ import annotations

import re
from typing import Any, Callable

import yaml

MAX_YAML_BYTES = 1_000_000
MAX_DEPTH = 32
FENCE = "---"

# Characters that mean something to CommonMark inside a paragraph.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>&!|~{}#])")
_MD_LINE_START = re.compile(r"^(\s*)(?:([-+=>])|(\d+)([.)]))", re.MULTILINE)
_RISKY_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff]")
_MD_UNESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


class YamlError(ValueError):
    """YAML that cannot be read safely; carries the line where known."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """SafeLoader (libyaml when present) that leaves timestamps as strings."""

    yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


def _check_tree(node: yaml.Node) -> None:
    """Refuse aliases (a node reached twice) and nesting deeper than MAX_DEPTH."""
    seen: set[int] = set()
    stack = [(node, 1)]
    while stack:
        current, depth = stack.pop()
        if id(current) in seen:
            raise YamlError("YAML aliases are not allowed", current.start_mark.line + 1)
        seen.add(id(current))
        if depth > MAX_DEPTH:
            raise YamlError(f"YAML nested deeper than {MAX_DEPTH} levels", current.start_mark.line + 1)
        if isinstance(current, yaml.SequenceNode):
            stack.extend((child, depth + 1) for child in current.value)
        elif isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                stack.extend(((key, depth + 1), (value, depth + 1)))


Lines = dict[tuple[Any, ...], int]  # path of keys and indexes -> 1-based line of that value


def _value_lines(node: yaml.Node, path: tuple[Any, ...], lines: Lines) -> None:
    """Record where every value under `node` starts, by its path of keys and indexes."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.SequenceNode):
        for index, child in enumerate(node.value):
            _value_lines(child, path + (index,), lines)
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                _value_lines(value, path + (key.value,), lines)


def load_yaml(text: str) -> Any:
    """Parse YAML text safely; raise YamlError with a line number on anything bad."""
    return load_yaml_lines(text)[0]


def load_yaml_lines(text: str, first_line: int = 1) -> tuple[Any, Lines]:
    """Like load_yaml, and also where each value starts (`first_line` is the text's first line in its file)."""
    if len(text) > MAX_YAML_BYTES:
        raise YamlError(f"YAML larger than {MAX_YAML_BYTES} bytes")
    simple = read_simple_yaml(text, first_line)
    if simple is not None:
        return simple
    return _loaded_lines(text, first_line)


def _loaded_lines(text: str, first_line: int) -> tuple[Any, Lines]:
    """load_yaml_lines by PyYAML's loader, for any text."""
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        _check_tree(node)
        lines: Lines = {}
        _value_lines(node, (), lines)
        if first_line != 1:
            lines = {path: line + first_line - 1 for path, line in lines.items()}
        return loader.construct_document(node), lines
    except YamlError as exc:
        if exc.line is not None:
            exc.line += first_line - 1
        raise
    except yaml.MarkedYAMLError as exc:
        # context_mark is where the construct began (an unclosed quote's opening), problem_mark where
        # the parser gave up, often lines later.
        context = exc.context or ""
        scanning = context.startswith(("while scanning", "while parsing a flow")) and exc.context_mark is not None
        mark = exc.context_mark if scanning else exc.problem_mark or exc.context_mark
        line = mark.line + first_line if mark else None
        raise YamlError(_in_words(exc), line) from None
    except (yaml.YAMLError, ValueError, TypeError) as exc:
        raise YamlError(f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()


def _in_words(exc: yaml.MarkedYAMLError) -> str:
    """PyYAML's complaint, said as what to change where we can."""
    problem, context = exc.problem or "", exc.context or ""
    if "quoted scalar" in context:
        return "invalid YAML: a quote opened here is never closed; add the closing quote"
    if "flow sequence" in context:
        return "invalid YAML: a list opened with '[' here is never closed; add the ']'"
    if "flow mapping" in context:
        return "invalid YAML: a mapping opened with '{' here is never closed; add the '}'"
    if "mapping values are not allowed" in problem:
        return "invalid YAML: a ':' inside a value; put the whole value in quotes"
    if "'\\t'" in problem:
        return "invalid YAML: a tab; YAML indents with spaces"
    return f"invalid YAML: {problem} {context}".strip() if problem and context else f"invalid YAML: {problem or context}"


class _Dumper(yaml.SafeDumper):
    """SafeDumper that double-quotes strings whose characters YAML would read back as line breaks."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = '"' if _RISKY_CHARS.search(value) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)

if hasattr(yaml, "CSafeDumper"):

    class _FastDumper(yaml.CSafeDumper):  # type: ignore[misc, valid-type]
        """libyaml's emitter: the same text as _Dumper except for characters beyond U+FFFF."""

    _FastDumper.add_representer(str, _represent_str)
else:  # pragma: no cover - PyYAML built without libyaml
    _FastDumper = _Dumper  # type: ignore[misc, assignment]

_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def _has_astral(data: Any) -> bool:
    if isinstance(data, str):
        return bool(_ASTRAL.search(data))
    if isinstance(data, dict):
        return any(_has_astral(k) or _has_astral(v) for k, v in data.items())
    if isinstance(data, list):
        return any(_has_astral(item) for item in data)
    return False


# What the writer below emits without asking PyYAML: printable characters on one line, none of the
# ones _represent_str double-quotes (C1 controls, U+2028/2029, BOM) and nothing beyond U+FFFF.
_ONE_LINE = re.compile("[\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd]*")
# What keeps a one-line string from being a plain scalar in block context (PyYAML's analyze_scalar):
# a leading indicator or space, a leading '-', '?' or ':' then a space, a document marker, ': ', ' #',
# a trailing ':' or space.
_LEADING_INDICATORS = frozenset(" #,[]{}&*!|>'\"%@`")
# Longer lines are folded by the emitter at its width; the writer below leaves those to it.
_LONGEST_SCALAR = 1000
# The dumper's implicit resolvers (bool, int, float, null, timestamp, merge, …) by first character, one pattern each.
_RESOLVERS = {
    first: re.compile("|".join(f"(?{'x' if rx.flags & re.X else ''}:{rx.pattern})" for _tag, rx in resolvers))
    for first, resolvers in yaml.SafeDumper.yaml_implicit_resolvers.items()
}


def _scalar(value: Any) -> str | None:
    """`value` as PyYAML writes it in block context, or None when it is not a one-line scalar of this kind."""
    kind = type(value)
    if kind is str:
        if len(value) > _LONGEST_SCALAR or not (value.isprintable() if value.isascii() else _ONE_LINE.fullmatch(value)):
            return None
        if value and _may_be_plain(value) and _reads_as_text(value):
            return value
        return "'" + value.replace("'", "''") + "'"
    if kind is int:
        return str(value)
    if kind is bool:
        return "true" if value else "false"
    if value is None:
        return "null"
    return None  # floats, dates, tuples, subclasses: PyYAML's representer decides


def _may_be_plain(value: str) -> bool:
    """No indicator stops this non-empty one-line `value` from being written plain."""
    first = value[0]
    if first in _LEADING_INDICATORS or value[-1] in " :" or ": " in value or " #" in value:
        return False
    if first in "-?:" and (len(value) == 1 or value[1] == " "):
        return False
    return not value.startswith(("---", "..."))


def _reads_as_text(value: str) -> bool:
    """A plain `value` would be read back as a string, not as a number, bool, null or date (the dumper's rules)."""
    resolvers = _RESOLVERS.get(value[0])
    return resolvers is None or not resolvers.match(value)


# A run of items, one a line, that are all plain as they stand (the usual list of author names, a
# mapping's keys), checked in one match. Stricter than _may_be_plain (no ':' or '#' at all, no leading
# '-', '?' or '.'), so a string it refuses is only looked at again on its own.
_SAFE = "\x20-\x22\x24-\x39\x3b-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd"
_ITEM = f"(?![ ,\\[\\]{{}}&*!|>'\"%@`?.-])[{_SAFE}]+(?<! )"
_PLAIN_ITEMS = re.compile(f"{_ITEM}(?:\n{_ITEM})*")
_KEYS = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,99}(?:\n[A-Za-z_][A-Za-z0-9_-]{0,99})*")


def _plain_lines(items: Any, pattern: re.Pattern[str]) -> str | None:
    """The strings `items` one a line, if all of them are strings that `pattern` and the resolvers let stand plain."""
    for item in items:
        if type(item) is not str or not item:
            return None
        resolvers = _RESOLVERS.get(item[0])
        if resolvers is not None and resolvers.match(item):
            return None
    lines = "\n".join(items)
    if len(lines) > _LONGEST_SCALAR or lines.count("\n") != len(items) - 1 or not pattern.fullmatch(lines):
        return None
    return lines


def _entries(data: dict[Any, Any], text_of: Callable[[Any], str | None], separator: str) -> list[str] | None:
    """`key` + `separator` + the text of its value, for every entry (keys already checked); None if a value is not simple."""
    entries = []
    for key, value in data.items():
        text = text_of(value)
        if text is None:
            return None
        entries.append(f"{key}{separator}{text}")
    return entries


def _flat_mappings(items: list[dict[Any, Any]], indent: str) -> list[str] | None:
    """`key: scalar` lines of each mapping (all keys checked in one go), joined by `indent`; None if not simple."""
    if _plain_lines([key for item in items for key in item], _KEYS) is None:
        return None
    blocks = []
    for item in items:
        entries = _entries(item, _scalar, ": ")
        if entries is None:
            return None
        blocks.append(f"\n{indent}".join(entries))
    return blocks


def _sequence(items: list[Any]) -> str | None:
    """The text after `key:` for a list: `[]`, or one `- item` line each (flat mappings for links)."""
    if not items:
        return " []\n"
    lines = _plain_lines(items, _PLAIN_ITEMS)
    if lines is not None:  # the usual list of names: checked, and written, in one go
        return "\n- " + lines.replace("\n", "\n- ") + "\n"
    if all(type(item) is dict and item for item in items):
        blocks = _flat_mappings(items, "  ")
    else:
        blocks = [_scalar(item) for item in items]  # type: ignore[misc]  (None is looked for below)
    if blocks is None or None in blocks:
        return None
    return "\n- " + "\n- ".join(blocks) + "\n"


def _value(value: Any) -> str | None:
    """The text after `key:` for one mapping value; None if it is not a shape written here."""
    kind = type(value)
    if kind is list:
        return _sequence(value)
    if kind is dict:
        if not value:
            return " {}\n"
        blocks = _flat_mappings([value], "  ")
        return None if blocks is None else f"\n  {blocks[0]}\n"
    text = _scalar(value)
    return None if text is None else f" {text}\n"


def simple_yaml(data: Any) -> str | None:
    """The text `dump_yaml` writes, made without PyYAML's representer, for the shapes front matter has.

    A mapping of one-line scalars, lists of them, lists of flat mappings (links) and flat mappings;
    None for anything else (multi-line or very long text, characters PyYAML escapes, floats, deeper
    nesting), which PyYAML then writes. Repeated lists are written out again, never as aliases."""
    if type(data) is not dict or not data or _plain_lines(data, _KEYS) is None:
        return None
    entries = _entries(data, _value, ":")
    return None if entries is None else "".join(entries)


def dump_yaml(data: Any, *, fast: bool = True, direct: bool = True) -> str:
    """YAML text for `data`; libyaml writes it when it would write the same text (it escapes emoji).

    With `fast` and `direct`, `simple_yaml` writes the usual front matter itself, to the same bytes."""
    if fast and direct:
        text = simple_yaml(data)
        if text is not None:
            return text
    dumper = _FastDumper if fast and not _has_astral(data) else _Dumper
    return yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True, width=4096, default_flow_style=False)


# The reader of what simple_yaml writes: `key: scalar`, `key: []` / `{}`, `key:` then `- item` rows (an item may
# be a flat mapping, its further keys indented by two) or `  key: scalar` rows; a long scalar may go on over rows
# indented by two more, as PyYAML folds it at its default width. Anything else, PyYAML reads.
_ENTRY = re.compile(r"([A-Za-z_][A-Za-z0-9_-]{0,99}):(?: (.+))?")
_QUOTED = re.compile(r"'((?:[^']|'')*)'")
_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]*)")
_WORDS_READ = {"true": True, "false": False, "null": None}
# The loader's implicit resolvers (no timestamp) by first character, one pattern each, as _RESOLVERS has the dumper's.
_READ_RESOLVERS = {
    first: re.compile("|".join(f"(?{'x' if rx.flags & re.X else ''}:{rx.pattern})" for _tag, rx in resolvers))
    for first, resolvers in _StrictLoader.yaml_implicit_resolvers.items()
}
_UNREAD = object()


def read_simple_yaml(text: str, first_line: int = 1) -> tuple[dict[str, Any], Lines] | None:
    """What `load_yaml_lines` reads from `text` when it is laid out as `simple_yaml` writes it, without PyYAML.

    None for anything else (a comment, a blank line, flow style, a double-quoted scalar, a value that would be
    read as other than text, a whole number, a bool or null): PyYAML then reads it."""
    rows = (text[:-1] if text.endswith("\n") else text).split("\n")
    data: dict[str, Any] = {}
    lines: Lines = {(): first_line}
    at = 0
    while at < len(rows):
        entry = _ENTRY.fullmatch(rows[at])
        if entry is None or not _key_reads_as_written(entry[1], data):
            return None
        key, rest = entry[1], entry[2]
        lines[(key,)] = first_line + at + (rest is None)
        if rest is None:
            value, at = _block_value(rows, at + 1, (key,), lines, first_line)
        elif rest in ("[]", "{}"):
            value, at = ([] if rest == "[]" else {}), at + 1
        else:
            value, at = _scalar_rows(rows, at, rest, "  ")
        if value is _UNREAD:
            return None
        data[key] = value
    return data, lines


def _key_reads_as_written(key: str, mapping: dict[str, Any]) -> bool:
    """A plain key the loader reads as this text (not `true`, `null`, …), not already in `mapping`."""
    resolvers = _READ_RESOLVERS.get(key[0])
    return key not in mapping and (resolvers is None or not resolvers.match(key))


def _scalar_rows(rows: list[str], at: int, text: str, indent: str) -> tuple[Any, int]:
    """The value of the scalar that starts as `text` on row `at` and goes on over the rows after it that start
    with `indent` and then not a space (each break read as one space), and the row after it."""
    if not text:
        return _UNREAD, at + 1  # a null, or a scalar that starts on the next row
    end, width = at + 1, len(indent)
    while end < len(rows) and rows[end].startswith(indent) and rows[end][width : width + 1] not in ("", " "):
        end += 1
    if end == at + 1:
        return _read_scalar(text), end
    parts = [text] + [rows[row][width:] for row in range(at + 1, end)]
    if any(part.endswith(" ") for part in parts):  # folding drops spaces before a break
        return _UNREAD, end
    if text[0] != "'" and any(part[0] in _LEADING_INDICATORS or part[0] in "-?:" for part in parts[1:]):
        return _UNREAD, end
    return _read_scalar(" ".join(parts)), end


def _read_scalar(text: str) -> Any:
    """The value of a scalar as simple_yaml writes it (plain, single-quoted, a whole number, a bool or null)."""
    if not text or not _ONE_LINE.fullmatch(text):
        return _UNREAD
    if text[0] == "'":
        quoted = _QUOTED.fullmatch(text)
        return _UNREAD if quoted is None else quoted[1].replace("''", "'")
    if not _may_be_plain(text):
        return _UNREAD
    resolvers = _READ_RESOLVERS.get(text[0])
    if resolvers is None or not resolvers.match(text):
        return text
    if _DECIMAL.fullmatch(text):
        # Past Python's digit limit int() refuses the number: PyYAML's path reports that as bad YAML.
        return int(text) if len(text) <= 4000 else _UNREAD
    return _WORDS_READ.get(text, _UNREAD)


def _block_value(rows: list[str], at: int, path: tuple[Any, ...], lines: Lines, first_line: int) -> tuple[Any, int]:
    """The list (`- ` rows) or flat mapping (`  key: ` rows) under a `key:` whose next row is `at`; the row after."""
    if at < len(rows) and rows[at].startswith("  "):
        return _flat_mapping(rows, at, path, lines, first_line)
    plain = _plain_items(rows, at)
    if plain is not None:  # the usual list of names: checked in one go
        lines.update(((*path, number), first_line + at + number) for number in range(len(plain)))
        return plain, at + len(plain)
    items: list[Any] = []
    while at < len(rows) and rows[at].startswith("- "):
        item_path = (*path, len(items))
        text = rows[at][2:]
        lines[item_path] = first_line + at
        if _ENTRY.match(text) and (": " in text or text.endswith(":")):  # a mapping such as `- kind: code`
            item, at = _flat_mapping(rows, at, item_path, lines, first_line)
        else:
            item, at = _scalar_rows(rows, at, text, "  ")
        if item is _UNREAD:
            return _UNREAD, at
        items.append(item)
    return (items, at) if items else (_UNREAD, at)  # not `key:` alone (null), nor anything else under it


def _plain_items(rows: list[str], at: int) -> list[str] | None:
    """The `- item` rows from row `at` on, if every item is text that the writer would write plain as it stands."""
    end = at
    while end < len(rows) and rows[end].startswith("- "):
        end += 1
    if at == end or (end < len(rows) and rows[end].startswith(" ")):  # none, or the last one goes on
        return None
    items = [row[2:] for row in rows[at:end]]
    return items if _plain_lines(items, _PLAIN_ITEMS) is not None else None


def _flat_mapping(rows: list[str], at: int, path: tuple[Any, ...], lines: Lines, first_line: int) -> tuple[Any, int]:
    """`key: scalar` from the third character of row `at` (after `- ` or two spaces) and of the following rows
    indented by two, and the row after them."""
    mapping: dict[str, Any] = {}
    lines[path] = first_line + at
    first = at
    while at == first or (at < len(rows) and rows[at].startswith("  ")):
        entry = _ENTRY.fullmatch(rows[at], 2)
        if entry is None or entry[2] is None or not _key_reads_as_written(entry[1], mapping):
            return _UNREAD, at
        lines[(*path, entry[1])] = first_line + at
        value, at = _scalar_rows(rows, at, entry[2], "    ")
        if value is _UNREAD:
            return _UNREAD, at
        mapping[entry[1]] = value
    return mapping, at


def split_front_matter(text: str) -> tuple[str, str, int]:
    """Return (front matter YAML, body, line the body starts on) of a Markdown file."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    if not text.startswith(FENCE + "\n"):
        raise YamlError("the file does not start with '---' front matter", 1)
    end = re.search(r"^---[ \t]*$", text[len(FENCE) + 1 :], re.MULTILINE)
    if end is None:
        raise YamlError("the front matter has no closing '---'", 1)
    yaml_text = text[len(FENCE) + 1 : len(FENCE) + 1 + end.start()]
    body = text[len(FENCE) + 1 + end.end() :].removeprefix("\n")
    return yaml_text, body, yaml_text.count("\n") + 3


def read_front_matter(text: str) -> tuple[dict[str, Any], str]:
    data, body, _lines = read_front_matter_lines(text)
    return data, body


def read_front_matter_lines(text: str) -> tuple[dict[str, Any], str, Lines]:
    """Front matter, body, and the file line of every front-matter value."""
    yaml_text, body, _ = split_front_matter(text)
    data, lines = load_yaml_lines(yaml_text, first_line=2)  # the YAML starts after the opening '---'
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise YamlError("the front matter is not a mapping of fields, such as 'title: My paper'", 2)
    return data, body, lines


def write_front_matter(data: dict[str, Any], body: str) -> str:
    return f"{FENCE}\n{dump_yaml(data)}{FENCE}\n{body}"


def escape_markdown(text: str) -> str:
    """Backslash-escape `text` so CommonMark renders exactly these characters."""
    escaped = _MD_SPECIAL.sub(r"\\\1", text)
    return _MD_LINE_START.sub(_escape_line_start, escaped)


def _escape_line_start(match: re.Match[str]) -> str:
    """Keep a leading '-', '>' or '1.' from starting a list, quote or heading."""
    indent, marker, number, delimiter = match.groups()
    if marker:
        return f"{indent}\\{marker}"
    return f"{indent}{number}\\{delimiter}"


def unescape_markdown(text: str) -> str:
    return _MD_UNESCAPE.sub(r"\1", text)
