"""Automatic tagging: weigh the evidence for each tag of a taxonomy in a paper's title and abstract.

How a phrase matches, applied to every phrase of a taxonomy:

* words match on word boundaries only, so "GAN" never fires inside "organ" or "began";
* a phrase word with two or more capitals ("LLM", "ViT", "LoRA") is matched with that exact
  case, every other word ignores case;
* where the phrase has a hyphen or a space between two words, the text may have a hyphen,
  spaces or nothing: "pre-trained" matches "pre-trained", "pre trained" and "pretrained";
* the last word also matches its simple plural: "model" -> "models", "LLM" -> "LLMs",
  "bias" -> "biases", "ontology" -> "ontologies";
* "iz" and "yz" in a phrase word also match the British "is" and "ys": "optimization" matches
  "optimisation", "normalizing" matches "normalising";
* a coined name in CamelCase also matches at its capitalised tail: "SheetBench" is a "bench";
* a name written with a capital and small letters also matches with a version glued on: "Qwen" matches
  "Qwen2.5" (an acronym of capitals only does not: GPT2 is also a gene);
* a phrase word that starts with 0 stands for any number ("0B model" matches "an 8B model", not "LAION-5B model"),
  and the word 000 for the size of a named collection ("LongProof, 412 theorems");
* a match that overlaps a match of one of the rule's exclude phrases does not count, so
  "forecasting" with exclude "motion forecasting" ignores "motion forecasting" but still
  fires on "weather forecasting" elsewhere in the same text.

How the matches become tags (the numbers are `TagSettings`, set in the config's `tagging:`):

* every match that counts adds weight to its tag: `title_weight` (2) in the title,
  `abstract_weight` (1) in the abstract, so every mention counts, repeated ones too;
* a rule's `signs` are phrases for things only its field has (a jailbreak is a language model's): they count as
  phrases and are never shared, so a tag that lists the same phrase keeps its weight and the sign's tag gets it too;
* a phrase listed by several tags gives each of them an equal share of that weight, so it
  supports both but forces neither; in the title each gets halfway between its share and the whole
  (1.5 of 2 for two tags), which any other mention of either tag tops up;
* a mention in a list of examples ("tasks such as ...", "e.g. ...") weighs no more than
  `abstract_weight`, even in the sentence where the authors say what they did;
* a mention shortly after a negating or contrasting word of the same clause ("without
  fine-tuning", "unlike GANs", "rather than pre-training", "compared to LLMs") or glued to
  "-free" ("tuning-free") does not count;
* a sentence that reports results ("experiments show ...", "we evaluate ...", "... outperforms ...")
  weighs `result_weight` (0.75): what it names is seldom what the paper is about;
* a rule's `support` phrases, and its `claims` outside a claim, weigh half of `abstract_weight`, only
  when the tag has other evidence, and add at most `abstract_weight` in all;
* a mention in a sentence that sets it aside as future work or a limitation ("we leave X to future work", "is not
  yet suitable for X", "caution against X"), or right before "baseline(s)" ("a strong GAN baseline"), does not
  count: neither is what the paper did;
* a claim phrase in the title weighs at most `abstract_weight` when it is one item of a comma list ("Text, Audio,
  Video and Code") or what something is made from ("Avatars from a Phone Video");
* a rule's `needs` phrases are its sense guard: when none of them is in the title or abstract, none of its
  mentions count ("retrieval" of aerosol depth names no query, document or index);
* a tag is given when its weight reaches `min_weight` (2), or the rule's own `min_weight`:
  by default a title match, or two mentions in the abstract, never one passing mention;
* a tag whose rule says it is `within` another ("3d-vision" within "computer-vision") gives that
  tag too: a paper on a part of a field is a paper on the field.
"""

from __future__ import annotations

import bisect
import importlib.resources
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import yaml

from digestgen.sourcetags import SourceTagging

