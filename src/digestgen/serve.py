"""`digestgen serve`: build the site into a private folder, serve it on loopback, rebuild on change.

The pieces, in the order a change travels through them: the watcher (watchdog) notices a saved
source file, the change queue waits until the burst of events is over, `build_preview` runs the
normal build (incremental, into a private temporary folder that the server reads; a build moves
each changed file in with an atomic rename, after every page has been rendered; it reads only the
content files the watcher reported), and `BuildState` bumps the build number that `livereload.js`
listens for. The search files, feeds and papers.json are brought up to date by a second build once
edits pause; a new edit interrupts it. A failed build keeps the last good site and turns every
HTML response into an error page until a later build succeeds.
"""

from __future__ import annotations

import errno
import gc
import html
import ipaddress
import re
import shutil
import signal
import socket
import socketserver
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

from watchdog import events as fs_events
from watchdog.observers import Observer

from digestgen.build import BuildOptions, BuildResult
from digestgen.config import CONFIG_NAME, Config, load_config
from digestgen.errors import DigestgenError, Superseded
from digestgen.incremental import Session
from digestgen.theme import default_dir

Say = Callable[[str], None]

INTERNAL = "__digestgen/"
EVENTS = INTERNAL + "events"
SCRIPT = INTERNAL + "livereload.js"
SCRIPT_FILE = "livereload.js"
SOURCE_DIRS = ("content", "templates", "static")
SEARCH_AFTER_SECONDS = 1.5  # the search index is rebuilt once edits have paused this long
QUIET_SECONDS = 0.1  # a burst of file events is over after this long without a new one (a save takes milliseconds)
KEEPALIVE_SECONDS = 15.0
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})
# Editors' swap, lock and backup files: saving a paper must not rebuild twice because of them.
TEMP_SUFFIXES = (".swp", ".swo", ".swx", ".tmp", "~")
WATCHED_EVENTS = frozenset(
    {
        fs_events.EVENT_TYPE_CREATED,
        fs_events.EVENT_TYPE_DELETED,
        fs_events.EVENT_TYPE_MODIFIED,
        fs_events.EVENT_TYPE_MOVED,
        fs_events.EVENT_TYPE_CLOSED,
        fs_events.EVENT_TYPE_ATTRIB,
    }
)
# Asked of inotify: without opens and reads, a build reading 10,000 papers wakes the watcher not at all.
WATCHED_CLASSES = [
    fs_events.FileCreatedEvent, fs_events.DirCreatedEvent, fs_events.FileDeletedEvent, fs_events.DirDeletedEvent,
    fs_events.FileModifiedEvent, fs_events.DirModifiedEvent, fs_events.FileMovedEvent, fs_events.DirMovedEvent,
    fs_events.FileClosedEvent, fs_events.FileAttribEvent, fs_events.DirAttribEvent,
]
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


def is_temp_file(name: str) -> bool:
    """Hidden files (.#lock, .x.swp, atomic-save temporaries), backups and swap files."""
    return name.startswith(".") or name.endswith(TEMP_SUFFIXES) or name == "4913"  # vim's write probe


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


# ---------------------------------------------------------------- build state


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


class ChangeQueue:
    """Collects changed paths and hands them over once a burst has been quiet for QUIET_SECONDS."""

    def __init__(self, quiet: float = QUIET_SECONDS):
        self._condition = threading.Condition()
        self._quiet = quiet
        self._paths: set[str] = set()
        self._last: float | None = None
        self._stopped = False

    def add(self, path: str) -> None:
        with self._condition:
            self._paths.add(path)
            self._last = time.monotonic()
            self._condition.notify_all()

    def pending(self) -> bool:
        with self._condition:
            return self._last is not None

    def next_burst(self, idle: float | None = None) -> list[str] | None:
        """Block until a burst is over and return its paths; None when stopping.

        With `idle`, return [] when nothing at all happened for that many seconds.
        """
        with self._condition:
            if not self._condition.wait_for(lambda: self._stopped or self._last is not None, idle):
                return []
            while not self._stopped:
                assert self._last is not None
                remaining = self._last + self._quiet - time.monotonic()
                if remaining <= 0:
                    break
                self._condition.wait(remaining)
            if self._stopped:
                return None
            paths, self._paths, self._last = sorted(self._paths), set(), None
            return paths

    def stop(self) -> None:
        with self._condition:
            self._stopped = True
            self._condition.notify_all()


# ---------------------------------------------------------------- watching


