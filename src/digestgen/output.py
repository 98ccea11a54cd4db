"""Write a built site: into a folder beside the output, then swapped in, so a failed or killed
build leaves the previous site; files digestgen did not write are carried over, never deleted."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

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


def _read_manifest(out: Path) -> dict[str, str]:
    try:
        data = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
        return {str(k): str(v) for k, v in data.get("files", {}).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def _foreign_files(out: Path, manifest: dict[str, str]) -> list[str]:
    if not out.is_dir():
        return []
    found = []
    for path in out.rglob("*"):
        relative = path.relative_to(out).as_posix()
        if (path.is_file() or path.is_symlink()) and relative not in manifest and relative != MANIFEST:
            found.append(relative)
    return sorted(found)


def _recover(out: Path) -> None:
    """Finish or undo what a killed build left: a missing output with its previous copy beside it."""
    leftovers = sorted(out.parent.glob(f".{out.name}.old-*"))
    if not out.exists() and leftovers:
        os.rename(leftovers[-1], out)
        leftovers = leftovers[:-1]
    for stale in leftovers + sorted(out.parent.glob(f".{out.name}.new-*")):
        shutil.rmtree(stale, ignore_errors=True)


def _place(new_root: Path, relative: str, data: bytes, old_root: Path, old_hash: str | None) -> bool:
    """Write one file, or hard-link the previous build's copy when its bytes are the same.

    Returns whether bytes were written.
    """
    target = new_root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(data).hexdigest()
    if old_hash == digest:
        try:
            os.link(old_root / relative, target)
            return False
        except OSError:
            pass
    target.write_bytes(data)
    return True


def write_site(out: Path, files: dict[str, bytes]) -> int:
    """Replace `out` with exactly `files` (plus foreign files kept); return how many files changed."""
    out = out.absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    _recover(out)
    manifest = _read_manifest(out)
    foreign = _foreign_files(out, manifest)
    clash = sorted(set(foreign) & set(files))
    if clash:
        raise DigestgenError(f"the build would overwrite {clash[0]}, which digestgen did not write", path=out)
    staging = out.parent / f".{out.name}.new-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        changed = sum(_place(staging, rel, data, out, manifest.get(rel)) for rel, data in sorted(files.items()))
        for relative in foreign:
            (staging / relative).parent.mkdir(parents=True, exist_ok=True)
            os.link(out / relative, staging / relative, follow_symlinks=False)
        hashes = {rel: hashlib.sha256(data).hexdigest() for rel, data in sorted(files.items())}
        (staging / MANIFEST).write_text(json.dumps({"generator": "digestgen", "files": hashes}, indent=0, sort_keys=True) + "\n", encoding="utf-8")
        _swap(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return changed + len(set(manifest) - set(files))


def _swap(staging: Path, out: Path) -> None:
    if not out.exists():
        os.rename(staging, out)
        return
    previous = out.parent / f".{out.name}.old-{os.getpid()}"
    os.rename(out, previous)
    os.rename(staging, out)
    shutil.rmtree(previous, ignore_errors=True)
