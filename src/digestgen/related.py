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
`build --force` computes everything again. The state file is the full computation's record (the
base) followed by one appended part per ordinary build that changed something (its new rows and
changed lists), so a build writes what it changed, not the whole; every few dozen parts it is
written whole again.

Similarities are rounded to `_SCALE` and ties broken by slug, so lists are byte-identical
whatever PYTHONHASHSEED or the number of cores (scipy's sparse products are single-threaded).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import itertools
import json
import math
import os
import re
import struct
import time
import zipfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Iterable, Mapping

import numpy as np
from lunr.stop_word_filter import WORDS as _STOP_WORDS
from scipy import sparse

from digestgen import __version__
from digestgen.config import RelatedConfig
from digestgen.model import Paper, Site
from digestgen.search import _EDGE_PUNCTUATION, _LINK, _NUMERIC_NOISE, _LunrJsStemmer

STATE_FORMAT = 2
_SCALE = 100_000  # similarities are compared as whole numbers of 1/100,000
_CANDIDATES = 4  # neighbours considered per list place, so a full hub leaves room for the next
_MAX_COMMON = 0.5  # a term in more than this share of the papers says nothing about likeness
_BLOCK_CELLS = 4_000_000  # similarity cells computed at once (16 MB of float32)
_TITLE_WEIGHT = 2  # the title's words count this many times: short, and chosen with care
_MIN_SHARED = 2  # terms two papers must share: one rare word in common makes short abstracts look alike
_MAX_PARTS = 32  # parts appended to the state file before it is written whole again
_MAX_DEAD = 0.125  # share of rows left by removed or edited papers before it is written whole again

# Search splits on whitespace, no-break spaces and hyphens; the Unicode dashes and a line-break
# hyphen left in the text ("pre- trained") are split the same way here.
_SEPARATORS = re.compile(r"[\s\xa0\-\u2010-\u2015]+")
_BROKEN_HYPHEN = re.compile(r"(\w)[\-\u2010\u2011] +(\w)")
_HYPHENS = re.compile(r"[\-\u2010\u2011]")  # a chunk with one of these also counts joined
# A hyphenated chunk joined: what _SEPARATORS.sub("", chunk) leaves of it (a chunk has no whitespace).
_JOINED = str.maketrans("", "", "-\u2010\u2011\u2012\u2013\u2014\u2015")
# Links without a scheme, as abstracts write them: github.com/x/y, x.github.io, huggingface.co/…
_BARE_LINK = re.compile(r"^[\w~-]+(?:\.[\w-]+)+(?:/|$)(?<!\.)")
_DOMAIN_ENDINGS = ("com", "org", "io", "net", "ai", "co", "edu", "dev", "ly", "me")


@dataclass(frozen=True)
class Rows:
    """Papers' vectors with what tells an edit: the full computation's rows, or those a build added."""

    slugs: tuple[str, ...]
    files: tuple[str, ...]  # file_key of each paper: a file read again unchanged needs no hashing
    hashes: tuple[str, ...]  # text_hash of each paper's title and abstract, to notice an edit
    vectors: sparse.csr_matrix  # float32, unit rows


@dataclass(frozen=True)
class Part:
    """What one ordinary build changed, appended to the state file."""

    rows: Rows  # new papers and the new text of edited ones
    dead: np.ndarray  # int64: earlier rows no paper has any more (removed, or edited: the new text has a new row)
    refreshed: Mapping[int, str]  # row -> file_key, for files read again whose title and abstract did not change
    lists: Mapping[str, tuple[str, ...]]  # every list this build made or changed, whole
    dropped: tuple[str, ...]  # removed papers: their lists go
    stems: Mapping[str, str]  # pieces first met in this build


@dataclass(frozen=True)
class State:
    """What the last computation decided, kept between builds."""

    settings: str  # the settings and format it was made with; other settings mean a full computation
    terms: tuple[str, ...]  # the vocabulary, sorted
    idf: np.ndarray  # float32, one weight a term
    rows: Rows  # sorted by slug after a full computation; rows added later follow in the order added
    alive: np.ndarray  # bool, one a row: false for a row no paper has any more
    lists: Mapping[str, tuple[str, ...]]
    stems: Mapping[str, str] = dataclasses.field(default_factory=dict)  # piece -> stem, so new papers stem fast

    @property
    def slugs(self) -> tuple[str, ...]:
        return self.rows.slugs

    @property
    def vectors(self) -> sparse.csr_matrix:
        return self.rows.vectors


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
        text = text.lower()
        if "- " in text or "\u2010 " in text or "\u2011 " in text:  # what _BROKEN_HYPHEN needs, found quicker
            text = _BROKEN_HYPHEN.sub(r"\1-\2", text)
        pieces = _SEPARATORS.split(text)
        if _HYPHENS.search(text) is not None:  # most titles have none
            # Each whitespace-separated chunk with a hyphen, joined: str.split and the regular
            # expressions' \s agree on what whitespace is.
            pieces += [chunk.translate(_JOINED) for chunk in text.split() if _HYPHENS.search(chunk)]
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


def file_key(paper: Paper) -> str:
    """The load stage's fingerprint of the paper's file, with the version that read it (which decides
    the title and text made of the same bytes); "" when unknown."""
    return f"{__version__}:{paper.fingerprint}" if paper.fingerprint else ""


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
    sizes = [len(tokens) for tokens in documents]
    found = np.fromiter((column.get(t, -1) for tokens in documents for t in tokens), dtype=np.int64, count=sum(sizes))
    row = np.repeat(np.arange(len(documents), dtype=np.int64), sizes)
    known = found >= 0
    width = max(1, len(terms))
    # One number per (row, term), so that counting them also sorts them as CSR wants: by row, then by term.
    cells, counts = np.unique(row[known] * width + found[known], return_counts=True)
    cols = (cells % width).astype(np.int32)
    indptr = np.zeros(len(documents) + 1, dtype=np.int64)
    np.cumsum(np.bincount(cells // width, minlength=len(documents)), out=indptr[1:])
    data = ((1 + np.log(counts.astype(np.float32))) * idf[cols]).astype(np.float32)
    matrix = sparse.csr_matrix((data, cols, indptr), shape=(len(documents), len(terms)))
    lengths = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1), dtype=np.float32).ravel())
    lengths[lengths == 0] = 1
    return sparse.csr_matrix(sparse.diags(1 / lengths).dot(matrix), dtype=np.float32)


