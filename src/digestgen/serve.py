"""`digestgen serve`: build the site into a private folder, serve it on loopback, rebuild on change.

The preview lives in three rooms: serve_http.py (requests and responses; knows nothing of
builds), watch.py (watchdog, the debounce, the kinds of change) and preview.py (lifecycle and the
rebuild and catch-up policy). Which files are content is layout.py's rule. This module is the
command's entry point and names the rooms' public parts together.
"""

from __future__ import annotations

from digestgen.layout import is_temp_file
from digestgen.preview import SEARCH_AFTER_SECONDS, Preview, build_preview, serve
from digestgen.serve_http import BadRequest, BuildState, Snapshot, host_allowed, locate, request_path
from digestgen.watch import QUIET_SECONDS, ChangeQueue, Changes, SourceWatcher

__all__ = [
    "QUIET_SECONDS", "SEARCH_AFTER_SECONDS", "BadRequest", "BuildState", "ChangeQueue", "Changes", "Preview", "Snapshot",
    "SourceWatcher", "build_preview", "host_allowed", "is_temp_file", "locate", "request_path", "serve",
]
