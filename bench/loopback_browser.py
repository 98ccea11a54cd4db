"""What the browser benchmarks share: a quiet loopback HTTP server for a folder, and headless Debian Chromium.

Imported by bench/search_size.py, bench/search_shards.py and bench/search_budget.py (beside this file).
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-dev-shm-usage"]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder without logging; with `csp`, every response carries that Content-Security-Policy."""

    csp: str | None = None

    def end_headers(self) -> None:
        if self.csp is not None:
            self.send_header("Content-Security-Policy", self.csp)
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def serve(root: Path, theme_csp: bool = False) -> Iterator[str]:
    """`root` over HTTP on a free loopback port, as its base URL; `theme_csp` sends the theme's policy as a host would."""
    handler = type("Handler", (_QuietHandler,), {"csp": _theme_csp() if theme_csp else None})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def _theme_csp() -> str:
    from digestgen.theme import CSP  # of the digestgen on the path, as the site was built by

    return CSP


@contextlib.contextmanager
def chromium(playwright: Any) -> Iterator[Any]:
    """Headless Debian Chromium through a started Playwright (its own browser download is not used), closed after."""
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        browser.close()
