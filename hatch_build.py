"""Build hook: fetch lunr.js from the npm registry into the package (it is never committed).

The site's search page runs lunr.js at the version whose index format lunr.py writes.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

LUNR_VERSION = "2.3.9"
# The files we ship, with the digests of the published 2.3.9 package, so a changed upload fails the build.
LUNR_FILES = {
    "lunr.min.js": "0c50d9002b85780a842afffb567bb54ede402dae7c6dc5997a018614d8044fc8",
    "LICENSE": "ae33f5a0d538cd93de1136a052ffa734b59d6b28e7cfc19e03de1d8b5d9f40ea",
}
VENDOR = Path("src/digestgen/_vendor")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _present(root: Path) -> bool:
    vendor = root / VENDOR
    return all((vendor / name).is_file() and _sha256(vendor / name) == digest for name, digest in LUNR_FILES.items())


def fetch_lunr(root: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("building digestgen needs npm to fetch lunr.js (the search engine the site ships)")
    vendor = root / VENDOR
    vendor.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([npm, "pack", f"lunr@{LUNR_VERSION}", "--silent"], cwd=tmp, check=True, stdout=subprocess.DEVNULL)
        with tarfile.open(Path(tmp) / f"lunr-{LUNR_VERSION}.tgz") as archive:
            for name, digest in LUNR_FILES.items():
                data = archive.extractfile(f"package/{name}").read()
                if hashlib.sha256(data).hexdigest() != digest:
                    raise RuntimeError(f"lunr {LUNR_VERSION} {name} does not match the expected digest")
                (vendor / name).write_bytes(data)
    (vendor / "VERSION").write_text(LUNR_VERSION + "\n")


class LunrHook(BuildHookInterface):
    PLUGIN_NAME = "lunr"

    def initialize(self, version: str, build_data: dict) -> None:
        root = Path(self.root)
        if not _present(root):
            fetch_lunr(root)
        build_data.setdefault("artifacts", []).append("src/digestgen/_vendor/**")
