"""Hosting: netlify.toml and the Pages workflow, crawling the built site over HTTP, caching rules."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
import urllib.error
import urllib.request
from collections import deque
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import yaml

from digestgen import __version__
from digestgen.scaffold import skeleton_text
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
    assert command == 'pip install "$DIGESTGEN_INSTALL" && digestgen build --base-url "$URL"'
    assert command in readme_commands()
    assert config["build"]["environment"]["DIGESTGEN_INSTALL"] == "."  # this repository installs its own checkout
    assert config["build"]["publish"] == "_site"  # digestgen build's default output folder
    assert config["build"]["environment"]["PYTHON_VERSION"].startswith("3.")


def base_url_variable(command: str) -> str:
    match = re.fullmatch(r'pip install "\$DIGESTGEN_INSTALL" && digestgen build --base-url "\$(\w+)"', command)
    assert match, command
    return match.group(1)


@pytest.mark.parametrize("load", [netlify, lambda: tomllib.loads(skeleton_text("netlify.toml", "digestgen==0.1.0"))], ids=["repository", "init"])
def test_netlify_production_uses_the_site_url_and_previews_their_own(load):
    """Netlify's documented context names; URL is the site's own (custom) domain, DEPLOY_PRIME_URL a preview's."""
    contexts = load()["context"]
    assert set(contexts) == {"production", "deploy-preview", "branch-deploy"}
    assert base_url_variable(contexts["production"]["command"]) == "URL"
    assert base_url_variable(contexts["deploy-preview"]["command"]) == "DEPLOY_PRIME_URL"
    assert base_url_variable(contexts["branch-deploy"]["command"]) == "DEPLOY_PRIME_URL"
    assert base_url_variable(load()["build"]["command"]) == "URL"  # any other context builds for the site's address


