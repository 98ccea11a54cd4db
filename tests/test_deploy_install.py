"""The deploy files `digestgen init` writes, run as the hosts run them: a fresh virtual environment installs
what they name (a wheel of this project standing in for the package index) and builds the site with it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from digestgen import __version__

from conftest import REPO

LISTING = "Daily Papers\n\nOct 31, 2025\n\nA Small Paper\n\nWe study small things.\n\n  • 2 authors\n·\nOct 1 3\n"
PAGES_BASE_URL = "https://user.github.io/site"  # what actions/configure-pages gives a project site: no trailing slash


def dev(*args: str) -> subprocess.CompletedProcess:
    """digestgen from the test environment (an editable install), as the user who runs init."""
    done = subprocess.run([sys.executable, "-m", "digestgen", *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel of this project, as the package index would serve it."""
    wheels = tmp_path_factory.mktemp("wheels")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(wheels), str(REPO)],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr
    [built] = wheels.glob("digestgen-*.whl")
    assert built.name.startswith(f"digestgen-{__version__}-")
    return built


def fresh_env(root: Path) -> Path:
    """A new virtual environment with nothing but pip: the host's Python before the install step."""
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True, timeout=300)
    return root / "bin"


def host_shell(command: str, cwd: Path, bin_dir: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run a deploy file's command the way the host does: bash, the host Python first on PATH, its variables set."""
    full = {**os.environ, **env, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "VIRTUAL_ENV": str(bin_dir.parent)}
    full.pop("PYTHONPATH", None)
    return subprocess.run(["bash", "-e", "-c", command], cwd=cwd, env=full, capture_output=True, text=True, timeout=900)


def new_site(root: Path, *init_args: str) -> tuple[Path, str]:
    site = root / "site"
    listing = root / "2025-10-31.txt"
    listing.write_text(LISTING, encoding="utf-8")
    init = dev("init", str(site), *init_args)
    dev("ingest", str(listing), "--site", str(site))
    return site, init.stderr


def installed(bin_dir: Path) -> tuple[str, str | None]:
    """The version of digestgen in an environment, and its direct_url.json (None: installed by name)."""
    probe = "import importlib.metadata as m; d = m.distribution('digestgen'); print(d.version); print(d.read_text('direct_url.json'))"
    version, direct = subprocess.run([bin_dir / "python", "-c", probe], capture_output=True, text=True, check=True).stdout.splitlines()
    return version, None if direct == "None" else direct


def test_the_pages_workflow_installs_the_pinned_release_and_builds(tmp_path, wheel):
    site, init_warning = new_site(tmp_path)
    assert "editable install" in init_warning  # the test environment is a checkout: the pin is a guess, and said
    flow = yaml.safe_load((site / ".github/workflows/pages.yml").read_text())
    assert flow["env"] == {"DIGESTGEN_INSTALL": f"digestgen=={__version__}"}
    bin_dir = fresh_env(tmp_path / "runner")
    # The wheel's folder plays the package index: pip finds digestgen there by name, its dependencies as usual.
    index = {"PIP_FIND_LINKS": " ".join(filter(None, [os.environ.get("PIP_FIND_LINKS"), str(wheel.parent)]))}
    env = {**flow["env"], **index}
    for step in flow["jobs"]["build"]["steps"]:
        if "run" in step:
            command = step["run"].replace("${{ steps.pages.outputs.base_url }}", PAGES_BASE_URL)
            done = host_shell(command, site, bin_dir, env)
            assert done.returncode == 0, f"{step.get('name')}: {done.stderr}"
    assert installed(bin_dir) == (__version__, None)  # by name, as from the index
    out = site / "_site"
    assert 'href="/site/assets/style.' in (out / "index.html").read_text()
    assert "<loc>https://user.github.io/site/</loc>" in (out / "sitemap.xml").read_text()
    assert not [p for p in out.rglob("*") if "livereload" in p.name]
    assert "submit https://user.github.io/site/sitemap.xml by hand" in done.stderr  # the build step's warning

    # digestgen installed from the index knows its origin: a new site's files pin it, without a warning, and
    # doctor finds nothing wrong with them.
    again = host_shell("digestgen init other", tmp_path, bin_dir, {})
    assert again.returncode == 0 and again.stderr == "", again.stderr
    assert tomllib.loads((tmp_path / "other/netlify.toml").read_text())["build"]["environment"]["DIGESTGEN_INSTALL"] == f"digestgen=={__version__}"
    checked = host_shell("digestgen doctor --site site", tmp_path, bin_dir, {})
    assert [line for line in checked.stdout.splitlines() if "DIGESTGEN_INSTALL" in line] == []


NETLIFY_ENV = {"URL": "https://digest.example.org", "DEPLOY_PRIME_URL": "https://deploy-preview-7--digest.netlify.app"}


def test_netlify_installs_a_given_wheel_and_builds_each_context_for_its_address(tmp_path, wheel):
    spec = f"wheels/{wheel.name}"  # a wheel committed into the site's repository
    site, init_warning = new_site(tmp_path, "--install", spec)
    assert init_warning == ""
    (site / "wheels").mkdir()
    shutil.copy(wheel, site / "wheels" / wheel.name)
    config = tomllib.loads((site / "netlify.toml").read_text())
    env = {**config["build"]["environment"], **NETLIFY_ENV}
    assert env["DIGESTGEN_INSTALL"] == spec
    bin_dir = fresh_env(tmp_path / "netlify")
    expected = {"production": NETLIFY_ENV["URL"], "deploy-preview": NETLIFY_ENV["DEPLOY_PRIME_URL"], "branch-deploy": NETLIFY_ENV["DEPLOY_PRIME_URL"]}
    for context, origin in expected.items():
        done = host_shell(config["context"][context]["command"], site, bin_dir, {**env, "CONTEXT": context})
        assert done.returncode == 0, f"{context}: {done.stderr}"
        out = site / config["build"]["publish"]
        assert f"<loc>{origin}/</loc>" in (out / "sitemap.xml").read_text(), context
        paper = (out / "papers/a-small-paper/index.html").read_text()
        assert f'<link rel="canonical" href="{origin}/papers/a-small-paper/">' in paper, context
        assert f'href="{origin}/papers/a-small-paper/"' in (out / "feed.xml").read_text(), context
        assert "robots.txt" not in done.stderr  # served at the root: no sub-path warning
    version, direct = installed(bin_dir)
    assert version == __version__ and direct is not None and wheel.name in direct  # from the wheel the file named