__all__ = [
    "DEFAULT_NEGATIONS",
    "TagMatch",
    "TagRule",
    "TagScore",
    "TagSettings",
    "Taxonomy",
    "TaxonomyError",
    "default_taxonomy",
    "extend_taxonomy",
    "match_tags",
    "parse_taxonomy",
    "score_tags",
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
# The capitalised tail of a coined name: "Bench" in "SheetBench" (not "GAN" in "orGAN": a tail is a word).
_CAMEL_TAIL = re.compile(r"(?<=[a-z])[A-Z][a-z]+(?![^\W_])")
# A phrase word that starts with the digit 0 stands for any number there: "0-bit" is "2-bit", "0B model" is "8B
# model" and "1.5B model". The number starts a word of its own: "LAION-5B" and "ViT-22B" are names, not sizes.
# (A number has a few groups at most: "1,1,1,..." as one number would make every digit's match run to its end.)
_NUMBER = r"\d+(?:[.,]\d+){0,4}"
# A number after a currency sign is money: "a $20B model" of funding is no model size.
_NUMBER_FIRST = r"(?<![^\W_])(?<![^\W_][.,\u2010\u2011-])(?<![$\u20ac\u00a3\u00a5])"
_NUMBER_START = re.compile(_NUMBER + r"([^\W\d_]*)")  # a number and the letters glued to it ("1.5B")
# A phrase word 000 stands for the size of a collection the authors named: a count of a hundred or more right after
# a name and a comma or colon ("We introduce LongProof, 412 theorems", "RepoForge: 9,000 Environments"), not a
# quantity glued to a unit, a hyphen or a percent sign ("128-layer", "300%"), nor a span or a measure ("9,000 years",
# "8,848 metres"), nor a year (four digits from 1000 to 2099: "The Great Fire: 1666").
_MEASURES = (r"years?|months?|weeks?|days?|hours?|minutes?|seconds?|generations?|"
             r"m|km|metres?|meters?|kilometres?|kilometers?|miles?|feet|ft|kg|tonnes?|tons?|"
             r"dollars?|euros?|pounds?|yen|USD|EUR|GBP")
_COUNT = (r"(?<=[^\W_][,:] )(?!(?:1\d|20)\d\d(?!\d))(?:\d{1,3}(?:,\d{3})+|\d{3,})(?![.,]?\d)(?!\s*[%\u2010\u2011-])"
          rf"(?!\s+(?:{_MEASURES})(?![^\W_]))")
# A name with a version glued on: "Qwen2.5", "Llama3", "ResNet50" (the name starts with a capital, has small letters
# and ends in a letter).
_VERSION = r"\d+(?:\.\d+)*"
_GLUED_VERSION = re.compile(r"([^\W\d_][^\W_]*?[^\W\d_])\d+\Z")
# The phrase lists of a rule, in the order `digestgen taxonomy` prints them, and the kind of match each makes.
_LIST_KEYS: Mapping[str, str] = MappingProxyType(
    {"phrases": "phrase", "signs": "sign", "claims": "claim", "support": "support", "exclude": "exclude",
     "needs": "needs"}
)
_RULE_KEYS = frozenset({"label", "min_weight", "within", *_LIST_KEYS})
_EXCERPT_SIDE = 30
# Words that end the clause a negation reaches over: "Unlike GANs, diffusion models ..." negates "GANs" only.
_CLAUSE_END = re.compile(r"[.;:!?()\[\]]|,\s|\s[-\u2013\u2014]\s")
_FREE_AFTER = re.compile(r"\s*[-\u2010\u2011]?\s*free(?![^\W_])", re.IGNORECASE)
_EPSILON = 1e-9
_OUTSIDE_CLAIM = "(not where the authors say what they did)"
_SUPPORT_ONLY = "(support only: the tag has no other evidence)"
# A support phrase, or a claim phrase outside a claim ("fine-tuning" in the results), weighs this share of
# abstract_weight, and only when the tag has other evidence: it backs a tag up but never gives one. All of them
# together add at most abstract_weight.
_SUPPORT_SHARE = 0.5
_NEGATION_REACH = 160  # characters before a mention that are searched for a negating word
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\[\"'])")
# A sentence in which the authors say what they did, as opposed to background or results.
_CLAIM = re.compile(
    r"\b(?:we|this (?:paper|work|study|article))(?:\s+\w+){0,3}?\s+(?<!\bthe\s)(?<!\bour\s)(?<!\bthis\s)(?<!\bits\s)(?<!\ba\s)(?<!\ban\s)(?:propose|introduce|present|develop|design|devise|"
    r"create|build|construct|collect|release|curate|stud(?:y|ie)|investigate|explore|address|tackle|focus|"
    r"formulate|aim|offer|train|pre-?train|learn|prove|"
    r"describe)(?:es|s|d|ed)?\b"
    # "we study the performance of ..." reports an evaluation, not what the paper is about
    r"(?!\s+(?:the|its|their)\s+(?:performance|effectiveness|efficacy|accuracy)\b)"
    # the second verb of the authors' sentence: "We benchmark several methods on this dataset and propose ..."
    r"|\band\s+(?:then\s+)?(?:propose|introduce|present|develop|design|devise)(?:s|d)?\b",
    re.IGNORECASE,
)
# A sentence that sets a topic aside as future work or a limitation, or warns against it: what it names is not
# what the paper did ("we leave such experiments to future work", "is not yet suitable for RL").
_ASIDE_MARK = re.compile(
    # "future work should use X" recommends X: that sentence is a finding, not an aside
    r"\b(?:future (?:work|research|direction)s?(?!\s+(?:should|could|can|may|might|must)\b)|left (?:to|for) (?:future|later)|we leave|(?:is|are) not yet|"
    r"remains? (?:untested|unexplored|open)|caution against)\b",
    re.IGNORECASE,
)
_ASIDE = "(future work or a limitation)"
_ASIDE_WORDS = ("future", "left", "leave", "not yet", "remain", "caution")  # one of them is in every aside
# A word that a comma list names: a comma right before it (its other words between) or right after it.
# A comma between two digits ("1,000 Frames per Second") separates thousands.
_LIST_ITEM_BEFORE = re.compile(r"(?:(?<!\d),|,(?!\d))\s*(?:[^\W_]+[ -])?\Z")
_LIST_ITEM_AFTER = re.compile(r"\s*,")
# "Head Avatars from a Single Phone Video": what a title makes something from is its input, not its subject.
_SOURCE_BEFORE = re.compile(r"\bfrom\s+(?:[^\W_]+[ -]+){0,3}\Z", re.IGNORECASE)
# A mention right before "baseline(s)", a word or a hyphen apart at most: "a standard CLIP baseline",
# "two codec-language-model baselines". What the paper compares with is not what it is about.
_BASELINE_AFTER = re.compile(r"(?:[ -]+[^\W_]+)?[ -]+baselines?(?![^\W_])", re.IGNORECASE)
_BASELINE = "(a baseline)"
# A claim the authors add to their main one: "We also release a benchmark of ...".
_SIDE_CLAIM = re.compile(r"\b(?:we|this (?:paper|work|study)) also\b", re.IGNORECASE)
# A list of examples ("tasks such as OCR, action recognition, ..."): what it names is mentioned in passing, so it
# weighs no more than a plain sentence of the abstract, even in the sentence that says what the authors did.
_EXAMPLES = re.compile(r"\b(?:such as|e\.g\.|for example|for instance|including)", re.IGNORECASE)
_EXAMPLES_END = re.compile(r"[;:!?)\]]|\.(?:\s|$)")
# A preposition inside a compound ("first-of-its-kind", "state-of-the-art", "mixture-of-experts") does not end it.
_CLAIM_OBJECT_END = re.compile(
    r"[.;:!?]|(?<![-\u2010\u2011])\b(?:on|from|across|using|with|in|of|over|for|to|by|at|which|that)\b(?![-\u2010\u2011])",
    re.IGNORECASE,
)
_CLAIM_OBJECT_WORDS = 10
# A sentence that reports how the work was evaluated or what it achieved: what it names (datasets, baselines,
# settings) is seldom what the paper is about.
_RESULTS = re.compile(
    r"\b(?:experiments?|experimental results?|results|evaluations?|analyses|studies|findings)\s+(?:\w+\s+){0,5}?"
    r"(?:show|demonstrate|indicate|reveal|confirm|suggest|verif(?:y|ie))s?\b"
    r"|\bwe\s+(?:\w+ly\s+)?(?:evaluate|validate|test|benchmark|experiment|compare|report)\b"
    r"|\bwe\s+(?:conduct|perform|run|carry out)\s+(?:\w+\s+){0,2}?(?:experiments|evaluations?|ablations?|studies)\b"
    r"|\b(?:outperform|outperforms|outperforming|surpass|surpasses|achieves|achieving)\b"
    r"|\b(?:extensive|comprehensive|empirical|experimental)\s+(?:experiments|evaluations?|results)\b",
    re.IGNORECASE,
)
# What may stand between the claim verb and its object: "we aim to study X", "we focus on X", "we set out to
# understand X", "this paper addresses the problem of X".
_CLAIM_LEAD = re.compile(
    r"(?:\s+(?:to|at)\s+(?:\w+\s+(?:and\s+)?)?(?:to\s+)?[a-z]+(?=\s)|\s+on(?=\s))?"
    r"(?:\s+(?:the|a|an)\s+(?:\w+\s+)?(?:problem|task|question|challenge|setting)\s+of(?=\s))?",
    re.IGNORECASE,
)
# A head noun that says nothing by itself: in "a framework for X" or "a new family of X" the topic is X, so the
# object goes on past the preposition.
_GENERIC_HEAD = re.compile(
    r"\b(?:framework|method|approach|technique|strategy|pipeline|recipe|paradigm|scheme|family|suite|series|"
    r"study|analysis|investigation|way|algorithm|system|solution|mechanism|procedure|protocol|toolkit|"
    r"form|kind|type|variant|set|collection)s?\s+(?:for|of|to)\s*\Z",
    re.IGNORECASE,
)
# "(PEFT)" or "(LLMs)" right after a match or one or two words later ("self-supervised learning (SSL)"):
# an acronym with two or more capitals.
_ACRONYM_AFTER = re.compile(r"(?:[ -]+[^\W\d_]+){0,2}\s*\(([A-Z][A-Za-z0-9]*[A-Z][A-Za-z0-9]*?)s?\)")

# A mention that follows one of these in the same clause is contrasted, not claimed.
DEFAULT_NEGATIONS: tuple[str, ...] = (
    "without", "unlike", "instead of", "beyond", "rather than", "than", "compared to", "compared with",
    "in contrast to", "as opposed to", "in place of", "no need for", "free of", "no",
    "outperform", "outperforms", "outperforming", "outperformed", "surpass", "surpasses", "surpassing",
    "beat", "beats", "beating",
)


class TaxonomyError(ValueError):
    """A taxonomy file with a bad shape; the message is one line naming the file and the tags."""


@dataclass(frozen=True)
class TagRule:
    tag: str
    label: str
    phrases: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    min_weight: float | None = None  # this tag's own threshold; None: the settings' min_weight
    claims: tuple[str, ...] = ()  # phrases that count only where the authors say what they did
    support: tuple[str, ...] = ()  # phrases that back up other evidence for the tag but never give it alone
    within: str = ""  # the tag of the wider field this one is a part of: this tag gives that one too
    needs: tuple[str, ...] = ()  # the tag's sense guard: one of these must be in the paper for the tag to be given
    # things that exist only within the tag's field (a KV cache is a language model's): phrases never shared
    signs: tuple[str, ...] = ()


@dataclass(frozen=True)
class TagSettings:
    """How much a match weighs and how much weight a tag needs."""

    min_weight: float = 2.0
    title_weight: float = 2.0
    claim_weight: float = 2.0  # a sentence that says what the paper does: "we propose ...", "this paper studies ..."
    topic_weight: float = 1.25  # the first sentence, which names the field, often one wider than the paper's
    abstract_weight: float = 1.0  # any other sentence of the abstract
    result_weight: float = 0.75  # a sentence that reports results: "experiments show ...", "we evaluate ..."
    negation_window: int = 4  # words before a mention that a negating word may stand in
    negations: tuple[str, ...] = DEFAULT_NEGATIONS


@dataclass(frozen=True)
class TagMatch:
    tag: str
    phrase: str
    field: str  # "title" or "abstract", or "tag" for a wider tag a part of it gave (`within`)
    excerpt: str  # about 60 characters of context around the match
    weight: float = 1.0  # what this match added to the tag's weight (0 when it did not count)
    negated_by: str = ""  # the negating word that made this match not count


@dataclass(frozen=True)
class TagScore:
    """All the evidence for one tag in one paper, and whether it was enough."""

    tag: str
    weight: float
    needed: float
    matches: tuple[TagMatch, ...]  # the matches that counted, title first, in text order
    ignored: tuple[TagMatch, ...] = ()  # negated or contrasted mentions

    @property
    def fired(self) -> bool:
        return _reaches(self.weight, self.needed)


def _reaches(weight: float, needed: float) -> bool:
    return weight + _EPSILON >= needed


@dataclass(frozen=True)
class _Candidate:
    """One way a text word can start a phrase of one rule."""

    rule: int
    phrase: str
    kind: str  # "phrase", "sign", "exclude", "claim" or "support" ("needs" phrases are not indexed)
    pattern: re.Pattern[str]
    # What the next text word must start with (lower-cased) for the phrase to go on into it; "" when it may end here.
    after: str = ""


@dataclass(frozen=True)
class Taxonomy:
    rules: tuple[TagRule, ...]
    settings: TagSettings = TagSettings()
    sources: SourceTagging = SourceTagging()
    # Lower-cased first word of a phrase -> what may start there. Built once per taxonomy so
    # that tagging a text costs one dictionary look-up per word, not one regex scan per rule.
    _index: Mapping[str, tuple[_Candidate, ...]] = field(
        init=False, repr=False, compare=False
    )
    # Normalised phrase -> how many rules list it: a shared phrase's weight is split between them.
    _owners: Mapping[str, int] = field(init=False, repr=False, compare=False)
    # First word of a negation -> the negations (as word tuples) that start with it.
    _negations: Mapping[str, tuple[tuple[str, ...], ...]] = field(init=False, repr=False, compare=False)
    # Rule number -> the words its `needs` phrases can start with, and a pattern of those phrases, for the rules
    # that have a sense guard: the pattern is tried only where a text word is one of those words.
    _senses: Mapping[int, tuple[frozenset[str], re.Pattern[str]]] = field(init=False, repr=False, compare=False)
    # Rule number -> the rule number of the tag it is `within`, for the rules that name one.
    _wholes: Mapping[int, int] = field(init=False, repr=False, compare=False)
    # Changes whenever the tags this taxonomy gives could. Made once: it is long, and a cache of tags keys every paper by it.
    key: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", repr((self.rules, self.settings, self.sources)))
        object.__setattr__(self, "_index", _build_index(self.rules))
        object.__setattr__(self, "_owners", _phrase_owners(self.rules))
        senses = {n: (_start_words(rule.needs), _any_phrase(rule.needs)) for n, rule in enumerate(self.rules) if rule.needs}
        object.__setattr__(self, "_senses", MappingProxyType(senses))
        numbers = {rule.tag: number for number, rule in enumerate(self.rules)}
        wholes = {n: numbers[rule.within] for n, rule in enumerate(self.rules) if rule.within in numbers}
        object.__setattr__(self, "_wholes", MappingProxyType(wholes))
        negations: dict[str, set[tuple[str, ...]]] = {}
        for phrase in self.settings.negations:
            words = tuple(_WORD.findall(phrase.lower()))
            if words:
                negations.setdefault(words[0], set()).add(words)
        object.__setattr__(self, "_negations", MappingProxyType({k: tuple(sorted(v)) for k, v in negations.items()}))

    def label(self, tag: str) -> str:
        """The human label of `tag`, or the tag itself when the taxonomy does not know it."""
        for rule in self.rules:
            if rule.tag == tag:
                return rule.label
        return tag

    def describe(self) -> dict:
        """The effective taxonomy as plain data, in the shape of a taxonomy file (for `digestgen taxonomy`)."""
        tags = {}
        for rule in self.rules:
            entry: dict = {"label": rule.label}
            for name in _LIST_KEYS:
                if name == "phrases" or getattr(rule, name):
                    entry[name] = list(getattr(rule, name))
            if rule.min_weight is not None:
                entry["min_weight"] = rule.min_weight
            if rule.within:
                entry["within"] = rule.within
            tags[rule.tag] = entry
        return tags


# ---------------------------------------------------------------------------------------
# Loading and validating


def parse_taxonomy(data: object, source: str, settings: TagSettings = TagSettings()) -> Taxonomy:
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
    problems += _unknown_wholes(rules)
    if problems:
        raise TaxonomyError(f"{source}: " + "; ".join(problems))
    return Taxonomy(tuple(rules), settings)


def _unknown_wholes(rules: list[TagRule]) -> list[str]:
    """A problem for each rule `within` a tag the taxonomy does not have."""
    known = {rule.tag for rule in rules}
    return [f"tag {rule.tag!r} is within {rule.within!r}, which is not a tag of the taxonomy"
            for rule in rules if rule.within and rule.within not in known]


def default_taxonomy(settings: TagSettings = TagSettings()) -> Taxonomy:
    """The machine-learning taxonomy shipped with digestgen."""
    resource = importlib.resources.files("digestgen") / "data" / "taxonomy.yaml"
    data = yaml.safe_load(resource.read_text(encoding="utf-8"))
    return parse_taxonomy(data, "digestgen/data/taxonomy.yaml", settings)


_EXTENSION_KEYS = frozenset({"extends", "drop", "tags"})


def extend_taxonomy(base: Taxonomy, data: Mapping, source: str) -> Taxonomy:
    """The base taxonomy with tags dropped, phrases added to its tags, and new tags added.

    `data` is `{extends: default, drop: [tag, ...], tags: {tag: {label, phrases, claims, support, exclude, needs,
    min_weight}}}`. For a tag the base has, phrases, claims, support, excludes and needs are added to its own and a
    label or min_weight replaces its own; any other tag is new and needs phrases.
    """
    problems: list[str] = []
    unknown = sorted(str(key) for key in data if key not in _EXTENSION_KEYS)
    if unknown:
        problems.append(f"unknown key(s) {', '.join(map(repr, unknown))} (an extension has extends, drop and tags)")
    if data.get("extends") != "default":
        problems.append(f"extends must be 'default', not {data.get('extends')!r}")
    known = {rule.tag: rule for rule in base.rules}
    drop = data.get("drop") or []
    if not isinstance(drop, list) or not all(isinstance(tag, str) for tag in drop):
        problems.append("drop must be a list of tag slugs")
        drop = []
    missing = [tag for tag in drop if tag not in known]
    if missing:
        problems.append(f"drop names tag(s) the default does not have: {', '.join(missing)}")
    changes = data.get("tags") or {}
    if not isinstance(changes, Mapping):
        problems.append(f"tags must be a mapping of tag -> {{label, phrases, exclude}}, not {_kind(changes)}")
        changes = {}
    rules = {tag: rule for tag, rule in known.items() if tag not in drop}
    for tag, entry in changes.items():
        if tag in known and isinstance(entry, Mapping):
            entry = _merged_entry(known[tag], entry)
        rule = _parse_rule(tag, entry, problems)
        if rule is not None:
            rules[rule.tag] = rule
    problems += _unknown_wholes(list(rules.values()))
    if problems:
        raise TaxonomyError(f"{source}: " + "; ".join(problems))
    return Taxonomy(tuple(rules.values()), base.settings, base.sources)


def _merged_entry(rule: TagRule, entry: Mapping) -> dict:
    """A base rule's entry with an extension's additions: lists grow, a label or min_weight replaces."""
    merged: dict = {key: value for key, value in entry.items() if key not in _LIST_KEYS}
    merged.setdefault("label", rule.label)
    if rule.min_weight is not None:
        merged.setdefault("min_weight", rule.min_weight)
    if rule.within:
        merged.setdefault("within", rule.within)
    for key in _LIST_KEYS:
        own = getattr(rule, key)
        added = entry.get(key)
        merged[key] = [*own, *added] if isinstance(added, list) else own if added is None else added
        if key != "phrases" and not merged[key]:
            del merged[key]
        elif isinstance(merged[key], tuple):
            merged[key] = list(merged[key])
    return merged


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
    lists = {key: _phrase_list(entry.get(key), key, found, required=key == "phrases") for key in _LIST_KEYS}
    min_weight = entry.get("min_weight")
    if min_weight is not None and (isinstance(min_weight, bool) or not isinstance(min_weight, (int, float)) or min_weight <= 0):
        found.append(f"has min_weight {min_weight!r}: use a positive number")
    within = entry.get("within")
    if within is not None and (not isinstance(within, str) or not _SLUG.match(within) or within == tag):
        found.append(f"has within {within!r}: use the slug of another tag")
    if found:
        problems.extend(f"tag {tag!r} {text}" for text in found)
        return None
    weight = float(min_weight) if min_weight is not None else None
    return TagRule(tag=str(tag), label=str(label).strip(), min_weight=weight, within=within or "", **lists)


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
        # a sense guard is looked for only in the papers where its tag would be given (_lacks_sense)
        entries = [(phrase, kind) for key, kind in _LIST_KEYS.items() if kind != "needs" for phrase in getattr(rule, key)]
        for phrase, kind in entries:
            words = _WORD.findall(phrase)
            if not words:
                continue
            pattern = _phrase_pattern(words)
            for key, after in _first_word_keys(words).items():
                index.setdefault(key, []).append(_Candidate(number, phrase, kind, pattern, after))
    return MappingProxyType({key: tuple(found) for key, found in index.items()})


def _phrase_key(phrase: str) -> str:
    """Phrases that match the same texts have the same key: "pre-training" = "pretraining"."""
    return "".join(_WORD.findall(phrase.lower()))


def _phrase_owners(rules: tuple[TagRule, ...]) -> Mapping[str, int]:
    """Phrase as written -> how many tags list it (or a phrase that matches the same texts)."""
    by_key: dict[str, int] = {}
    for rule in rules:
        for key in {_phrase_key(phrase) for phrase in rule.phrases}:
            by_key[key] = by_key.get(key, 0) + 1
    return MappingProxyType({phrase: by_key[_phrase_key(phrase)] for rule in rules for phrase in rule.phrases})


def _owner_count(phrase: str, owners: Mapping[str, int]) -> int:
    """How many tags share `phrase`; an acronym use "SSL (self-supervised)" shares its phrase's count."""
    if phrase.endswith(")") and " (" in phrase:
        phrase = phrase[phrase.index(" (") + 2:-1]
    return owners.get(phrase, 1)


def _sharers(phrase: str, kind: str, owners: Mapping[str, int]) -> int:
    """How many tags a match of `phrase` (of this `kind`) is split between: a sign is never split."""
    return 1 if kind == "sign" else _owner_count(phrase, owners)


def _shared_share(owners: int, in_title: bool) -> float:
    """The share of a match's weight each of the `owners` tags of its phrase gets: an equal split in the abstract;
    in the title, halfway between that and the whole, so that it backs up any other evidence but forces no tag."""
    split = 1 / owners
    return (1 + split) / 2 if in_title else split


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


def _first_word_keys(words: list[str]) -> dict[str, str]:
    """Every lower-cased text word a match can begin with (glued prefixes and plurals), each with the start
    the next text word must have for the match to go on (a glued prefix: its next phrase word; else "")."""
    keys: dict[str, str] = {}
    glued = ""
    if words[0].startswith("0"):  # any number starts it: the text's number is looked up as "0" and what follows
        words = ["0" + words[0].lstrip("0"), *words[1:]]
    for position, word in enumerate(words):
        if position == len(words) - 1:
            keys.update((glued + form, "") for form in _plural_forms(word))
        else:
            glued += word.lower()
            keys[glued] = _word_start(words[position + 1], position + 1 == len(words) - 1)
    return {spelling: after for key, after in keys.items() for spelling in _spellings(key)}


def _spellings(word: str) -> tuple[str, ...]:
    """The lower-cased word as written and, where it has "iz" or "yz", as British English writes it."""
    british = word.replace("iz", "is").replace("yz", "ys")
    return (word,) if british == word else (word, british)


def _word_start(word: str, last: bool) -> str:
    """What a text word that _word_pattern(word, last) matches starts with, lower-cased ("" if not plain ASCII)."""
    if not word.isascii() or word.startswith("0"):
        return ""  # IGNORECASE lets a few other letters stand for some ASCII ones (the long s for s, say)
    start = os.path.commonprefix(_plural_forms(word)) if last else word.lower()
    return os.path.commonprefix(_spellings(start))  # "normaliz" also starts "normalising"


def _word_pattern(word: str, last: bool) -> str:
    """Regex for one phrase word; only the last word of a phrase may take a plural ending (or, when it is a name
    written with a capital and small letters, a version number glued on: "Qwen" matches "Qwen2.5")."""
    if word == "000":
        return _COUNT
    if word.startswith("0"):
        return _NUMBER + (_word_pattern(word[1:], last) if len(word) > 1 else "")
    # a version is glued to a name with small letters ("ResNet50"), not to a capitals-only acronym: GPT2 is also a
    # gene, RL10 a rocket engine
    named = last and word[0].isupper() and word[-1].isalpha() and not word.isupper()
    version = f"|{_VERSION}" if named else ""
    if _is_acronym(word):
        return f"(?-i:{re.escape(word)})" + (f"(?:[sS]{version})?" if last else "")
    if not last:
        return _british_too(re.escape(word))
    singular, plural = _plural_forms(word)
    if plural.startswith(singular):
        return _british_too(re.escape(singular)) + f"(?:{re.escape(plural[len(singular):])}{version})?"
    return _british_too(re.escape(singular[:-1])) + f"(?:y|ies{version})"


def _british_too(pattern: str) -> str:
    """An escaped lower-case word's pattern that also takes "is" for "iz" and "ys" for "yz"."""
    return pattern.replace("iz", "i[sz]").replace("yz", "y[sz]")


def _start_words(phrases: tuple[str, ...]) -> frozenset[str]:
    """Every lower-cased text word a match of one of `phrases` can begin with."""
    return frozenset(key for phrase in phrases for key in _first_word_keys(_WORD.findall(phrase)))


def _any_phrase(phrases: tuple[str, ...]) -> re.Pattern[str]:
    """One pattern that finds any of `phrases` on word boundaries, as a phrase matches."""
    bodies = (_phrase_pattern(_WORD.findall(phrase)).pattern for phrase in phrases)
    return re.compile("|".join(f"(?<![^\\W_])(?:{body})" for body in bodies), re.IGNORECASE)


def _phrase_pattern(words: list[str]) -> re.Pattern[str]:
    last = len(words) - 1
    body = _JOINT.join(_word_pattern(word, i == last) for i, word in enumerate(words))
    if words[0].startswith("0"):
        body = _NUMBER_FIRST + body
    return re.compile(body + _NOT_WORD_AFTER, re.IGNORECASE)


# ---------------------------------------------------------------------------------------
# Matching and weighing


def score_tags(title: str, abstract: str, taxonomy: Taxonomy, everything: bool = True) -> tuple[TagScore, ...]:
    """The evidence for every tag with at least one mention, fired or not, by tag; with
    `everything` false only the tags that fire, without their ignored mentions (cheaper)."""
    settings = taxonomy.settings
    mentions: dict[int, list[_Mention]] = {}  # rule number -> its mentions
    texts: list[tuple[str, list[tuple[int, str]]]] = []  # each field's text and words, for the sense guards
    for field_name, text in (("title", title), ("abstract", abstract)):
        in_title = field_name == "title"
        claims = [] if in_title else list(_CLAIM.finditer(text))
        sentences = [_Sentence(len(text) + 1, settings.title_weight)] if in_title else _sentences(text, claims, settings)
        windows = [(0, len(text))] if in_title else _claim_windows(text, claims)
        examples = [] if in_title else _example_spans(text)
        asides = [] if in_title else _aside_spans(text, claims)
        words = _words(text)
        texts.append((text, words))
        negators = [start for start, word in words if word in taxonomy._negations or word == "w"]
        for number, hits in _rule_matches(text, taxonomy, words).items():
            found = mentions.setdefault(number, [])
            for start, end, phrase, kind in hits:
                near = bisect.bisect_left(negators, start - _NEGATION_REACH) < bisect.bisect_left(negators, start)
                negation = _negation_before(text, start, end, taxonomy) if near or _FREE_AFTER.match(text, end) else ""
                if not negation and _BASELINE_AFTER.match(text, end):
                    negation = _BASELINE
                elif not negation and any(a_start <= start < a_end for a_start, a_end in asides):
                    negation = _ASIDE
                backs_up = ""
                if not negation and kind == "support":
                    backs_up = _SUPPORT_ONLY
                elif not negation and kind == "claim" and not any(w0 <= start < w1 for w0, w1 in windows):
                    backs_up = _OUTSIDE_CLAIM
                weight = 0.0
                if backs_up:
                    weight = settings.abstract_weight * _SUPPORT_SHARE / _sharers(phrase, kind, taxonomy._owners)
                elif not negation:
                    weight = next(sentence for sentence in sentences if start < sentence.end).weight_at(start)
                    if any(e_start <= start < e_end for e_start, e_end in examples):
                        weight = min(weight, settings.abstract_weight)
                    if in_title and kind == "claim" and (_listed(text, start, end) or _SOURCE_BEFORE.search(text, 0, start)):
                        weight = min(weight, settings.abstract_weight)
                    weight *= _shared_share(_sharers(phrase, kind, taxonomy._owners), in_title)
                found.append(_Mention(field_name, text, start, end, phrase, round(weight, 6), negation, backs_up))
    totals: dict[int, float] = {}
    for number in mentions:
        if any(mention.counts and mention.weight > 0 for mention in mentions[number]):
            mentions[number] = _supporting(mentions[number], settings.abstract_weight)
        totals[number] = round(sum(mention.weight for mention in mentions[number] if mention.counts), 6)
    for number in _lacking_sense(taxonomy, totals, texts):
        why = f"(none of its needs: {', '.join(taxonomy.rules[number].needs)})"
        mentions[number] = [replace(m, negated_by=why) if m.counts else m for m in mentions[number]]
        totals[number] = 0.0
    implied = _implied_wholes(taxonomy, totals)
    scores = []
    for number in sorted({*mentions, *implied}, key=lambda n: taxonomy.rules[n].tag):
        rule = taxonomy.rules[number]
        needed = _needed(rule, settings)
        total = totals.get(number, 0.0)
        if not everything and total + _EPSILON < needed and number not in implied:
            continue
        made = [
            (TagMatch(rule.tag, m.phrase, m.field, _excerpt(m.text, m.start, m.end), m.weight, m.why_not), m.why_not)
            for m in mentions.get(number, ())
            if everything or m.counts
        ]
        if number in implied:
            part = taxonomy.rules[implied[number]]
            added = round(needed - total, 6)
            made.append((TagMatch(rule.tag, part.tag, "tag", f"{part.label}: a part of {rule.label}", added), ""))
            total = round(total + added, 6)
        matches = tuple(match for match, negation in made if not negation)
        ignored = tuple(match for match, negation in made if negation)
        scores.append(TagScore(rule.tag, total, needed, matches, ignored))
    return tuple(scores)


def _lacking_sense(
    taxonomy: Taxonomy, totals: Mapping[int, float], texts: list[tuple[str, list[tuple[int, str]]]]
) -> list[int]:
    """The rules that would fire but whose sense guard (`needs`) is in none of the texts.

    Only those are looked at, and a guard's pattern is tried only where a text word can start it.
    """
    return [
        number
        for number, (starts, pattern) in taxonomy._senses.items()
        if number in totals and _reaches(totals[number], _needed(taxonomy.rules[number], taxonomy.settings))
        and not any(_may_start(text, at, word, starts) and pattern.match(text, at)
                    for text, words in texts for at, word in words)
    ]


def _may_start(text: str, at: int, word: str, starts: frozenset[str]) -> bool:
    """Whether the lower-cased text word at `at` can start one of the phrases `starts` was made from: as itself, as
    any number (a phrase word 0: "1.5B" starts "0B model") or as a name with a version glued on ("Qwen2" "Qwen")."""
    if word in starts:
        return True
    if word[0].isdigit():
        return _number_key(text, at)[0] in starts
    named = _GLUED_VERSION.match(word)
    return bool(named) and named[1] in starts


def _number_key(text: str, start: int) -> tuple[str, int]:
    """The key a number at `start` is looked up by ("0" and the letters glued to it: "9,000" is "0", "1.5B" "0b")
    and where it ends; ("", start) when no number starts there ("²" is a digit but no number)."""
    number = _NUMBER_START.match(text, start)
    return ("0" + number[1].lower(), number.end()) if number else ("", start)


def _needed(rule: TagRule, settings: TagSettings) -> float:
    return rule.min_weight if rule.min_weight is not None else settings.min_weight


def _implied_wholes(taxonomy: Taxonomy, totals: Mapping[int, float]) -> dict[int, int]:
    """Rule number of each tag that falls short but is given by a part of it that fires -> that part's rule."""
    fired = {n for n, total in totals.items() if _reaches(total, _needed(taxonomy.rules[n], taxonomy.settings))}
    implied: dict[int, int] = {}
    parts = sorted(fired, key=lambda n: taxonomy.rules[n].tag)
    while parts:
        part = parts.pop(0)
        whole = taxonomy._wholes.get(part)
        if whole is not None and whole not in fired and whole not in implied:
            implied[whole] = part
            parts.append(whole)
    return implied


@dataclass(frozen=True)
class _Mention:
    """One match of a rule's phrase in a title or abstract, and what it weighs."""

    field: str
    text: str
    start: int
    end: int
    phrase: str
    weight: float
    negated_by: str = ""  # the negating word that made it not count
    backs_up: str = ""  # why it can only back up other evidence (a support phrase, a claim phrase outside a claim)

    @property
    def counts(self) -> bool:
        return not self.negated_by and not self.backs_up

    @property
    def why_not(self) -> str:
        """Why it did not count, as --explain-tags says it; "" when it counted."""
        return self.negated_by or self.backs_up


def _supporting(mentions: list[_Mention], most: float) -> list[_Mention]:
    """The mentions with those that can only back up counted, in text order, until they add `most`."""
    kept = []
    added = 0.0
    for mention in mentions:
        if mention.backs_up:
            weight = min(mention.weight, max(0.0, most - added))
            if weight > _EPSILON:
                added += weight
                mention = replace(mention, weight=round(weight, 6), backs_up="")
        kept.append(mention)
    return kept


def match_tags(title: str, abstract: str, taxonomy: Taxonomy) -> tuple[TagMatch, ...]:
    """The first counted match of each tag that fires (a title match first), by tag."""
    return tuple(score.matches[0] for score in score_tags(title, abstract, taxonomy) if score.fired)


def tags_for(
    title: str, abstract: str, taxonomy: Taxonomy, manual: tuple[str, ...] = ()
) -> tuple[str, ...]:
    """Hand-written tags first, in their order, then the automatic ones not already there."""
    automatic = (match.tag for match in match_tags(title, abstract, taxonomy))
    return tuple(dict.fromkeys([*manual, *automatic]))


def _match_starts(
    text: str, words: list[tuple[int, str]], index: Mapping[str, object]
) -> list[tuple[int, str, str]]:
    """(position, lower-cased word, next word) of every word, and CamelCase tail, that may start a phrase.

    A coined name's capitalised tail starts a phrase too: "SheetBench" names a bench, "ChatDoctor" a doctor.
    """
    starts = [(start, word, words[n + 1][1] if n + 1 < len(words) else "")
              for n, (start, word) in enumerate(words) if word in index]
    for n, (start, word) in enumerate(words):
        if word[0].isdigit():
            # a number in any spelling ("9,000", "1.5B") starts the phrases whose first word is a 0
            key, end = _number_key(text, start)
            if key in index:
                later = bisect.bisect_left(words, (end, ""))
                starts.append((start, key, words[later][1] if later < len(words) else ""))
        elif word[-1].isdigit() and word not in index and (named := _GLUED_VERSION.match(word)) and named[1] in index:
            starts.append((start, named[1], words[n + 1][1] if n + 1 < len(words) else ""))
    for tail in _CAMEL_TAIL.finditer(text):
        key = tail[0].lower()
        if key in index:
            later = bisect.bisect_left(words, (tail.end(), ""))
            starts.append((tail.start(), key, words[later][1] if later < len(words) else ""))
    return starts


def _rule_matches(
    text: str, taxonomy: Taxonomy, words: list[tuple[int, str]]
) -> dict[int, list[tuple[int, int, str, str]]]:
    """Rule number -> (start, end, phrase, kind) of every match in `text` no exclude phrase vetoes.

    Matches of one rule do not overlap: where two of its phrases cover the same words, a phrase or claim
    is kept over a support phrase, then one that no other tag lists over a shared one, then the longer,
    then the earlier one.
    """
    found: dict[int, list[tuple[int, int, str, str]]] = {}
    vetoed: dict[int, list[tuple[int, int]]] = {}
    index = taxonomy._index
    for start, key, after in _match_starts(text, words, index):
        plain = after.isascii()
        for candidate in index[key]:
            # A phrase that goes on past this word cannot match where the next word does not start as its next one.
            if candidate.after and plain and not after.startswith(candidate.after):
                continue
            hit = candidate.pattern.match(text, start)
            if hit is None:
                continue
            if candidate.kind == "exclude":
                vetoed.setdefault(candidate.rule, []).append(hit.span())
            else:
                found.setdefault(candidate.rule, []).append((start, hit.end(), candidate.phrase, candidate.kind))
    for number, hits in list(found.items()):
        found[number] = hits + _acronym_uses(text, hits, taxonomy)
    kept: dict[int, list[tuple[int, int, str, str]]] = {}
    for number, hits in found.items():
        spans = vetoed.get(number, [])
        chosen: list[tuple[int, int, str, str]] = []
        owners = taxonomy._owners
        # A phrase of this tag alone beats one it shares; then the longer, then the earlier one.
        ranked = sorted(hits, key=lambda h: (h[3] == "support", _sharers(h[2], h[3], owners), h[0] - h[1], h[0]))
        for start, end, phrase, kind in ranked:
            if any(start < v_end and v_start < end for v_start, v_end in spans):
                continue
            if any(start < c_end and c_start < end for c_start, c_end, _p, _c in chosen):
                continue
            chosen.append((start, end, phrase, kind))
        if chosen:
            kept[number] = sorted(chosen)
    return kept


@dataclass(frozen=True)
class _Sentence:
    """Where a sentence ends and what a mention in it weighs."""

    end: int
    weight: float
    claim_at: int = 0  # where the claim starts in a claim sentence: what comes before it is the claim's means
    means_weight: float = 0.0

    def weight_at(self, position: int) -> float:
        return self.weight if position >= self.claim_at else self.means_weight


def _sentences(text: str, claims: list[re.Match[str]], settings: TagSettings) -> list[_Sentence]:
    """Each sentence of an abstract, in order; the last ends past the text."""
    found = []
    start = 0
    bounds = [m.end() for m in _SENTENCE_END.finditer(text)] + [len(text) + 1]
    for number, end in enumerate(bounds):
        plain = settings.topic_weight if number == 0 else settings.abstract_weight
        # "we also release ..." adds a side contribution to what the paper is about: it weighs as background
        claim_at = next((c.start() for c in claims if start <= c.start() < end), None)
        if claim_at is not None and not _SIDE_CLAIM.search(text, start, end):
            # "By exploiting X, we investigate ...": X is the means, weighed as background
            found.append(_Sentence(end, settings.claim_weight, claim_at, plain))
        elif number > 0 and _RESULTS.search(text, start, end):
            found.append(_Sentence(end, min(plain, settings.result_weight)))
        else:
            found.append(_Sentence(end, plain))
        start = end
    return found


def _listed(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] is one item of a list written with commas: "Text, Sound, Image, Video and Code"."""
    return bool(_LIST_ITEM_BEFORE.search(text, 0, start)) or bool(_LIST_ITEM_AFTER.match(text, end))


def _aside_spans(text: str, claims: list[re.Match[str]]) -> list[tuple[int, int]]:
    """(start, end) of what a sentence sets aside as future work or a limitation: the whole sentence, or only
    what follows the aside when the authors' claim comes first ("We release X, and caution against Y")."""
    spans: list[tuple[int, int]] = []
    low = text.lower()
    if not any(word in low for word in _ASIDE_WORDS) or _ASIDE_MARK.search(text) is None:
        return spans  # most abstracts set nothing aside: no need to split them into sentences
    start = 0
    for end in [m.end() for m in _SENTENCE_END.finditer(text)] + [len(text)]:
        aside = _ASIDE_MARK.search(text, start, end)
        if aside is not None:
            claimed = any(start <= claim.start() < aside.start() for claim in claims)
            spans.append((aside.start() if claimed else start, end))
        start = end
    return spans


def _example_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each list of examples: from "such as", "e.g." ... to the end of its clause."""
    spans = []
    for marker in _EXAMPLES.finditer(text):
        position = marker.end()
        while (stop := _EXAMPLES_END.search(text, position)) is not None:
            # a parenthesis opened inside the list ("Natural Language Processing (NLP), ...") does not end it
            inside = text[marker.end():stop.start()]
            if stop[0] == ")" and inside.count("(") > inside.count(")"):
                position = stop.end()
                continue
            break
        spans.append((marker.end(), stop.start() if stop else len(text)))
    return spans


def _claim_windows(text: str, claims: list[re.Match[str]]) -> list[tuple[int, int]]:
    """The words right after "we propose", "we release" ...: what the authors made, up to a preposition."""
    windows = []
    for claim in claims:
        begin = _CLAIM_LEAD.match(text, claim.end()).end()
        end, topic = _claim_object_end(text, begin)
        # the cap counts the words of the topic: in "a first-of-its-kind framework for X" they start at X
        words = list(_WORD.finditer(text, topic, end))
        if len(words) > _CLAIM_OBJECT_WORDS:
            end = words[_CLAIM_OBJECT_WORDS].start()
        windows.append((claim.end(), end))
    return windows


def _claim_object_end(text: str, begin: int) -> tuple[int, int]:
    """Where the object of a claim ends: at a preposition, unless it follows a generic head ("a method for ...");
    and where its topic starts: after the last generic head."""
    position = begin
    while True:
        stop = _CLAIM_OBJECT_END.search(text, position)
        if stop is None:
            return len(text), position
        if not _GENERIC_HEAD.search(text, begin, stop.end()):
            return stop.start(), position
        position = stop.end()


def _acronym_uses(
    text: str, hits: list[tuple[int, int, str, str]], taxonomy: Taxonomy
) -> list[tuple[int, int, str, str]]:
    """Later uses of an acronym a match defines: "parameter-efficient fine-tuning (PEFT) ... PEFT"."""
    uses = []
    for _start, end, phrase, kind in hits:
        defined = _ACRONYM_AFTER.match(text, end)
        if defined is None or defined[1].lower() in taxonomy._index:
            continue  # an acronym that is itself a phrase is counted as one already
        pattern = re.compile(rf"(?<![^\W_]){re.escape(defined[1])}s?(?![^\W_])")
        named = f"{defined[1]} ({phrase})"
        uses += [(use.start(), use.end(), named, kind) for use in pattern.finditer(text, defined.end())]
    return uses


def _negation_before(text: str, start: int, end: int, taxonomy: Taxonomy) -> str:
    """The negating words that govern the mention at text[start:end], or "" when none does."""
    if _FREE_AFTER.match(text, end):
        return "-free"
    before = text[max(0, start - _NEGATION_REACH):start]
    clause = _CLAUSE_END.split(before)[-1]
    words = [word.lower() for word in _WORD.findall(clause.replace("w/o", "without"))]
    window = words[-taxonomy.settings.negation_window:] if taxonomy.settings.negation_window > 0 else []
    for position, word in enumerate(window):
        for negation in taxonomy._negations.get(word, ()):
            if tuple(window[position:position + len(negation)]) == negation:
                if negation == ("no",) and window[position + 1:position + 2] == ["longer"]:
                    continue
                if negation == ("than",) and window[position + 1:position + 2] and window[position + 1][0].isdigit():
                    continue  # "more than 300M noisy labels" is a quantity, not a contrast
                return " ".join(negation)
    return ""


def _words(text: str) -> list[tuple[int, str]]:
    """(position, lower-cased word) of every word of `text`."""
    low = text.lower()
    if len(low) == len(text):
        return [(word.start(), word[0]) for word in _WORD.finditer(low)]
    return [(word.start(), word[0].lower()) for word in _WORD.finditer(text)]


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
