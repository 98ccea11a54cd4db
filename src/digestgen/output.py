"""Write a built site into a folder beside the output, then swap it in.

A failed or killed build leaves the previous site; files digestgen did not write are carried
over, never deleted. A file whose bytes (or whose render key) did not change is hard-linked from
the previous build instead of written again, and the manifest remembers both for next time.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from digestgen.errors import DigestgenError

MANIFEST = ".digestgen-manifest.json"


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_output_dir(out: Path, site: Path) -> None:
    """Refuse output folders whose replacement would destroy something that matters."""
    target = out.resolve()
    root = site.resolve()
    home = Path.home().resolve()
    if target == Path(target.anchor) or target == home or _inside(root, target):
        raise DigestgenError("refusing to build into this folder: it is /, your home, the site or a folder that contains it", path=out)
    for precious in ("content", "templates", "static"):
        if _inside(target, root / precious):
            raise DigestgenError(f"refusing to build into the site's {precious}/ folder", path=out)
    if target.exists() and not target.is_dir():
        raise DigestgenError("the output path exists and is not a folder", path=out)
    if target.is_dir() and any(target.iterdir()) and not (target / MANIFEST).is_file():
        raise DigestgenError("the output folder holds files digestgen did not write; choose an empty or new folder", path=out)


def read_manifest(out: Path) -> dict[str, Any]:
    """The previous build's manifest; anything unreadable counts as no previous build."""
    try:
        data = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"files": {}}
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict):
        return {"files": {}}
    data["files"] = {path: entry if isinstance(entry, dict) else {} for path, entry in files.items()}
    return data


def _recover(out: Path) -> None:
    """Finish or undo what a killed build left: a missing output with its previous copy beside it."""
    leftovers = sorted(out.parent.glob(f".{out.name}.old-*"))
    if not out.exists() and leftovers:
        os.rename(leftovers[-1], out)
        leftovers = leftovers[:-1]
    for stale in leftovers + sorted(out.parent.glob(f".{out.name}.new-*")):
        shutil.rmtree(stale, ignore_errors=True)


@dataclass(frozen=True)
class Placed:
    """What was put at one output path."""

    path: str
    sha256: str
    key: str | None
    written: bool  # False when hard-linked from the previous build


def place(staging: Path, previous: Path, old: dict[str, Any], path: str, data: bytes, key: str | None) -> Placed:
    """Put one file into the staging folder; usable from worker processes."""
    target = staging / path
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(data).hexdigest()
    if old.get("sha256") == digest:
        try:
            os.link(previous / path, target)
            return Placed(path, digest, key, False)
        except OSError:
            pass
    target.write_bytes(data)
    return Placed(path, digest, key, True)


class SiteWriter:
    """Collects a build's files in a staging folder; `commit` swaps it in, leaving the context removes it."""

    def __init__(self, out: Path, inputs: str = ""):
        self.out = out.absolute()
        self.inputs = inputs
        self.staging = self.out.parent / f".{self.out.name}.new-{os.getpid()}"
        self.placed: dict[str, Placed] = {}
        self.old: dict[str, dict[str, Any]] = {}
        self.foreign: set[str] = set()
        self.rendered = 0  # pages rendered (not reused) in this build

    def __enter__(self) -> "SiteWriter":
        self.out.parent.mkdir(parents=True, exist_ok=True)
        _recover(self.out)
        self.old = read_manifest(self.out)["files"]
        self.foreign = set(self._foreign_files())
        shutil.rmtree(self.staging, ignore_errors=True)
        self.staging.mkdir(parents=True)
        return self

    def __exit__(self, *exc_info: object) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)

    def _foreign_files(self) -> list[str]:
        if not self.out.is_dir():
            return []
        found = []
        for path in self.out.rglob("*"):
            relative = path.relative_to(self.out).as_posix()
            if (path.is_file() or path.is_symlink()) and relative not in self.old and relative != MANIFEST:
                found.append(relative)
        return sorted(found)

    def _claim(self, path: str) -> None:
        if path in self.foreign:
            raise DigestgenError(f"the build would overwrite {path}, which digestgen did not write", path=self.out)
        if path in self.placed:
            raise DigestgenError(f"two outputs claim the path {path!r}")

    def reuse(self, path: str, key: str | None) -> bool:
        """Hard-link the previous build's file when it was made from the same inputs."""
        old = self.old.get(path, {})
        if key is None or old.get("key") != key:
            return False
        self._claim(path)
        target = self.staging / path
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(self.out / path, target)
        except OSError:
            return False
        self.placed[path] = Placed(path, old["sha256"], key, False)
        return True

    def put(self, path: str, data: bytes, key: str | None = None) -> None:
        self._claim(path)
        self.record(place(self.staging, self.out, self.old.get(path, {}), path, data, key))

    def record(self, placed: Placed) -> None:
        """Note a file a worker process placed."""
        self.placed[placed.path] = placed

    def commit(self, counts: dict[str, int] | None = None) -> int:
        """Carry foreign files over, write the manifest, swap; return how many files changed."""
        for relative in sorted(self.foreign):
            (self.staging / relative).parent.mkdir(parents=True, exist_ok=True)
            os.link(self.out / relative, self.staging / relative, follow_symlinks=False)
        files = {p.path: {"sha256": p.sha256, "key": p.key} for p in sorted(self.placed.values(), key=lambda p: p.path)}
        changed = sum(p.written for p in self.placed.values()) + len(set(self.old) - set(self.placed))
        manifest = {"generator": "digestgen", "inputs": self.inputs, "counts": counts or {}, "files": files}
        (self.staging / MANIFEST).write_text(json.dumps(manifest, indent=0, sort_keys=True) + "\n", encoding="utf-8")
        _swap(self.staging, self.out)
        return changed


def write_site(out: Path, files: dict[str, bytes]) -> int:
    """Replace `out` with exactly `files` (plus foreign files kept); return how many files changed."""
    with SiteWriter(out) as writer:
        for path, data in sorted(files.items()):
            writer.put(path, data)
        return writer.commit()


def _swap(staging: Path, out: Path) -> None:
    if not out.exists():
        os.rename(staging, out)
        return
    previous = out.parent / f".{out.name}.old-{os.getpid()}"
    os.rename(out, previous)
    os.rename(staging, out)
    shutil.rmtree(previous, ignore_errors=True)
