"""Related papers: TF-IDF cosine similarity of title and abstract, computed at build time.

A full computation fits a vocabulary and its weights (smoothed idf, sublinear term frequency,
unit-length rows) on every paper, takes each paper's nearest neighbours, keeps those above a
minimum similarity and within a share of the best one (a paper with no good neighbour gets
fewer or none, never filler), and hands out list places strongest pair first, so that no paper
appears in more than `max_lists` lists (generic "hub" papers would otherwise be everywhere).

An ordinary build keeps what the last computation decided: the vocabulary, the weights, every
paper's vector and its list live in a state file beside the output folder. Only papers that are
new (or whose title or abstract changed) get a list, compared against all the others with the
kept vocabulary; every other list stays as it was, so adding a paper re-renders no old page.
`build --force` computes everything again.

Similarities are rounded to `_SCALE` and ties broken by slug, so lists are byte-identical
whatever PYTHONHASHSEED or the number of cores (scipy's sparse products are single-threaded).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import re
import time
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Iterable, Mapping

import numpy as np
from lunr.stop_word_filter import WORDS as _STOP_WORDS
from scipy import sparse

from digestgen.config import RelatedConfig
from digestgen.model import Paper, Site
from digestgen.search import _EDGE_PUNCTUATION, _LINK, _NUMERIC_NOISE, _LunrJsStemmer

STATE_FORMAT = 1
_SCALE = 100_000  # similarities are compared as whole numbers of 1/100,000
_CANDIDATES = 4  # neighbours considered per list place, so a full hub leaves room for the next
_MAX_COMMON = 0.5  # a term in more than this share of the papers says nothing about likeness
_BLOCK_CELLS = 4_000_000  # similarity cells computed at once (16 MB of float32)
_TITLE_WEIGHT = 2  # the title's words count this many times: short, and chosen with care
_MIN_SHARED = 2  # terms two papers must share: one rare word in common makes short abstracts look alike

# Search splits on whitespace, no-break spaces and hyphens; the Unicode dashes and a line-break
# hyphen left in the text ("pre- trained") are split the same way here.
_SEPARATORS = re.compile(r"[\s\xa0\-\u2010-\u2015]+")
_BROKEN_HYPHEN = re.compile(r"(\w)[\-\u2010\u2011] +(\w)")
# A whitespace-separated chunk with a hyphen in it; anchored at the chunk's start, so it costs one
# pass over the text (an unanchored \w+-\w+ retries inside every word).
_HYPHENATED = re.compile(r"(?<!\S)(?=[^\s\-\u2010\u2011]*[\-\u2010\u2011])\S+")
# Links without a scheme, as abstracts write them: github.com/x/y, x.github.io, huggingface.co/…
_BARE_LINK = re.compile(r"^[\w~-]+(?:\.[\w-]+)+(?:/|$)(?<!\.)")
_DOMAIN_ENDINGS = ("com", "org", "io", "net", "ai", "co", "edu", "dev", "ly", "me")


@dataclass(frozen=True)
class State:
    """What the last computation decided, kept between builds."""

    settings: str  # the settings and format it was made with; other settings mean a full computation
    terms: tuple[str, ...]  # the vocabulary, sorted
    idf: np.ndarray  # float32, one weight a term
    slugs: tuple[str, ...]  # sorted; the rows of `vectors`
    hashes: tuple[str, ...]  # of each paper's title and abstract, to notice an edit
    vectors: sparse.csr_matrix  # float32, unit rows
    lists: Mapping[str, tuple[str, ...]]
    stems: Mapping[str, str] = dataclasses.field(default_factory=dict)  # piece -> stem, so new papers stem fast


# --- Words ------------------------------------------------------------------------------------------


def _is_link(token: str) -> bool:
    if _LINK.search(token):
        return True
    match = _BARE_LINK.match(token)
    return match is not None and ("/" in token or token.rsplit(".", 1)[-1] in _DOMAIN_ENDINGS)


class Words:
    """Search's normalisation of a text: lowercased, split on spaces and hyphens, edge punctuation
    trimmed, links, numeric noise and stop words dropped, Porter-stemmed as lunr.js stems. A
    hyphenated word also counts joined, so "pre-trained" meets "pretrained". One per computation:
    it remembers each piece's stem."""

    def __init__(self, stems: Mapping[str, str] | None = None) -> None:
        self.stemmer = _LunrJsStemmer()
        self.stems: dict[str, str] = dict(stems or {})

    def __call__(self, text: str) -> list[str]:
        text = _BROKEN_HYPHEN.sub(r"\1-\2", text.lower())
        pieces = _SEPARATORS.split(text)
        pieces += [_SEPARATORS.sub("", w) for w in _HYPHENATED.findall(text)]
        stems = self.stems
        for piece in set(pieces).difference(stems):
            stems[piece] = self._stem(piece)
        return [stem for stem in map(stems.__getitem__, pieces) if stem]

    def _stem(self, piece: str) -> str:
        token = _EDGE_PUNCTUATION.sub("", piece)
        if _is_link(piece) or _is_link(token) or len(token) < 2 or _NUMERIC_NOISE.match(token) or token in _STOP_WORDS:
            return ""
        return self.stemmer.stem(token)

    def of(self, paper: Paper) -> list[str]:
        """The title's words (counted _TITLE_WEIGHT times) and the abstract's."""
        return self(paper.title) * _TITLE_WEIGHT + self(paper.text)


