"""Hosting: netlify.toml and the Pages workflow, crawling the built site over HTTP, caching rules."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import urllib.error
import urllib.request
from collections import deque
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
import yaml

from digestgen.theme import CSP

from conftest import REPO

HASHED = re.compile(r"\.[0-9a-f]{10}\.[a-z]+$")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self.inline_scripts = 0
        self.style_attributes = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("href", "src", "action"):
            if values.get(name):
                self.found.append(values[name])  # type: ignore[arg-type]
        for name in ("data-index", "data-store", "data-worker", "data-lunr"):
            if values.get(name):
                self.found.append(values[name])  # type: ignore[arg-type]
        if tag == "script" and not values.get("src"):
            self.inline_scripts += 1
        if "style" in values:
            self.style_attributes += 1


def crawl(start: str, public_origin: str) -> tuple[set[str], list[str], int]:
    """Follow every internal link from `start`; return (visited, failures, inline code found)."""
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(start))
    prefix = urlsplit(start).path
    queue, seen, failures, inline = deque([start]), {start}, [], 0
    while queue:
        url = queue.popleft()
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                body = response.read()
                kind = response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:
            failures.append(f"{exc.code} {url}")
            continue
        if "html" in kind:
            parser = _Links()
            parser.feed(body.decode("utf-8"))
            inline += parser.inline_scripts + parser.style_attributes
            links = parser.found
        elif url.endswith(".xml"):
            links = re.findall(r'(?:href="|<loc>)([^"<]+)', body.decode("utf-8"))
        else:
            links = []
        for link in links:
            absolute = urljoin(url, link.replace(public_origin, origin, 1)).split("#")[0].split("?")[0]
            if absolute.startswith(origin + prefix) and absolute not in seen:
                seen.add(absolute)
                queue.append(absolute)
    return seen, failures, inline


@pytest.mark.parametrize("fixture, prefix, public", [("seed_built_root", "/", "http://127.0.0.1:8000"), ("seed_built_sub", "/repo/", "https://example.org")])
def test_every_internal_link_and_asset_resolves(request, serve_static, fixture, prefix, public):
    root = request.getfixturevalue(fixture)
    server = serve_static(root, prefix)
    visited, failures, inline = crawl(server.url, public)
    assert failures == []
    assert len(visited) > 150  # every paper, tag, digest, feed and asset
    assert any(v.endswith("/search/index.json") for v in visited)
    assert any(v.endswith("/tags/pre-training/feed.xml") for v in visited)
    assert inline == 0  # no inline script or style attribute: the strict CSP holds


def test_missing_pages_get_the_404_page(seed_built_sub, serve_static):
    server = serve_static(seed_built_sub, "/repo/")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(server.url + "no/such/page/")
    assert info.value.code == 404
    body = info.value.read().decode()
    assert "Page not found" in body and 'href="/repo/assets/style.' in body


def netlify() -> dict:
    return tomllib.loads((REPO / "netlify.toml").read_text())


def workflow() -> dict:
    return yaml.safe_load((REPO / ".github/workflows/pages.yml").read_text())


def readme_commands() -> str:
    return (REPO / "README.md").read_text()


def test_netlify_builds_the_way_the_readme_says_and_publishes_the_build_output():
    config = netlify()
    command = config["build"]["command"]
    assert command.startswith("pip install . && digestgen build --base-url")
    assert command in readme_commands()
    assert config["build"]["publish"] == "_site"  # digestgen build's default output folder
    assert config["build"]["environment"]["PYTHON_VERSION"].startswith("3.")


def test_netlify_headers_carry_the_theme_csp_and_cache_only_hashed_assets():
    headers = {h["for"]: h["values"] for h in netlify()["headers"]}
    every = headers["/*"]
    policy = every["Content-Security-Policy"]
    assert policy.startswith(CSP)
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert every["X-Content-Type-Options"] == "nosniff" and every["Referrer-Policy"]
    long_cached = [path for path, values in headers.items() if "max-age=31536000" in values.get("Cache-Control", "")]
    assert long_cached == ["/assets/*"]
    assert netlify()["redirects"][0] == {"from": "/*", "to": "/404.html", "status": 404}


def test_every_asset_name_carries_its_content_hash(seed_built_root):
    names = [p.name for p in (seed_built_root / "assets").iterdir()]
    assert names and all(HASHED.search(name) for name in names), names


def test_pages_workflow_builds_with_the_pages_base_url():
    flow = workflow()
    steps = flow["jobs"]["build"]["steps"]
    uses = [s.get("uses", "").split("@")[0] for s in steps]
    assert uses.index("actions/configure-pages") < uses.index("actions/upload-pages-artifact")
    runs = [s["run"] for s in steps if "run" in s]
    assert runs == ["pip install .", 'digestgen build --base-url "${{ steps.pages.outputs.base_url }}/"']
    for run in runs:
        assert run in readme_commands()
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "_site"
    assert flow["jobs"]["deploy"]["steps"][0]["uses"].startswith("actions/deploy-pages")
    assert flow["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}


def test_init_writes_the_workflow_and_netlify_config(tmp_path):
    site = tmp_path / "new"
    result = subprocess.run([sys.executable, "-m", "digestgen", "init", str(site)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    flow = yaml.safe_load((site / ".github/workflows/pages.yml").read_text())
    runs = [s["run"] for s in flow["jobs"]["build"]["steps"] if "run" in s]
    assert runs[0] == "pip install digestgen" and runs[1].startswith("digestgen build --base-url")
    config = tomllib.loads((site / "netlify.toml").read_text())
    assert config["build"]["publish"] == "_site"


def test_nojekyll_and_csp_meta_in_every_build(seed_built_sub):
    assert (seed_built_sub / ".nojekyll").is_file()
    home = (seed_built_sub / "index.html").read_text()
    assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'.replace("'", "&#39;") in home


def test_csp_meta_can_be_turned_off(tmp_path):
    from conftest import build, copy_repo_site

    site = copy_repo_site(tmp_path / "site")
    (site / "digestgen.yaml").write_text((site / "digestgen.yaml").read_text().replace("csp_meta: true", "csp_meta: false"))
    out = build(site, tmp_path / "out", "https://example.org/")
    assert "Content-Security-Policy" not in (out / "index.html").read_text()


@pytest.mark.browser
def test_search_works_under_the_netlify_csp_header(seed_built_sub, serve_static, browser):
    """The policy netlify.toml sends, as a real header: the theme and search must need nothing more."""
    headers = {h["for"]: h["values"] for h in netlify()["headers"]}["/*"]
    server = serve_static(seed_built_sub, "/repo/", {"Content-Security-Policy": headers["Content-Security-Policy"]})
    page = browser.new_page()
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    page.add_init_script("window.__violations = []; document.addEventListener('securitypolicyviolation', e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));")
    page.goto(server.url + "search/?q=tracking")
    page.wait_for_selector("#results li", timeout=15000)
    assert "PVT++" in page.inner_text("#results")
    assert page.evaluate("window.__violations") == []
    assert [m for m in messages if "Content Security Policy" in m] == []
    page.close()
