"""What is kept between builds, and the keys and fingerprints that decide what can be reused.

A one-off build (`digestgen build`) keeps only what its output folder's manifest says: every
file's key and the fingerprint of every input. A long-lived caller (serve) holds a `Session`: the
parsed files, tag matches, cards, Jinja2's environment, the manifest it last committed and the
pages' keys, and tells it which files changed instead of having every file looked at again.

A page's key has two parts. The first follows from the data the page shows: the site-wide part
(`site_key`) and the page's own key parts, which pages.py takes from the views that build its
context (pages.PageJob.key). The second follows from the templates and assets rendering the page
loaded the last time, as their current sources: the key is recorded as `core digest/names`, so
the next build checks exactly those names again before it reuses the page. A template edit thus
re-renders the pages that load it, and a static file no page asks for re-renders none.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

import jinja2
import jinja2.meta

from digestgen import __version__
from digestgen.config import Config
from digestgen.forkpool import run_forked
from digestgen.layout import CONTENT_DIR, PAPERS_DIR, RESCAN, content_change, content_files
from digestgen.load import ContentError, ContentScan, paper_from_file
from digestgen.model import Paper, Site
from digestgen.output import read_manifest
from digestgen.render import Reads, make_environment
from digestgen.tagging import Taxonomy
from digestgen.tagstage import load_taxonomy, tagging_of
from digestgen.theme import Asset, default_dir

if TYPE_CHECKING:
    from digestgen.build import BuildOptions, BuildResult


@dataclass
class BuildCache:
    """What a long-lived process (serve) keeps between builds: parsed files, tag matches, tagged
    papers, and the cards of the last theme and configuration (`cards_key`)."""

    papers: dict = field(default_factory=dict)
    tags: dict = field(default_factory=dict)
    tagged: dict = field(default_factory=dict)
    cards: dict = field(default_factory=dict)
    cards_key: str = ""
    taxonomy: tuple[tuple, Taxonomy] | None = None  # (what it was parsed from, the taxonomy)
    environment: tuple[str, jinja2.Environment] | None = None  # (the templates' digest, Jinja2's environment)
    manifest: tuple[Path, dict] | None = None  # (a private output folder, its files as last committed)
    page_keys: dict = field(default_factory=dict)  # url -> (what the page showed, its key's core)
    scan: ContentScan = field(default_factory=ContentScan)
    kept: bool = True  # it outlives this build (a Session's); prefilled_cache's serves one build only

    def cards_for(self, key: str) -> dict:
        """The cards made under `key`; those made under another key are dropped."""
        if key != self.cards_key:
            self.cards, self.cards_key = {}, key
        return self.cards


# ---------------------------------------------------------------- what changed


def content_changes(site_dir: Path, changed: Iterable[str] | None) -> list[str] | None:
    """The content files among the paths a watcher saw change (absolute), site-relative
    ("content/papers/x.md"); None when content must be read again whole (a folder changed)."""
    if changed is None:
        return None
    root = site_dir.resolve()
    found = []
    for name in changed:
        try:
            parts = Path(name).relative_to(root).parts
        except ValueError:
            continue  # outside the site: a taxonomy file elsewhere, say
        kind = content_change(parts)
        if kind == RESCAN:
            return None  # content/ or one of its folders itself: read it all again
        if kind is not None:
            found.append("/".join(parts))
    return found


# ---------------------------------------------------------------- kept pieces


def taxonomy_file(site_dir: Path, config: Config) -> Path | None:
    """The file the tags come from: the site's own, the packaged default, or none (inline, or off)."""
    if config.taxonomy in ("none", False):
        return None
    if isinstance(config.taxonomy, str):
        return site_dir / config.taxonomy
    if config.taxonomy is None:
        return Path(str(files("digestgen").joinpath("data", "taxonomy.yaml")))
    return None


def taxonomy_of(site_dir: Path, config: Config, cache: BuildCache | None) -> Taxonomy:
    """The site's taxonomy, parsed again only when what it comes from has changed."""
    if cache is None:
        return load_taxonomy(site_dir, config)
    source = taxonomy_file(site_dir, config)
    key = (repr(config.taxonomy), repr(config.tagging), source.read_bytes() if source is not None and source.is_file() else b"")
    if cache.taxonomy is None or cache.taxonomy[0] != key:
        cache.taxonomy = (key, load_taxonomy(site_dir, config))
    return cache.taxonomy[1]


def environment_of(site_dir: Path, cache: BuildCache | None) -> jinja2.Environment:
    """Jinja2's environment, kept in a kept cache (with its compiled templates) while every template
    file's bytes stay the same (`templates_digest`, which a one-off build need not compute)."""
    if cache is None or not cache.kept:
        return make_environment(site_dir / "templates")
    templates = templates_digest(site_dir)
    if cache.environment is None or cache.environment[0] != templates:
        cache.environment = (templates, make_environment(site_dir / "templates"))
    return cache.environment[1]


def _hash_files(digest: "hashlib._Hash", root: Path) -> None:
    if root.is_dir():
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")


