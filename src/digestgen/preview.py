"""The preview's room for building: its lifecycle, and when to rebuild and when to catch up.

The pieces, in the order a change travels through them: the watcher (watch.py) notices a saved
source file that a build reads (or a content folder that came or went: a rescan), the change queue
waits until the burst of events is over, `build_preview` runs the normal build (incremental, into a
private temporary folder that the server reads; a build moves each changed file in with an atomic
rename, after every page has been rendered; it reads only the content files the watcher reported),
and the preview publishes the new snapshot that the HTTP room (serve_http.py) serves and
`livereload.js` listens for. The search files, feeds and papers.json are brought up to date by a
second build once edits pause; a new edit interrupts it. A failed build keeps the last good site
and turns every HTML response into an error page until a later build succeeds.
"""

from __future__ import annotations

import gc
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from digestgen.build import BuildOptions, BuildResult, configure
from digestgen.config import CONFIG_NAME, load_config
from digestgen.errors import DigestgenError, Superseded
from digestgen.incremental import Session
from digestgen.serve_http import (
    WILDCARD_HOSTS,
    BuildState,
    PreviewServer,
    Say,
    Snapshot,
    bind_error,
    is_loopback,
    listen_address,
    script_url,
)
from digestgen.theme import default_dir
from digestgen.watch import ChangeQueue, Changes, SourceWatcher

SCRIPT_FILE = "livereload.js"
SEARCH_AFTER_SECONDS = 1.5  # the search index is rebuilt once edits have paused this long


def build_preview(
    site: Path, out: Path, base_url: str | None, warn: Say, session: Session, changes: Changes | None,
    check: Callable[[], None] = lambda: None,
) -> BuildResult:
    """A build into `out`, exactly as `digestgen build` would write it plus the reload script.

    With `changes` (an edit), only the content files they name are read again and the search files
    may lag one build behind; without, everything is read and the search files are brought up to
    date. Builds replace changed files one atomic rename at a time and never rewrite a file in
    place, so the server reads `out` directly. This is the preview's one call into the build.
    """
    # One process: forking a process that runs server and watcher threads can deadlock.
    options = BuildOptions(out=out, base_url=base_url, workers=1, private=True)
    try:
        config = configure(site, options, warn)  # the base path decides the script's URL; read once a build
    except DigestgenError:
        if changes is not None:  # the files its burst named were not read: the next build reads them all
            session.missed()
        raise
    options = replace(options, extra_scripts=(script_url(config.base_path),))
    changed = changes.read_only() if changes is not None else None
    return session.build(changed, search=changes is None, options=options, warn=warn, check=check, config=config)


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
        family, address = listen_address(self.host, self.port)
        try:
            httpd = self.httpd = PreviewServer(address, family, self.state, self.script, self.host, self.tell)
        except OSError as exc:
            raise bind_error(self.host, self.port, exc) from None
        if not is_loopback(self.host):
            self.warn(
                f"listening on {self.host}: other machines can reach this preview server; it is for previewing, not for publishing"
            )
        self.workdir = Path(tempfile.mkdtemp(prefix="digestgen-serve-"))
        self.watcher.start()
        self.rebuild(Changes())
        self._spawn(lambda: httpd.serve_forever(poll_interval=0.1), "digestgen-http")
        self._spawn(self._rebuild_loop, "digestgen-rebuild")

    def close(self) -> None:
        self.changes.stop()
        self.state.stop()
        if self.httpd is not None:
            if self._running("digestgen-http"):  # shutdown() waits with no timeout for serve_forever to end
                self.httpd.shutdown()
            self.httpd.server_close()
        self.watcher.stop()
        for thread in self._threads:
            if thread.is_alive():  # a Ctrl-C during start() may have come before it started
                thread.join(timeout=10)
        gc.unfreeze()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _running(self, name: str) -> bool:
        return any(thread.name == name and thread.is_alive() for thread in self._threads)

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
        while (changes := self.changes.next_burst(SEARCH_AFTER_SECONDS if self.search_stale or self.untidy else None)) is not None:
            if changes:
                self.rebuild(changes)
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

    def rebuild(self, changes: Changes) -> Snapshot:
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
            result = build_preview(self.site, served, self.base_url, warnings.append, self.session, changes)
            config = result.config
        except DigestgenError as exc:
            return self._failed(previous, number, str(exc))
        except Exception as exc:  # noqa: BLE001 -- a bug must not stop the preview; say what it was
            return self._failed(previous, number, f"unexpected {type(exc).__name__} while building: {exc}")
        self._report_warnings(warnings)
        self.watcher.use_config(config)
        snapshot = Snapshot(number, served, number, config.base_path)
        self.state.publish(snapshot)
        self.say(f"{changes.describe()}built in {time.perf_counter() - started:.2f} s (build {number})")
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
            build_preview(self.site, served, self.base_url, lambda message: None, self.session, None, self._give_way)
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
