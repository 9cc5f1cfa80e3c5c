""" "More like this": a compact FAISS index over (a bounded sample of) a run's tiles.

The index is an IVF with 8-bit scalar quantisation whose coarse quantizer holds the run's own
centroids: the k clusters are the inverted lists, so nothing is trained for them, and a search
that probes the `nprobe` nearest clusters looks where the similar tiles are. Each vector costs
d bytes (plus an 8-byte id), so 2 million 36-d tiles take about 90 MB.

Ids are `slide_index << 32 | row` (row within the slide's tile file). At most `max_tiles`
tiles are indexed, the same cap for every slide (slides with fewer tiles give all), so large
slides do not crowd the small ones out.
"""

import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before FAISS loads: see curation.kmeans

import faiss
import numpy as np

from curation.atomic import atomic_write
from curation.cluster_assign import Assigner
from curation.cluster_features import (
    SlideSource,
    load_features,
    open_embeddings,
    sample_features,
    sample_rows,
    slide_rng,
    tile_count,
)

INDEX_FILE = "similar.faiss"
TRAIN_SIZE = 65536  # vectors the scalar quantizer's ranges are fitted on
ADD_BATCH = 65536
_INDEX_PURPOSE = 2  # slide_rng purpose of the per-slide choice of indexed rows
_ROW_MASK = (1 << 32) - 1


def tile_id(slide_index: int | np.ndarray, row: int | np.ndarray) -> np.ndarray:
    """The index id of a tile: slide_index in the high 32 bits, its row in the low ones."""
    return (np.asarray(slide_index, dtype=np.int64) << 32) | np.asarray(row, dtype=np.int64)


def per_slide_cap(counts: Sequence[int], max_tiles: int) -> int:
    """The largest per-slide cap c with sum(min(n, c)) <= max_tiles (water filling)."""
    counts = np.asarray(counts, dtype=np.int64)
    if counts.sum() <= max_tiles:
        return int(counts.max(initial=0))
    low, high = 0, int(counts.max())  # sum(min(n, low)) <= max_tiles < sum(min(n, high))
    while high - low > 1:
        middle = (low + high) // 2
        if np.minimum(counts, middle).sum() <= max_tiles:
            low = middle
        else:
            high = middle
    return low


def _rows_of(source: SlideSource, kind: str) -> int | None:
    try:
        return open_embeddings(source).shape[0] if kind == "embedding" else tile_count(source)
    except ValueError:
        return None  # unreadable: left out of the index, as the assignment leaves it out


def _empty_index(assigner: Assigner) -> tuple[faiss.Index, faiss.Index]:
    metric = faiss.METRIC_INNER_PRODUCT if assigner.spherical else faiss.METRIC_L2
    quantizer = (
        faiss.IndexFlatIP(assigner.dim) if assigner.spherical else faiss.IndexFlatL2(assigner.dim)
    )
    quantizer.add(assigner.centroids)  # the run's clusters are the inverted lists: no training
    index = faiss.IndexIVFScalarQuantizer(
        quantizer, assigner.dim, assigner.k, faiss.ScalarQuantizer.QT_8bit, metric
    )
    return index, quantizer


def build_index(
    sources: Sequence[SlideSource],
    kind: str,
    assigner: Assigner,
    run_dir: Path,
    *,
    max_tiles: int = 2_000_000,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Index up to `max_tiles` tiles of `sources` (vectors = `assigner.transform(features)`)
    and write run_dir/similar.faiss atomically; return how many tiles were indexed.

    Every slide gives all its tiles or the same seeded sample of `cap` tiles, cap chosen so the
    total stays <= max_tiles. The scalar quantizer is trained on an even sample of all slides.
    Unreadable slides are left out. `progress(done_slides, total_slides)` after each slide.
    """
    counts = [_rows_of(s, kind) for s in sources]
    readable = [s for s, n in zip(sources, counts, strict=True) if n]
    if not readable:
        raise ValueError("no readable slide to index")
    cap = per_slide_cap([n or 0 for n in counts], max_tiles)
    index, quantizer = _empty_index(assigner)
    per_slide = max(1, math.ceil(TRAIN_SIZE / len(readable)))
    training = sample_features(readable, kind, per_slide, seed, skip_unreadable=True)
    index.train(assigner.transform(training.features))
    added = 0
    for done, (source, n) in enumerate(zip(sources, counts, strict=True), start=1):
        if n:
            added += _add_slide(index, source, kind, assigner, n, cap, seed)
        if progress:
            progress(done, len(sources))
    with atomic_write(Path(run_dir) / INDEX_FILE) as temporary:
        faiss.write_index(index, str(temporary))
    del quantizer  # kept alive until here: the IVF index refers to it
    return added


def _add_slide(
    index: faiss.Index,
    source: SlideSource,
    kind: str,
    assigner: Assigner,
    n: int,
    cap: int,
    seed: int,
) -> int:
    rows = sample_rows(n, cap, slide_rng(seed, source.fingerprint, _INDEX_PURPOSE))
    for start in range(0, len(rows), ADD_BATCH):
        chunk = rows[start : start + ADD_BATCH]
        vectors = assigner.transform(load_features(source, kind, chunk))
        index.add_with_ids(vectors, tile_id(source.slide_index, chunk))
    return len(rows)


class SimilarIndex:
    """A built similar-tiles index, opened for searching."""

    def __init__(self, index: faiss.Index) -> None:
        self.index = index
        self.inner_product = index.metric_type == faiss.METRIC_INNER_PRODUCT

    @classmethod
    def open(cls, run_dir: Path) -> "SimilarIndex":
        """Read run_dir/similar.faiss; FileNotFoundError when the run has none (yet)."""
        path = Path(run_dir) / INDEX_FILE
        if not path.is_file():
            raise FileNotFoundError(f"no similar-tiles index at {path}")
        return cls(faiss.read_index(str(path)))

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def search(
        self, vector: np.ndarray, k: int = 24, nprobe: int = 8
    ) -> list[tuple[int, int, float]]:
        """The `k` indexed tiles nearest to `vector` (d,), in the transformed space: (slide_index,
        row, distance), nearest first; distance as in the labels (squared L2, or 1 − cosine).
        The `nprobe` clusters nearest to the vector are searched (per call: thread-safe)."""
        query = np.ascontiguousarray(np.asarray(vector, dtype=np.float32).reshape(1, -1))
        params = faiss.SearchParametersIVF(nprobe=max(1, int(nprobe)))
        distances, ids = self.index.search(query, int(k), params=params)
        results = []
        for distance, ident in zip(distances[0], ids[0], strict=True):
            if ident < 0:  # fewer than k tiles in the probed clusters
                continue
            value = 1.0 - float(distance) if self.inner_product else max(float(distance), 0.0)
            results.append((int(ident >> 32), int(ident & _ROW_MASK), value))
        return results


def similar_to_tile(
    run_dir: Path,
    source: SlideSource,
    row: int,
    kind: str,
    assigner: Assigner,
    k: int = 24,
) -> list[tuple[int, int, float]]:
    """The `k` indexed tiles most similar to tile `row` of `source`, the tile itself excluded."""
    vector = assigner.transform(load_features(source, kind, np.array([row])))[0]
    hits = SimilarIndex.open(run_dir).search(vector, k + 1)
    return [hit for hit in hits if (hit[0], hit[1]) != (source.slide_index, row)][:k]