def templates_digest(site_dir: Path) -> str:
    """Changes when any template file of the theme or the site does (for the kept environment)."""
    digest = hashlib.blake2b(digest_size=16)
    for root in (default_dir("templates"), site_dir / "templates"):
        _hash_files(digest, root)
    return digest.hexdigest()


PARALLEL_LOAD_THRESHOLD = 2000  # paper files; below this, forking costs more than it saves
LOAD_CHUNK = 250  # paper files a worker takes at a time


def prefilled_cache(site_dir: Path, config: Config, workers: int) -> BuildCache | None:
    """Parse and tag the paper files in forked workers (forkpool); the result fills a BuildCache
    that the ordinary (serial) loading then finds every paper in. Files a worker cannot read are
    left out: the serial pass reads them again and reports them as usual."""
    paths = content_files(site_dir / CONTENT_DIR, PAPERS_DIR)
    if workers < 2 or len(paths) < PARALLEL_LOAD_THRESHOLD:
        return None
    cache = BuildCache(kept=False)
    taxonomy = taxonomy_of(site_dir, config, cache)
    chunks = [paths[start : start + LOAD_CHUNK] for start in range(0, len(paths), LOAD_CHUNK)]

    def received(share: tuple[dict, dict]) -> None:
        cache.papers.update(share[0])
        cache.tags.update(share[1])

    run_forked(chunks, lambda chunk: [_parse_and_tag(site_dir, chunk, taxonomy)], workers, received)
    return cache


def _parse_and_tag(site_dir: Path, paths: list[Path], taxonomy: Taxonomy) -> tuple[dict, dict]:
    papers: dict[str, tuple[int, int, Paper]] = {}
    tags: dict[tuple[str, str], tuple] = {}
    for path in paths:
        relative = path.relative_to(site_dir).as_posix()
        try:
            info = path.stat()
            paper = paper_from_file(path, relative)
        except (ContentError, UnicodeDecodeError, OSError):
            continue
        papers[relative] = (info.st_mtime_ns, info.st_size, paper)
        tags[(paper.fingerprint, taxonomy.key)] = tagging_of(paper, taxonomy)
    return papers, tags


# ---------------------------------------------------------------- keys


