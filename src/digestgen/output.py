"""Write a built site: changed files are prepared beside the output, then moved into place.

The first build renames a complete folder into place. Later builds stage only the files whose
bytes changed, write a journal, move each staged file over its old copy (an atomic rename per
file), delete what the build no longer makes, and write the manifest last. A build that fails
before that point changes nothing; one killed while moving files is finished from its journal
by the next build. Files digestgen did not write are never touched.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import posixpath
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
    # A manifest may come from anywhere (a downloaded artifact, a gh-pages checkout): only plain
    # relative paths inside the output folder are believed, so nothing outside it is ever deleted.
    data["files"] = {path: entry if isinstance(entry, dict) else {} for path, entry in files.items() if safe_relative(path)}
    return data


def safe_relative(path: object) -> bool:
    """A normalised relative POSIX path that stays inside its folder."""
    if not isinstance(path, str) or not path or path.startswith("/") or "\\" in path or "\0" in path:
        return False
    return posixpath.normpath(path) == path and not path.startswith("../") and path != ".."


JOURNAL = ".digestgen-journal.json"
LOCK = ".digestgen-build.lock"


def _recover(out: Path) -> None:
    """Finish what a killed build left: a journal of moves in progress, stale staging folders."""
    journal = out / JOURNAL
    if journal.is_file():
        try:
            plan = json.loads(journal.read_text(encoding="utf-8"))
        except ValueError:
            plan = None
        if isinstance(plan, dict) and Path(str(plan.get("staging", ""))).parent == out.parent:
            moves = [p for p in plan.get("moves", []) if safe_relative(p)]
            deletions = [p for p in plan.get("deletions", []) if safe_relative(p)]
            _apply(Path(plan["staging"]), out, moves, deletions, _trusted(plan["manifest"], out))
        journal.unlink(missing_ok=True)
    for stale in sorted(out.parent.glob(f".{out.name}.new-*")):  # only ours: this build holds the lock
        shutil.rmtree(stale, ignore_errors=True)


def _apply(staging: Path, out: Path, moves: list[str], deletions: list[str], manifest: str) -> None:
    """Move staged files into place, delete dropped ones, then write the manifest (idempotent)."""
    for path in moves:
        source = staging / path
        if source.exists():
            (out / path).parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, out / path)
    for path in deletions:
        target = out / path
        target.unlink(missing_ok=True)
        _remove_empty_parents(target.parent, out)
    temporary = out / f"{MANIFEST}.tmp"
    temporary.write_text(manifest, encoding="utf-8")
    os.replace(temporary, out / MANIFEST)


def _trusted(manifest: str, out: Path) -> str:
    """The journal's manifest, minus the claims about bytes that the files on disk do not back.

    A file whose staged copy was lost keeps its entry (it is still digestgen's) with no hash or
    key, so the next build writes it again.
    """
    data = json.loads(manifest)
    for path, entry in data["files"].items():
        target = out / path
        if not target.is_file() or hashlib.sha256(target.read_bytes()).hexdigest() != entry.get("sha256"):
            data["files"][path] = {"sha256": "", "key": None}
    data["inputs"] = ""
    return _manifest_text(data)


def _manifest_text(data: dict[str, Any]) -> str:
    # Compact: with indentation, json uses its slow pure-Python encoder, and this runs every build.
    return json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n"


def _remove_empty_parents(folder: Path, root: Path) -> None:
    while folder != root and root in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


@dataclass(frozen=True)
class Placed:
    """What was put at one output path."""

    path: str
    sha256: str
    key: str | None
    written: bool  # False when hard-linked from the previous build


def place(
    staging: Path, previous: Path, old: dict[str, Any], path: str, data: bytes, key: str | None, verify: bool = False
) -> Placed:
    """Stage one file unless the previous build has the same bytes; usable from worker processes.

    With `verify`, the file on disk is compared, not the manifest's word for it.
    """
    digest = hashlib.sha256(data).hexdigest()
    if old.get("sha256") == digest and (previous / path).is_file():
        if not verify or hashlib.sha256((previous / path).read_bytes()).hexdigest() == digest:
            return Placed(path, digest, key, False)
    _write_new(f"{staging}/{path}", data)
    return Placed(path, digest, key, True)


_CREATE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC


def _write_new(target: str, data: bytes) -> None:
    """Write a staged file with as few system calls as it takes (creating a file is slow on some file
    systems, and Path.write_bytes adds three calls to each): its folder made once, then open, write, close."""
    folder = os.path.dirname(target)
    try:
        os.mkdir(folder)
    except FileExistsError:
        pass
    except FileNotFoundError:
        os.makedirs(folder, exist_ok=True)
    descriptor = os.open(target, _CREATE, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(descriptor, view):]
    finally:
        os.close(descriptor)


class SiteWriter:
    """Collects a build's changed files in a staging folder; `commit` puts them in place."""

    def __init__(
        self, out: Path, inputs: str = "", trust_previous: bool = True, private: bool = False, known: dict | None = None
    ):
        self.out = out.absolute()
        self.inputs = inputs
        self.trust_previous = trust_previous  # False: make every file again (it is moved only if its bytes differ)
        # The folder is its caller's own (serve's): nothing else writes there, so the manifest is
        # believed without looking for other programs' files or checking that each file is there.
        self.private = private
        # A private folder's caller may keep the manifest it last committed (`files` after commit)
        # and hand it back, instead of having it read and checked again.
        self.known = known if private else None
        self.files: dict[str, dict[str, Any]] = {}
        self.staging = self.out.parent / f".{self.out.name}.new-{os.getpid()}"
        self.placed: dict[str, Placed] = {}
        self.old: dict[str, dict[str, Any]] = {}
        self.foreign: set[str] = set()
        self.rendered = 0  # pages rendered (not reused) in this build
        self.moving = False  # files are being moved into place: the staging folder must survive
        self.kept_stale = 0  # previous files kept without checking their inputs (deferred search)
        self._lock: Any = None

    def __enter__(self) -> "SiteWriter":
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self._lock = open(self.out.parent / f".{self.out.name}{LOCK}", "a+")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock.close()
            raise DigestgenError("another digestgen build is writing this folder; try again when it has finished", path=self.out) from None
        _recover(self.out)
        if self.known is not None and (self.out / MANIFEST).is_file():
            self.old = self.known
        else:
            self.old = read_manifest(self.out)["files"]
        self.foreign = set() if self.private else set(self._foreign_files())
        shutil.rmtree(self.staging, ignore_errors=True)
        self.staging.mkdir(parents=True)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if not self.moving:  # a journal still needs what is staged; the next build finishes it
            shutil.rmtree(self.staging, ignore_errors=True)
        self._lock.close()  # releases the lock

    def _foreign_files(self) -> list[str]:
        if not self.out.is_dir():
            return []
        found = []
        root = str(self.out)
        for folder, _, names in os.walk(root):
            prefix = os.path.relpath(folder, root).replace(os.sep, "/")
            for name in names:
                relative = name if prefix == "." else f"{prefix}/{name}"
                if relative not in self.old and relative not in (MANIFEST, JOURNAL):
                    found.append(relative)
        return sorted(found)

    def _claim(self, path: str) -> None:
        if path not in self.old and not safe_relative(path):  # the manifest's paths are checked when read
            raise DigestgenError(f"an output path leaves the output folder: {path!r}")
        if path in self.foreign:
            raise DigestgenError(f"the build would overwrite {path}, which digestgen did not write", path=self.out)
        if path in self.placed:
            raise DigestgenError(f"two outputs claim the path {path!r}")

    def reuse(self, paths: tuple[str, ...], key: str | None) -> bool:
        """Keep the previous build's files when all were made from the same inputs."""
        if not self.trust_previous or key is None:
            return False
        for path in paths:
            entry = self.old.get(path)
            if entry is None or entry.get("key") != key or not self._present(path):
                return False
        for path in paths:
            self._claim(path)
            self.placed[path] = Placed(path, self.old[path]["sha256"], key, False)
        return True

    def keep_previous(self, paths: tuple[str, ...]) -> bool:
        """Keep all the previous build's files, whatever their inputs were (their old keys mark
        them stale); only all or none, so a group of files never mixes two builds."""
        if not all("sha256" in self.old.get(path, {}) and self._present(path) for path in paths):
            return False
        for path in paths:
            self._claim(path)
            self.placed[path] = Placed(path, self.old[path]["sha256"], self.old[path].get("key"), False)
        self.kept_stale += len(paths)
        return True

    def _disown(self) -> None:
        """After moves that stopped halfway: a manifest that vouches for no file's bytes, so the next
        build makes every file again and removes what it no longer makes."""
        unknown = {path: {"sha256": "", "key": None} for path in set(self.old) | set(self.placed)}
        try:
            (self.out / MANIFEST).unlink(missing_ok=True)
            (self.out / MANIFEST).write_text(_manifest_text({"generator": "digestgen", "inputs": "", "counts": {}, "files": unknown}))
        except OSError:
            pass  # with no manifest at all, the next build refuses the folder with a clear message

    def _present(self, path: str) -> bool:
        return self.private or (self.out / path).is_file()

    def put(self, path: str, data: bytes, key: str | None = None) -> None:
        self._claim(path)
        self.record(place(self.staging, self.out, self.old.get(path, {}), path, data, key, not self.trust_previous))

    def record(self, placed: Placed) -> None:
        """Note a file a worker process placed."""
        self.placed[placed.path] = placed

    def commit(self, counts: dict[str, int] | None = None) -> int:
        """Put the staged files in place and write the manifest; return how many files changed."""
        files = self.files = {p.path: {"sha256": p.sha256, "key": p.key} for p in self.placed.values()}  # sorted when written
        manifest = _manifest_text({"generator": "digestgen", "inputs": self.inputs, "counts": counts or {}, "files": files})
        moves = sorted(p.path for p in self.placed.values() if p.written)
        staged = f"{self.staging}/"  # strings, not a Path per file: this runs over every file a build changed
        lost = [path for path in moves if not os.path.isfile(staged + path)]
        if lost:
            raise DigestgenError(f"the staged copy of {lost[0]} disappeared before it was put in place; build again", path=self.out)
        deletions = sorted(set(self.old) - set(self.placed))
        if not self.out.exists():
            (self.staging / MANIFEST).write_text(manifest, encoding="utf-8")
            os.rename(self.staging, self.out)
        elif self.private:  # no journal: a killed preview's folder is never built into again
            try:
                _apply(self.staging, self.out, moves, deletions, manifest)
            except BaseException:
                self._disown()
                raise
        else:
            journal = {"staging": str(self.staging), "moves": moves, "deletions": deletions, "manifest": manifest}
            (self.out / JOURNAL).write_text(json.dumps(journal), encoding="utf-8")
            self.moving = True
            _apply(self.staging, self.out, moves, deletions, manifest)
            (self.out / JOURNAL).unlink()
            self.moving = False
        return len(moves) + len(deletions)
