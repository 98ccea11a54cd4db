"""`digestgen init`: a new site skeleton."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from digestgen import __version__
from digestgen.config import CONFIG_NAME
from digestgen.errors import DigestgenError
from digestgen.fileio import atomic_write_text

SKELETON_FILES = (
    (CONFIG_NAME, CONFIG_NAME),
    ("gitignore", ".gitignore"),
    ("netlify.toml", "netlify.toml"),
    ("pages.yml", ".github/workflows/pages.yml"),
)


# The deploy files name the digestgen they install; see deploy.choose_install_spec for how it is chosen.
INSTALL_PLACEHOLDER = "@INSTALL@"
VERSION_PLACEHOLDER = "@VERSION@"


def skeleton_text(name: str, install: str) -> str:
    """A skeleton file, with the install spec and the writing version filled in."""
    text = (files("digestgen") / "skeleton" / name).read_text(encoding="utf-8")
    return text.replace(INSTALL_PLACEHOLDER, install).replace(VERSION_PLACEHOLDER, __version__)


def init_site(target: Path, install: str) -> list[Path]:
    """Create the skeleton (its deploy files pip-install `install`); refuse when a site or a file it needs is there."""
    if (target / CONFIG_NAME).exists():
        raise DigestgenError(f"a site already exists here ({CONFIG_NAME}); nothing was changed", path=target)
    if target.exists() and not target.is_dir():
        raise DigestgenError("exists and is not a folder", path=target)
    clashes = [dest for _, dest in SKELETON_FILES if (target / dest).exists()]
    if clashes:
        raise DigestgenError(f"would overwrite {', '.join(clashes)}; nothing was changed", path=target)
    written = []
    for source, dest in SKELETON_FILES:
        atomic_write_text(target / dest, skeleton_text(source, install))
        written.append(target / dest)
    for folder in ("content/papers", "content/digests"):
        (target / folder).mkdir(parents=True, exist_ok=True)
        (target / folder / ".gitkeep").touch()
    return written
