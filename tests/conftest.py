"""Shared fixtures: the repository's own site built once, a loopback HTTP server, headless Chromium;
the test lanes (fast, integration, browser), missing system tools, golden comparisons."""

from __future__ import annotations

import difflib
import functools
import http.server
import json
import os
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import unquote, urlsplit

import pytest

REPO = Path(__file__).resolve().parents[1]
VNU_JAR = os.environ.get("DIGESTGEN_VNU_JAR") or str(REPO / ".tools/node_modules/vnu-jar/build/dist/vnu.jar")
# A test that asks for one of these leaves the fast lane: it writes files, runs servers or drives a browser.
OUTSIDE_THE_FAST_LANE = frozenset({"tmp_path", "tmp_path_factory", "serve_static", "browser"})


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--regen-golden", action="store_true",
        help="rewrite the golden files in tests/golden/ from this run's output (then read git diff tests/golden)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The lanes: a test is `integration` when it says so or uses the file system, servers or a browser;
    what is neither integration nor browser is the fast lane (pure logic)."""
    for item in items:
        if item.get_closest_marker("browser") is None and OUTSIDE_THE_FAST_LANE & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


def missing_tool(message: str) -> None:
    """A system tool a test needs is absent: skipped with the reason on a developer's machine, a failure under CI=true."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (CI=true: a missing tool fails the run instead of skipping)")
    pytest.skip(message)


def require_command(name: str, package: str) -> str:
    """The path of the program `name`, or the missing_tool outcome naming what installs it."""
    found = shutil.which(name)
    if found is None:
        missing_tool(f"{name} is missing: install {package} (scripts/test does)")
    return found  # type: ignore[return-value]


def vnu_command() -> list[str]:
    """The Nu HTML checker's command line (java and the jar scripts/test fetches), or missing_tool."""
    java = require_command("java", "a Java runtime (Debian's default-jre-headless)")
    if not Path(VNU_JAR).is_file():
        missing_tool(f"the Nu HTML checker is missing at {VNU_JAR}: scripts/test fetches it")
    return [java, "-jar", VNU_JAR]


@pytest.fixture(scope="session")
def regen_golden(pytestconfig: pytest.Config) -> bool:
    """Whether golden files are to be rewritten: --regen-golden (or DIGESTGEN_REGEN_GOLDEN=1, as before)."""
    return bool(pytestconfig.getoption("--regen-golden") or os.environ.get("DIGESTGEN_REGEN_GOLDEN"))


REGENERATE = "regenerate on purpose with scripts/test --regen-golden -k golden, then read git diff tests/golden"


def golden_diff(built: dict[str, bytes], golden: dict[str, bytes], shown: int = 3) -> str:
    """Which files differ from their golden copy, with a unified diff of the first few; "" when none do."""
    differing = sorted(path for path in built.keys() | golden.keys() if built.get(path) != golden.get(path))
    if not differing:
        return ""
    lines = [f"{len(differing)} file(s) differ from the golden copy: {', '.join(differing[:20])}\n"]
    for path in differing[:shown]:
        old = golden.get(path, b"").decode("utf-8", "replace").splitlines(keepends=True)
        new = built.get(path, b"").decode("utf-8", "replace").splitlines(keepends=True)
        lines += (line if line.endswith("\n") else line + "\n" for line in difflib.unified_diff(old, new, f"golden/{path}", f"built/{path}"))
    lines.append(REGENERATE + "\n")
    return "".join(lines)


def assert_matches_golden(built: dict[str, bytes], golden: dict[str, bytes]) -> None:
    """Fail with a unified diff when `built` (path -> bytes) differs from `golden`."""
    difference = golden_diff(built, golden)
    if difference:
        pytest.fail(difference, pytrace=False)
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SEED = FIXTURES / "seed-digest.txt"
CHROMIUM = os.environ.get("DIGESTGEN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def run_node_json(script: Path, args: list[str], requests: object, timeout: float = 300) -> object:
    """Run a node script that reads JSON requests on stdin and prints JSON answers."""
    node = require_command("node", "Node.js")
    done = subprocess.run([node, str(script), *args], check=False, input=json.dumps(requests), capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    assert "Version mismatch" not in done.stderr  # lunr.js read an index made for another version
    return json.loads(done.stdout)


def copy_repo_site(target: Path) -> Path:
    """A copy of this repository's own site (config, content, no build output)."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "digestgen.yaml", target / "digestgen.yaml")
    shutil.copytree(REPO / "content", target / "content")
    return target


def build(site: Path, out: Path, base_url: str) -> Path:
    from digestgen.build import build_site

    build_site(site, out=out, base_url=base_url)
    return out


class _PrefixHandler(http.server.SimpleHTTPRequestHandler):
    """Serves `directory` under URL path `prefix`, like a project site on GitHub Pages."""

    prefix = "/"
    extra_headers: dict[str, str] = {}
    gate: Callable[[str], None] | None = None  # called with each request's path before it is served

    def do_GET(self) -> None:
        if self.gate:
            self.gate(unquote(urlsplit(self.path).path))
        super().do_GET()

    def translate_path(self, path: str) -> str:
        url_path = unquote(urlsplit(path).path)
        if not url_path.startswith(self.prefix):
            return str(Path(self.directory) / "__outside_prefix__")
        return super().translate_path("/" + url_path[len(self.prefix):])

    def end_headers(self) -> None:
        for name, value in self.extra_headers.items():
            self.send_header(name, value)
        super().end_headers()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        not_found = Path(self.directory) / "404.html"
        if code == 404 and not_found.is_file():
            body = not_found.read_bytes()
            self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            return
        super().send_error(code, message, explain)

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass


class StaticServer:
    def __init__(self, root: Path, prefix: str = "/", headers: dict[str, str] | None = None,
                 gate: Callable[[str], None] | None = None):
        handler = type("Handler", (_PrefixHandler,), {"prefix": prefix, "extra_headers": headers or {},
                                                      "gate": staticmethod(gate) if gate else None})
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
        self.prefix = prefix
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}{self.prefix}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve_static() -> Iterator:
    """Call with (folder, prefix='/', headers=None, gate=None) to serve a folder on loopback; closed after the test."""
    servers: list[StaticServer] = []

    def start(root: Path, prefix: str = "/", headers: dict[str, str] | None = None,
              gate: Callable[[str], None] | None = None) -> StaticServer:
        server = StaticServer(root, prefix, headers, gate)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture(scope="session")
def seed_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's own site, copied once per test session (read-only for tests)."""
    return copy_repo_site(tmp_path_factory.mktemp("seed-site"))


@pytest.fixture(scope="session")
def seed_built_root(seed_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed site built for serving at http://127.0.0.1/ (any port)."""
    return build(seed_site, tmp_path_factory.mktemp("out-root") / "_site", "http://127.0.0.1:8000/")


@pytest.fixture(scope="session")
def seed_built_sub(seed_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed site built for serving under the sub-path /repo/."""
    return build(seed_site, tmp_path_factory.mktemp("out-sub") / "_site", "https://example.org/repo/")


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright (Playwright's own browser download is not used)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        missing_tool(f"{CHROMIUM} is missing: install Debian's chromium (scripts/test does)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
