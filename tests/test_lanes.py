"""The test lanes themselves: which lane a test lands in, missing tools, golden diffs, scripts/test's --lane."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import REPO, golden_diff, missing_tool


def test_a_test_of_pure_logic_is_in_the_fast_lane(request: pytest.FixtureRequest) -> None:
    assert request.node.get_closest_marker("integration") is None


def test_a_test_that_uses_the_file_system_is_in_the_integration_lane(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    assert request.node.get_closest_marker("integration") is not None


def test_a_missing_tool_skips_on_a_developers_machine_and_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="java is missing"):
        missing_tool("java is missing")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="java is missing.*CI=true"):
        missing_tool("java is missing")


def test_a_golden_difference_is_shown_as_a_unified_diff() -> None:
    golden = {"index.html": b"<title>Old</title>\n<p>same</p>\n", "gone.xml": b"<x/>\n", "kept.txt": b"kept\n"}
    built = {"index.html": b"<title>New</title>\n<p>same</p>\n", "kept.txt": b"kept\n"}
    shown = golden_diff(built, golden)
    assert shown.startswith("2 file(s) differ from the golden copy: gone.xml, index.html\n")
    assert "--- golden/index.html\n+++ built/index.html\n" in shown
    assert "-<title>Old</title>\n+<title>New</title>\n <p>same</p>\n" in shown
    assert "-<x/>\n" in shown and "kept" not in shown
    assert "--regen-golden" in shown
    assert golden_diff(golden, golden) == ""


@pytest.mark.integration
def test_scripts_test_refuses_an_unknown_lane_before_installing_anything() -> None:
    done = subprocess.run(["bash", str(REPO / "scripts" / "test"), "--lane", "quick"], capture_output=True, text=True,
                          timeout=30, check=False)
    assert done.returncode == 2
    assert done.stderr.strip() == "scripts/test: unknown lane 'quick' (fast, integration, browser or all)"
