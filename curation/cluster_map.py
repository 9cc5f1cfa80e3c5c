"""A 2-D map of a run for the review screen: centroids and a sample of tiles, projected together.

PCA by default (numpy SVD of the centred sample, no extra dependency, deterministic: the sign
of each axis is fixed so that its largest loading is positive); UMAP when umap-learn is
installed and asked for. Inputs are already in the standardised training space.
"""

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curation.atomic import atomic_write

MAP_FILE = "map.parquet"
_METHOD_KEY = b"rudolfv_map_method"


def _subsample(n: int, max_points: int, seed: int) -> np.ndarray:
    """Sorted row indices: all rows when n <= max_points, else a seeded uniform subset."""
    if n <= max_points:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=max_points, replace=False))


def _pca_axes(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and the first two principal axes (2, d) of `x`, signs fixed for determinism."""
    mean = x.mean(axis=0, dtype=np.float64)
    _, _, vt = np.linalg.svd(x.astype(np.float64) - mean, full_matrices=False)
    axes = np.zeros((2, x.shape[1]))
    axes[: min(2, len(vt))] = vt[:2]
    signs = np.sign(axes[np.arange(2), np.abs(axes).argmax(axis=1)])
    return mean, axes * np.where(signs == 0, 1, signs)[:, None]


def _umap(tiles: np.ndarray, centroids: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    try:
        import umap  # noqa: PLC0415 - optional dependency
    except ImportError as exc:
        raise ValueError("method 'umap' needs umap-learn, which is not installed") from exc
    reducer = umap.UMAP(n_components=2, random_state=seed)
    return reducer.fit_transform(tiles), reducer.transform(centroids)


def project_2d(
    centroids: np.ndarray,
    sample: np.ndarray,
    labels: np.ndarray,
    *,
    method: str = "pca",
    max_points: int = 5000,
    seed: int = 0,
) -> dict:
    """Project the centroids (k, d) and up to `max_points` sample tiles (seeded subset of
    `sample` (N, d) with their `labels` (N,)) to 2-D.

    Returns {"method", "centroids": (k, 2) float32, "tiles": (M, 2) float32, "tile_labels":
    (M,) int32}. PCA is fitted on the sample (all of it, not only the shown subset). Raises
    ValueError for an unknown method, or "umap" without umap-learn.
    """
    centroids = np.asarray(centroids, dtype=np.float32)
    sample = np.asarray(sample, dtype=np.float32)
    labels = np.asarray(labels)
    if sample.ndim != 2 or sample.shape[1] != centroids.shape[1] or len(labels) != len(sample):
        raise ValueError("sample must be (N, d) like the centroids, with one label per row")
    if method not in ("pca", "umap"):
        raise ValueError(f"unknown projection method {method!r}; expected 'pca' or 'umap'")
    shown = _subsample(len(sample), max_points, seed)
    if method == "umap":
        tiles, centres = _umap(sample[shown], centroids, seed)
    else:
        mean, axes = _pca_axes(sample)
        tiles = (sample[shown] - mean) @ axes.T
        centres = (centroids - mean) @ axes.T
    return {
        "method": method,
        "centroids": np.asarray(centres, dtype=np.float32),
        "tiles": np.asarray(tiles, dtype=np.float32),
        "tile_labels": labels[shown].astype(np.int32),
    }


def write_map(run_dir: Path, projection: dict) -> None:
    """map.parquet: kind (centroid | tile), cluster (int32), x, y (float32); the method in the
    schema metadata. Written atomically."""
    k = len(projection["centroids"])
    points = np.concatenate([projection["centroids"], projection["tiles"]]).reshape(-1, 2)
    table = pa.table(
        {
            "kind": pa.array(["centroid"] * k + ["tile"] * len(projection["tiles"]), pa.string()),
            "cluster": pa.array(
                np.concatenate([np.arange(k), projection["tile_labels"]]).astype(np.int32)
            ),
            "x": pa.array(points[:, 0].astype(np.float32)),
            "y": pa.array(points[:, 1].astype(np.float32)),
        }
    ).replace_schema_metadata({_METHOD_KEY: projection["method"].encode()})
    with atomic_write(Path(run_dir) / MAP_FILE) as temporary:
        pq.write_table(table, temporary, compression="zstd")


def read_map(run_dir: Path) -> dict:
    """The projection as `project_2d` returned it (centroids ordered by cluster index)."""
    table = pq.read_table(Path(run_dir) / MAP_FILE)
    kind = np.asarray(table.column("kind").to_pylist())
    cluster = table.column("cluster").to_numpy()
    points = np.stack([table.column("x").to_numpy(), table.column("y").to_numpy()], axis=1)
    centroid = kind == "centroid"
    order = np.argsort(cluster[centroid], kind="stable")
    return {
        "method": (table.schema.metadata or {}).get(_METHOD_KEY, b"pca").decode(),
        "centroids": points[centroid][order].astype(np.float32),
        "tiles": points[~centroid].astype(np.float32),
        "tile_labels": cluster[~centroid].astype(np.int32),
    }
