"""What tiles are clustered on: a slide's features (colour moments or deep embeddings), a seeded
per-slide sample of them for training, and the standardisation k-means runs in.

A run refers to its slides as `SlideSource`s: a dense `slide_index` (0..n-1, what tile ids are
built from), the database id, the fingerprint (names the slide's label file) and the absolute
paths of the tile-store Parquet file and, for kind "embedding", the per-slide `.npy` of
float16 embeddings whose rows are aligned with the tile file.

Sampling is deterministic for (seed, fingerprint): each slide draws from its own generator, so
the sample does not depend on the order of the sources or on how many workers read them.
"""

import hashlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from curation.features import FEATURE_NAMES
from curation.tiling import QUALITY_COLUMNS

FEATURE_KINDS = ("colour", "embedding")
# Per-tile values summarised per cluster: the tiler's quality signals as stored, and the grid's
# share of the tile inside the tissue mask.
SUMMARY_COLUMNS: tuple[str, ...] = (*QUALITY_COLUMNS, "tissue_fraction")
STD_FLOOR = 1e-6


@dataclass(frozen=True)
class SlideSource:
    slide_index: int
    slide_id: int
    fingerprint: str
    tile_path: Path
    embedding_path: Path | None = None


def _check_kind(kind: str) -> None:
    if kind not in FEATURE_KINDS:
        raise ValueError(f"unknown feature kind {kind!r}; expected one of {FEATURE_KINDS}")


def _require_file(path: Path | None, what: str, source: SlideSource) -> Path:
    if path is None:
        raise ValueError(f"slide {source.slide_id}: no {what} file")
    if not Path(path).is_file():
        raise ValueError(f"slide {source.slide_id}: {what} file missing: {path}")
    return Path(path)


def tile_count(source: SlideSource) -> int:
    """Rows of the slide's tile file (reads only the Parquet footer)."""
    path = _require_file(source.tile_path, "tile", source)
    try:
        return pq.read_metadata(path).num_rows
    except Exception as exc:  # noqa: BLE001 - any damage reads as one clear error
        raise ValueError(f"slide {source.slide_id}: unreadable tile file {path}: {exc}") from exc


def open_embeddings(source: SlideSource) -> np.ndarray:
    """The slide's embeddings, memory-mapped (nothing read yet), checked against the tile file:
    2-D and one row per tile. Raises ValueError otherwise."""
    path = _require_file(source.embedding_path, "embedding", source)
    try:
        array = np.load(path, mmap_mode="r")
    except Exception as exc:  # noqa: BLE001
        message = f"slide {source.slide_id}: unreadable embedding file {path}: {exc}"
        raise ValueError(message) from exc
    tiles = tile_count(source)
    if array.ndim != 2 or array.shape[0] != tiles:
        raise ValueError(
            f"slide {source.slide_id}: embedding file {path} has shape {array.shape}, "
            f"expected ({tiles}, dim) to match its tile file"
        )
    return array


def feature_dim(source: SlideSource, kind: str) -> int:
    """The feature dimension of `kind` for this slide (embedding: read from the .npy header)."""
    _check_kind(kind)
    if kind == "colour":
        return len(FEATURE_NAMES)
    return int(open_embeddings(source).shape[1])


def read_colour(path: Path, rows: np.ndarray | None = None) -> np.ndarray:
    """The FEATURE_NAMES columns of a tile file as float32 (n, 36), optionally only `rows`."""
    table = pq.read_table(path, columns=list(FEATURE_NAMES))
    matrix = np.stack([table.column(n).to_numpy() for n in FEATURE_NAMES], axis=1)
    matrix = matrix.astype(np.float32, copy=False)
    return matrix if rows is None else matrix[rows]


def load_features(source: SlideSource, kind: str, rows: np.ndarray | None = None) -> np.ndarray:
    """The features of the slide's tiles (all, or `rows` in that order) as float32 (n, d).

    "colour": the 36 FEATURE_NAMES columns of the tile file; "embedding": the .npy,
    memory-mapped so that only the requested rows are read. Raises ValueError for an unknown
    kind, a missing or unreadable file, a tile file without the feature columns, or an
    embedding file whose row count differs from the tile file's.
    """
    _check_kind(kind)
    rows = None if rows is None else np.asarray(rows, dtype=np.int64)
    if kind == "embedding":
        array = open_embeddings(source)
        try:
            picked = array if rows is None else array[rows]
        except IndexError as exc:
            raise ValueError(f"slide {source.slide_id}: {exc}") from exc
        return np.ascontiguousarray(picked, dtype=np.float32)
    path = _require_file(source.tile_path, "tile", source)
    try:
        return read_colour(path, rows)
    except Exception as exc:  # noqa: BLE001 - missing columns, damage, rows out of range
        message = f"slide {source.slide_id}: cannot read features from {path}: {exc}"
        raise ValueError(message) from exc


