"""Where the default theme lives, how a site overrides it, and its content-hashed assets."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from digestgen.errors import DigestgenError

# The policy the default theme is written for: no inline script or style, no third party.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; worker-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'"
)
LIVERELOAD = "livereload.js"
# Static names that only `digestgen serve` uses (it reads them from the theme itself): a build never publishes a
# file of these names, whichever static folder it comes from and however that folder's path is spelled.
SERVE_ONLY = frozenset({LIVERELOAD})
LUNR_FILES = {"lunr.min.js": "lunr.min.js", "lunr.LICENSE.txt": "LICENSE"}


def _package_dir(*parts: str) -> Path:
    return Path(str(files("digestgen").joinpath(*parts)))


def default_dir(kind: str) -> Path:
    """The shipped theme folder ('templates' or 'static'): in the wheel, or in a source checkout."""
    packaged = _package_dir("theme", kind)
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / kind
    if checkout.is_dir():
        return checkout
    raise DigestgenError(f"the default theme's {kind}/ folder is missing from this installation")


def vendor_file(name: str) -> Path:
    path = _package_dir("_vendor", name)
    if not path.is_file():
        raise DigestgenError(
            f"{name} is missing from this installation: reinstall digestgen (its build fetches lunr.js with npm)"
        )
    return path


def hashed_name(name: str, data: bytes) -> str:
    """style.css -> style.3f2a9c1e.css, so that a changed file gets a new URL."""
    digest = hashlib.sha256(data).hexdigest()[:10]
    stem, dot, ext = name.rpartition(".")
    return f"{stem}.{digest}.{ext}" if dot else f"{name}.{digest}"


@dataclass(frozen=True)
class Asset:
    name: str  # as templates ask for it, e.g. "style.css"
    output: str  # site-relative output path, e.g. "assets/style.1a2b3c4d5e.css"
    data: bytes


def collect_assets(site_static: Path) -> dict[str, Asset]:
    """Every static file (the site's own win over the theme's) plus lunr.js, by name."""
    sources: dict[str, Path] = {}
    for root in (default_dir("static"), site_static):
        if root.is_dir():
            for path in sorted(root.rglob("*")):
                name = path.relative_to(root).as_posix()
                if path.is_file() and not path.name.startswith(".") and name not in SERVE_ONLY:
                    sources[name] = path
    for name, vendor in LUNR_FILES.items():
        sources[name] = vendor_file(vendor)
    assets = {}
    for name, path in sorted(sources.items()):
        data = path.read_bytes()
        assets[name] = Asset(name, f"assets/{hashed_name(name, data)}", data)
    return assets
