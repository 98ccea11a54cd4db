"""Front matter and YAML: written with safe_dump, read with a stricter safe loader.

The loader keeps every scalar the dumper wrote as the same value, refuses aliases
(billion-laughs), deep nesting and huge files, and leaves dates as strings so that a
bad date such as 2024-02-30 is reported by the model, not raised by PyYAML.
"""

from __future__ import annotations

import re
from typing import Any

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


def dump_yaml(data: Any, *, fast: bool = True) -> str:
    """YAML text for `data`; libyaml writes it when it would write the same text (it escapes emoji)."""
    dumper = _FastDumper if fast and not _has_astral(data) else _Dumper
    return yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True, width=4096, default_flow_style=False)


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
