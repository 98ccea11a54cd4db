"""The site configuration (digestgen.yaml): one typed object, validated once, all errors together."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from digestgen.errors import DigestgenError
from digestgen.frontmatter import Lines, YamlError, load_yaml_lines
from digestgen.tagging import TagSettings
from digestgen.words import did_you_mean, found, plural
from digestgen.urls import Urls

CONFIG_NAME = "digestgen.yaml"


@dataclass(frozen=True)
class SmtpConfig:
    host: str = "127.0.0.1"
    port: int = 587
    security: str = "starttls"  # starttls | ssl | none
    user: str = ""
    password_env: str = "DIGESTGEN_SMTP_PASSWORD"


@dataclass(frozen=True)
class NewsletterConfig:
    sender: str = ""
    to: str = ""
    reply_to: str = ""
    unsubscribe_url: str = ""
    list_id: str = ""
    size_limit_kb: int = 96  # the HTML part as sent (quoted-printable); Gmail clips past about 102 KB
    teaser_chars: int = 280
    top_papers: int = 10  # papers with a teaser after the picks; the rest become a list of titles
    subject: str = "{title} · {count} · {top}"
    preheader: str = ""  # empty: the intro's start, else the first titles
    group_by: str = "none"  # none | tag: the top papers under their most specific tag
    smtp: SmtpConfig = field(default_factory=SmtpConfig)


@dataclass(frozen=True)
class TaggingConfig:
    """How automatic tags are weighed (see tagging.TagSettings) and which source labels become tags."""

    # The weights' defaults are the tagger's own.
    min_weight: float = TagSettings.min_weight
    title_weight: float = TagSettings.title_weight
    claim_weight: float = TagSettings.claim_weight
    topic_weight: float = TagSettings.topic_weight
    abstract_weight: float = TagSettings.abstract_weight
    result_weight: float = TagSettings.result_weight  # a sentence that reports results
    negation_window: int = TagSettings.negation_window
    negations: Any = None  # None: the built-in list; else a list of words and phrases
    common_share: float = 0.4  # a tag on more than this share of the papers is warned about and not chipped
    categories: str = "primary"  # primary | all | none: which arXiv categories become tags
    category_tags: dict = field(default_factory=dict)  # arXiv category -> tag slug, or none
    keywords: Any = None  # None/none | all | {keyword: tag slug}


@dataclass(frozen=True)
class SourcesConfig:
    """Where `digestgen fetch` (and an ID list's lookup) asks; tests point these at a loopback server."""

    hf_api: str = "https://huggingface.co/api"
    arxiv_api: str = "https://export.arxiv.org/api/query"
    arxiv_rss: str = "https://rss.arxiv.org/rss"
    arxiv_delay_s: float = 3.0  # arXiv asks for three seconds between calls
    timeout_s: float = 30.0


@dataclass(frozen=True)
class RelatedConfig:
    """Related papers (related.py)."""

    count: int = 5  # at most this many a paper
    min_similarity: float = 0.15  # cosine similarity below which a paper is not related
    relative_cut: float = 0.3  # and below this share of the paper's best neighbour
    max_lists: int = 10  # one paper appears in at most this many lists (hub papers are damped)


@dataclass(frozen=True)
class AuthorPagesConfig:
    min_papers: int = 2  # an author gets a page from this many papers on the site


@dataclass(frozen=True)
class Config:
    title: str = "Research digest"
    description: str = "Papers worth reading, collected day by day."
    base_url: str = "http://127.0.0.1:8000/"
    language: str = "en"
    author: str = ""
    recent_digests: int = 10
    tag_page_size: int = 50
    home_top_papers: int = 20  # the latest digest's papers the home page shows besides the picks
    digest_cards: int = 25  # a digest with more papers than this (besides picks) lists them as compact rows
    digest_page_size: int = 100  # papers per digest page (besides picks); longer digests get more pages
    snippet_chars: int = 280
    taxonomy: Any = None  # None: the packaged default; "none": no tagging from text; a file name; or a mapping
    csp_meta: bool = True
    search_shard_threshold: int = 300  # one index costs ~0.9 KB gzipped a paper: split past ~300 KB
    tagging: TaggingConfig = field(default_factory=TaggingConfig)
    newsletter: NewsletterConfig = field(default_factory=NewsletterConfig)
    sources: SourcesConfig = field(default_factory=SourcesConfig)
    related: RelatedConfig = field(default_factory=RelatedConfig)
    author_pages: AuthorPagesConfig = field(default_factory=AuthorPagesConfig)

    @property
    def base_path(self) -> str:
        """The path part of base_url, always starting and ending with '/'."""
        return Urls(self.base_url).base_path


_FIELD_NAMES = {"from": "sender"}  # YAML keys that are Python keywords


_EXAMPLES = {"base_url": "https://example.org/"}  # where the default is no example to follow


def _check_type(name: str, value: Any, default: Any, errors: list[str]) -> Any:
    if default is None or isinstance(default, dict):
        return value
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, float):  # seconds: a whole number is fine, zero too
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
        if ok:
            return float(value)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1
        value = float(value) if ok else value
    else:
        ok = isinstance(value, type(default))
    if not ok:
        kind = {bool: "true or false", int: "a positive whole number", float: "a number", str: "text"}[type(default)]
        example = _EXAMPLES.get(name) or {
            bool: "true", int: str(default), float: str(default), str: f"'{default}'" if default else "'some text'"
        }[type(default)]
        errors.append(f"{name}: expected {kind}, found {found(value)} (for example: {name.rsplit('.', 1)[-1]}: {example})")
        return default
    return value


