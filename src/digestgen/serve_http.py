"""The preview's HTTP room: pure request helpers, the server and its handler.

It serves whatever folder the current `Snapshot` names, plus the reload script and the event
stream that announces each new snapshot number, and turns HTML responses into an error page while
the latest snapshot carries an error. It knows nothing of builds: the preview publishes snapshots
into a `BuildState`, the handler only reads them.
"""

from __future__ import annotations

import errno
import html
import ipaddress
import re
import socket
import socketserver
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

from digestgen.errors import DigestgenError

Say = Callable[[str], None]

INTERNAL = "__digestgen/"
EVENTS = INTERNAL + "events"
SCRIPT = INTERNAL + "livereload.js"
KEEPALIVE_SECONDS = 15.0
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".xml": "application/xml",
    ".svg": "image/svg+xml",
    ".webmanifest": "application/manifest+json",
    ".txt": "text/plain; charset=utf-8",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".pdf": "application/pdf",
}
FEED_TYPE = "application/atom+xml"
HTML_TYPE = CONTENT_TYPES[".html"]


# ---------------------------------------------------------------- small pure helpers


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def content_type(path: Path) -> str:
    if path.name == "feed.xml":
        return FEED_TYPE
    return CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")


def escape_log(text: str) -> str:
    """Control characters (a forged request line could carry terminal escapes) as \\xNN."""
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)


def script_url(base_path: str) -> str:
    return base_path + SCRIPT


def host_name(header: str) -> str:
    """The name part of a Host header: 'localhost:8000' -> 'localhost', '[::1]:80' -> '::1'."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else ""
    name = header.rsplit(":", 1)[0] if header.count(":") == 1 else header
    return name.rstrip(".")


def host_allowed(header: str | None, bound_host: str) -> bool:
    """Loopback names, the host we were told to bind, or (bound to all interfaces) any IP literal.

    Browsers send the name they connected to, so a DNS-rebinding page arrives with a foreign name.
    """
    if not header:
        return False
    name = host_name(header)
    if name in LOOPBACK_NAMES or name == bound_host.lower().strip("[]"):
        return True
    if bound_host in WILDCARD_HOSTS:
        try:
            ipaddress.ip_address(name)
            return True
        except ValueError:
            return False
    return False


class BadRequest(Exception):
    pass


_ENCODED_SEPARATOR = re.compile(r"%(2f|5c|00)", re.IGNORECASE)


def request_path(target: str) -> str:
    """The decoded path of a request target; BadRequest unless it is a plain, normalized path."""
    if not target.startswith("/") or target.startswith("//"):
        raise BadRequest("the request target must be a path starting with a single /")
    path = target.split("?", 1)[0].split("#", 1)[0]
    if _ENCODED_SEPARATOR.search(path) or "\\" in path:
        raise BadRequest("encoded separators and backslashes are not allowed")
    try:
        decoded = unquote(path, errors="strict")
    except UnicodeDecodeError:
        raise BadRequest("the path is not UTF-8") from None
    if "\\" in decoded or any(not ch.isprintable() for ch in decoded):
        raise BadRequest("control characters are not allowed")
    segments = decoded.split("/")[1:]
    if any(part in ("", ".", "..") for part in segments[:-1]) or segments[-1] in (".", ".."):
        raise BadRequest("empty, '.' and '..' path segments are not allowed")
    return decoded


@dataclass(frozen=True)
class Found:
    file: Path


@dataclass(frozen=True)
class AddSlash:
    pass


def locate(root: Path, relative: str) -> Found | AddSlash | None:
    """The regular file inside `root` that serves a site-relative path (folders give index.html)."""
    real_root = root.resolve()
    candidate = root.joinpath(*relative.split("/")) if relative else root
    if relative == "" or relative.endswith("/"):
        candidate = candidate / "index.html"
    real = candidate.resolve()
    if real != real_root and real_root not in real.parents:
        return None  # a symlink leading out of the output folder
    if real.is_dir():
        return AddSlash()
    return Found(real) if real.is_file() else None


# ---------------------------------------------------------------- what is served


@dataclass(frozen=True)
class Snapshot:
    number: int  # counts every build, failed ones too: the page reloads to show the error
    root: Path | None  # the last good build's folder
    root_number: int
    base_path: str
    error: str | None = None


class BuildState:
    """The current snapshot; readers wait here for the next build number."""

    def __init__(self, base_path: str):
        self._condition = threading.Condition()
        self._snapshot = Snapshot(0, None, 0, base_path)
        self._stopped = False

    def current(self) -> Snapshot:
        with self._condition:
            return self._snapshot

    def publish(self, snapshot: Snapshot) -> None:
        with self._condition:
            self._snapshot = snapshot
            self._condition.notify_all()

    def wait_newer(self, number: int | None, timeout: float) -> Snapshot | None:
        """The snapshot once its number differs from `number` (or after `timeout`); None when stopping."""
        with self._condition:
            self._condition.wait_for(lambda: self._stopped or self._snapshot.number != number, timeout)
            return None if self._stopped else self._snapshot

    def stop(self) -> None:
        with self._condition:
            self._stopped = True
            self._condition.notify_all()


def error_page(message: str, number: int, base_path: str) -> bytes:
    """What every HTML request gets while the latest build is broken."""
    script = html.escape(f"{script_url(base_path)}?build={number}")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Build failed · digestgen preview</title>
</head>
<body style="font-family: system-ui, sans-serif; max-width: 50rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5">
<h1 style="color: #b00020">The site did not build</h1>
<pre style="white-space: pre-wrap; background: #fff0f0; border: 1px solid #b00020; padding: 1rem">{html.escape(message)}</pre>
<p>Fix the problem and save: this page reloads by itself. The terminal shows the same message.</p>
<script src="{script}" defer></script>
</body>
</html>
""".encode()