def text_hash(paper: Paper) -> str:
    return hashlib.blake2b(f"{paper.title}\0{paper.text}".encode(), digest_size=8).hexdigest()


# --- Vectors ----------------------------------------------------------------------------------------


def fit_vocabulary(documents: list[list[str]]) -> tuple[tuple[str, ...], np.ndarray]:
    """Terms found in two papers or more and in at most half of them, with smoothed idf weights."""
    frequency: Counter[str] = Counter()
    for tokens in documents:
        frequency.update(set(tokens))
    count = len(documents)
    most = max(2, int(_MAX_COMMON * count))
    terms = tuple(sorted(t for t, df in frequency.items() if 2 <= df <= most))
    df = np.array([frequency[t] for t in terms], dtype=np.float64)
    idf = (np.log((1 + count) / (1 + df)) + 1).astype(np.float32)
    return terms, idf


def vectorize(documents: list[list[str]], terms: tuple[str, ...], idf: np.ndarray) -> sparse.csr_matrix:
    """Rows of (1 + ln tf) · idf over the vocabulary, each of unit length (or zero)."""
    column = {t: i for i, t in enumerate(terms)}
    indptr, indices, counts = [0], [], []
    for tokens in documents:
        found = Counter(column[t] for t in tokens if t in column)
        for index in sorted(found):
            indices.append(index)
            counts.append(found[index])
        indptr.append(len(indices))
    cols = np.array(indices, dtype=np.int32)
    data = ((1 + np.log(np.array(counts, dtype=np.float32))) * idf[cols]).astype(np.float32)
    matrix = sparse.csr_matrix((data, cols, np.array(indptr, dtype=np.int64)), shape=(len(documents), len(terms)))
    lengths = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1), dtype=np.float32).ravel())
    lengths[lengths == 0] = 1
    return sparse.csr_matrix(sparse.diags(1 / lengths).dot(matrix), dtype=np.float32)


# --- Neighbours ---------------------------------------------------------------------------------------


