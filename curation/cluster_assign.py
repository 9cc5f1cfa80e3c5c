"""Spread a trained model's clusters to every tile of every slide, in one bounded-memory pass,
and keep what review needs: per-slide label files and per-cluster summaries and exemplars.

A run folder holds (all written atomically, see `curation.atomic`):

- `model.npz`: centroids, standardiser mean/std, k-means parameters (JSON), feature kind;
- `slides.parquet`: the run's `SlideSource`s (slide_index → slide, files, tile count);
- `labels/<fp[:2]>/<fp>.parquet`: per slide, one row per tile of its tile file, same order:
  `cluster` (int32), `distance` (float32: squared L2 in the standardised space, or
  1 − cosine when spherical);
- `clusters.parquet`, `composition.parquet`, `exemplars.parquet`: see `write_summary`.

`assign_sources` reads each tile file in record batches of at most `batch_size` rows (and the
same rows of the memory-mapped embeddings), so memory does not grow with the slide or the
archive: per cluster it keeps running sums and only the best `exemplars` candidates of each
kind, merged batch by batch.
"""

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curation.atomic import atomic_write
from curation.cluster_features import (
    FEATURE_KINDS,
    SUMMARY_COLUMNS,
    SlideSource,
    Standardiser,
    open_embeddings,
    slide_rng,
)
from curation.features import FEATURE_NAMES
from curation.kmeans import SEARCH_BLOCK, KMeansParams, KMeansResult, flat_index, normalise_rows
from curation.kmeans import resolve_gpu as _resolve_gpu

LABEL_SCHEMA = pa.schema([("cluster", pa.int32()), ("distance", pa.float32())])
EXEMPLAR_KINDS = ("representative", "boundary", "random")
EXEMPLAR_SCHEMA = pa.schema(
    [
        ("cluster", pa.int32()),
        ("kind", pa.string()),
        ("rank", pa.int32()),
        ("slide_index", pa.int32()),
        ("slide_id", pa.int64()),
        ("row", pa.int64()),
        ("x", pa.int64()),
        ("y", pa.int64()),
        ("size", pa.float32()),
        ("distance", pa.float32()),
    ]
)
COMPOSITION_SCHEMA = pa.schema(
    [("slide_id", pa.int64()), ("cluster", pa.int32()), ("count", pa.int64())]
)
_RANDOM_PURPOSE = 1  # slide_rng purpose of the random exemplars' keys (sampling uses 0)
# What a slide's failure looks like: missing or damaged files, wrong shapes, missing columns.
_SLIDE_ERRORS = (OSError, ValueError, KeyError, pa.ArrowException)


