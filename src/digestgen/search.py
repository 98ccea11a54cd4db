"""The prebuilt search: a lunr index (lunr.py, read by lunr.js 2.3.x) and a compact result store."""

from __future__ import annotations

import json
from typing import Any

from lunr import lunr

from digestgen import urls
from digestgen.model import Paper, Site
from digestgen.views import snippet

INDEX_PATH = "search/index.json"
STORE_PATH = "search/store.json"
TITLE_BOOST = 10
STORE_SNIPPET = 200
FIELDS = [{"field_name": "title", "boost": TITLE_BOOST}, "tags", "abstract"]


def ordered_papers(site: Site) -> list[Paper]:
    """The order that gives each paper its short numeric reference: newest first."""
    return sorted(site.papers.values(), key=lambda p: p.sort_key, reverse=True)


def _document(ref: int, paper: Paper, labels: dict[str, str]) -> dict[str, str]:
    return {
        "id": str(ref),
        "title": paper.title,
        "tags": " ".join(labels.get(t, t) for t in paper.tags),
        "abstract": paper.text,
    }


def build_index(site: Site) -> dict[str, Any]:
    labels = {t.slug: t.label for t in site.tags}
    documents = [_document(ref, paper, labels) for ref, paper in enumerate(ordered_papers(site))]
    return lunr(ref="id", fields=FIELDS, documents=documents).serialize()


def build_store(site: Site) -> dict[str, Any]:
    """What a result shows, by reference: title, path, date, tags, snippet."""
    docs = [
        [p.title, urls.paper(p.slug), p.published.isoformat() if p.published else "", list(p.tags), snippet(p.text, STORE_SNIPPET)]
        for p in ordered_papers(site)
    ]
    return {"fields": ["title", "path", "date", "tags", "snippet"], "tags": {t.slug: t.label for t in site.tags}, "docs": docs}


def compact_json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def search_outputs(site: Site) -> list[tuple[str, bytes]]:
    return [(INDEX_PATH, compact_json(build_index(site))), (STORE_PATH, compact_json(build_store(site)))]
