"""Where a site keeps its sources and what counts as a content file: one answer for ingest, load
and serve's watcher.

A content file is a regular file (or a symlink to one) in content/papers/ ending in .md, or in
content/digests/ ending in .yaml, whose name is not an editor's or the system's litter: hidden
files (macOS's ._paper.md, Emacs's .#paper.md locks, atomic-save temporaries), swap and backup
files. A dangling symlink is not a file and so not content.
"""

from __future__ import annotations

import os
from pathlib import Path

CONTENT_DIR = "content"
PAPERS_DIR = "papers"
DIGESTS_DIR = "digests"
TEMPLATES_DIR = "templates"
STATIC_DIR = "static"
SOURCE_DIRS = (CONTENT_DIR, TEMPLATES_DIR, STATIC_DIR)  # the folders whose files a build reads
SUFFIXES = {PAPERS_DIR: ".md", DIGESTS_DIR: ".yaml"}  # content folder -> the ending of its files
# Editors' swap, lock and backup files: saving a paper must not rebuild twice because of them.
TEMP_SUFFIXES = (".swp", ".swo", ".swx", ".tmp", "~")


def is_temp_file(name: str) -> bool:
    """Hidden files (.#lock, .x.swp, ._x, atomic-save temporaries), backups and swap files."""
    return name.startswith(".") or name.endswith(TEMP_SUFFIXES) or name == "4913"  # vim's write probe


def is_content_name(folder: str, name: str) -> bool:
    """Whether a file called `name` in content/`folder`/ is content (its kind decided by the folder)."""
    suffix = SUFFIXES.get(folder)
    return suffix is not None and name.endswith(suffix) and len(name) > len(suffix) and not is_temp_file(name)


RESCAN = "rescan"  # what a change to content/ or one of its folders itself asks for: read every content file again


def content_change(parts: tuple[str, ...] | list[str]) -> str | None:
    """What a change at the site-relative path `parts` is to content: PAPERS_DIR or DIGESTS_DIR for a
    content file of that folder, RESCAN for content/ or one of its folders itself (or a file beside
    them), None for anything no build reads (litter, other files, files in deeper folders, paths
    outside content/). The one rule for serve's watcher, the session's list of changed files and the
    loader that patches its scan with them."""
    if not parts or parts[0] != CONTENT_DIR or any(is_temp_file(part) for part in parts):
        return None
    if len(parts) < 3:
        return RESCAN
    if len(parts) == 3 and is_content_name(parts[1], parts[2]):
        return parts[1]
    return None


def content_entries(content: Path, folder: str) -> list[os.DirEntry[str]]:
    """The content files of content/`folder`/, by name."""
    try:
        with os.scandir(content / folder) as entries:
            found = [e for e in entries if is_content_name(folder, e.name) and e.is_file()]
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(found, key=lambda entry: entry.name)


def content_files(content: Path, folder: str) -> list[Path]:
    """`content_entries` as paths."""
    return [Path(entry.path) for entry in content_entries(content, folder)]
