"""Reading a run's results for the review screens: tile references (slide names, tiling ids,
tile URLs), the 2-D map, per-slide labels for the viewer, similar tiles and exemplar montages.

What is read from the run's files (its slides, model and similar-tile index) is kept per
process, keyed by the file's modification time, so a request does not reload them. The
library modules that load FAISS are imported inside the functions that need them, so web
processes start without it.
"""

import hashlib
import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.cache import cache
from PIL import Image

from curation import cluster_map
from curation.cluster_features import SlideSource, load_features, tile_count
from curation.slide_metadata import SlideReadError, render_jpeg
from curation.slide_reader import SlideReader
from curation.tile_store import read_tiles
from webapp.clusters.models import Cluster, ClusterRun
from webapp.clusters.services.runs import run_dir
from webapp.core.errors import NotFound, ServiceError
from webapp.slides.models import Slide
from webapp.tiling.models import SlideTiling
from webapp.tiling.services import parse_params

logger = logging.getLogger(__name__)
MONTAGE_TILES = 12
MONTAGE_COLUMNS = 4
THUMB = 96
GAP = 2
GREY = (200, 200, 200)
MONTAGE_CACHE_S = 7 * 24 * 3600
MONTAGE_RETRY_S = 60  # a montage with unreadable cells is rebuilt soon: the slide may return
MAX_SIMILAR = 100
EXEMPLAR_KINDS = ("representative", "boundary", "random")  # as curation.cluster_assign


# --- per-process cache of run files ---------------------------------------------------------


class _FileCache:
    """A small LRU of values loaded from a file, invalidated when the file changes."""

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path: Path, load: Callable[[], object]):
        key = (str(path), path.stat().st_mtime_ns)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = load()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value


_sources = _FileCache()
_assigners = _FileCache()
_indexes = _FileCache(size=2)  # each can be ~100 MB


def run_sources(run: ClusterRun) -> dict[int, SlideSource]:
    """The run's slides by slide id (NotFound before the run has chosen them)."""
    from curation import cluster_assign

    path = run_dir(run) / "slides.parquet"
    if not path.is_file():
        raise NotFound("The run has not chosen its slides yet.")

    def load() -> dict[int, SlideSource]:
        sources = cluster_assign.read_sources(run_dir(run), data_root=settings.DATA_ROOT)
        return {s.slide_id: s for s in sources}

    return _sources.get(path, load)


def _assigner(run: ClusterRun):
    from curation import cluster_assign

    path = run_dir(run) / "model.npz"
    if not path.is_file():
        raise NotFound("The run has no trained model yet.")

    def load():
        centroids, standardiser, params, _ = cluster_assign.load_model(run_dir(run))
        return cluster_assign.Assigner(centroids, standardiser, spherical=params.spherical)

    return _assigners.get(path, load)


# --- tile references ------------------------------------------------------------------------


def tile_url(tiling_id: int, row: int) -> str:
    return f"/api/slide-tilings/{tiling_id}/tiles/{row}.jpg"


def tile_refs(run: ClusterRun, tiles: list[dict]) -> list[dict]:
    """TileRefs for stored tiles ({"slide", "row", "x", "y", "size", "distance", …}): slide
    names and the tiling of each slide under the run's configuration, in two queries. Tiles
    of a slide without that tiling any more are left out."""
    ids = {t["slide"] for t in tiles}
    names = dict(Slide.objects.filter(pk__in=ids).values_list("pk", "name"))
    tilings = dict(
        SlideTiling.objects.filter(config_id=run.config_id, slide_id__in=ids).values_list(
            "slide_id", "pk"
        )
    )
    refs = []
    for t in tiles:
        tiling = tilings.get(t["slide"])
        if tiling is None:  # the slide or its tiling is gone: no image to show
            continue
        ref = {
            "slide": t["slide"],
            "slide_name": names.get(t["slide"], ""),
            "tiling": tiling,
            "index": t["row"],
            "x": t["x"],
            "y": t["y"],
            "size": t["size"],
            "distance": t["distance"],
            "url": tile_url(tiling, t["row"]),
        }
        for extra in ("cluster_index", "kind"):
            if extra in t:
                ref[extra] = t[extra]
        refs.append(ref)
    return refs


def cluster_exemplars(cluster: Cluster) -> dict[str, list[dict]]:
    kinds = EXEMPLAR_KINDS
    tiles = [{**t, "kind": kind} for kind in kinds for t in cluster.exemplars.get(kind, [])]
    grouped: dict[str, list[dict]] = {kind: [] for kind in kinds}
    for ref in tile_refs(cluster.run, tiles):
        grouped[ref.pop("kind")].append(ref)
    return grouped


# --- decisions as the viewer and map show them ----------------------------------------------