class SourceWatcher(fs_events.FileSystemEventHandler):
    """Watches the site's sources (never the output) and feeds relevant changes to a ChangeQueue."""

    def __init__(self, site: Path, changes: ChangeQueue):
        self.site = site
        self.changes = changes
        self.taxonomy: Path | None = None
        self._observer = Observer()
        self._watches: dict[Path, tuple[tuple[int, int], object]] = {}
        self._lock = threading.Lock()

    def start(self) -> None:
        self.sync()
        self._observer.start()

    def stop(self) -> None:
        if self._observer.is_alive():
            self._observer.stop()
            self._observer.join(timeout=5)

    def use_config(self, config: Config) -> None:
        self.taxonomy = (self.site / config.taxonomy).resolve() if isinstance(config.taxonomy, str) else None
        self.sync()

    def targets(self) -> dict[Path, bool]:
        """Folders to watch, and whether recursively."""
        wanted = {self.site: False}
        for name in SOURCE_DIRS:
            if (self.site / name).is_dir():
                wanted[self.site / name] = True
        taxonomy = self.taxonomy
        covered = taxonomy is not None and any(
            folder == taxonomy.parent or (recursive and folder in taxonomy.parents)
            for folder, recursive in wanted.items()
        )
        if taxonomy is not None and taxonomy.parent.is_dir() and not covered:
            wanted[taxonomy.parent] = False
        return wanted

    def sync(self) -> None:
        """Schedule new folders; re-schedule ones replaced since (a checkout may delete and recreate them)."""
        with self._lock:
            wanted = self.targets()
            for folder in list(self._watches):
                if folder not in wanted or _identity(folder) != self._watches[folder][0]:
                    self._unschedule(folder)
            for folder, recursive in wanted.items():
                if folder not in self._watches:
                    try:
                        watch = self._observer.schedule(self, str(folder), recursive=recursive, event_filter=WATCHED_CLASSES)
                    except OSError:
                        continue  # vanished meanwhile; the next sync tries again
                    self._watches[folder] = (_identity(folder), watch)

    def _unschedule(self, folder: Path) -> None:
        _, watch = self._watches.pop(folder)
        try:
            self._observer.unschedule(watch)  # type: ignore[arg-type]
        except (KeyError, OSError):
            pass

    def on_any_event(self, event: fs_events.FileSystemEvent) -> None:
        if event.event_type not in WATCHED_EVENTS:
            return  # the build opening and reading files must not trigger another build
        if event.is_directory and event.event_type in (fs_events.EVENT_TYPE_MODIFIED, fs_events.EVENT_TYPE_ATTRIB):
            return  # a folder "changes" when a file in it is created: that file's own event decides
        for path in (event.src_path, getattr(event, "dest_path", "")):
            if path and self.relevant(Path(_text(path))):
                self.changes.add(_text(path))

    def relevant(self, path: Path) -> bool:
        if is_temp_file(path.name):
            return False
        if self.taxonomy is not None and path == self.taxonomy:
            return True
        try:
            parts = path.relative_to(self.site).parts
        except ValueError:
            return False
        if not parts:
            return False
        if parts[0] in SOURCE_DIRS:
            return not any(is_temp_file(part) for part in parts)
        return parts == (CONFIG_NAME,)


def _identity(folder: Path) -> tuple[int, int]:
    try:
        info = folder.stat()
    except OSError:
        return (0, 0)
    return (info.st_dev, info.st_ino)


def _text(path: str | bytes) -> str:
    return path.decode("utf-8", "surrogateescape") if isinstance(path, bytes) else path


# ---------------------------------------------------------------- building


def build_preview(
    site: Path, out: Path, base_url: str | None, warn: Say, session: Session, defer_search: bool,
    check: Callable[[], None] = lambda: None, changed: list[str] | None = None,
) -> BuildResult:
    """A build into `out`, exactly as `digestgen build` would write it plus the reload script.

    Builds replace changed files one atomic rename at a time and never rewrite a file in place, so
    the server reads `out` directly. With `defer_search`, the search files may lag one build behind.
    """
    config, _ = load_config(site, base_url)  # the base path decides the script's URL
    # One process: forking a process that runs server and watcher threads can deadlock.
    options = BuildOptions(out=out, base_url=base_url, extra_scripts=(script_url(config.base_path),), workers=1, private=True)
    return session.build(changed, search=not defer_search, options=options, warn=warn, check=check)


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


# ---------------------------------------------------------------- HTTP


class PreviewServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_port = False  # two servers on one port would split the requests between them

    def __init__(self, address: tuple[str, int], family: int, preview: Preview):
        self.address_family = family
        self.preview = preview
        super().__init__(address, PreviewHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host's name up in DNS, which can stall; we never need it.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])

    def handle_error(self, request: object, client_address: object) -> None:
        exc = sys.exc_info()[1]
        if not isinstance(exc, (ConnectionError, TimeoutError)):
            self.preview.tell(f"digestgen serve: request failed: {escape_log(repr(exc))}")


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
        preview = self.server.preview
        if not host_allowed(self.headers.get("Host"), preview.host):
            self._send_text(403, "This preview server only answers requests for localhost.\n")
            return
        try:
            path = request_path(self.path)
        except BadRequest as exc:
            self._send_text(400, f"Bad request: {exc}.\n")
            return
        snapshot = preview.state.current()
        base = snapshot.base_path
        query = self.path[len(self.path.split("?", 1)[0]) :]
        if path != base and (path == "/" or path + "/" == base):
            self._redirect(base + query)
        elif not path.startswith(base):
            self._send_not_found(snapshot)
        elif path == base + EVENTS:
            self._send_events()
        elif path == base + SCRIPT:
            self._send_bytes(200, preview.script, CONTENT_TYPES[".js"])
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
        state, shown = self.server.preview.state, None
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
        self.server.preview.tell(escape_log(f"{self.address_string()} {format % args}"))


# ---------------------------------------------------------------- the preview


def _listen_address(host: str, port: int) -> tuple[int, tuple[str, int]]:
    try:
        info = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise DigestgenError(f"cannot listen on {host!r}: {exc.strerror}") from None
    family, _, _, _, address = info[0]
    return family, (address[0], address[1])


def _bind_error(host: str, port: int, exc: OSError) -> DigestgenError:
    if exc.errno == errno.EADDRINUSE:
        return DigestgenError(
            f"port {port} on {host} is already in use: stop the other server or pick another with --port (0 picks a free one)"
        )
    if exc.errno == errno.EACCES:
        return DigestgenError(f"not allowed to listen on port {port}: use a port above 1023 with --port")
    if exc.errno == errno.EADDRNOTAVAIL:
        return DigestgenError(f"{host} is not an address of this machine (see --host)")
    return DigestgenError(f"cannot listen on {host} port {port}: {exc.strerror or exc}")


class Preview:
    """A running preview: HTTP server, watcher and rebuild loop around one private output folder."""

    def __init__(
        self,
        site: Path,
        host: str = "127.0.0.1",
        port: int = 8000,
        base_url: str | None = None,
        warn: Say = lambda message: None,
        say: Say = lambda message: None,
        tell: Say = lambda message: None,
    ):
        self.site = site  # as given, so that messages name files the way the user wrote the path
        self.host = host
        self.port = port
        self.base_url = base_url
        self.warn, self.say, self.tell = warn, say, tell
        self.state = BuildState("/")
        self.changes = ChangeQueue()
        self.watcher = SourceWatcher(site.resolve(), self.changes)
        self.script = (default_dir("static") / SCRIPT_FILE).read_bytes()
        self.workdir: Path | None = None
        self.httpd: PreviewServer | None = None
        self._threads: list[threading.Thread] = []
        self._last_warnings: list[str] = []
        self.session = Session(site)  # what is kept between builds
        self.search_stale = False  # the served search files lag behind the pages
        self.untidy = False  # builds have run since the last garbage collection

    # --- lifecycle

    def start(self) -> None:
        if not (self.site / CONFIG_NAME).is_file():
            load_config(self.site, self.base_url)  # raises the usual "not a digestgen site" message
        family, address = _listen_address(self.host, self.port)
        try:
            httpd = self.httpd = PreviewServer(address, family, self)
        except OSError as exc:
            raise _bind_error(self.host, self.port, exc) from None
        if not is_loopback(self.host):
            self.warn(
                f"listening on {self.host}: other machines can reach this preview server; it is for previewing, not for publishing"
            )
        self.workdir = Path(tempfile.mkdtemp(prefix="digestgen-serve-"))
        self.watcher.start()
        self.rebuild([])
        self._spawn(lambda: httpd.serve_forever(poll_interval=0.1), "digestgen-http")
        self._spawn(self._rebuild_loop, "digestgen-rebuild")

    def close(self) -> None:
        self.changes.stop()
        self.state.stop()
        if self.httpd is not None:
            if any(t.name == "digestgen-http" for t in self._threads):
                self.httpd.shutdown()
            self.httpd.server_close()
        self.watcher.stop()
        for thread in self._threads:
            thread.join(timeout=10)
        gc.unfreeze()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    @property
    def url(self) -> str:
        assert self.httpd is not None
        host = self.host if self.host not in WILDCARD_HOSTS else "127.0.0.1"
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.httpd.server_port}{self.state.current().base_path}"

    # --- building

    def _rebuild_loop(self) -> None:
        """Rebuild after each burst; once edits pause, bring the search files up to date and tidy up."""
        while (paths := self.changes.next_burst(SEARCH_AFTER_SECONDS if self.search_stale or self.untidy else None)) is not None:
            if paths:
                self.rebuild(paths)
                continue
            if self.search_stale:
                self._update_search(self.workdir / "site")
            if not self.changes.pending():
                self._collect_garbage()

    def _built(self) -> None:
        """Keep the garbage collector away from what the build left until edits pause.

        A full collection walks every object of the loaded site (a tenth of a second or more at
        10,000 papers); frozen objects are skipped, so the next edit's build does not pay for it.
        """
        gc.freeze()
        self.untidy = True

    def _collect_garbage(self) -> None:
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        self.untidy = False

    def rebuild(self, changed: list[str]) -> Snapshot:
        """Build; the server then serves the new build number. A failure keeps the last good site."""
        assert self.workdir is not None
        self.watcher.sync()  # folders created since the last build are watched before we read them
        previous = self.state.current()
        number = previous.number + 1
        served = self.workdir / "site"
        warnings: list[str] = []
        started = time.perf_counter()
        try:
            # Only the changed content files are read again; the search catch-up reads them all.
            result = build_preview(self.site, served, self.base_url, warnings.append, self.session, defer_search=True,
                                   changed=changed)
            config = result.config
        except DigestgenError as exc:
            return self._failed(previous, number, str(exc))
        except Exception as exc:  # noqa: BLE001 -- a bug must not stop the preview; say what it was
            return self._failed(previous, number, f"unexpected {type(exc).__name__} while building: {exc}")
        self._report_warnings(warnings)
        self.watcher.use_config(config)
        snapshot = Snapshot(number, served, number, config.base_path)
        self.state.publish(snapshot)
        self.say(f"{_describe(changed)}built in {time.perf_counter() - started:.2f} s (build {number})")
        # The search files catch up when edits pause (at once for the first build).
        self.search_stale = bool(result.counts.get("search_deferred"))
        if self.search_stale and previous.root is None:
            self._update_search(served)
        self._built()
        return snapshot

    def _update_search(self, served: Path) -> None:
        """Bring the search files up to date after the changed pages are already being served."""
        self.search_stale = False
        try:
            build_preview(self.site, served, self.base_url, lambda message: None, self.session, defer_search=False,
                          check=self._give_way)
        except Superseded:  # an edit came in: its pages first, the search files at the next pause
            self.search_stale = True
            return
        except DigestgenError as exc:
            self.tell(f"digestgen: error: {exc}")
        except Exception as exc:  # noqa: BLE001 -- a bug must not stop the preview; say what it was
            self.tell(f"digestgen: error: unexpected {type(exc).__name__} while updating the search files: {exc}")
        self._built()

    def _give_way(self) -> None:
        if self.changes.pending():
            raise Superseded

    def _failed(self, previous: Snapshot, number: int, message: str) -> Snapshot:
        # The failed build may not have read the files its burst named: the next one reads them all.
        self.session.missed()
        snapshot = replace(previous, number=number, error=message)
        if previous.root is None:  # no good build yet: at least put the error page where the site will be
            snapshot = replace(snapshot, base_path=self._configured_base_path(previous.base_path))
        self.state.publish(snapshot)
        self.tell(f"digestgen: error: {message}")
        kept = " (other files are still the last good build's)" if previous.root is not None else ""
        self.tell(f"every page shows this error until a build succeeds{kept}; fix the problem and save to rebuild")
        return snapshot

    def _configured_base_path(self, fallback: str) -> str:
        try:
            return load_config(self.site, self.base_url)[0].base_path
        except DigestgenError:
            return fallback

    def _report_warnings(self, warnings: list[str]) -> None:
        for message in warnings:
            if message not in self._last_warnings:
                self.warn(message)
        self._last_warnings = warnings


def _describe(changed: list[str]) -> str:
    if not changed:
        return ""
    first = Path(changed[0]).name
    more = f" and {len(changed) - 1} more" if len(changed) > 1 else ""
    return f"{first}{more} changed; re"


def _raise_interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def serve(site: Path, host: str, port: int, base_url: str | None, warn: Say) -> None:
    """Run the preview until Ctrl-C (or SIGTERM), then stop cleanly."""
    preview = Preview(site, host, port, base_url, warn=warn, say=_print_out, tell=_print_err)
    in_main_thread = threading.current_thread() is threading.main_thread()
    if in_main_thread:
        signal.signal(signal.SIGTERM, _raise_interrupt)  # `kill` cleans up like Ctrl-C does
    try:
        preview.start()
        _print_out(f"serving {preview.url} (Ctrl-C to stop); built pages live in {preview.workdir}")
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        if in_main_thread:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not interrupt the clean-up
        preview.close()
        if in_main_thread:
            signal.signal(signal.SIGINT, signal.default_int_handler)
    _print_out("stopped")


def _print_out(message: str) -> None:
    print(message, flush=True)


def _print_err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