def _build(cls: type, data: dict[str, Any], prefix: str, errors: list[str], warnings: list[str]) -> Any:
    values: dict[str, Any] = {}
    fields = {f.name: f for f in dataclasses.fields(cls)}
    keys = [k for k, v in _FIELD_NAMES.items() if v in fields] + [f for f in fields if f not in _FIELD_NAMES.values()]
    for key, value in data.items():
        name = _FIELD_NAMES.get(key, key) if prefix == "newsletter." else key
        if name not in fields:
            warnings.append(f"unknown setting '{prefix}{key}' ignored{did_you_mean(str(key), keys)}")
            continue
        default = cls()
        default_value = getattr(default, name)
        if dataclasses.is_dataclass(default_value):
            if not isinstance(value, dict):
                errors.append(f"{prefix}{key}: expected a mapping of settings, found {found(value)}")
                continue
            values[name] = _build(type(default_value), value, f"{prefix}{key}.", errors, warnings)
        else:
            values[name] = _check_type(f"{prefix}{key}", value, default_value, errors)
    return cls(**values)


def _not_one_of(name: str, choices: tuple[str, ...], value: Any, example: str = "") -> str:
    """'newsletter.group_by: expected none or tag, found 'tags' (for example: group_by: tag)'."""
    expected = ", ".join(choices[:-1]) + " or " + choices[-1]
    return f"{name}: expected {expected}, found {found(value)} (for example: {name.rsplit('.', 1)[-1]}: {example or choices[0]})"