def effective(cluster: Cluster, by_id: dict[int, Cluster]) -> Cluster:
    """The cluster whose decision applies: a merged cluster follows its target (chains too)."""
    seen = set()
    while cluster.merged_into_id and cluster.merged_into_id in by_id and cluster.pk not in seen:
        seen.add(cluster.pk)
        cluster = by_id[cluster.merged_into_id]
    return cluster


def _clusters(run: ClusterRun) -> dict[int, Cluster]:
    # Not the composition and exemplars: kilobytes of JSON per cluster, unused here.
    clusters = Cluster.objects.filter(run=run).select_related("category")
    return {c.pk: c for c in clusters.defer("composition", "exemplars")}


def run_map(run: ClusterRun) -> dict:
    if not (run_dir(run) / cluster_map.MAP_FILE).is_file():
        raise NotFound("The run has no map yet.")
    projection = cluster_map.read_map(run_dir(run))
    for key in ("centroids", "tiles"):  # a degenerate projection must not break the JSON
        projection[key] = np.nan_to_num(projection[key], nan=0.0, posinf=0.0, neginf=0.0)
    by_id = _clusters(run)
    by_index = {c.index: c for c in by_id.values()}
    centroids = []
    for index, (x, y) in enumerate(projection["centroids"].tolist()):
        cluster = by_index.get(index)
        if cluster is None:  # the map is drawn before the run's clusters are summarised
            continue
        decided = effective(cluster, by_id)
        centroids.append(
            {
                "cluster": cluster.pk,
                "index": index,
                "x": x,
                "y": y,
                "size": cluster.size,
                "category_colour": getattr(decided.category, "colour", None),
                "status": cluster.status,
            }
        )
    tiles = [
        {"cluster_index": int(c), "x": x, "y": y}
        for c, (x, y) in zip(
            projection["tile_labels"].tolist(), projection["tiles"].tolist(), strict=True
        )
    ]
    return {"method": projection["method"], "centroids": centroids, "tiles": tiles}


# --- per-slide labels -----------------------------------------------------------------------


def _failed_reason(run: ClusterRun, slide_id: int) -> str | None:
    return next((reason for sid, reason in run.failed_slides if sid == slide_id), None)


def slide_labels(run: ClusterRun, slide_id: int) -> dict:
    """Every tile's cluster for the viewer overlay, aligned with the slide's tile grid."""
    from curation import cluster_assign

    source = run_sources(run).get(slide_id)
    if source is None:
        raise NotFound(f"Slide {slide_id} is not part of cluster run {run.pk}.")
    try:
        labels = cluster_assign.read_labels(run_dir(run), source.fingerprint)
    except FileNotFoundError as exc:
        reason = _failed_reason(run, slide_id)
        raise NotFound(
            f"Slide {slide_id} has no labels in this run"
            + (f": {reason}" if reason else " (not assigned yet).")
        ) from exc
    try:
        tiles = read_tiles(source.tile_path, columns=["x", "y", "size"])
    except FileNotFoundError as exc:
        raise NotFound("The slide's tile file is missing from the store.") from exc
    if tiles.num_rows != labels.num_rows:
        raise ServiceError(
            "The slide has been tiled again since this run; its labels no longer match.",
            code="stale",
            status_code=409,
        )
    cluster_index = labels.column("cluster").to_numpy()
    by_id = _clusters(run)
    by_index = {c.index: c for c in by_id.values()}
    clusters = {}
    for index in np.unique(cluster_index).tolist():
        cluster = by_index.get(index)
        if cluster is None:
            continue
        decided = effective(cluster, by_id)
        clusters[str(index)] = {
            "id": cluster.pk,
            "category": decided.category_id,
            "colour": getattr(decided.category, "colour", None),
            "status": decided.status,
            "merged_into": cluster.merged_into_id,
        }
    return {
        "size": float(tiles.column("size")[0].as_py()) if tiles.num_rows else 0.0,
        "x": tiles.column("x").to_pylist(),
        "y": tiles.column("y").to_pylist(),
        "cluster_index": cluster_index.tolist(),
        "clusters": clusters,
    }


# --- similar tiles ----------------------------------------------------------------------------