@dataclass
class Sample:
    features: np.ndarray  # (N, d) float32
    slide_index: np.ndarray  # (N,) int32
    row: np.ndarray  # (N,) int64
    failed: list[tuple[int, str]] = field(default_factory=list)  # (slide_id, reason), if skipped


def slide_rng(seed: int, fingerprint: str, purpose: int = 0) -> np.random.Generator:
    """A generator that depends only on (seed, fingerprint, purpose): not on the order of the
    slides, not on workers. `purpose` keeps separate uses (sampling, exemplars) independent."""
    digest = hashlib.sha256(fingerprint.encode()).digest()
    words = np.frombuffer(digest[:16], dtype=np.uint32).tolist()
    return np.random.default_rng(np.random.SeedSequence([int(seed), *words, int(purpose)]))


def sample_rows(n: int, per_slide: int, rng: np.random.Generator) -> np.ndarray:
    """All rows when n <= per_slide, else `per_slide` distinct rows, uniformly, sorted."""
    if n <= per_slide:
        return np.arange(n, dtype=np.int64)
    return np.sort(rng.choice(n, size=per_slide, replace=False)).astype(np.int64)


def _sample_one(source: SlideSource, kind: str, per_slide: int, seed: int):
    n = open_embeddings(source).shape[0] if kind == "embedding" else tile_count(source)
    rows = sample_rows(n, per_slide, slide_rng(seed, source.fingerprint))
    return load_features(source, kind, rows), rows


def sample_features(
    sources: Sequence[SlideSource],
    kind: str,
    per_slide: int = 500,
    seed: int = 0,
    *,
    workers: int = 1,
    skip_unreadable: bool = False,
) -> Sample:
    """Up to `per_slide` tiles of every slide: all of a slide's tiles when it has fewer, else a
    uniform sample without replacement from the slide's own generator (seed + fingerprint).

    The result is in source order and identical for any `workers` (threads; pyarrow and numpy
    release the GIL while reading). An unreadable slide raises ValueError, or with
    `skip_unreadable` is left out and listed in `Sample.failed`.
    """
    _check_kind(kind)
    if per_slide < 1:
        raise ValueError("per_slide must be >= 1")

    def one(source: SlideSource):
        try:
            return _sample_one(source, kind, per_slide, seed)
        except ValueError as exc:
            if not skip_unreadable:
                raise
            return exc

    if workers > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(one, sources))
    else:
        parts = [one(s) for s in sources]
    features, indices, rows, failed = [], [], [], []
    for source, part in zip(sources, parts, strict=True):
        if isinstance(part, Exception):
            failed.append((source.slide_id, str(part)))
            continue
        f, r = part
        features.append(f)
        rows.append(r)
        indices.append(np.full(len(r), source.slide_index, dtype=np.int32))
    if not features:
        raise ValueError("no readable slide to sample from")
    return Sample(
        features=np.ascontiguousarray(np.concatenate(features), dtype=np.float32),
        slide_index=np.concatenate(indices),
        row=np.concatenate(rows),
        failed=failed,
    )


@dataclass
class Standardiser:
    """Per-dimension z-scores: features on very different scales (L* in 0-100, hue in 0-1)
    would otherwise let the largest-scale ones decide every distance."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray) -> "Standardiser":
        """Mean and standard deviation per column (float64 sums), std floored at 1e-6 so a
        constant column maps to 0 instead of dividing by zero."""
        x = np.asarray(x)
        if x.ndim != 2 or len(x) == 0:
            raise ValueError(f"expected a non-empty (n, d) array, got shape {x.shape}")
        mean = x.mean(axis=0, dtype=np.float64)
        std = x.std(axis=0, dtype=np.float64)
        return cls(mean.astype(np.float32), np.maximum(std, STD_FLOOR).astype(np.float32))

    def transform(self, x: np.ndarray) -> np.ndarray:
        """(x - mean) / std as C-contiguous float32 (n, d)."""
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.mean.shape[0]:
            raise ValueError(f"expected (n, {self.mean.shape[0]}) features, got {x.shape}")
        return np.ascontiguousarray((x - self.mean) / self.std, dtype=np.float32)

    def to_dict(self) -> dict:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, data: dict) -> "Standardiser":
        mean = np.asarray(data["mean"], dtype=np.float32)
        std = np.asarray(data["std"], dtype=np.float32)
        if mean.shape != std.shape or mean.ndim != 1:
            raise ValueError("standardiser mean and std must be 1-D and of the same length")
        return cls(mean, np.maximum(std, STD_FLOOR).astype(np.float32))