def test_the_repository_deploy_files_are_the_init_ones_installing_the_checkout():
    """So the repository's own deploys exercise exactly what `digestgen init` writes for a new site."""
    assert netlify() == tomllib.loads(skeleton_text("netlify.toml", "."))
    assert workflow() == yaml.safe_load(skeleton_text("pages.yml", "."))


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
    assert runs == ['pip install "$DIGESTGEN_INSTALL"', 'digestgen build --base-url "${{ steps.pages.outputs.base_url }}/"']
    assert flow["env"] == {"DIGESTGEN_INSTALL": "."}
    for run in runs:
        assert run in readme_commands()
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "_site"
    assert flow["jobs"]["deploy"]["steps"][0]["uses"].startswith("actions/deploy-pages")
    assert flow["jobs"]["deploy"]["needs"] == "build"
    assert flow["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}


def test_init_writes_deploy_files_that_install_the_spec_it_was_given(tmp_path):
    site = tmp_path / "new"
    spec = "git+https://example.org/lab/digestgen@v0.1.0"
    result = subprocess.run([sys.executable, "-m", "digestgen", "init", str(site), "--install", spec], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # a spec given by hand is not second-guessed
    assert f"the deploy files install {spec}" in result.stdout
    flow_text = (site / ".github/workflows/pages.yml").read_text()
    flow = yaml.safe_load(flow_text)
    assert flow["env"]["DIGESTGEN_INSTALL"] == spec
    runs = [s["run"] for s in flow["jobs"]["build"]["steps"] if "run" in s]
    assert runs[0] == 'pip install "$DIGESTGEN_INSTALL"' and runs[1].startswith("digestgen build --base-url")
    assert "change it here" in flow_text  # the comment says where to change what is installed
    config_text = (site / "netlify.toml").read_text()
    config = tomllib.loads(config_text)
    assert config["build"]["environment"]["DIGESTGEN_INSTALL"] == spec
    assert config["build"]["publish"] == "_site"
    assert "change it here" in config_text


def test_init_from_a_checkout_pins_the_version_and_says_it_is_a_guess(tmp_path):
    """The test environment is an editable install, which no deploy host can reproduce."""
    site = tmp_path / "new"
    result = subprocess.run([sys.executable, "-m", "digestgen", "init", str(site)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    pinned = f"digestgen=={__version__}"
    assert tomllib.loads((site / "netlify.toml").read_text())["build"]["environment"]["DIGESTGEN_INSTALL"] == pinned
    assert yaml.safe_load((site / ".github/workflows/pages.yml").read_text())["env"]["DIGESTGEN_INSTALL"] == pinned
    [warning] = result.stderr.splitlines()
    assert warning.startswith("warning: ") and "editable install" in warning and "--install" in warning


@pytest.mark.parametrize("spec", ['x" && curl evil', "$(id)", "a`b`", "", "two\nlines"])
def test_init_refuses_an_install_spec_that_would_break_out_of_its_quotes(tmp_path, spec):
    site = tmp_path / "new"
    result = subprocess.run([sys.executable, "-m", "digestgen", "init", str(site), "--install", spec], capture_output=True, text=True)
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1 and "--install" in result.stderr
    assert not site.exists()


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


TINY_LISTING = "Daily Papers\n\nOct 31, 2025\n\nA Small Paper\n\nWe study small things.\n\n  • 2 authors\n·\nOct 1 3\n"


@pytest.fixture(scope="module")
def theme_site(tmp_path_factory) -> Path:
    """A one-paper site whose static/ is the theme's own folder, as in this repository, reached through a symlink."""
    site = tmp_path_factory.mktemp("theme-site") / "site"
    listing = site.parent / "2025-10-31.txt"
    listing.write_text(TINY_LISTING, encoding="utf-8")
    for args in (["init", str(site), "--install", "."], ["ingest", str(listing), "--site", str(site)]):
        done = subprocess.run([sys.executable, "-m", "digestgen", *args], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    (site / "static").symlink_to(REPO / "static", target_is_directory=True)
    (site.parent / "link").symlink_to(site, target_is_directory=True)
    return site


def _build_cli(site_arg: str, cwd: Path, out: Path, *more: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "digestgen", "build", "--site", site_arg, "--out", str(out), *more],
        cwd=cwd, capture_output=True, text=True, timeout=300,
    )


SPELLINGS = {
    "absolute": lambda site: (str(site), site.parent.parent),
    "absolute-trailing-slash": lambda site: (str(site) + "/", site.parent.parent),
    "relative": lambda site: ("site", site.parent),
    "relative-dotted": lambda site: ("../" + site.parent.name + "/site/", site.parent),
    "dot": lambda site: (".", site),
    "dot-slash": lambda site: ("./", site),
    "symlink": lambda site: (str(site.parent / "link"), site.parent.parent),
}


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_serve_only_files_are_never_built_however_the_site_is_spelled(theme_site, tmp_path, spelling):
    site_arg, cwd = SPELLINGS[spelling](theme_site)
    out = tmp_path / "out"
    done = _build_cli(site_arg, cwd, out)
    assert done.returncode == 0, done.stderr
    shipped = [p.relative_to(out).as_posix() for p in out.rglob("*") if "livereload" in p.name]
    assert shipped == []
    assert any(p.name.startswith("search.") for p in (out / "assets").iterdir())  # the rest of static/ is there


def test_a_copied_theme_static_folder_does_not_ship_livereload_either(theme_site, tmp_path):
    """A non-editable install's theme is a copy of this repository's static/: not the same file, the same role."""
    site = tmp_path / "site"
    shutil.copytree(theme_site, site, ignore=shutil.ignore_patterns("static", "_site"))
    shutil.copytree(REPO / "static", site / "static")
    done = _build_cli(str(site), tmp_path, tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert not [p for p in (tmp_path / "out").rglob("*") if "livereload" in p.name]


def test_a_build_under_a_sub_path_warns_once_that_the_sitemap_is_submitted_by_hand(theme_site, tmp_path):
    done = _build_cli(str(theme_site), tmp_path, tmp_path / "sub", "--base-url", "https://user.github.io/repo/")
    assert done.returncode == 0, done.stderr
    [warning] = [line for line in done.stderr.splitlines() if "robots.txt" in line]
    assert warning.startswith("warning: ")
    assert "https://user.github.io/robots.txt" in warning and "https://user.github.io/repo/sitemap.xml" in warning
    assert "Sitemap: https://user.github.io/repo/sitemap.xml" in (tmp_path / "sub" / "robots.txt").read_text()
    at_root = _build_cli(str(theme_site), tmp_path, tmp_path / "root", "--base-url", "https://digest.example.org/")
    assert at_root.returncode == 0 and "robots.txt" not in at_root.stderr
