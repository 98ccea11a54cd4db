"""Which digestgen the deploy files install (PEP 610), and `digestgen doctor`'s findings before a push."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from digestgen import __version__
from digestgen.config import parse_config
from digestgen.deploy import Origin, choose_install_spec, doctor, origin_from_direct_url, spec_mismatch, subpath_warning
from digestgen.errors import DigestgenError

from conftest import REPO

FROM_INDEX = Origin("0.1.0", "digestgen==0.1.0", "the package index")
FROM_CHECKOUT = Origin("0.1.0", None, "an editable install of file:///home/me/digestgen")
GIT = "git+https://example.org/lab/digestgen"


def direct_url(**info) -> str:
    return json.dumps(info)


def test_no_direct_url_means_the_package_index_and_pins_the_version():
    origin = origin_from_direct_url("0.3.1", None)
    assert origin.spec == "digestgen==0.3.1" and origin.where == "the package index"


def test_a_git_install_is_reinstalled_at_its_exact_commit():
    text = direct_url(url="https://example.org/lab/digestgen", vcs_info={"vcs": "git", "requested_revision": "v0.1.0", "commit_id": "4f2c" * 10})
    assert origin_from_direct_url("0.1.0", text).spec == f"{GIT}@{'4f2c' * 10}"
    sub = direct_url(url="https://example.org/lab/mono", subdirectory="tools/digestgen", vcs_info={"vcs": "git", "commit_id": "ab" * 20})
    assert origin_from_direct_url("0.1.0", sub).spec == f"git+https://example.org/lab/mono@{'ab' * 20}#subdirectory=tools/digestgen"


def test_a_wheel_from_a_url_is_reinstalled_from_that_url():
    url = "https://example.org/dist/digestgen-0.1.0-py3-none-any.whl"
    assert origin_from_direct_url("0.1.0", direct_url(url=url, archive_info={})).spec == url


@pytest.mark.parametrize("info", [
    {"url": "file:///home/me/digestgen", "dir_info": {"editable": True}},
    {"url": "file:///home/me/digestgen", "dir_info": {}},
    {"url": "file:///tmp/digestgen-0.1.0-py3-none-any.whl", "archive_info": {}},
    {"url": "file:///home/me/digestgen", "vcs_info": {"vcs": "git", "commit_id": "ab" * 20}},
])
def test_what_only_this_machine_has_gives_no_spec(info):
    origin = origin_from_direct_url("0.1.0", json.dumps(info))
    assert origin.spec is None and "file:///" in origin.where


def test_an_unreadable_direct_url_gives_no_spec_rather_than_failing():
    assert origin_from_direct_url("0.1.0", "{not json").spec is None


def test_the_installed_origin_of_this_test_environment_is_its_editable_checkout():
    from digestgen.deploy import installed_origin

    origin = installed_origin()
    assert origin.version == __version__ and origin.spec is None and "editable" in origin.where


def test_a_given_spec_wins_and_a_guess_is_said():
    assert choose_install_spec(f"{GIT}@v0.1.0", FROM_CHECKOUT) == (f"{GIT}@v0.1.0", None)
    assert choose_install_spec(None, FROM_INDEX) == ("digestgen==0.1.0", None)
    spec, warning = choose_install_spec(None, FROM_CHECKOUT)
    assert spec == "digestgen==0.1.0" and "--install" in warning and "file:///home/me/digestgen" in warning
    with pytest.raises(DigestgenError):
        choose_install_spec("  ", FROM_INDEX)


@pytest.mark.parametrize("spec, origin, says", [
    ("digestgen==0.1.0", FROM_INDEX, None),
    ("digestgen == 0.1.0", FROM_INDEX, None),
    ("digestgen==0.0.9", FROM_INDEX, "installs digestgen 0.0.9, but digestgen 0.1.0 is installed here; set it to 'digestgen==0.1.0'"),
    ("digestgen", FROM_INDEX, "pins no version"),
    ("digestgen>=0.1", FROM_INDEX, "pins no version"),
    ("digestgen==0.1.0; python_version >= '3.10'", FROM_INDEX, None),
    ("digestgen==0.1.0", FROM_CHECKOUT, "unless the index has digestgen 0.1.0"),
    (f"{GIT}@v0.1.0", FROM_CHECKOUT, None),
    (f"{GIT}@v0.0.9", FROM_INDEX, "installs digestgen 0.0.9"),
    (f"digestgen @ {GIT}@v0.0.9", FROM_INDEX, "installs digestgen 0.0.9"),
    (f"{GIT}@main", FROM_INDEX, None),  # a branch names no version: nothing to compare
    ("wheels/digestgen-0.1.0-py3-none-any.whl", FROM_CHECKOUT, None),
    ("https://example.org/digestgen-0.2.0-py3-none-any.whl", FROM_INDEX, "installs digestgen 0.2.0"),
    (".", FROM_CHECKOUT, None),
])
def test_spec_mismatch(spec, origin, says):
    found = spec_mismatch(spec, origin)
    assert (found is None) if says is None else (says in found), found


def test_the_sub_path_warning_names_where_crawlers_look_and_the_sitemap_to_submit():
    config, _ = parse_config({}, "digestgen.yaml", "https://user.github.io/repo")
    warning = subpath_warning(config)
    assert "https://user.github.io/robots.txt" in warning and "https://user.github.io/repo/sitemap.xml" in warning
    assert subpath_warning(parse_config({}, "digestgen.yaml", "https://digest.example.org/")[0]) is None


# --- digestgen doctor on real sites ------------------------------------------------------------------------------


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "digestgen", *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def new_site(tmp_path: Path, install: str = f"{GIT}@v{__version__}") -> Path:
    site = tmp_path / "site"
    assert run("init", str(site), "--install", install).returncode == 0
    return site


def make_ready(site: Path) -> None:
    config = site / "digestgen.yaml"
    text = config.read_text().replace("base_url: http://127.0.0.1:8000/", "base_url: https://digest.example.org/")
    text = text.replace("# unsubscribe_url: https://example.org/unsubscribe", "unsubscribe_url: https://example.org/unsubscribe")
    config.write_text(text)


def test_doctor_on_a_fresh_site_names_the_local_base_url_and_the_missing_unsubscribe(tmp_path):
    site = new_site(tmp_path)
    result = run("doctor", "--site", str(site))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith("digestgen.yaml: base_url is still the local address http://127.0.0.1:8000/")
    assert lines[1].startswith("digestgen.yaml: newsletter.unsubscribe_url is not set")
    assert result.stderr == ""


def test_doctor_passes_a_ready_site_with_exit_0(tmp_path):
    site = new_site(tmp_path)
    make_ready(site)
    result = run("doctor", cwd=site)  # --site defaults to the current folder
    assert result.returncode == 0, result.stdout
    assert result.stdout.strip() == "no problems found in ."


def test_doctor_says_deploy_files_install_another_version(tmp_path):
    site = new_site(tmp_path)
    make_ready(site)
    for name in ("netlify.toml", ".github/workflows/pages.yml"):
        path = site / name
        path.write_text(path.read_text().replace(f"@v{__version__}", "@v0.0.9"))
    lines = run("doctor", "--site", str(site)).stdout.splitlines()
    assert len(lines) == 2, lines
    netlify, workflow = lines
    assert netlify.startswith("netlify.toml:12: [build.environment] DIGESTGEN_INSTALL = ") and "installs digestgen 0.0.9" in netlify
    assert workflow.startswith(".github/workflows/pages.yml:18: env: DIGESTGEN_INSTALL = ") and f"{__version__} is installed here" in workflow


def test_doctor_says_when_the_deploy_files_pin_a_release_this_checkout_is_not(tmp_path):
    """This test environment is an editable install: a plain init pins its version and doctor says it is a guess."""
    site = tmp_path / "site"
    assert run("init", str(site)).returncode == 0
    make_ready(site)
    lines = run("doctor", "--site", str(site)).stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["netlify.toml", ".github/workflows/pages.yml"]
    assert all("unless the index has digestgen" in line and "editable install" in line for line in lines)


def test_doctor_flags_deploy_files_from_an_older_digestgen(tmp_path):
    """The files `digestgen init` wrote before DIGESTGEN_INSTALL: unpinned, and production on DEPLOY_PRIME_URL."""
    site = new_site(tmp_path)
    make_ready(site)
    (site / "netlify.toml").write_text(
        '[build]\n  command = "pip install digestgen && digestgen build --base-url \\"${DEPLOY_PRIME_URL:-$URL}/\\""\n'
        '  publish = "_site"\n'
    )
    flow = site / ".github/workflows/pages.yml"
    flow.write_text("\n".join(line for line in flow.read_text().splitlines() if "DIGESTGEN_INSTALL:" not in line))
    lines = run("doctor", "--site", str(site)).stdout.splitlines()
    assert len(lines) == 3, lines
    assert lines[0].startswith("netlify.toml: does not set [build.environment] DIGESTGEN_INSTALL")
    assert lines[1].startswith("netlify.toml: production builds take their base URL from DEPLOY_PRIME_URL")
    assert lines[2].startswith(".github/workflows/pages.yml: does not set env: DIGESTGEN_INSTALL")


def test_doctor_reports_broken_files_as_one_line_findings(tmp_path):
    site = new_site(tmp_path)
    (site / "netlify.toml").write_text("[build\ncommand = 1\n")
    (site / ".github/workflows/pages.yml").write_text("jobs: [unclosed\n")
    (site / "digestgen.yaml").write_text("base_url: 12\n")
    result = run("doctor", "--site", str(site))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 3, lines
    assert "base_url: expected text, found the number 12 (for example: base_url: https://example.org/)" in lines[0]
    assert lines[1].startswith("netlify.toml: not valid TOML: ")
    assert lines[2].startswith(".github/workflows/pages.yml: not valid YAML: ")
    assert "Traceback" not in result.stderr


def test_doctor_outside_a_site_says_so(tmp_path):
    result = run("doctor", "--site", str(tmp_path))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [f"{tmp_path}: not a digestgen site: no digestgen.yaml here (run 'digestgen init {tmp_path}')"]


def test_doctor_usage_error_exits_2():
    assert run("doctor", "--no-such-option").returncode == 2


def test_doctor_on_this_repository_finds_nothing_in_its_deploy_files():
    """The repository installs its own checkout ('.'), which doctor has no version to compare with."""
    findings = doctor(REPO)
    assert [f for f in findings if f.startswith(("netlify.toml", ".github"))] == []
