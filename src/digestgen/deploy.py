"""Deploying a site: which digestgen the deploy files install, and the checks `digestgen doctor` runs before a push."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import yaml

from digestgen import __version__
from digestgen.config import CONFIG_NAME, Config, load_config
from digestgen.errors import DigestgenError
from digestgen.urls import SITEMAP, Urls

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

DIST_NAME = "digestgen"
INSTALL_VARIABLE = "DIGESTGEN_INSTALL"
NETLIFY_FILE = "netlify.toml"
WORKFLOW_FILE = ".github/workflows/pages.yml"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}

# A requirement on digestgen by name (what the package index serves), with or without version specifiers.
_NAME_SPEC = re.compile(r"digestgen\s*(?:\[[^\]]*\])?\s*(?P<specifiers>(?:[<>=!~;].*)?)", re.IGNORECASE)
_PINNED = re.compile(r"===?\s*(?P<version>[^\s;,*]+)\s*(?:;.*)?")
# A wheel's file name carries its version (digestgen-0.1.0-py3-none-any.whl).
_WHEEL_VERSION = re.compile(r"(?:^|/)digestgen-(?P<version>[^-/]+)-[^/]*\.whl(?:#.*)?$", re.IGNORECASE)
_VERSION_REF = re.compile(r"v?(?P<version>\d+(?:\.\d+)+[^/\s]*)")
_VCS_SPEC = re.compile(r"(?:^|\s)(?:git|hg|svn|bzr)\+", re.IGNORECASE)
_ASSIGNMENT = re.compile(rf"\s*{INSTALL_VARIABLE}\s*[=:]")
# The spec goes inside double quotes in TOML, YAML and a shell command: nothing there may end or expand it.
_UNSAFE_IN_SPEC = re.compile(r'["\\$`\x00-\x1f\x7f]')


@dataclass(frozen=True)
class Origin:
    """Where the running digestgen was installed from, and what a deploy host would install to get it again."""

    version: str
    spec: str | None  # None: it came from this machine only (a checkout, an editable install, a local file)
    where: str  # for messages: "the package index", a URL, "an editable install of file:///…"

    @property
    def pinned(self) -> str:
        return f"{DIST_NAME}=={self.version}"


def origin_from_direct_url(version: str, direct_url: str | None) -> Origin:
    """Read PEP 610's direct_url.json: absent means pip resolved digestgen by name, i.e. from an index."""
    if direct_url is None:
        return Origin(version, f"{DIST_NAME}=={version}", "the package index")
    try:
        info = json.loads(direct_url)
        url = info["url"]
    except (ValueError, KeyError, TypeError):
        return Origin(version, None, "an installation whose direct_url.json cannot be read")
    fragment = f"#subdirectory={info['subdirectory']}" if info.get("subdirectory") else ""
    vcs = info.get("vcs_info")
    if isinstance(vcs, dict) and vcs.get("vcs") and vcs.get("commit_id"):
        spec = f"{vcs['vcs']}+{url}@{vcs['commit_id']}{fragment}"
        return Origin(version, spec if _remote(url) else None, spec)
    if isinstance(info.get("dir_info"), dict):
        kind = "an editable install of" if info["dir_info"].get("editable") else "the folder"
        return Origin(version, None, f"{kind} {url}")
    return Origin(version, url + fragment if _remote(url) else None, url)


def _remote(url: str) -> bool:
    return urlsplit(url).scheme in ("http", "https", "ssh", "git")


def installed_origin() -> Origin:
    try:
        dist = metadata.distribution(DIST_NAME)
    except metadata.PackageNotFoundError:
        return Origin(__version__, None, "a source folder that was never installed")
    return origin_from_direct_url(dist.version, dist.read_text("direct_url.json"))


def check_install_spec(spec: str) -> str:
    spec = spec.strip()
    if not spec:
        raise DigestgenError("--install needs a pip install spec, e.g. git+https://example.org/you/digestgen@v0.1.0")
    if _UNSAFE_IN_SPEC.search(spec):
        raise DigestgenError(f"--install {spec!r}: quotes, backslashes, '$', '`' and control characters cannot be used")
    return spec


def choose_install_spec(given: str | None, origin: Origin) -> tuple[str, str | None]:
    """The spec the deploy files install, and a warning when it is only a guess."""
    if given is not None:
        return check_install_spec(given), None
    if origin.spec is not None:
        return origin.spec, None
    warning = (
        f"this digestgen {origin.version} was installed from {origin.where}, which a deploy host cannot install; "
        f"the deploy files install {origin.pinned} from the package index: if the index does not have it, "
        f"change {INSTALL_VARIABLE} in {NETLIFY_FILE} and {WORKFLOW_FILE} (or run init with --install SPEC)"
    )
    return origin.pinned, warning


def subpath_warning(config: Config) -> str | None:
    """Crawlers read robots.txt only at the root of a host, so a site under a sub-path must submit its sitemap."""
    links = Urls(config.base_url)
    if links.base_path == "/":
        return None
    return (
        f"the site is published under the sub-path {links.base_path}: crawlers read robots.txt only at "
        f"{links.origin}/robots.txt, never {links.base_path}robots.txt, so submit {links.absolute(SITEMAP)} "
        "by hand to each search engine (see the README's Deployment section)"
    )