def similar(run: ClusterRun, *, slide_id: int, index: int, k: int = 24) -> list[dict]:
    """The k tiles of the run most like tile `index` of `slide_id` (itself left out)."""
    from curation import cluster_assign, similar_tiles

    if not 1 <= k <= MAX_SIMILAR:
        raise ServiceError(f"k must be between 1 and {MAX_SIMILAR}.", code="invalid")
    sources = run_sources(run)
    source = sources.get(slide_id)
    if source is None:
        raise ServiceError(f"Slide {slide_id} is not part of cluster run {run.pk}.")
    try:
        n = tile_count(source)
    except ValueError as exc:
        raise NotFound("The slide's tile file is missing from the store.") from exc
    if not 0 <= index < n:
        raise ServiceError(f"No tile {index}: the slide has {n} tiles.", code="invalid")
    path = run_dir(run) / similar_tiles.INDEX_FILE
    if not path.is_file():
        raise NotFound("The run has no similar-tile index (yet).")
    searcher = _indexes.get(path, lambda: similar_tiles.SimilarIndex.open(run_dir(run)))
    assigner = _assigner(run)
    try:
        vector = assigner.transform(load_features(source, run.feature_kind, np.array([index])))
    except ValueError as exc:
        raise NotFound(f"The tile's features cannot be read: {exc}") from exc
    hits = [
        hit
        for hit in searcher.search(vector[0], k + 1)
        if (hit[0], hit[1]) != (source.slide_index, index)
    ][:k]
    by_index = {s.slide_index: s for s in sources.values()}
    tiles = []
    for slide_index in dict.fromkeys(h[0] for h in hits):
        hit_source = by_index.get(slide_index)
        if hit_source is None:
            continue
        rows = [(row, distance) for si, row, distance in hits if si == slide_index]
        try:
            table = read_tiles(hit_source.tile_path, columns=["x", "y", "size"])
            labels = cluster_assign.read_labels(run_dir(run), hit_source.fingerprint)
        except (FileNotFoundError, OSError):
            continue  # a slide whose files vanished since indexing: leave its tiles out
        cluster_column = labels.column("cluster")
        for row, distance in rows:
            if row >= table.num_rows:
                continue
            tiles.append(
                {
                    "slide": hit_source.slide_id,
                    "row": row,
                    "x": table["x"][row].as_py(),
                    "y": table["y"][row].as_py(),
                    "size": float(table["size"][row].as_py()),
                    "distance": distance,
                    "cluster_index": cluster_column[row].as_py() if row < len(labels) else None,
                }
            )
    tiles.sort(key=lambda t: t["distance"])
    return tile_refs(run, tiles)


# --- montage ---------------------------------------------------------------------------------


def montage_jpeg(cluster: Cluster, kind: str, hidden: set[int] = frozenset()) -> bytes:
    """Up to 12 exemplar tiles of `kind` as one small JPEG grid (96 px cells). An unreadable
    slide gives grey cells, never an error. Cached per run, cluster and kind (and the slides
    `hidden` from the user asking, whose tiles are left out)."""
    if kind not in EXEMPLAR_KINDS:
        raise ServiceError(f"kind must be one of {', '.join(EXEMPLAR_KINDS)}.", code="invalid")
    key = f"clusters:montage:{cluster.run_id}:{cluster.pk}:{kind}"
    tiles = [t for t in cluster.exemplars.get(kind, []) if t["slide"] not in hidden]
    tiles = tiles[:MONTAGE_TILES]
    if hidden:
        key += ":" + hashlib.sha256(repr(sorted(hidden)).encode()).hexdigest()[:16]
    cached = _cache_get(key)
    if cached is not None:
        return cached
    params = parse_params(cluster.run.config.params)
    slides = Slide.objects.select_related("root").in_bulk({t["slide"] for t in tiles})
    cells: list[Image.Image | None] = [None] * len(tiles)
    for slide_id in dict.fromkeys(t["slide"] for t in tiles):
        slide = slides.get(slide_id)
        if slide is None:
            continue
        try:
            with SlideReader(slide.absolute_path, mpp_override=slide.mpp_override) as reader:
                for i, t in enumerate(tiles):
                    if t["slide"] == slide_id:
                        pixels = reader.read(t["x"], t["y"], params.tile_size, params.target_mpp)
                        cells[i] = Image.fromarray(pixels).resize((THUMB, THUMB), Image.BILINEAR)
        except (SlideReadError, OSError, ValueError) as exc:
            logger.info("Montage of cluster %s: slide %s unreadable: %s", cluster.pk, slide_id, exc)
    columns = max(1, min(MONTAGE_COLUMNS, len(tiles)))
    rows = max(1, math.ceil(len(tiles) / columns))
    canvas = Image.new(
        "RGB", (columns * THUMB + (columns - 1) * GAP, rows * THUMB + (rows - 1) * GAP), "white"
    )
    for i, cell in enumerate(cells or [None]):
        position = ((i % columns) * (THUMB + GAP), (i // columns) * (THUMB + GAP))
        canvas.paste(cell or Image.new("RGB", (THUMB, THUMB), GREY), position)
    jpeg = render_jpeg(canvas, quality=80)
    complete = all(cells) and bool(cells)
    _cache_set(key, jpeg, MONTAGE_CACHE_S if complete else MONTAGE_RETRY_S)
    return jpeg


def _cache_get(key: str) -> bytes | None:
    try:
        return cache.get(key)
    except Exception:  # noqa: BLE001 - without Redis a montage is just rebuilt
        logger.warning("Montage cache unavailable", exc_info=True)
        return None


def _cache_set(key: str, value: bytes, timeout: int) -> None:
    try:
        cache.set(key, value, timeout)
    except Exception:  # noqa: BLE001
        logger.warning("Montage cache unavailable", exc_info=True)