# --- Neighbours ---------------------------------------------------------------------------------------


def candidates(
    rows: sparse.csr_matrix,
    own: np.ndarray,
    everyone: sparse.csr_matrix,
    settings: RelatedConfig,
    rank: np.ndarray | None = None,
    alive: np.ndarray | None = None,
    workers: int = 1,
) -> list[tuple[int, int, int]]:
    """(similarity × _SCALE, source, target) for each row's nearest neighbours that pass the
    minimum and the relative cut; `own` is each row's index among `everyone` (-1 for none).
    Equal scores go to the target first in `rank` (each row's place in slug order; by default
    the rows are in slug order); rows not `alive` are nobody's neighbour. Blocks of rows are
    worked on by up to `workers` threads (scipy and numpy let go of the GIL for their loops);
    each block's sums are the same whichever thread does them, so the result is too."""
    total = everyone.shape[0]
    dead = np.zeros(0, dtype=np.int64) if alive is None else np.flatnonzero(~alive)
    keep = min(total - len(dead) - 1, settings.count * _CANDIDATES)
    if keep < 1 or rows.shape[0] == 0:
        return []
    rank = np.arange(total) if rank is None else rank
    floor = max(1, math.ceil(settings.min_similarity * _SCALE))
    row_terms = _term_sets(rows)
    search = _Search(rows, own, everyone, settings, rank, dead, keep, floor, row_terms,
                     row_terms if rows is everyone else _term_sets(everyone))
    threads = max(1, min(workers, rows.shape[0] * total // _BLOCK_CELLS))
    step = max(1, _BLOCK_CELLS // (total * threads))  # the blocks in flight together take _BLOCK_CELLS
    starts = range(0, rows.shape[0], step)
    if threads > 1:
        with ThreadPoolExecutor(threads) as pool:
            found = list(pool.map(lambda start: search.block(start, step), starts))  # in the order of the blocks
    else:
        found = [search.block(start, step) for start in starts]
    return list(itertools.chain.from_iterable(found))


@dataclass(frozen=True)
class _Search:
    """What every block of candidates() reads."""

    rows: sparse.csr_matrix
    own: np.ndarray
    everyone: sparse.csr_matrix
    settings: RelatedConfig
    rank: np.ndarray
    dead: np.ndarray
    keep: int  # candidates a row
    floor: int  # the minimum similarity × _SCALE
    words: sparse.csr_matrix  # the terms of each of `rows`, as ones
    everyones_words: sparse.csr_matrix

    def block(self, start: int, step: int) -> list[tuple[int, int, int]]:
        """The candidates of rows start .. start + step."""
        total, keep, floor, rank = self.everyone.shape[0], self.keep, self.floor, self.rank
        # Sparse by dense, one column a source: the same sums in the same order of terms as sparse by
        # sparse, so the same bits, and several times faster (almost every pair shares some term).
        block = np.ascontiguousarray((self.everyone @ self.rows[start : start + step].T.toarray()).T)
        sources = self.own[start : start + step]
        present = np.nonzero(sources >= 0)[0]
        block[present, sources[present]] = -1  # never one's own neighbour
        block[:, self.dead] = -1
        kth = np.partition(block, total - keep, axis=1)[:, total - keep]  # each row's keep-th largest
        # Whatever could round to the keep-th score and the floor or above (rounding moves a value by
        # half a step at most); the exact order, by rounded score and then by slug, is decided below.
        bound = np.maximum(kth, floor / _SCALE) - 1 / _SCALE
        hit_rows, hit_cols = np.nonzero(block >= bound[:, None])
        scores = np.rint(block[hit_rows, hit_cols] * _SCALE).astype(np.int64)
        order = np.lexsort((rank[hit_cols], -scores, hit_rows))
        hit_rows, hit_cols, scores = hit_rows[order], hit_cols[order], scores[order]
        # Each row's first `keep` (its best), those within the relative cut of its best and sharing
        # enough terms with it.
        first = np.searchsorted(hit_rows, np.arange(len(block) + 1))[hit_rows]
        cut = np.maximum(floor, np.ceil(self.settings.relative_cut * scores[first].astype(np.float64)).astype(np.int64))
        chosen = (np.arange(len(hit_rows)) - first < keep) & (scores >= cut)
        hit_rows, hit_cols, scores = hit_rows[chosen], hit_cols[chosen], scores[chosen]
        chosen = _shared_terms(self.words[start + hit_rows], self.everyones_words[hit_cols]) >= _MIN_SHARED
        return list(zip(scores[chosen].tolist(), (start + hit_rows[chosen]).tolist(), hit_cols[chosen].tolist()))


def _term_sets(matrix: sparse.csr_matrix) -> sparse.csr_matrix:
    """Which terms each row has, as ones."""
    return sparse.csr_matrix((np.ones(matrix.nnz, dtype=np.int32), matrix.indices, matrix.indptr), shape=matrix.shape)


def _shared_terms(left: sparse.csr_matrix, right: sparse.csr_matrix) -> np.ndarray:
    """How many terms each row of `left` has in common with the same row of `right` (both of ones)."""
    return np.asarray(left.multiply(right).sum(axis=1)).ravel()


def assign(
    found: list[tuple[int, int, int]], count: int, max_lists: int, incoming: Counter[int] | None = None
) -> dict[int, list[int]]:
    """List places, strongest pair first: up to `count` a source, each target in at most `max_lists`."""
    incoming = Counter() if incoming is None else incoming
    lists: dict[int, list[int]] = {}
    for _score, source, target in sorted((-score, source, target) for score, source, target in found):
        chosen = lists.setdefault(source, [])
        if len(chosen) < count and incoming[target] < max_lists:
            chosen.append(target)
            incoming[target] += 1
    return lists


# --- The build step -------------------------------------------------------------------------------


def settings_text(settings: RelatedConfig) -> str:
    return json.dumps({"format": STATE_FORMAT, **dataclasses.asdict(settings)}, sort_keys=True)


def compute_all(papers: list[Paper], settings: RelatedConfig, workers: int = 1) -> State:
    """Everything again: vocabulary, weights, vectors and every list."""
    analyse = Words()
    documents = [analyse.of(p) for p in papers]
    terms, idf = fit_vocabulary(documents)
    vectors = vectorize(documents, terms, idf)
    slugs = tuple(p.slug for p in papers)
    found = candidates(vectors, np.arange(len(papers)), vectors, settings, workers=workers)
    chosen = assign(found, settings.count, settings.max_lists)
    lists = {slugs[s]: tuple(slugs[t] for t in targets) for s, targets in sorted(chosen.items())}
    rows = Rows(slugs, tuple(map(file_key, papers)), tuple(map(text_hash, papers)), vectors)
    return State(settings_text(settings), terms, idf, rows, np.ones(len(papers), dtype=bool), lists, analyse.stems)


@dataclass(frozen=True)
class _Comparison:
    """How the papers of this build stand against the kept state."""

    fresh: list[int]  # papers (by index) to relate: new, or with an edited title or abstract
    placed: list[int]  # each paper's row in the state, -1 for the fresh ones
    dead: list[int]  # rows no paper has any more
    refreshed: dict[int, str]  # row -> file_key: the file was read again, its title and abstract are as they were
    removed: set[str]  # slugs of papers no longer in the site


def compare(state: State, papers: list[Paper]) -> _Comparison:
    """A paper whose file the state knows (same fingerprint) is unchanged without hashing its text."""
    live = {state.slugs[row]: row for row in np.flatnonzero(state.alive).tolist()}
    files, hashes = state.rows.files, state.rows.hashes
    fresh: list[int] = []
    placed: list[int] = []
    dead: list[int] = []
    refreshed: dict[int, str] = {}
    for i, paper in enumerate(papers):
        row = live.pop(paper.slug, -1)
        key = file_key(paper)
        if row >= 0 and not (key and key == files[row]):
            if text_hash(paper) == hashes[row]:
                if key:
                    refreshed[row] = key
            else:  # edited: its new text gets a new row
                dead.append(row)
                row = -1
        if row < 0:
            fresh.append(i)
        placed.append(row)
    dead += live.values()
    return _Comparison(fresh, placed, sorted(dead), refreshed, {state.slugs[row] for row in live.values()})


def update(state: State, papers: list[Paper], settings: RelatedConfig, workers: int = 1) -> tuple[State, Part | None]:
    """The kept lists for papers the state knows unchanged; new or edited papers get a list against all.
    Also returns what changed, to be appended to the state file (None: nothing did)."""
    seen = compare(state, papers)
    if not seen.fresh and not seen.dead and not seen.refreshed:
        return state, None  # the very same: nothing to write
    fresh = [papers[i] for i in seen.fresh]
    fresh_slugs = {p.slug for p in fresh}
    filtered = {}  # removed papers leave every list that stays
    if seen.removed:
        filtered = {
            owner: tuple(s for s in kept if s not in seen.removed)
            for owner, kept in state.lists.items()
            if owner not in seen.removed and owner not in fresh_slugs and not seen.removed.isdisjoint(kept)
        }
    # Places each paper holds in the lists that stay: counted over all, then the lists that go or change.
    incoming = Counter(itertools.chain.from_iterable(state.lists.values()))
    for owner in (fresh_slugs | seen.removed) & state.lists.keys():
        incoming.subtract(state.lists[owner])
    for owner, kept in filtered.items():
        incoming.subtract(state.lists[owner])
        incoming.update(kept)
    analyse = Words(state.stems)
    if fresh:
        vectors = vectorize([analyse.of(p) for p in fresh], state.terms, state.idf)
    else:
        vectors = sparse.csr_matrix((0, len(state.terms)), dtype=np.float32)
    new_rows = Rows(tuple(p.slug for p in fresh), tuple(map(file_key, fresh)), tuple(map(text_hash, fresh)), vectors)
    dead = np.array(seen.dead, dtype=np.int64)
    rows, alive = _grown(state.rows, state.alive, [(new_rows, dead, seen.refreshed)])
    first = len(state.slugs)
    placed = np.array(seen.placed, dtype=np.int64)
    placed[seen.fresh] = np.arange(first, first + len(fresh))
    rank = np.zeros(len(rows.slugs), dtype=np.int64)
    rank[placed] = np.arange(len(papers))  # ties go by slug, as in a full computation
    found = candidates(vectors, np.arange(first, first + len(fresh)), rows.vectors, settings, rank, alive, workers)
    named = [(score, rows.slugs[first + source], rows.slugs[target]) for score, source, target in found]
    chosen = assign(named, settings.count, settings.max_lists, incoming)  # slugs sort as their ranks do
    made = {**filtered, **{p.slug: tuple(chosen.get(p.slug, ())) for p in fresh}}
    stems = {piece: analyse.stems[piece] for piece in sorted(analyse.stems.keys() - state.stems.keys())}
    part = Part(new_rows, dead, seen.refreshed, made, tuple(sorted(seen.removed & state.lists.keys())), stems)
    lists = _applied_lists(state.lists, [part])
    return State(state.settings, state.terms, state.idf, rows, alive, lists, analyse.stems), part


def apply(state: State, parts: list[Part]) -> State:
    """The state after the builds that appended `parts`, in order."""
    if not parts:
        return state
    rows, alive = _grown(state.rows, state.alive, [(p.rows, p.dead, p.refreshed) for p in parts])
    stems = dict(state.stems)
    for part in parts:
        stems.update(part.stems)
    return State(state.settings, state.terms, state.idf, rows, alive, _applied_lists(state.lists, parts), stems)


def _grown(
    rows: Rows, alive: np.ndarray, added: list[tuple[Rows, np.ndarray, Mapping[int, str]]]
) -> tuple[Rows, np.ndarray]:
    """The rows with each (new rows, rows that died, refreshed file keys) of `added` applied in order."""
    slugs, files, hashes, blocks = list(rows.slugs), list(rows.files), list(rows.hashes), [rows.vectors]
    for new, dead, refreshed in added:
        for row, key in refreshed.items():
            files[row] = key
        alive = np.concatenate([alive, np.ones(len(new.slugs), dtype=bool)])
        alive[dead] = False
        slugs += new.slugs
        files += new.files
        hashes += new.hashes
        blocks.append(new.vectors)
    blocks = [block for block in blocks if block.shape[0]] or blocks[:1]
    vectors = blocks[0] if len(blocks) == 1 else sparse.vstack(blocks, format="csr", dtype=np.float32)
    return Rows(tuple(slugs), tuple(files), tuple(hashes), vectors), alive


def _applied_lists(lists: Mapping[str, tuple[str, ...]], parts: list[Part]) -> dict[str, tuple[str, ...]]:
    lists = dict(lists)
    for part in parts:
        for owner in part.dropped:
            lists.pop(owner, None)
        lists.update(part.lists)
    return lists


def compacted(state: State) -> State:
    """The same state with only the living rows, in slug order, as a full computation leaves it."""
    if state.alive.all() and list(state.slugs) == sorted(state.slugs):
        return state
    order = sorted(np.flatnonzero(state.alive).tolist(), key=state.slugs.__getitem__)

    def pick(items: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(items[row] for row in order)

    rows = Rows(pick(state.rows.slugs), pick(state.rows.files), pick(state.rows.hashes), state.vectors[order])
    return dataclasses.replace(state, rows=rows, alive=np.ones(len(order), dtype=bool))


def related_lists(site: Site, state: State | None, force: bool = False, workers: int = 1) -> tuple[State, Part | None]:
    """The state after this build: updated from `state` unless forced, absent or made otherwise;
    with what an update changed (None after a full computation, or when nothing did)."""
    papers = list(site.papers.values())  # sorted by slug
    settings = site.config.related
    if force or state is None or state.settings != settings_text(settings) or not state.alive.any():
        return compute_all(papers, settings, workers), None
    return update(state, papers, settings, workers)


def relate_site(
    site: Site, out: Path, force: bool = False, timings: dict[str, float] | None = None, workers: int = 1
) -> Site:
    """The site with every paper's related list; the kept state beside `out` is read, and added to or replaced.
    The similarities are worked out in up to `workers` threads."""
    started = time.perf_counter()
    path = state_path(out)
    kept = None if force else load_state(path)
    state, part = related_lists(site, kept.state if kept else None, force, workers)
    if kept is None or part is None:
        if kept is None or state is not kept.state:
            save_state(path, state)
    elif kept.parts + 1 >= _MAX_PARTS or np.count_nonzero(~state.alive) > _MAX_DEAD * len(state.alive):
        save_state(path, state)  # written whole, so that reading it stays quick
    else:
        append_part(path, kept, part, state)
    if timings is not None:
        timings["related"] = time.perf_counter() - started
    return dataclasses.replace(site, related=MappingProxyType(dict(state.lists)))


# --- The kept state -------------------------------------------------------------------------------
#
# One file: _MAGIC, then records, each a kind (b"BASE" first, then b"PART"s), the payload's length
# and the payload, an uncompressed .npz (whose zip entries carry a CRC-32 that numpy checks on
# reading). The base is written whole to a temporary file and renamed over the old one; a part is
# appended in place, so a build that stops while appending leaves an incomplete last record: it is
# not read (the state is then what the previous build left, which is complete) and the next part
# is written over it.

_MAGIC = b"digestgen related state\n"
_RECORD = struct.Struct("<4sQ")  # kind, payload length
_UNREADABLE = (OSError, ValueError, KeyError, IndexError, TypeError, UnicodeDecodeError, EOFError, zipfile.BadZipFile)


@dataclass(frozen=True)
class Stored:
    """A state as read from its file, with where the next part goes."""

    state: State
    end: int  # bytes of the file that were read as complete records
    parts: int  # parts after the base
    identity: tuple[int, int]  # device and inode, to notice a file replaced since


def state_path(out: Path) -> Path:
    """Beside the output folder, like the build's lock: it holds every vector, which is not for publishing."""
    out = out.absolute()
    return out.parent / f".{out.name}.digestgen-related"


def _put_strings(arrays: dict[str, np.ndarray], name: str, items: Iterable[str]) -> None:
    items = list(items)
    arrays[name] = np.frombuffer("\n".join(items).encode("utf-8"), dtype=np.uint8)
    arrays[f"{name}_count"] = np.array([len(items)], dtype=np.int64)


def _strings(saved: Mapping[str, np.ndarray], name: str) -> tuple[str, ...]:
    count = int(saved[f"{name}_count"][0])
    items = tuple(saved[name].tobytes().decode("utf-8").split("\n")) if count else ()
    if len(items) != count:
        raise ValueError(f"{name}: {len(items)} items, {count} expected")
    return items


def _put_rows(arrays: dict[str, np.ndarray], rows: Rows) -> None:
    _put_strings(arrays, "slugs", rows.slugs)
    _put_strings(arrays, "files", rows.files)
    _put_strings(arrays, "hashes", rows.hashes)
    arrays.update(data=rows.vectors.data, indices=rows.vectors.indices, indptr=rows.vectors.indptr)


def _rows(saved: Mapping[str, np.ndarray], terms: int) -> Rows:
    slugs, files, hashes = _strings(saved, "slugs"), _strings(saved, "files"), _strings(saved, "hashes")
    if not len(slugs) == len(files) == len(hashes) == len(saved["indptr"]) - 1:
        raise ValueError("rows of unequal lengths")
    vectors = sparse.csr_matrix((saved["data"], saved["indices"], saved["indptr"]), shape=(len(slugs), terms))
    return Rows(slugs, files, hashes, vectors)


def _put_lists(arrays: dict[str, np.ndarray], lists: Mapping[str, tuple[str, ...]]) -> None:
    owners = sorted(lists)
    _put_strings(arrays, "owners", owners)
    arrays["lengths"] = np.array([len(lists[o]) for o in owners], dtype=np.int64)
    _put_strings(arrays, "targets", itertools.chain.from_iterable(lists[o] for o in owners))


def _lists(saved: Mapping[str, np.ndarray]) -> dict[str, tuple[str, ...]]:
    owners, lengths, targets = _strings(saved, "owners"), saved["lengths"].tolist(), _strings(saved, "targets")
    if len(owners) != len(lengths) or sum(lengths) != len(targets):
        raise ValueError("lists of unequal lengths")
    ends = list(itertools.accumulate(lengths))
    return dict(zip(owners, [targets[end - length : end] for end, length in zip(ends, lengths)]))


def _record(kind: bytes, arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    payload = buffer.getvalue()
    return _RECORD.pack(kind, len(payload)) + payload


def save_state(path: Path, state: State) -> None:
    """Written whole (as the base, its rows in slug order) to a temporary file and renamed over the old one."""
    state = compacted(state)
    arrays: dict[str, np.ndarray] = {"idf": state.idf}
    _put_strings(arrays, "settings", [state.settings])
    _put_strings(arrays, "terms", state.terms)
    _put_rows(arrays, state.rows)
    _put_lists(arrays, state.lists)
    _put_strings(arrays, "pieces", state.stems)
    _put_strings(arrays, "stems", state.stems.values())
    temporary = path.with_name(path.name + f".{os.getpid()}.tmp")
    path.parent.mkdir(parents=True, exist_ok=True)  # the output folder's parent may not exist before the first build
    with open(temporary, "wb") as handle:
        handle.write(_MAGIC)
        handle.write(_record(b"BASE", arrays))
    os.replace(temporary, path)
    path.with_name(path.name + ".npz").unlink(missing_ok=True)  # the state as digestgen kept it before parts


def append_part(path: Path, stored: Stored, part: Part, state: State) -> None:
    """The part written after the records read; the whole `state` instead if the file is not the one read."""
    arrays: dict[str, np.ndarray] = {"dead": part.dead}
    _put_rows(arrays, part.rows)
    arrays["refreshed"] = np.array(list(part.refreshed), dtype=np.int64)
    _put_strings(arrays, "refreshed_files", part.refreshed.values())
    _put_lists(arrays, part.lists)
    _put_strings(arrays, "dropped", part.dropped)
    _put_strings(arrays, "pieces", part.stems)
    _put_strings(arrays, "stems", part.stems.values())
    record = _record(b"PART", arrays)
    try:
        with open(path, "r+b") as handle:
            info = os.fstat(handle.fileno())
            if (info.st_dev, info.st_ino) == stored.identity and info.st_size >= stored.end:
                handle.seek(stored.end)
                handle.truncate()  # an incomplete record a stopped build left
                handle.write(record)
                return
    except FileNotFoundError:
        pass
    save_state(path, state)


def _records(data: bytes) -> Iterable[tuple[bytes, bytes, int]]:
    """(kind, payload, end) of each complete record, up to the first incomplete one."""
    start = len(_MAGIC)
    while start + _RECORD.size <= len(data):
        kind, length = _RECORD.unpack_from(data, start)
        end = start + _RECORD.size + length
        if end > len(data):
            return
        yield kind, data[start + _RECORD.size : end], end
        start = end


def _arrays(payload: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(payload), allow_pickle=False) as saved:
        return {name: saved[name] for name in saved.files}


def _base(saved: Mapping[str, np.ndarray]) -> State:
    terms, idf = _strings(saved, "terms"), saved["idf"]
    if len(terms) != len(idf):
        raise ValueError("terms and weights of unequal lengths")
    rows = _rows(saved, len(terms))
    stems = dict(zip(_strings(saved, "pieces"), _strings(saved, "stems"), strict=True))
    alive = np.ones(len(rows.slugs), dtype=bool)  # a base is written with its living rows only
    return State(_strings(saved, "settings")[0], terms, idf, rows, alive, _lists(saved), stems)


def _part(saved: Mapping[str, np.ndarray], terms: int, before: int) -> Part:
    """A part appended when the state had `before` rows."""
    dead, refreshed = saved["dead"], saved["refreshed"]
    if any(len(rows) and not (0 <= rows.min() and rows.max() < before) for rows in (dead, refreshed)):
        raise ValueError("a row out of range")
    keys = _strings(saved, "refreshed_files")
    stems = dict(zip(_strings(saved, "pieces"), _strings(saved, "stems"), strict=True))
    return Part(
        _rows(saved, terms), dead, dict(zip(refreshed.tolist(), keys, strict=True)), _lists(saved),
        _strings(saved, "dropped"), stems,
    )


def load_state(path: Path) -> Stored | None:
    """The kept state, or None when there is none or it cannot be read (then all is computed again).
    A part that cannot be read ends the state: it and anything after it are left out."""
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            data = handle.read()
    except OSError:
        return None
    records = _records(data) if data.startswith(_MAGIC) else iter(())
    try:
        kind, payload, end = next(records)
        state = _base(_arrays(payload))
        if kind != b"BASE":
            return None
    except (StopIteration, *_UNREADABLE):
        return None
    parts: list[Part] = []
    count = len(state.slugs)
    for kind, payload, record_end in records:
        try:
            if kind != b"PART":
                break
            part = _part(_arrays(payload), len(state.terms), count)
        except _UNREADABLE:
            break
        parts.append(part)
        count += len(part.rows.slugs)
        end = record_end
    return Stored(apply(state, parts), end, len(parts), (info.st_dev, info.st_ino))