def _hex(*parts: object) -> str:
    return hashlib.blake2b("\0".join(map(str, parts)).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def site_key(site_dir: Path, site: Site, extra_scripts: tuple[str, ...]) -> str:
    """What every page may show besides its own data: digestgen's and Jinja2's versions, the
    configuration (and with it the base URL), serve's script, the taxonomy and the tag labels.
    Not the templates nor the assets: each page's key names those it loaded."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{__version__}|{jinja2.__version__}|{site.config!r}|{extra_scripts!r}".encode())
    taxonomy = taxonomy_file(site_dir, site.config)
    if taxonomy is not None and taxonomy.is_file():
        digest.update(taxonomy.read_bytes())
    digest.update(repr(sorted(site.labels.items())).encode())
    return digest.hexdigest()


def content_key(key: str, site: Site) -> str:
    """Changes when any paper or related list does: for outputs that list every paper (search, feeds, papers.json)."""
    digest = hashlib.blake2b(key.encode(), digest_size=16)
    # A full computation of the related lists can change them with no paper changed (its kept state was deleted).
    digest.update(repr(sorted(site.related.items())).encode())
    # Feeds list digests in their order, picks first, hidden papers left out.
    digest.update(repr([(d.date, d.slugs, d.order, d.hide, [p.slug for p in d.picks]) for d in site.digests]).encode())
    for slug, paper in site.papers.items():
        digest.update(f"{slug}:{paper.fingerprint}\0".encode())
    return digest.hexdigest()


def cards_key(site: str, env: jinja2.Environment, assets: dict[str, Asset]) -> str:
    """What every paper card's HTML follows from besides its paper: the site-wide part, the sources
    of _macros.html and whatever it may load (every template when it names one it computes), and
    the assets when those templates call `asset` at all. Cards are rendered before the pages that
    list them, so a page's own collector does not see these templates."""
    names, sources, uses_assets, dynamic = ["_macros.html"], [], False, False
    seen: set[str] = set()
    while names:
        name = names.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            source = env.loader.get_source(env, name)[0]  # type: ignore[union-attr]
        except jinja2.TemplateNotFound:
            sources.append((name, "missing"))
            continue
        sources.append((name, source))
        try:
            tree = env.parse(source)
        except jinja2.TemplateSyntaxError:
            continue  # rendering reports it
        uses_assets = uses_assets or any(n.name == "asset" for n in tree.find_all(jinja2.nodes.Name))
        for found in jinja2.meta.find_referenced_templates(tree):
            if found is None:
                dynamic = True
            else:
                names.append(found)
    extra = [repr(sorted((a.name, a.output) for a in assets.values()))] if uses_assets else []
    if dynamic:
        extra += [f"{n}\0{env.loader.get_source(env, n)[0]}" for n in sorted(env.list_templates())]  # type: ignore[union-attr]
    return _hex(site, repr(sorted(sources)), *extra)


class PageKeys:
    """Every page's whole key for one build: its core (what it shows) plus what it loaded, as now."""

    def __init__(self, env: jinja2.Environment, assets: dict[str, Asset]):
        self.env, self.assets = env, assets
        self._sources: dict[str, str] = {}
        self._loaded: dict[str, str] = {}

    def now(self, core: str | None, recorded: object) -> str | None:
        """The key a page recorded as `recorded` has now: equal to it when nothing it loaded changed."""
        if core is None or not isinstance(recorded, str) or "/" not in recorded:
            return None
        names = recorded.split("/", 1)[1]
        return f"{core}{self._loaded_digest(names)}/{names}"

    def after(self, core: str | None, reads: Reads) -> str | None:
        """The key to record for a page just rendered, which loaded `reads`."""
        if core is None:
            return None
        names = json.dumps([sorted(reads.templates), sorted(reads.assets)], ensure_ascii=False, separators=(",", ":"))
        return f"{core}{self._loaded_digest(names)}/{names}"

    def _loaded_digest(self, names: str) -> str:
        if names not in self._loaded:  # a few distinct lists per build: one per kind of page, about
            try:
                templates, assets = json.loads(names)
                state = [(t, self._source(t)) for t in templates] + [(a, self._asset(a)) for a in assets]
            except (ValueError, TypeError):
                state = [("unreadable", names)]
            self._loaded[names] = _hex(json.dumps(state))[:16]
        return self._loaded[names]

    def _source(self, name: object) -> str:
        """A digest of the source the environment would load for the template `name` now."""
        name = str(name)
        if name not in self._sources:
            try:
                self._sources[name] = _hex(self.env.loader.get_source(self.env, name)[0])  # type: ignore[union-attr]
            except jinja2.TemplateNotFound:
                self._sources[name] = "missing"
        return self._sources[name]

    def _asset(self, name: object) -> str:
        asset = self.assets.get(str(name))
        return asset.output if asset is not None else "missing"  # the output name carries its content hash


# ---------------------------------------------------------------- the whole build's inputs


def input_fingerprint(site_dir: Path, config: Config, extra: str) -> str:
    """Cheap to compute: names, sizes and modification times of every file a build reads."""
    digest = hashlib.blake2b(f"{__version__}|{config!r}|{extra}".encode(), digest_size=16)
    roots = [site_dir / "content", site_dir / "templates", site_dir / "static", default_dir("templates"), default_dir("static")]
    paths = [site_dir / "digestgen.yaml"]
    taxonomy = taxonomy_file(site_dir, config)
    if taxonomy is not None:
        paths.append(taxonomy)
    for root in roots:
        if root.is_dir():
            paths += sorted(p for p in root.rglob("*"))
    for path in paths:
        try:
            info = path.stat()
        except OSError:
            continue
        digest.update(f"{path}|{info.st_size}|{info.st_mtime_ns}\0".encode())
    return digest.hexdigest()


def unchanged(out: Path, fingerprint: str) -> dict | None:
    """The previous manifest when the inputs are exactly as they were and every output is still there."""
    manifest = read_manifest(out)
    if manifest.get("inputs") != fingerprint or not manifest.get("counts"):
        return None
    if not all((out / path).is_file() for path in manifest["files"]):
        return None
    return manifest


# ---------------------------------------------------------------- the session a long-lived caller holds


class Session:
    """Builds of one site into one private output folder, each told what changed since the last.

    `build(changed)` takes the paths (absolute, as a watcher reports them) that changed since the
    last build that succeeded; None looks at every file. With `search=False` the previous search
    files, feeds, sitemap and papers.json may be kept (stale) so that changed pages appear sooner;
    a later `build(search=True)` brings them up to date. `check` is called between pieces of work
    and may raise (errors.Superseded) to give the build up: nothing is then written.
    """

    def __init__(self, site_dir: Path, options: "BuildOptions | None" = None):
        from digestgen.build import BuildOptions

        self.site_dir, self.options = site_dir, options or BuildOptions(workers=1, private=True)
        self.cache = BuildCache()

    def build(
        self, changed: Iterable[str] | None = None, *, search: bool = True, options: "BuildOptions | None" = None,
        warn: Callable[[str], None] = lambda message: None, check: Callable[[], None] = lambda: None,
        config: Config | None = None,
    ) -> "BuildResult":
        """One build; `options`, when given, replace the session's from now on (serve's script URL
        follows the configured base path, which may change); `config` is the site's as read for them."""
        from digestgen.build import build_with  # build.py imports this module for its keys

        self.options = options or self.options
        try:
            return build_with(
                self.site_dir, self.options, warn, self.cache, content_changes(self.site_dir, changed), not search, check,
                config,
            )
        except BaseException:
            if changed is not None:  # it may not have read the files it was told of
                self.missed()
            raise

    def missed(self) -> None:
        """A build that was told of changes did not finish (or did not start): the next looks at all content."""
        self.cache.scan.complete = False
