"""Computing the search files pauses Python's cyclic garbage collector, and gives it back as it was.

The pause is for speed (bench/search_build.py: about a third of the index's CPU time at 50,000
papers); a build that left the collector off would keep every later cycle of garbage until exit.
"""

from __future__ import annotations

import gc

from digestgen import search
from digestgen.build import load_and_tag
from digestgen.config import load_config


def test_the_collector_is_paused_while_the_files_are_made_and_restored_after(seed_site, monkeypatch):
    config, _ = load_config(seed_site)
    loaded = load_and_tag(seed_site, config, {})
    layout = search.ShardLayout(len(loaded.papers), len(loaded.tags))
    seen: list[bool] = []
    real = search._store_docs
    monkeypatch.setattr(search, "_store_docs", lambda site: seen.append(gc.isenabled()) or real(site))
    assert gc.isenabled()
    search.build_store_parts(loaded, layout)
    search.build_store(loaded)
    assert gc.isenabled() and seen == [False, False]
    assert search.build_index_parts(loaded, layout) and gc.isenabled()
    gc.disable()
    try:
        search.build_store(loaded)
        assert not gc.isenabled()  # a caller's own choice is kept
    finally:
        gc.enable()