# ---------------------------------------------------------------- the server


def listen_address(host: str, port: int) -> tuple[int, tuple[str, int]]:
    try:
        info = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise DigestgenError(f"cannot listen on {host!r}: {exc.strerror}") from None
    family, _, _, _, address = info[0]
    return family, (address[0], address[1])


def bind_error(host: str, port: int, exc: OSError) -> DigestgenError:
    if exc.errno == errno.EADDRINUSE:
        return DigestgenError(
            f"port {port} on {host} is already in use: stop the other server or pick another with --port (0 picks a free one)"
        )
    if exc.errno == errno.EACCES:
        return DigestgenError(f"not allowed to listen on port {port}: use a port above 1023 with --port")
    if exc.errno == errno.EADDRNOTAVAIL:
        return DigestgenError(f"{host} is not an address of this machine (see --host)")
    return DigestgenError(f"cannot listen on {host} port {port}: {exc.strerror or exc}")


class PreviewServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_port = False  # two servers on one port would split the requests between them

    def __init__(self, address: tuple[str, int], family: int, state: "BuildState", script: bytes, bound_host: str, tell: Say):
        self.address_family = family
        self.state, self.script, self.bound_host, self.tell = state, script, bound_host, tell
        super().__init__(address, PreviewHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host's name up in DNS, which can stall; we never need it.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])

    def handle_error(self, request: object, client_address: object) -> None:
        exc = sys.exc_info()[1]
        if not isinstance(exc, (ConnectionError, TimeoutError)):
            self.tell(f"digestgen serve: request failed: {escape_log(repr(exc))}")


class PreviewHandler(BaseHTTPRequestHandler):
    server: PreviewServer
    server_version = "digestgen-preview"
    sys_version = ""
    timeout = 30  # idle or trickling connections do not hold a thread forever
    send_body = True  # False for HEAD
    # Answer even a garbled request line with a status line (the base class would answer HTTP/0.9 style).
    default_request_version = "HTTP/1.0"

    def version_string(self) -> str:
        return self.server_version

    # --- dispatch

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def _respond(self, send_body: bool) -> None:
        self.send_body = send_body
        server = self.server
        if not host_allowed(self.headers.get("Host"), server.bound_host):
            self._send_text(403, "This preview server only answers requests for localhost.\n")
            return
        try:
            path = request_path(self.path)
        except BadRequest as exc:
            self._send_text(400, f"Bad request: {exc}.\n")
            return
        snapshot = server.state.current()
        base = snapshot.base_path
        query = self.path[len(self.path.split("?", 1)[0]) :]
        if path != base and (path == "/" or path + "/" == base):
            self._redirect(base + query)
        elif not path.startswith(base):
            self._send_not_found(snapshot)
        elif path == base + EVENTS:
            self._send_events()
        elif path == base + SCRIPT:
            self._send_bytes(200, server.script, CONTENT_TYPES[".js"])
        else:
            self._send_site_file(snapshot, path[len(base) :], path, query)

    # --- responses

    def _send_site_file(self, snapshot: Snapshot, relative: str, path: str, query: str) -> None:
        if snapshot.root is None:
            self._send_error_page(snapshot)
            return
        found = locate(snapshot.root, relative)
        if isinstance(found, AddSlash):
            self._redirect(path + "/" + query)
            return
        if found is None:
            self._send_not_found(snapshot)
            return
        kind = content_type(found.file)
        if kind == HTML_TYPE and snapshot.error is not None:
            self._send_error_page(snapshot)
            return
        try:
            body = found.file.read_bytes()
        except OSError:
            self._send_not_found(snapshot)
            return
        if kind == HTML_TYPE:
            body = self._stamp(body, snapshot)
        self._send_bytes(200, body, kind)

    def _send_not_found(self, snapshot: Snapshot) -> None:
        if snapshot.error is not None or snapshot.root is None:
            self._send_error_page(snapshot)
            return
        page = snapshot.root / "404.html"
        try:
            body = self._stamp(page.read_bytes(), snapshot)
        except OSError:
            self._send_text(404, "Not found.\n")
            return
        self._send_bytes(404, body, HTML_TYPE)

    def _send_error_page(self, snapshot: Snapshot) -> None:
        message = snapshot.error or "the first build has not finished"
        self._send_bytes(500, error_page(message, snapshot.number, snapshot.base_path), HTML_TYPE)

    def _send_events(self) -> None:
        """Server-sent events: the build number now and after every build, a comment as keep-alive."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if not self.send_body:
            return
        state, shown = self.server.state, None
        try:
            self.wfile.write(b"retry: 500\n\n")
            while True:
                snapshot = state.wait_newer(shown, KEEPALIVE_SECONDS)
                if snapshot is None:
                    return
                if snapshot.number != shown:
                    shown = snapshot.number
                    self.wfile.write(f"data: {shown}\n\n".encode("ascii"))
                else:
                    self.wfile.write(b": still here\n\n")
                self.wfile.flush()
        except (ConnectionError, TimeoutError, OSError):
            return

    def _stamp(self, body: bytes, snapshot: Snapshot) -> bytes:
        """Tell the page's script which build wrote it, so a build finishing mid-load still reloads."""
        tag = f'{script_url(snapshot.base_path)}"'.encode()
        return body.replace(tag, f'{script_url(snapshot.base_path)}?build={snapshot.root_number}"'.encode(), 1)

    def _redirect(self, location: str) -> None:
        # Temporary (302): a permanent redirect would outlive this preview in the browser's cache.
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()

    def _send_text(self, status: int, text: str) -> None:
        self._send_bytes(status, text.encode("utf-8"), CONTENT_TYPES[".txt"])

    def _send_bytes(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        # The preview must show the latest build at once; hashed assets may be revalidated.
        self.send_header("Cache-Control", "no-store" if kind == HTML_TYPE else "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if self.send_body:
            self.wfile.write(body)

    # --- logging: errors only, and never raw bytes from the network on the terminal

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if isinstance(code, int) and code >= 400:
            super().log_request(code, size)

    def log_message(self, format: str, *args: object) -> None:
        self.server.tell(escape_log(f"{self.address_string()} {format % args}"))
