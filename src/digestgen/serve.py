"""`digestgen serve`: build the site into a private folder, serve it on loopback, rebuild on change.

The preview lives in three rooms: serve_http.py (requests and responses; knows nothing of
builds), watch.py (watchdog, the debounce, what a change asks of the build) and preview.py (lifecycle and the
rebuild and catch-up policy). Which files are content is layout.py's rule. This module is the
command's entry point; the rooms' other parts are imported from their own modules.
"""

from __future__ import annotations

from digestgen.preview import serve

__all__ = ["serve"]
