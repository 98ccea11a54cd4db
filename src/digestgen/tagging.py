"""Automatic tagging: match the phrases of a taxonomy against a paper's title and abstract.

Matching rules, applied to every phrase of a taxonomy:

* words match on word boundaries only, so "GAN" never fires inside "organ" or "began";
* a phrase word with two or more capitals ("LLM", "ViT", "LoRA") is matched with that exact
  case, every other word ignores case;
* where the phrase has a hyphen or a space between two words, the text may have a hyphen,
  spaces or nothing: "pre-trained" matches "pre-trained", "pre trained" and "pretrained";
* the last word also matches its simple plural: "model" -> "models", "LLM" -> "LLMs",
  "bias" -> "biases", "ontology" -> "ontologies";
* a match that overlaps a match of one of the rule's exclude phrases does not count, so
  "forecasting" with exclude "motion forecasting" ignores "motion forecasting" but still
  fires on "weather forecasting" elsewhere in the same text.
"""

from __future__ import annotations

import importlib.resources
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import yaml

__all__ = [
    "TagMatch",
    "TagRule",
    "Taxonomy",
    "TaxonomyError",
    "default_taxonomy",
    "match_tags",
    "parse_taxonomy",
    "tags_for",
]

# A word is a run of letters and digits; everything else separates words.
_WORD = re.compile(r"[^\W_]+")
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*\Z")
_PHRASE = re.compile(r"[^\W_]+(?:[ -]+[^\W_]+)*\Z")
# Between two phrase words the text may use spaces, a hyphen (also the Unicode ones, and
# "pre- trained" left over from line-break hyphenation) or nothing at all.
_JOINT = r"(?:\s*[-\u2010\u2011]\s*|\s+)?"
_NOT_WORD_AFTER = r"(?![^\W_])"
_RULE_KEYS = frozenset({"label", "phrases", "exclude"})
_EXCERPT_SIDE = 30


class TaxonomyError(ValueError):
    """A taxonomy file with a bad shape; the message is one line naming the file and the tags."""


@dataclass(frozen=True)
class TagRule:
    tag: str
    label: str
    phrases: tuple[str, ...]
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class TagMatch:
    tag: str
    phrase: str
    field: str  # "title" or "abstract"
    excerpt: str  # about 60 characters of context around the match


