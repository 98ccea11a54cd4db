"""What the browser benchmarks share: a quiet loopback HTTP server for a folder, and headless Debian Chromium.

Imported by bench/search_size.py, bench/search_shards.py and bench/search_budget.py (beside this file).

`serve` is Python's http.server: HTTP/1.0, a connection per file, so Chromium fetches at most six files
at a time and pays a connection for each. `serve_http2` serves a folder as GitHub Pages and Netlify do
(HTTP/2 over TLS, gzip), through nginx (`apt-get install nginx-light`) with a certificate made for the
run; a browser context on it must ignore HTTPS errors.
"""

from __future__ import annotations

import contextlib
import functools
import getpass
import http.server
import shutil
import socket
import subprocess
import tempfile
import threading
import time
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


_CONFIG = """
daemon off;
user {user};
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/error.log;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {work}/body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
    types {{ text/html html; application/json json; application/javascript js; text/css css; }}
    default_type application/octet-stream;
    sendfile on;
    gzip on;
    gzip_comp_level 6;
    gzip_types application/json application/javascript text/css;
    server {{
        listen 127.0.0.1:{port} ssl http2;
        ssl_certificate {work}/cert.pem;
        ssl_certificate_key {work}/key.pem;
        root {root};
    }}
}}
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(port: int, process: subprocess.Popen, work: Path) -> None:
    for _ in range(100):
        if process.poll() is not None:
            raise RuntimeError(f"nginx stopped: {(work / 'error.log').read_text(errors='replace')[-400:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.1):
            return
        time.sleep(0.05)
    raise RuntimeError("nginx did not start listening")


@contextlib.contextmanager
def serve_http2(root: Path) -> Iterator[str]:
    """`root` over HTTPS with HTTP/2 (nginx) on a free loopback port, as its base URL."""
    if not shutil.which("nginx") or not shutil.which("openssl"):
        raise SystemExit("the HTTP/2 host needs nginx and openssl: apt-get install nginx-light openssl")
    with tempfile.TemporaryDirectory(prefix="h2host-") as temp:
        work = Path(temp)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=127.0.0.1", "-keyout", str(work / "key.pem"), "-out", str(work / "cert.pem")],
                       check=True, capture_output=True)
        port = _free_port()
        config = _CONFIG.format(work=work, port=port, root=Path(root).resolve(), user=getpass.getuser())
        (work / "nginx.conf").write_text(config, "utf-8")
        (work / "error.log").touch()  # nginx may stop before it opens its log
        process = subprocess.Popen(["nginx", "-c", str(work / "nginx.conf"), "-p", str(work)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_for(port, process, work)
            yield f"https://127.0.0.1:{port}/"
        finally:
            process.terminate()
            process.wait(timeout=10)