def _check_values(config: Config, errors: list[str]) -> None:
    parts = urlsplit(config.base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        errors.append(
            f"base_url: expected an absolute http(s) URL, found {found(config.base_url)} "
            "(for example: base_url: https://example.org/, or pass --base-url URL)"
        )
    if config.newsletter.group_by not in ("none", "tag"):
        errors.append(_not_one_of("newsletter.group_by", ("none", "tag"), config.newsletter.group_by, "tag"))
    if config.newsletter.smtp.security not in ("starttls", "ssl", "none"):
        errors.append(_not_one_of("newsletter.smtp.security", ("starttls", "ssl", "none"), config.newsletter.smtp.security))
    for name in ("hf_api", "arxiv_api", "arxiv_rss"):
        url = getattr(config.sources, name)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            errors.append(f"sources.{name} must be an absolute http(s) URL, not {url!r}")
    if config.sources.timeout_s <= 0:
        errors.append("sources.timeout_s must be more than 0 seconds")
    if config.taxonomy is not None and config.taxonomy is not False and not isinstance(config.taxonomy, (str, dict)):
        errors.append("taxonomy must be none, a file name or a mapping of tag: {label, phrases} (or extends: default)")
    if config.taxonomy == {}:
        errors.append("taxonomy is an empty mapping: write 'taxonomy: none' to turn tagging from the text off")
    _check_tagging(config.tagging, errors)
    for name in ("min_similarity", "relative_cut"):
        if not 0 <= getattr(config.related, name) <= 1:
            errors.append(f"related.{name}: expected a number from 0 to 1, found {getattr(config.related, name)}")


def _check_tagging(tagging: TaggingConfig, errors: list[str]) -> None:
    from digestgen.sourcetags import check_source_settings

    if not 0 < tagging.common_share <= 1:
        errors.append(f"tagging.common_share must be a share between 0 and 1, such as 0.4, not {tagging.common_share!r}")
    if tagging.negations is not None and (
        not isinstance(tagging.negations, list) or not all(isinstance(n, str) and n.strip() for n in tagging.negations)
    ):
        errors.append("tagging.negations must be a list of words and phrases")
    errors.extend(check_source_settings(tagging.categories, tagging.category_tags, tagging.keywords))


def parse_config(
    data: Any, source: str, base_url: str | None = None, lines: Lines | None = None
) -> tuple[Config, list[str]]:
    """Validate loaded YAML into a Config; raise one DigestgenError naming every problem."""
    errors: list[str] = []
    warnings: list[str] = []
    lines = dict(lines or {})
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise DigestgenError("the configuration must be a mapping of settings, such as 'title: My digest'", path=source)
    if base_url is not None:
        data = {**data, "base_url": base_url}
        lines.pop(("base_url",), None)  # the flag's value, not the file's
    config = _build(Config, data, "", errors, warnings)
    _check_values(config, errors)
    if config.base_url and not config.base_url.endswith("/"):
        config = dataclasses.replace(config, base_url=config.base_url + "/")
    if len(errors) == 1:
        raise DigestgenError(errors[0], path=source, line=_line_of(errors[0], lines))
    if errors:
        placed = [_placed(source, message, lines) for message in errors]
        raise DigestgenError(f"{plural(len(errors), 'problem')} in the configuration:", problems=tuple(placed))
    return config, [_placed(source, message, lines) for message in warnings]


_SETTING = re.compile(r"^(?:unknown setting ')?([A-Za-z_][\w.]*)")


def _line_of(message: str, lines: Lines) -> int | None:
    """The line of the setting a message starts with ('newsletter.smtp.port: …')."""
    match = _SETTING.match(message)
    return lines.get(tuple(match.group(1).split("."))) if match else None


def _placed(source: str, message: str, lines: Lines) -> str:
    line = _line_of(message, lines)
    return f"{source}:{line}: {message}" if line else f"{source}: {message}"


def load_config(site: Path, base_url: str | None = None) -> tuple[Config, list[str]]:
    path = site / CONFIG_NAME
    if not path.is_file():
        raise DigestgenError(f"not a digestgen site: no {CONFIG_NAME} here (run 'digestgen init {site}')", path=site)
    try:
        data, lines = load_yaml_lines(path.read_text(encoding="utf-8"))
    except YamlError as exc:
        raise DigestgenError(str(exc), path=path, line=exc.line) from None
    except UnicodeDecodeError:
        raise DigestgenError("not UTF-8 text", path=path) from None
    return parse_config(data, str(path), base_url, lines)