# --- digestgen doctor -------------------------------------------------------------------------------------------

Finding = tuple[str, str]  # (":LINE" or "", message)


def doctor(site: Path, origin: Origin | None = None) -> list[str]:
    """Every problem to fix before a push, one line each ('FILE[:LINE]: what and how to fix it')."""
    origin = origin or installed_origin()
    findings = _config_findings(site)
    for name, (kind, loads, check) in DEPLOY_FILES.items():
        if (site / name).is_file():
            found = _deploy_file_findings(site / name, kind, loads, check, origin)
            findings += [f"{name}{where}: {message}" for where, message in found]
    return findings


def _config_findings(site: Path) -> list[str]:
    try:
        config, warnings = load_config(site)
    except DigestgenError as exc:
        return [str(exc)]
    findings = list(warnings)
    host = urlsplit(config.base_url).hostname or ""
    if config.base_url == Config().base_url or host in LOCAL_HOSTS:
        findings.append(
            f"{CONFIG_NAME}: base_url is still the local address {config.base_url}: the deploy files pass the host's "
            "address to the build, but feeds built here and every link in `digestgen newsletter` point at this "
            "machine; set base_url to the published address"
        )
    letter = config.newsletter
    if letter.sender and not letter.unsubscribe_url:
        findings.append(
            f"{CONFIG_NAME}: newsletter.unsubscribe_url is not set: editions carry no List-Unsubscribe header or "
            "unsubscribe link unless your mail service adds one (--esp); set it to your list's unsubscribe page"
        )
    return findings


def _deploy_file_findings(path: Path, kind: str, loads: Callable, check: Callable, origin: Origin) -> list[Finding]:
    try:
        text = path.read_text(encoding="utf-8")
        data = loads(text)
    except UnicodeDecodeError:
        return [("", "not UTF-8 text")]
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        return [("", f"not valid {kind}: {' '.join(str(exc).split())}")]
    return check(data, text, origin)


def _netlify_findings(config: Any, text: str, origin: Origin) -> list[Finding]:
    build = _table(config, "build")
    spec = _table(build, "environment").get(INSTALL_VARIABLE)
    findings = _spec_findings(spec, text, origin, f"[build.environment] {INSTALL_VARIABLE}")
    production = _table(_table(config, "context"), "production").get("command", build.get("command", ""))
    if "DEPLOY_PRIME_URL" in str(production):
        findings.append(("", "production builds take their base URL from DEPLOY_PRIME_URL, the netlify.app address, "
                         "so feeds and the sitemap miss the site's own domain: use $URL in [context.production]"))
    return findings


def _workflow_findings(flow: Any, text: str, origin: Origin) -> list[Finding]:
    return _spec_findings(_table(flow, "env").get(INSTALL_VARIABLE), text, origin, f"env: {INSTALL_VARIABLE}")


DEPLOY_FILES = {
    NETLIFY_FILE: ("TOML", tomllib.loads, _netlify_findings),
    WORKFLOW_FILE: ("YAML", yaml.safe_load, _workflow_findings),
}


def _table(data: Any, key: str) -> dict[str, Any]:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


def _spec_findings(spec: Any, text: str, origin: Origin, setting: str) -> list[Finding]:
    if not isinstance(spec, str):
        return [("", f"does not set {setting}, so it may install another digestgen than this one ({origin.version}); "
                 f"the files `digestgen init` writes pin it there (see the README's Deployment section)")]
    where = _assignment_line(text)
    message = spec_mismatch(spec, origin)
    return [(where, f"{setting} = {spec!r}: {message}")] if message else []


def spec_mismatch(spec: str, origin: Origin) -> str | None:
    """Why installing `spec` on a deploy host would not give the digestgen running here; None when it would."""
    fix = f"set it to {origin.spec!r}" if origin.spec else "set it to a git URL or wheel that the host can install"
    named = _NAME_SPEC.fullmatch(spec)
    if named:
        exact = _PINNED.fullmatch(named.group("specifiers"))
        pinned = exact.group("version") if exact else None
        if pinned is None:
            return f"pins no version: it installs the newest digestgen that matches, not this {origin.version}; {fix}"
        if pinned != origin.version:
            return f"installs digestgen {pinned}, but digestgen {origin.version} is installed here; {fix}"
        if origin.spec is None:
            return (f"installs digestgen {pinned} from the package index, but this digestgen came from "
                    f"{origin.where}: unless the index has digestgen {pinned} the deploy's install step fails; {fix}")
        return None
    version = _spec_version(spec)
    if version is not None and version != origin.version:
        return f"installs digestgen {version}, but digestgen {origin.version} is installed here; {fix}"
    return None


def _spec_version(spec: str) -> str | None:
    """The version a wheel file name or a version-like VCS ref (git+…@v0.1.0) names; None when it names none."""
    wheel = _WHEEL_VERSION.search(spec)
    if wheel:
        return wheel.group("version")
    if _VCS_SPEC.search(spec) and "@" in spec:
        ref = spec.rsplit("@", 1)[1].split("#")[0]
        version = _VERSION_REF.fullmatch(ref)
        return version.group("version") if version else None
    return None


def _assignment_line(text: str) -> str:
    for number, line in enumerate(text.splitlines(), 1):
        if _ASSIGNMENT.match(line):
            return f":{number}"
    return ""