@dataclass(frozen=True)
class _Candidate:
    """One way a text word can start a phrase of one rule."""

    rule: int
    phrase: str
    is_exclude: bool
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class Taxonomy:
    rules: tuple[TagRule, ...]
    # Lower-cased first word of a phrase -> what may start there. Built once per taxonomy so
    # that tagging a text costs one dictionary look-up per word, not one regex scan per rule.
    _index: Mapping[str, tuple[_Candidate, ...]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", _build_index(self.rules))

    def label(self, tag: str) -> str:
        """The human label of `tag`, or the tag itself when the taxonomy does not know it."""
        for rule in self.rules:
            if rule.tag == tag:
                return rule.label
        return tag


# ---------------------------------------------------------------------------------------
# Loading and validating


def parse_taxonomy(data: object, source: str) -> Taxonomy:
    """Validate a mapping `tag: {label, phrases, exclude}` loaded from YAML into a Taxonomy."""
    if not isinstance(data, Mapping):
        raise TaxonomyError(
            f"{source}: a taxonomy must be a mapping of tag -> "
            f"{{label, phrases, exclude}}, not {_kind(data)}"
        )
    if not data:
        raise TaxonomyError(f"{source}: the taxonomy defines no tags")
    problems: list[str] = []
    rules: list[TagRule] = []
    for tag, entry in data.items():
        rule = _parse_rule(tag, entry, problems)
        if rule is not None:
            rules.append(rule)
    if problems:
        raise TaxonomyError(f"{source}: " + "; ".join(problems))
    return Taxonomy(tuple(rules))


def default_taxonomy() -> Taxonomy:
    """The machine-learning taxonomy shipped with digestgen."""
    resource = importlib.resources.files("digestgen") / "data" / "taxonomy.yaml"
    data = yaml.safe_load(resource.read_text(encoding="utf-8"))
    return parse_taxonomy(data, source="digestgen/data/taxonomy.yaml")


def _parse_rule(tag: object, entry: object, problems: list[str]) -> TagRule | None:
    """Turn one taxonomy entry into a TagRule, or append what is wrong with it to `problems`."""
    found: list[str] = []
    if not isinstance(tag, str) or not _SLUG.match(tag):
        found.append("is not a tag slug (use lowercase ASCII letters, digits and hyphens)")
    if not isinstance(entry, Mapping):
        found.append(f"must be a mapping with label and phrases, not {_kind(entry)}")
        problems.extend(f"tag {tag!r} {text}" for text in found)
        return None
    unknown = sorted(str(key) for key in entry if key not in _RULE_KEYS)
    if unknown:
        found.append(f"has unknown key(s) {', '.join(map(repr, unknown))}")
    label = entry.get("label", tag)
    if not isinstance(label, str) or not label.strip():
        found.append("has a label that is not a non-empty string")
    phrases = _phrase_list(entry.get("phrases"), "phrases", found, required=True)
    exclude = _phrase_list(entry.get("exclude"), "exclude", found, required=False)
    if found:
        problems.extend(f"tag {tag!r} {text}" for text in found)
        return None
    return TagRule(tag=str(tag), label=str(label).strip(), phrases=phrases, exclude=exclude)


def _phrase_list(
    value: object, key: str, found: list[str], *, required: bool
) -> tuple[str, ...]:
    """The phrases of one key with whitespace normalised; problems go to `found`."""
    if value is None and not required:
        return ()
    if not isinstance(value, list) or (required and not value):
        found.append(f"needs {key} as a non-empty list of strings")
        return ()
    phrases: list[str] = []
    for phrase in value:
        if not isinstance(phrase, str):
            found.append(f"has {key} entry {phrase!r} that is not a string")
        elif not _PHRASE.match(phrase.strip()):
            found.append(
                f"has {key} entry {phrase!r}: use only letters, digits, spaces and hyphens"
            )
        else:
            phrases.append(" ".join(phrase.split()))
    return tuple(phrases)


def _kind(value: object) -> str:
    return "nothing" if value is None else f"a {type(value).__name__}"


# ---------------------------------------------------------------------------------------
# Compiling phrases


def _build_index(rules: tuple[TagRule, ...]) -> Mapping[str, tuple[_Candidate, ...]]:
    index: dict[str, list[_Candidate]] = {}
    for number, rule in enumerate(rules):
        entries = [(p, False) for p in rule.phrases] + [(p, True) for p in rule.exclude]
        for phrase, is_exclude in entries:
            words = _WORD.findall(phrase)
            if not words:
                continue
            candidate = _Candidate(number, phrase, is_exclude, _phrase_pattern(words))
            for key in _first_word_keys(words):
                index.setdefault(key, []).append(candidate)
    return MappingProxyType({key: tuple(found) for key, found in index.items()})


def _is_acronym(word: str) -> bool:
    """Words like "LLM", "ViT" or "LoRA" keep their case; "GAN" must not match "gan"."""
    return sum(char.isupper() for char in word) >= 2


def _plural_forms(word: str) -> tuple[str, ...]:
    """The word and its simple plurals, lower-cased."""
    low = word.lower()
    if _is_acronym(word):
        return (low, low + "s")
    if low.endswith("y") and len(low) > 1 and low[-2] not in "aeiou":
        return (low, low[:-1] + "ies")
    if low.endswith(("s", "x", "z", "ch", "sh")):
        return (low, low + "es")
    return (low, low + "s")


def _first_word_keys(words: list[str]) -> set[str]:
    """Every lower-cased text word a match can begin with: glued prefixes and plurals."""
    keys: set[str] = set()
    glued = ""
    for position, word in enumerate(words):
        if position == len(words) - 1:
            keys.update(glued + form for form in _plural_forms(word))
        else:
            glued += word.lower()
            keys.add(glued)
    return keys


def _word_pattern(word: str, last: bool) -> str:
    """Regex for one phrase word; only the last word of a phrase may take a plural ending."""
    if _is_acronym(word):
        return f"(?-i:{re.escape(word)})" + ("[sS]?" if last else "")
    if not last:
        return re.escape(word)
    singular, plural = _plural_forms(word)
    if plural.startswith(singular):
        return re.escape(singular) + f"(?:{re.escape(plural[len(singular):])})?"
    return re.escape(singular[:-1]) + "(?:y|ies)"


def _phrase_pattern(words: list[str]) -> re.Pattern[str]:
    last = len(words) - 1
    body = _JOINT.join(_word_pattern(word, i == last) for i, word in enumerate(words))
    return re.compile(body + _NOT_WORD_AFTER, re.IGNORECASE)


# ---------------------------------------------------------------------------------------
# Matching


def match_tags(title: str, abstract: str, taxonomy: Taxonomy) -> tuple[TagMatch, ...]:
    """The evidence for each tag that fires, one per tag (title first, then earliest), by tag."""
    best: dict[int, TagMatch] = {}
    for field_name, text in (("title", title), ("abstract", abstract)):
        for number, (start, end, phrase) in _first_matches(text, taxonomy).items():
            if number not in best:
                tag = taxonomy.rules[number].tag
                best[number] = TagMatch(tag, phrase, field_name, _excerpt(text, start, end))
    return tuple(sorted(best.values(), key=lambda match: match.tag))


def tags_for(
    title: str, abstract: str, taxonomy: Taxonomy, manual: tuple[str, ...] = ()
) -> tuple[str, ...]:
    """Hand-written tags first, in their order, then the automatic ones not already there."""
    automatic = (match.tag for match in match_tags(title, abstract, taxonomy))
    return tuple(dict.fromkeys([*manual, *automatic]))


def _first_matches(text: str, taxonomy: Taxonomy) -> dict[int, tuple[int, int, str]]:
    """Rule number -> (start, end, phrase) of its earliest match in `text` not excluded."""
    found: dict[int, list[tuple[int, int, str]]] = {}
    vetoed: dict[int, list[tuple[int, int]]] = {}
    index = taxonomy._index
    for start, key in _word_starts(text, index):
        for candidate in index[key]:
            hit = candidate.pattern.match(text, start)
            if hit is None:
                continue
            if candidate.is_exclude:
                vetoed.setdefault(candidate.rule, []).append(hit.span())
            else:
                found.setdefault(candidate.rule, []).append((start, hit.end(), candidate.phrase))
    first: dict[int, tuple[int, int, str]] = {}
    for number, hits in found.items():
        spans = vetoed.get(number, [])
        # Earliest first; at the same start the longer phrase is the better evidence.
        for start, end, phrase in sorted(hits, key=lambda hit: (hit[0], -hit[1])):
            if not any(start < v_end and v_start < end for v_start, v_end in spans):
                first[number] = (start, end, phrase)
                break
    return first


def _word_starts(text: str, index: Mapping[str, object]) -> list[tuple[int, str]]:
    """(position, lower-cased word) of every word of `text` that is a key of `index`."""
    low = text.lower()
    if len(low) == len(text):
        return [(word.start(), word[0]) for word in _WORD.finditer(low) if word[0] in index]
    # A few letters change length when lower-cased, so positions must come word by word.
    return [
        (word.start(), key)
        for word in _WORD.finditer(text)
        if (key := word[0].lower()) in index
    ]


def _excerpt(text: str, start: int, end: int) -> str:
    """The match with about 30 characters either side, cut at spaces, on one line."""
    left = max(0, start - _EXCERPT_SIDE)
    right = min(len(text), end + _EXCERPT_SIDE)
    if left > 0:
        space = text.find(" ", left, start)
        left = space + 1 if space != -1 else left
    if right < len(text):
        space = text.rfind(" ", end, right)
        right = space if space != -1 else right
    snippet = " ".join(text[left:right].split())
    return ("…" if left > 0 else "") + snippet + ("…" if right < len(text) else "")