def candidates(
    rows: sparse.csr_matrix, own: np.ndarray, everyone: sparse.csr_matrix, settings: RelatedConfig
) -> list[tuple[int, int, int]]:
    """(similarity × _SCALE, source, target) for each row's nearest neighbours that pass the
    minimum and the relative cut; `own` is each row's index among `everyone` (-1 for none)."""
    total = everyone.shape[0]
    keep = min(total - 1, settings.count * _CANDIDATES)
    if keep < 1 or rows.shape[0] == 0:
        return []
    floor = max(1, math.ceil(settings.min_similarity * _SCALE))
    columns = everyone.T.tocsc()
    step = max(1, _BLOCK_CELLS // total)
    terms = _TermSets(everyone)
    found: list[tuple[int, int, int]] = []
    for start in range(0, rows.shape[0], step):
        block = (rows[start : start + step] @ columns).toarray()
        sources = own[start : start + step]
        present = np.nonzero(sources >= 0)[0]
        block[present, sources[present]] = -1  # never one's own neighbour
        kth = np.partition(block, total - keep, axis=1)[:, total - keep]  # each row's keep-th largest
        # Whatever could round to the keep-th score and the floor or above (rounding moves a value by
        # half a step at most); the exact order, by rounded score and then by slug, is decided below.
        bound = np.maximum(kth, floor / _SCALE) - 1 / _SCALE
        hit_rows, hit_cols = np.nonzero(block >= bound[:, None])
        scores = np.rint(block[hit_rows, hit_cols] * _SCALE).astype(np.int64)
        order = np.lexsort((hit_cols, -scores, hit_rows))
        hit_rows, hit_cols, scores = hit_rows[order], hit_cols[order], scores[order]
        edges = np.searchsorted(hit_rows, np.arange(len(block) + 1)).tolist()
        for r in range(len(block)):
            if edges[r] == edges[r + 1]:
                continue
            best = scores[edges[r] : edges[r + 1]][:keep].tolist()
            targets = hit_cols[edges[r] : edges[r + 1]][:keep].tolist()
            cut = max(floor, math.ceil(settings.relative_cut * best[0]))
            mine = set(rows.indices[rows.indptr[start + r] : rows.indptr[start + r + 1]].tolist())
            found += [
                (score, start + r, target)
                for score, target in zip(best, targets)
                if score >= cut and len(mine & terms[target]) >= _MIN_SHARED
            ]
    return found


class _TermSets(dict):
    """Each row's set of term indices, made when first asked for."""

    def __init__(self, matrix: sparse.csr_matrix):
        super().__init__()
        self.matrix = matrix

    def __missing__(self, row: int) -> set[int]:
        found = self[row] = set(self.matrix.indices[self.matrix.indptr[row] : self.matrix.indptr[row + 1]].tolist())
        return found


def assign(
    found: list[tuple[int, int, int]], count: int, max_lists: int, incoming: Counter[int] | None = None
) -> dict[int, list[int]]:
    """List places, strongest pair first: up to `count` a source, each target in at most `max_lists`."""
    incoming = Counter() if incoming is None else incoming
    lists: dict[int, list[int]] = {}
    for _score, source, target in sorted(found, key=lambda f: (-f[0], f[1], f[2])):
        chosen = lists.setdefault(source, [])
        if len(chosen) < count and incoming[target] < max_lists:
            chosen.append(target)
            incoming[target] += 1
    return lists


# --- The build step -------------------------------------------------------------------------------


def settings_text(settings: RelatedConfig) -> str:
    return json.dumps({"format": STATE_FORMAT, **dataclasses.asdict(settings)}, sort_keys=True)


def compute_all(papers: list[Paper], settings: RelatedConfig) -> State:
    """Everything again: vocabulary, weights, vectors and every list."""
    analyse = Words()
    documents = [analyse.of(p) for p in papers]
    terms, idf = fit_vocabulary(documents)
    vectors = vectorize(documents, terms, idf)
    slugs = tuple(p.slug for p in papers)
    found = candidates(vectors, np.arange(len(papers)), vectors, settings)
    chosen = assign(found, settings.count, settings.max_lists)
    lists = {slugs[s]: tuple(slugs[t] for t in targets) for s, targets in sorted(chosen.items())}
    return State(settings_text(settings), terms, idf, slugs, tuple(text_hash(p) for p in papers), vectors, lists, analyse.stems)


def update(state: State, papers: list[Paper], settings: RelatedConfig) -> State:
    """The kept lists for papers the state knows unchanged; new or edited papers get a list against all."""
    known = {slug: i for i, slug in enumerate(state.slugs)}
    hashes = [text_hash(p) for p in papers]
    fresh = [i for i, (p, h) in enumerate(zip(papers, hashes)) if p.slug not in known or state.hashes[known[p.slug]] != h]
    slugs = tuple(p.slug for p in papers)
    present = set(slugs)
    fresh_slugs = {slugs[i] for i in fresh}
    if all(slug in present for slug in state.slugs):
        lists = {slug: kept for slug, kept in state.lists.items() if slug not in fresh_slugs}
    else:  # papers were removed: they leave every list
        lists = {
            slug: tuple(s for s in kept if s in present)
            for slug, kept in state.lists.items()
            if slug in present and slug not in fresh_slugs
        }
    if not fresh and len(present) == len(state.slugs):
        return state  # the very same: nothing to write
    analyse = Words(state.stems)
    new_rows = vectorize([analyse.of(papers[i]) for i in fresh], state.terms, state.idf)
    is_fresh = set(fresh)
    kept_rows = [i for i in range(len(papers)) if i not in is_fresh]
    vectors = _rows_in_order(state, papers, kept_rows, known, fresh, new_rows)
    index = {slug: i for i, slug in enumerate(slugs)}
    incoming: Counter[int] = Counter(index[t] for targets in lists.values() for t in targets)
    found = candidates(new_rows, np.array(fresh, dtype=np.int64), vectors, settings)
    found = [(score, fresh[source], target) for score, source, target in found]
    chosen = assign(found, settings.count, settings.max_lists, incoming)
    lists.update({slugs[s]: tuple(slugs[t] for t in targets) for s, targets in chosen.items()})
    lists.update({slugs[i]: () for i in fresh if slugs[i] not in lists})
    return State(state.settings, state.terms, state.idf, slugs, tuple(hashes), vectors, dict(sorted(lists.items())), analyse.stems)


def _rows_in_order(
    state: State, papers: list[Paper], kept: list[int], known: dict[str, int], fresh: list[int], new_rows: sparse.csr_matrix
) -> sparse.csr_matrix:
    """The kept vectors and the new ones, one row per paper in the papers' order."""
    old = state.vectors[[known[papers[i].slug] for i in kept]]
    stacked = sparse.vstack([old, new_rows], format="csr", dtype=np.float32)
    position = np.empty(len(papers), dtype=np.int64)
    position[kept + fresh] = np.arange(len(papers))
    return stacked[position]


def related_lists(site: Site, state: State | None, force: bool = False) -> State:
    """The state after this build: updated from `state` unless forced, absent or made otherwise."""
    papers = list(site.papers.values())  # sorted by slug
    settings = site.config.related
    if force or state is None or state.settings != settings_text(settings) or not state.slugs:
        return compute_all(papers, settings)
    return update(state, papers, settings)


def relate_site(site: Site, out: Path, force: bool = False, timings: dict[str, float] | None = None) -> Site:
    """The site with every paper's related list; the kept state beside `out` is read and replaced."""
    started = time.perf_counter()
    path = state_path(out)
    kept = None if force else load_state(path)
    state = related_lists(site, kept, force)
    if state is not kept:
        save_state(path, state)
    if timings is not None:
        timings["related"] = time.perf_counter() - started
    return dataclasses.replace(site, related=MappingProxyType(dict(state.lists)))


# --- The kept state -------------------------------------------------------------------------------


def state_path(out: Path) -> Path:
    """Beside the output folder, like the build's lock: it holds every vector, which is not for publishing."""
    out = out.absolute()
    return out.parent / f".{out.name}.digestgen-related.npz"


def _joined(items: Iterable[str]) -> np.ndarray:
    return np.frombuffer("\n".join(items).encode("utf-8"), dtype=np.uint8)


def _split(array: np.ndarray) -> tuple[str, ...]:
    text = array.tobytes().decode("utf-8")
    return tuple(text.split("\n")) if text else ()


def save_state(path: Path, state: State) -> None:
    """Written whole to a temporary file and renamed over the old one."""
    index = {slug: i for i, slug in enumerate(state.slugs)}
    owners = [index[s] for s in state.lists]
    lengths = [len(targets) for targets in state.lists.values()]
    targets = [index[t] for kept in state.lists.values() for t in kept]
    temporary = path.with_name(path.name + f".{os.getpid()}.tmp")
    path.parent.mkdir(parents=True, exist_ok=True)  # the output folder's parent may not exist before the first build
    with open(temporary, "wb") as handle:
        np.savez(
            handle,
            settings=_joined([state.settings]),
            terms=_joined(state.terms),
            idf=state.idf,
            slugs=_joined(state.slugs),
            hashes=_joined(state.hashes),
            data=state.vectors.data,
            indices=state.vectors.indices,
            indptr=state.vectors.indptr,
            owners=np.array(owners, dtype=np.int64),
            lengths=np.array(lengths, dtype=np.int64),
            targets=np.array(targets, dtype=np.int64),
            pieces=_joined(state.stems),
            stems=_joined(state.stems.values()),
        )
    os.replace(temporary, path)


def load_state(path: Path) -> State | None:
    """The kept state, or None when there is none or it cannot be read (then all is computed again)."""
    try:
        with np.load(path, allow_pickle=False) as saved:
            slugs, terms = _split(saved["slugs"]), _split(saved["terms"])
            vectors = sparse.csr_matrix((saved["data"], saved["indices"], saved["indptr"]), shape=(len(slugs), len(terms)))
            named = [slugs[t] for t in saved["targets"].tolist()]
            lists, start = {}, 0
            for owner, length in zip(saved["owners"].tolist(), saved["lengths"].tolist()):
                lists[slugs[owner]] = tuple(named[start : start + length])
                start += length
            stems = dict(zip(_split(saved["pieces"]), _split(saved["stems"])))
            state = State(_split(saved["settings"])[0], terms, saved["idf"], slugs, _split(saved["hashes"]), vectors, lists, stems)
    except (OSError, ValueError, KeyError, IndexError, UnicodeDecodeError, zipfile.BadZipFile):
        return None
    return state if len(state.hashes) == len(slugs) and len(state.idf) == len(terms) else None
