"""The preview's watching room: watchdog on the site's sources, the debounce, and what each event
asks of the build: nothing (no build reads the file), to read the changed file again, or a rescan
when a content folder itself came, went or moved. Which files are content is layout's rule.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from watchdog import events as fs_events
from watchdog.observers import Observer

from digestgen.config import CONFIG_NAME, Config
from digestgen.layout import (
    CONTENT_DIR,
    RESCAN,
    SOURCE_DIRS,
    STATIC_DIR,
    TEMPLATES_DIR,
    content_change,
    is_temp_file,
)

# What a change asks of the build, besides RESCAN (read every content file again): to read this file again.
CHANGED = "changed"
QUIET_SECONDS = 0.1  # a burst of file events is over after this long without a new one (a save takes milliseconds)
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


@dataclass(frozen=True)
class Changes:
    """One burst of changes: each changed path (absolute, as the watcher saw it), CHANGED or RESCAN, by path."""

    paths: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.paths)

    @property
    def rescan(self) -> bool:
        return RESCAN in self.paths.values()

    def read_only(self) -> list[str] | None:
        """The paths a build need read again, or None when it must read every content file (a rescan)."""
        return None if self.rescan else list(self.paths)

    def describe(self) -> str:
        """The start of the preview's "... changed; rebuilt in" line ("" for the first build)."""
        if not self.paths:
            return ""
        first = Path(next(iter(self.paths))).name
        more = f" and {len(self.paths) - 1} more" if len(self.paths) > 1 else ""
        return f"{first}{more} changed; re"


class ChangeQueue:
    """Collects changes and hands them over once a burst has been quiet for QUIET_SECONDS."""

    def __init__(self, quiet: float = QUIET_SECONDS):
        self._condition = threading.Condition()
        self._quiet = quiet
        self._paths: dict[str, str] = {}
        self._last: float | None = None
        self._stopped = False

    def add(self, path: str, kind: str = RESCAN) -> None:
        """Note that `path` changed: `kind` is CHANGED, or RESCAN (look at every source again)."""
        with self._condition:
            if self._paths.get(path) != RESCAN:  # a folder that came and went is still a rescan
                self._paths[path] = kind
            self._last = time.monotonic()
            self._condition.notify_all()

    def pending(self) -> bool:
        with self._condition:
            return self._last is not None

    def next_burst(self, idle: float | None = None) -> Changes | None:
        """Block until a burst is over and return its changes; None when stopping.

        With `idle`, return no changes (a false Changes) when nothing at all happened for that many seconds.
        """
        with self._condition:
            if not self._condition.wait_for(lambda: self._stopped or self._last is not None, idle):
                return Changes()
            while not self._stopped:
                assert self._last is not None
                remaining = self._last + self._quiet - time.monotonic()
                if remaining <= 0:
                    break
                self._condition.wait(remaining)
            if self._stopped:
                return None
            changes = Changes(dict(sorted(self._paths.items())))
            self._paths, self._last = {}, None
            return changes

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
            kind = self.kind_of(Path(_text(path)), event.is_directory) if path else None
            if kind is not None:
                self.changes.add(_text(path), kind)

    def kind_of(self, path: Path, is_directory: bool = False) -> str | None:
        """What a change at `path` asks of the build: CHANGED, RESCAN, or None when no build reads it."""
        if is_temp_file(path.name):
            return None
        if self.taxonomy is not None and path == self.taxonomy:
            return CHANGED
        try:
            parts = path.relative_to(self.site).parts
        except ValueError:
            return None
        if not parts or any(is_temp_file(part) for part in parts):
            return None
        if parts == (CONFIG_NAME,) or parts[0] in (TEMPLATES_DIR, STATIC_DIR):
            return CHANGED
        if is_directory and parts[0] == CONTENT_DIR:
            return RESCAN  # a folder under content/ came, went or moved: read it all again
        content = content_change(parts)  # a content file's folder, RESCAN or None
        return content if content in (None, RESCAN) else CHANGED


def _identity(folder: Path) -> tuple[int, int]:
    try:
        info = folder.stat()
    except OSError:
        return (0, 0)
    return (info.st_dev, info.st_ino)


def _text(path: str | bytes) -> str:
    return path.decode("utf-8", "surrogateescape") if isinstance(path, bytes) else path
