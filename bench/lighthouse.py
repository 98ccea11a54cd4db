"""Lighthouse's accessibility, best-practices and SEO scores of the home, digest, paper and search pages.

Usage (from the repository, after scripts/test has made .venv):
    npm install --no-save --no-package-lock --prefix .tools lighthouse@12.2.3 axe-core@4.14.1 vnu-jar@26.9.27
    .venv/bin/python bench/lighthouse.py [SITE_FOLDER ...]

Each SITE_FOLDER (default: this repository's own site) is built for http://127.0.0.1/ with the code this
interpreter imports, served on loopback with the theme's CSP as a header, and audited with Debian's Chromium.
To compare with other code, run it once per checkout with PYTHONPATH pointing at that checkout's src.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from conftest import StaticServer  # noqa: E402
from digestgen.build import build_site  # noqa: E402
from digestgen.theme import CSP  # noqa: E402

LIGHTHOUSE = REPO / ".tools/node_modules/.bin/lighthouse"
CATEGORIES = ("accessibility", "best-practices", "seo")


def page_paths(out: Path) -> dict[str, str]:
    digest = sorted(p.parent.relative_to(out).as_posix() for p in out.glob("[0-9][0-9][0-9][0-9]/*/*/index.html"))[-1]
    paper = sorted(p.parent.name for p in (out / "papers").glob("*/index.html"))[0]
    return {"home": "", "digest": digest + "/", "paper": f"papers/{paper}/", "search": "search/?q=learning"}


def audit(url: str, work: Path) -> dict[str, object]:
    report = work / "report.json"
    command = [
        str(LIGHTHOUSE), url, "--quiet", "--output=json", f"--output-path={report}",
        f"--only-categories={','.join(CATEGORIES)}", "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
    ]
    subprocess.run(command, check=True, env={**os.environ, "CHROME_PATH": "/usr/bin/chromium"}, timeout=300)
    data = json.loads(report.read_text())
    scores = {c: round(data["categories"][c]["score"] * 100) for c in CATEGORIES}
    failing = sorted(
        audit_id for c in CATEGORIES for ref in data["categories"][c]["auditRefs"]
        if ref["weight"] and (audit_id := ref["id"]) and data["audits"][audit_id]["score"] not in (None, 1)
    )
    return {**scores, "failing": failing}


def main(sites: list[Path]) -> None:
    if not LIGHTHOUSE.exists():
        sys.exit(f"{LIGHTHOUSE} is missing: npm install --no-save --prefix .tools lighthouse@12.2.3")
    for site in sites:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            copy = work / "site"
            copy.mkdir()
            shutil.copy(site / "digestgen.yaml", copy)
            for folder in ("content", "templates", "static"):
                if (site / folder).is_dir() and site.resolve() != REPO:  # the repository's own are the theme itself
                    shutil.copytree(site / folder, copy / folder)
            shutil.copytree(site / "content", copy / "content", dirs_exist_ok=True)
            out = build_site(copy, out=work / "out", base_url="http://127.0.0.1/").out
            server = StaticServer(out, "/", {"Content-Security-Policy": CSP})
            try:
                print(f"{site} (digestgen from {Path(sys.modules['digestgen'].__file__).parents[1]})")
                for name, path in page_paths(out).items():
                    result = audit(server.url + path, work)
                    scores = "  ".join(f"{c} {result[c]:>3}" for c in CATEGORIES)
                    print(f"  {name:<7} {scores}  failing: {', '.join(result['failing']) or '-'}")
            finally:
                server.close()


if __name__ == "__main__":
    main([Path(a) for a in sys.argv[1:]] or [REPO])
