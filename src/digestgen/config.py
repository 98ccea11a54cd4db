"""The site configuration (digestgen.yaml): one typed object, validated once, all errors together."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from digestgen.errors import DigestgenError
from digestgen.frontmatter import YamlError, load_yaml
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
    size_limit_kb: int = 90
    teaser_chars: int = 280
    smtp: SmtpConfig = field(default_factory=SmtpConfig)


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
    snippet_chars: int = 280
    taxonomy: Any = None  # None: the packaged default; a file name; or an inline mapping
    csp_meta: bool = True
    search_shard_threshold: int = 300  # one index costs ~0.9 KB gzipped a paper: split past ~300 KB
    newsletter: NewsletterConfig = field(default_factory=NewsletterConfig)
    author_pages: AuthorPagesConfig = field(default_factory=AuthorPagesConfig)

    @property
    def base_path(self) -> str:
        """The path part of base_url, always starting and ending with '/'."""
        return Urls(self.base_url).base_path


_FIELD_NAMES = {"from": "sender"}  # YAML keys that are Python keywords


def _check_type(name: str, value: Any, default: Any, errors: list[str]) -> Any:
    if default is None or isinstance(default, dict):
        return value
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
    else:
        ok = isinstance(value, type(default))
    if not ok:
        kind = {bool: "true or false", int: "a positive whole number", str: "text"}[type(default)]
        errors.append(f"{name} must be {kind}, not {value!r}")
        return default
    return value


def _build(cls: type, data: dict[str, Any], prefix: str, errors: list[str], warnings: list[str]) -> Any:
    values: dict[str, Any] = {}
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key, value in data.items():
        name = _FIELD_NAMES.get(key, key) if prefix == "newsletter." else key
        if name not in fields:
            warnings.append(f"unknown setting '{prefix}{key}' ignored")
            continue
        default = cls()
        default_value = getattr(default, name)
        if dataclasses.is_dataclass(default_value):
            if not isinstance(value, dict):
                errors.append(f"{prefix}{key} must be a mapping of settings")
                continue
            values[name] = _build(type(default_value), value, f"{prefix}{key}.", errors, warnings)
        else:
            values[name] = _check_type(f"{prefix}{key}", value, default_value, errors)
    return cls(**values)


def _check_values(config: Config, errors: list[str]) -> None:
    parts = urlsplit(config.base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        errors.append(f"base_url must be an absolute http(s) URL such as https://example.org/, not {config.base_url!r} (or pass --base-url URL)")
    if config.newsletter.smtp.security not in ("starttls", "ssl", "none"):
        errors.append("newsletter.smtp.security must be starttls, ssl or none")
    if config.taxonomy is not None and not isinstance(config.taxonomy, (str, dict)):
        errors.append("taxonomy must be a file name or a mapping of tag: phrases")


def parse_config(data: Any, source: str, base_url: str | None = None) -> tuple[Config, list[str]]:
    """Validate loaded YAML into a Config; raise one DigestgenError naming every problem."""
    errors: list[str] = []
    warnings: list[str] = []
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise DigestgenError("the configuration must be a mapping of settings", path=source)
    if base_url is not None:
        data = {**data, "base_url": base_url}
    config = _build(Config, data, "", errors, warnings)
    if config.base_url and not config.base_url.endswith("/"):
        config = dataclasses.replace(config, base_url=config.base_url + "/")
    _check_values(config, errors)
    if errors:
        raise DigestgenError("; ".join(errors), path=source)
    return config, [f"{source}: {w}" for w in warnings]


def load_config(site: Path, base_url: str | None = None) -> tuple[Config, list[str]]:
    path = site / CONFIG_NAME
    if not path.is_file():
        raise DigestgenError(f"not a digestgen site: no {CONFIG_NAME} here (run 'digestgen init {site}')", path=site)
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except YamlError as exc:
        raise DigestgenError(str(exc), path=path, line=exc.line) from None
    except UnicodeDecodeError:
        raise DigestgenError("not UTF-8 text", path=path) from None
    return parse_config(data, str(path), base_url)