class Assigner:
    """Nearest-centroid assignment of raw features: standardise (+ L2-normalise when
    spherical), then an exact FAISS search (IndexFlatL2, or IndexFlatIP when spherical), on
    the GPU when one is available and `gpu` is not False."""

    def __init__(
        self,
        centroids: np.ndarray,
        standardiser: Standardiser,
        spherical: bool = False,
        gpu: bool | None = None,
    ) -> None:
        centroids = np.ascontiguousarray(centroids, dtype=np.float32)
        if centroids.ndim != 2 or centroids.shape[1] != standardiser.mean.shape[0]:
            raise ValueError(
                f"centroids {centroids.shape} do not match the standardiser's "
                f"{standardiser.mean.shape[0]} dimensions"
            )
        self.centroids = normalise_rows(centroids) if spherical else centroids
        self.standardiser = standardiser
        self.spherical = spherical
        self.k, self.dim = self.centroids.shape
        use_gpu = _resolve_gpu(gpu)
        self.device = "gpu" if use_gpu else "cpu"
        self.index = flat_index(self.centroids, inner_product=spherical, gpu=use_gpu)

    def transform(self, features: np.ndarray) -> np.ndarray:
        """Raw features → the space the centroids live in (float32, C-contiguous)."""
        z = self.standardiser.transform(features)
        return normalise_rows(z) if self.spherical else z

    def assign(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw features (n, d) → (labels int32, distances float32): squared L2 to the nearest
        centroid, or 1 − cosine similarity when spherical."""
        z = self.transform(features)
        labels = np.empty(len(z), dtype=np.int32)
        distances = np.empty(len(z), dtype=np.float32)
        for start in range(0, len(z), SEARCH_BLOCK):
            d, i = self.index.search(z[start : start + SEARCH_BLOCK], 1)
            labels[start : start + SEARCH_BLOCK] = i[:, 0]
            distances[start : start + SEARCH_BLOCK] = d[:, 0]
        if self.spherical:
            distances = 1.0 - distances
        # float32 round-off can leave a hair below zero for a tile on its centroid.
        return labels, np.maximum(distances, 0, out=distances)


# --- files of a run ------------------------------------------------------------------------------


def labels_path(run_dir: Path, fingerprint: str) -> Path:
    return Path(run_dir) / "labels" / fingerprint[:2] / f"{fingerprint}.parquet"


def read_labels(run_dir: Path, fingerprint: str) -> pa.Table:
    """The slide's labels: `cluster` int32, `distance` float32, one row per tile of its tile
    file, same order. FileNotFoundError when the slide has none (not assigned, or failed)."""
    return pq.read_table(labels_path(run_dir, fingerprint))


def _write_table(path: Path, table: pa.Table) -> None:
    with atomic_write(path) as temporary:
        pq.write_table(table, temporary, compression="zstd")


def save_model(
    run_dir: Path,
    result: KMeansResult,
    standardiser: Standardiser,
    params: KMeansParams,
    kind: str,
) -> Path:
    """model.npz: centroids, standardiser mean and std, the parameters as JSON and the kind."""
    if kind not in FEATURE_KINDS:
        raise ValueError(f"unknown feature kind {kind!r}")
    path = Path(run_dir) / "model.npz"
    with atomic_write(path) as temporary, temporary.open("wb") as sink:
        np.savez(
            sink,  # a file object: np.savez would append ".npz" to the temporary's name
            centroids=np.asarray(result.centroids, dtype=np.float32),
            mean=standardiser.mean,
            std=standardiser.std,
            params=np.array(json.dumps(params.to_dict(), sort_keys=True)),
            kind=np.array(kind),
        )
    return path


def load_model(run_dir: Path) -> tuple[np.ndarray, Standardiser, KMeansParams, str]:
    """(centroids, standardiser, params, kind) as saved by `save_model`."""
    with np.load(Path(run_dir) / "model.npz", allow_pickle=False) as data:
        standardiser = Standardiser.from_dict({"mean": data["mean"], "std": data["std"]})
        params = KMeansParams.from_dict(json.loads(str(data["params"])))
        return data["centroids"].astype(np.float32), standardiser, params, str(data["kind"])


def _stored_path(path: Path | None, data_root: Path | None) -> str | None:
    if path is None:
        return None
    if data_root is not None and Path(path).is_relative_to(data_root):
        return Path(path).relative_to(data_root).as_posix()
    return str(path)


def _loaded_path(value: str | None, data_root: Path | None) -> Path | None:
    if value is None:
        return None
    path = Path(value)
    return path if path.is_absolute() or data_root is None else Path(data_root) / path


def _footer_rows(path: Path) -> int | None:
    try:
        return pq.read_metadata(path).num_rows
    except (OSError, pa.ArrowException):
        return None


def write_sources(
    run_dir: Path, sources: Sequence[SlideSource], *, data_root: Path | None = None
) -> None:
    """slides.parquet: slide_index (int32), slide_id, fingerprint, tile_path, embedding_path,
    n_tiles (from each tile file's footer; null when unreadable). Paths under `data_root` are
    stored relative to it, so the archive can move; others as given."""
    root = Path(data_root) if data_root is not None else None
    table = pa.table(
        {
            "slide_index": pa.array([s.slide_index for s in sources], pa.int32()),
            "slide_id": pa.array([s.slide_id for s in sources], pa.int64()),
            "fingerprint": pa.array([s.fingerprint for s in sources], pa.string()),
            "tile_path": pa.array([_stored_path(s.tile_path, root) for s in sources], pa.string()),
            "embedding_path": pa.array(
                [_stored_path(s.embedding_path, root) for s in sources], pa.string()
            ),
            "n_tiles": pa.array([_footer_rows(s.tile_path) for s in sources], pa.int64()),
        }
    )
    _write_table(Path(run_dir) / "slides.parquet", table)


def read_sources(run_dir: Path, *, data_root: Path | None = None) -> list[SlideSource]:
    """The run's sources from slides.parquet, in slide_index order; relative paths resolved
    against `data_root`."""
    rows = pq.read_table(Path(run_dir) / "slides.parquet").to_pylist()
    sources = [
        SlideSource(
            slide_index=r["slide_index"],
            slide_id=r["slide_id"],
            fingerprint=r["fingerprint"],
            tile_path=_loaded_path(r["tile_path"], data_root),
            embedding_path=_loaded_path(r["embedding_path"], data_root),
        )
        for r in rows
    ]
    return sorted(sources, key=lambda s: s.slide_index)


# --- the streaming pass --------------------------------------------------------------------------


@dataclass
class _Candidates:
    """Exemplar candidates of one kind: per cluster at most `m` rows with the smallest `key`.

    Rows are kept in the order they were seen; merging sorts stably by (cluster, key), so
    among equal keys the earlier tile wins, which makes the result independent of how the
    stream was cut into batches.
    """

    m: int
    k: int
    columns: dict[str, np.ndarray] = field(default_factory=dict)

    def threshold(self) -> np.ndarray:
        """Per cluster, the key a new row must beat (strictly) to enter: +inf until full."""
        limit = np.full(self.k, np.inf)
        if not self.columns:
            return limit
        cluster, key = self.columns["cluster"], self.columns["key"]
        full = np.bincount(cluster, minlength=self.k) >= self.m
        worst = np.full(self.k, -np.inf)
        np.maximum.at(worst, cluster, key)
        limit[full] = worst[full]
        return limit

    def offer(self, batch: dict[str, np.ndarray], limit: np.ndarray | None = None) -> None:
        """Merge `batch` (same columns, key included), keeping the best `m` per cluster. Rows
        whose key is not below `limit` (per cluster) are dropped first: a slide's rows that
        cannot beat the run's current m-th best never reach the run's list either."""
        bound = self.threshold() if limit is None else np.minimum(self.threshold(), limit)
        keep = batch["key"] < bound[batch["cluster"]]
        if not keep.any():
            return
        batch = {name: values[keep] for name, values in batch.items()}
        merged = (
            {name: np.concatenate([self.columns[name], batch[name]]) for name in batch}
            if self.columns
            else batch
        )
        order = np.lexsort((merged["key"], merged["cluster"]))  # stable: ties keep stream order
        grouped = merged["cluster"][order]
        rank = np.arange(len(order)) - np.searchsorted(grouped, grouped, side="left")
        chosen = np.sort(order[rank < self.m])  # back to stream order for the next merge
        self.columns = {name: values[chosen] for name, values in merged.items()}

    def ranked(self) -> dict[str, np.ndarray]:
        """The candidates sorted by (cluster, key) with their rank within the cluster."""
        if not self.columns:
            return {}
        order = np.lexsort((self.columns["key"], self.columns["cluster"]))
        out = {name: values[order] for name, values in self.columns.items()}
        grouped = out["cluster"]
        out["rank"] = (np.arange(len(order)) - np.searchsorted(grouped, grouped, "left")).astype(
            np.int32
        )
        return out


@dataclass
class _Totals:
    """Per-cluster sums over tiles: sizes, summary-column sums and how many tiles had a
    finite value for each column (the mean's denominator)."""

    k: int
    sizes: np.ndarray = None
    sums: dict[str, np.ndarray] = field(default_factory=dict)
    counts: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.sizes = np.zeros(self.k, dtype=np.int64)
        for name in SUMMARY_COLUMNS:
            self.sums[name] = np.zeros(self.k, dtype=np.float64)
            self.counts[name] = np.zeros(self.k, dtype=np.int64)

    def add(self, labels: np.ndarray, summary: dict[str, np.ndarray]) -> None:
        self.sizes += np.bincount(labels, minlength=self.k)
        for name, values in summary.items():
            finite = np.isfinite(values)
            self.sums[name] += np.bincount(
                labels[finite], weights=values[finite].astype(np.float64), minlength=self.k
            )
            self.counts[name] += np.bincount(labels[finite], minlength=self.k)

    def merge(self, other: "_Totals") -> None:
        self.sizes += other.sizes
        for name in SUMMARY_COLUMNS:
            self.sums[name] += other.sums[name]
            self.counts[name] += other.counts[name]


@dataclass
class _Accumulator:
    """Everything the pass keeps: totals and the three kinds of exemplar candidates."""

    k: int
    m: int
    totals: _Totals = None
    candidates: dict[str, _Candidates] = None

    def __post_init__(self) -> None:
        self.totals = _Totals(self.k)
        self.candidates = {kind: _Candidates(self.m, self.k) for kind in EXEMPLAR_KINDS}

    def merge(self, other: "_Accumulator") -> None:
        self.totals.merge(other.totals)
        for kind, candidates in other.candidates.items():
            if candidates.columns:
                self.candidates[kind].offer(candidates.columns)


@dataclass
class AssignmentSummary:
    k: int
    tile_count: int
    slide_count: int
    sizes: np.ndarray  # int64 (k,)
    quality_sums: dict[str, np.ndarray]  # SUMMARY_COLUMNS → float64 (k,)
    # (slide_id, cluster, count) rows, non-zero only: int64 (n, 3), ~24 bytes a pair where a
    # list of tuples would take ~150 (13M pairs at 134k slides × 100 clusters).
    composition: np.ndarray
    exemplars: pa.Table  # EXEMPLAR_SCHEMA
    failed: list[tuple[int, str]]  # (slide_id, reason): skipped slides
    # Tiles with a finite value per summary column: the denominators of the means.
    quality_counts: dict[str, np.ndarray] = field(default_factory=dict)


def _batches(
    source: SlideSource, kind: str, batch_size: int
) -> Iterator[tuple[int, pa.RecordBatch, np.ndarray]]:
    """(first row, tile columns, features float32) per record batch of the tile file."""
    embeddings = open_embeddings(source) if kind == "embedding" else None
    tiles = pq.ParquetFile(source.tile_path)
    present = set(tiles.schema_arrow.names)
    wanted = ["x", "y", "size", *(c for c in SUMMARY_COLUMNS if c in present)]
    if kind == "colour":
        missing = [c for c in FEATURE_NAMES if c not in present]
        if missing:
            raise ValueError(f"tile file has no colour features ({missing[0]} missing)")
        wanted += FEATURE_NAMES
    start = 0
    for batch in tiles.iter_batches(batch_size=batch_size, columns=wanted):
        n = batch.num_rows
        if embeddings is not None:
            features = np.asarray(embeddings[start : start + n], dtype=np.float32)
        else:
            features = np.stack(
                [batch.column(name).to_numpy() for name in FEATURE_NAMES], axis=1
            ).astype(np.float32, copy=False)
        yield start, batch, features
        start += n


def _exemplar_batch(
    batch: pa.RecordBatch, start: int, labels: np.ndarray, distances: np.ndarray, index: int
) -> dict[str, np.ndarray]:
    n = len(labels)
    return {
        "cluster": labels,
        "distance": distances,
        "slide_index": np.full(n, index, dtype=np.int32),
        "row": np.arange(start, start + n, dtype=np.int64),
        "x": batch.column("x").to_numpy().astype(np.int64, copy=False),
        "y": batch.column("y").to_numpy().astype(np.int64, copy=False),
        "size": batch.column("size").to_numpy().astype(np.float32, copy=False),
    }


def _assign_slide(
    source: SlideSource,
    kind: str,
    assigner: Assigner,
    run_dir: Path,
    batch_size: int,
    seed: int,
    total: _Accumulator,
) -> _Accumulator:
    """Label one slide (its label file written atomically) and accumulate its share apart
    from `total`, so that a slide failing half-way adds nothing; `total` only prunes."""
    part = _Accumulator(assigner.k, total.m)
    limits = {kind: total.candidates[kind].threshold() for kind in EXEMPLAR_KINDS}
    rng = slide_rng(seed, source.fingerprint, _RANDOM_PURPOSE)
    path = labels_path(run_dir, source.fingerprint)
    with (
        atomic_write(path) as temporary,
        pq.ParquetWriter(temporary, LABEL_SCHEMA, compression="zstd") as writer,
    ):
        for start, batch, features in _batches(source, kind, batch_size):
            labels, distances = assigner.assign(features)
            writer.write_batch(
                pa.record_batch([pa.array(labels), pa.array(distances)], schema=LABEL_SCHEMA)
            )
            summary = {
                name: batch.column(name).to_numpy(zero_copy_only=False)
                for name in SUMMARY_COLUMNS
                if name in batch.schema.names
            }
            part.totals.add(labels, summary)
            rows = _exemplar_batch(batch, start, labels, distances, source.slide_index)
            # Drawn per batch in stream order: the same keys for any batch size.
            keys = {
                "representative": distances.astype(np.float64),
                "boundary": -distances.astype(np.float64),
                "random": rng.random(len(labels)),
            }
            for exemplar_kind, key in keys.items():
                part.candidates[exemplar_kind].offer({**rows, "key": key}, limits[exemplar_kind])
    return part


def _exemplar_table(accumulator: _Accumulator, slide_ids: dict[int, int]) -> pa.Table:
    parts = []
    for kind in EXEMPLAR_KINDS:
        ranked = accumulator.candidates[kind].ranked()
        if not ranked:
            continue
        n = len(ranked["cluster"])
        ids = np.array([slide_ids[int(i)] for i in ranked["slide_index"]], dtype=np.int64)
        parts.append(
            pa.table(
                {
                    "cluster": ranked["cluster"].astype(np.int32),
                    "kind": pa.array([kind] * n, pa.string()),
                    "rank": ranked["rank"],
                    "slide_index": ranked["slide_index"],
                    "slide_id": ids,
                    "row": ranked["row"],
                    "x": ranked["x"],
                    "y": ranked["y"],
                    "size": ranked["size"],
                    "distance": ranked["distance"],
                },
                schema=EXEMPLAR_SCHEMA,
            )
        )
    return pa.concat_tables(parts) if parts else EXEMPLAR_SCHEMA.empty_table()


def assign_sources(
    sources: Sequence[SlideSource],
    kind: str,
    assigner: Assigner,
    run_dir: Path,
    *,
    batch_size: int = 65536,
    exemplars: int = 12,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> AssignmentSummary:
    """Assign every tile of every source to its nearest centroid, in one pass.

    Per slide, the tile file is read in record batches of at most `batch_size` rows; the
    slide's label file is written atomically as it goes. Accumulated on the way: cluster
    sizes, sums of the summary columns, the slide × cluster composition, and per cluster the
    `exemplars` tiles nearest to the centroid (representative), farthest from it (boundary)
    and a uniform random sample (keys from the slide's own seeded generator, so the sample is
    deterministic for the seed and independent of batch size and source order). A slide whose
    files are missing or unreadable is skipped, listed in `failed`, and left with no label
    file; the others go on. `progress(done_slides, total_slides)` after each slide.
    """
    if kind not in FEATURE_KINDS:
        raise ValueError(f"unknown feature kind {kind!r}")
    if batch_size < 1 or exemplars < 0:
        raise ValueError("batch_size must be >= 1 and exemplars >= 0")
    total = _Accumulator(assigner.k, exemplars)
    composition: list[np.ndarray] = []
    failed: list[tuple[int, str]] = []
    for done, source in enumerate(sources, start=1):
        try:
            part = _assign_slide(source, kind, assigner, run_dir, batch_size, seed, total)
        except _SLIDE_ERRORS as exc:
            labels_path(run_dir, source.fingerprint).unlink(missing_ok=True)  # no stale labels
            failed.append((source.slide_id, f"{type(exc).__name__}: {exc}"))
        else:
            total.merge(part)
            counts = part.totals.sizes
            present = counts.nonzero()[0]
            composition.append(
                np.column_stack(
                    [np.full(present.size, source.slide_id), present, counts[present]]
                ).astype(np.int64)
            )
        if progress:
            progress(done, len(sources))
    slide_ids = {s.slide_index: s.slide_id for s in sources}
    return AssignmentSummary(
        k=assigner.k,
        tile_count=int(total.totals.sizes.sum()),
        slide_count=len(sources) - len(failed),
        sizes=total.totals.sizes,
        quality_sums=total.totals.sums,
        composition=np.concatenate(composition) if composition else np.zeros((0, 3), np.int64),
        exemplars=_exemplar_table(total, slide_ids),
        failed=failed,
        quality_counts=total.totals.counts,
    )


# --- summaries -----------------------------------------------------------------------------------


def _cluster_table(summary: AssignmentSummary) -> pa.Table:
    slide_count = np.bincount(summary.composition[:, 1], minlength=summary.k).astype(np.int64)
    total = max(summary.tile_count, 1)
    columns = {
        "cluster": pa.array(np.arange(summary.k, dtype=np.int32)),
        "size": pa.array(summary.sizes.astype(np.int64)),
        "share": pa.array(summary.sizes / total),
        "slide_count": pa.array(slide_count),
    }
    for name, sums in summary.quality_sums.items():
        counts = summary.quality_counts.get(name, summary.sizes)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
        columns[f"mean_{name}"] = pa.array(means, pa.float64())
    return pa.table(columns)


def _composition_table(summary: AssignmentSummary) -> pa.Table:
    rows = summary.composition
    return pa.table(
        [pa.array(rows[:, 0]), pa.array(rows[:, 1].astype(np.int32)), pa.array(rows[:, 2])],
        schema=COMPOSITION_SCHEMA,
    )


def write_summary(run_dir: Path, summary: AssignmentSummary) -> None:
    """clusters.parquet (cluster, size, share, slide_count, mean_<column> for every summary
    column: NaN when no tile had a value), composition.parquet (slide_id, cluster, count;
    non-zero pairs only) and exemplars.parquet, each written atomically."""
    run_dir = Path(run_dir)
    _write_table(run_dir / "clusters.parquet", _cluster_table(summary))
    _write_table(run_dir / "composition.parquet", _composition_table(summary))
    _write_table(run_dir / "exemplars.parquet", summary.exemplars)


def read_clusters(run_dir: Path) -> pa.Table:
    return pq.read_table(Path(run_dir) / "clusters.parquet")


def read_composition(run_dir: Path) -> pa.Table:
    return pq.read_table(Path(run_dir) / "composition.parquet")


def read_exemplars(run_dir: Path) -> pa.Table:
    return pq.read_table(Path(run_dir) / "exemplars.parquet")
