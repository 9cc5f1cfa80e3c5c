"""k-means on tile features with FAISS, flat or hierarchical with resampling, on GPU or CPU.

Flat: Lloyd iterations by `faiss.Kmeans` from greedy k-means++ starts (see
`kmeans_plus_plus`: FAISS's random starts cost up to 2.7× the inertia on uneven data), on a
seeded sample of at most `max_points_per_centroid` × k points (centroids move little from more
points, and every iteration costs n × k × d); `restarts` tries, the best kept.

Hierarchical with resampling (Vo et al., 2024, "Automatic Data Curation for Self-Supervised
Learning: A Clustering-Based Approach", arXiv:2405.15613): plain k-means puts its centroids
where the data is dense, because a centroid in a crowded region removes much more squared
error than one in a sparse region. Tiles are very unevenly distributed (a few tissue types
and backgrounds dominate an archive), so k = 100 flat clusters spend most centroids on
splitting the commonest tissue into near-identical clusters and merge rare tissue into a few.
The paper's remedy, implemented here from its description:

- Levels: level 1 clusters the data into `levels[0]` clusters; level i clusters level i-1's
  centroids (each counted once, however many points it holds) into `levels[i-1]` clusters;
  the last level has the final k. Clustering centroids instead of points is what flattens
  the density: a dense region is represented by as many fine centroids as it takes to cover
  it, not by as many points as it holds.
- Resampling steps at every level: after the plain k-means, `resampling_steps` times draw
  the same number of points from every cluster (those closest to its centroid, as the paper
  does), re-run k-means on that balanced resample starting from the current centroids, and
  reassign all points. Each cluster then pulls on the centroids with the same weight,
  whatever its size, so centroids drift out of dense regions towards sparse ones.

Centroids above level 1 are means of the lower centroids of their cluster weighted by how
many data points each lower centroid holds, so the final centroids live in the data space
(see `_weighted_means`). Both methods run the same code on GPU or CPU: only the FAISS index
behind the k-means and the nearest-centroid searches changes.
"""

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields

# OpenMP threads that spin while waiting for work fight the threads doing it: measured on this
# project's 2-core machine, FAISS's nearest-centroid search over 1M points took 1.16 s with 2
# spinning threads, 0.24 s with passive waiting (k-means of 2,000 points: 0.76 s vs 0.02 s).
# Read once, when the OpenMP runtime bundled with FAISS loads, so this must precede the import.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import faiss
import numpy as np

log = logging.getLogger(__name__)

METHODS = ("flat", "hierarchical")
# Searches in blocks of this many points: bounds FAISS's distance buffers on huge inputs.
SEARCH_BLOCK = 1 << 18
# k-means++ seeding looks at most this many points: its cost is k × points × d, and for large
# k (a hierarchy's first level) a bigger sample would cost more than the Lloyd iterations
# (k = 1000: 1.0 s from 32,768 points, 11 s from 65,536, which no longer fit the CPU caches).
SEEDING_POINTS = 32768


@dataclass(frozen=True)
class KMeansParams:
    """Parameters of `train`; validated on construction (ValueError)."""

    k: int = 100
    iterations: int = 25
    restarts: int = 1
    spherical: bool = False
    seed: int = 0
    method: str = "flat"
    # hierarchical: sizes of the finer levels before the final k, e.g. (1000,) then k = 100.
    levels: tuple[int, ...] = ()
    resampling_steps: int = 2
    resample_per_cluster: int = 0  # 0 = auto (see `auto_resample_size`)
    max_points_per_centroid: int = 256

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        if self.k < 2:
            raise ValueError("k must be >= 2")
        if self.iterations < 1 or self.restarts < 1:
            raise ValueError("iterations and restarts must be >= 1")
        if self.resampling_steps < 0 or self.resample_per_cluster < 0:
            raise ValueError("resampling_steps and resample_per_cluster must be >= 0")
        if self.max_points_per_centroid < 1:
            raise ValueError("max_points_per_centroid must be >= 1")
        if self.levels and self.method != "hierarchical":
            raise ValueError("levels are for method 'hierarchical' only")
        sizes = [*self.levels, self.k]
        if any(a <= b for a, b in zip(sizes, sizes[1:], strict=False)):
            raise ValueError(f"levels must decrease and each be > k; got {list(self.levels)}")

    def to_dict(self) -> dict:
        data = asdict(self)
        data["levels"] = list(self.levels)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "KMeansParams":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown k-means parameters: {unknown}")
        values = dict(data)
        try:
            for name in known - {"spherical", "method", "levels"}:
                if name in values:
                    values[name] = _strict_int(values[name], name)
            if "levels" in values:
                values["levels"] = tuple(_strict_int(v, "levels") for v in values["levels"] or ())
            if "spherical" in values and not isinstance(values["spherical"], bool):
                raise ValueError("spherical must be true or false")
        except TypeError as exc:
            raise ValueError(str(exc)) from exc
        return cls(**values)


def _strict_int(value, name: str) -> int:
    """An int from JSON: ints, and floats without a fraction; never bools or strings."""
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise ValueError(f"{name} must be an integer, got {value!r}")
    return int(value)


@dataclass
class KMeansResult:
    centroids: np.ndarray  # (k, d) float32, training space; L2-normalised when spherical
    inertia: float  # sum of squared L2 distances of the training points to their centroid
    objective: list[float]  # flat: FAISS's objective per iteration; hierarchical: per level
    device: str  # "gpu" | "cpu": what actually ran
    seconds: float
    levels: list[np.ndarray] = field(default_factory=list)  # finest first; flat: [centroids]


def faiss_gpu_available() -> bool:
    """True when FAISS sees a GPU and RUDOLFV_FAISS_GPU is not "0" (faiss-cpu: never)."""
    if os.environ.get("RUDOLFV_FAISS_GPU") == "0":
        return False
    count = getattr(faiss, "get_num_gpus", None)
    try:
        return bool(count) and count() > 0
    except Exception:  # noqa: BLE001 - a broken CUDA setup means: no GPU
        return False


def resolve_gpu(gpu: bool | None) -> bool:
    """Whether to use the GPU: None = when available; True without one warns and says no."""
    available = faiss_gpu_available()
    if gpu is None:
        return available
    if gpu and not available:
        log.warning("FAISS GPU requested but none is available: running on the CPU")
        return False
    return bool(gpu)


def normalise_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (float32, C-contiguous); all-zero rows stay zero."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x / np.maximum(norms, 1e-12), dtype=np.float32)


def flat_index(centroids: np.ndarray, *, inner_product: bool, gpu: bool) -> faiss.Index:
    """An exact FAISS index over `centroids` (L2 or inner product), moved to the GPUs if asked."""
    centroids = np.ascontiguousarray(centroids, dtype=np.float32)
    dim = centroids.shape[1]
    index = faiss.IndexFlatIP(dim) if inner_product else faiss.IndexFlatL2(dim)
    if gpu:
        index = faiss.index_cpu_to_all_gpus(index)
    index.add(centroids)
    return index


def nearest(
    x: np.ndarray, centroids: np.ndarray, *, gpu: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's nearest centroid (int64) and squared L2 distance to it (float32, >= 0)."""
    index = flat_index(centroids, inner_product=False, gpu=gpu)
    x = np.ascontiguousarray(x, dtype=np.float32)
    labels = np.empty(len(x), dtype=np.int64)
    distances = np.empty(len(x), dtype=np.float32)
    for start in range(0, len(x), SEARCH_BLOCK):
        d, i = index.search(x[start : start + SEARCH_BLOCK], 1)
        labels[start : start + SEARCH_BLOCK] = i[:, 0]
        distances[start : start + SEARCH_BLOCK] = d[:, 0]
    # ||x||² + ||c||² - 2 x·c can come out a hair below zero in float32.
    return labels, np.maximum(distances, 0, out=distances)


def _squared_distances(c: np.ndarray, x_t: np.ndarray, x_norms: np.ndarray) -> np.ndarray:
    """(m, n) squared L2 distances of centroids `c` to points given transposed (d, n), computed
    in place: this is the seeding's inner loop (row-major (m, n) measured ~3× faster here)."""
    d = c @ x_t
    d *= -2
    d += x_norms[None]
    d += (c * c).sum(axis=1)[:, None]
    return np.maximum(d, 0, out=d)


def kmeans_plus_plus(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k starting centroids by greedy k-means++ (Arthur & Vassilvitskii 2007; the greedy form
    scikit-learn uses): each next centroid is the best, by the resulting sum of squared
    distances, of 2 + ln k candidates drawn with probability proportional to their squared
    distance to the centroids so far. At most SEEDING_POINTS rows of `x` are used.

    Why not FAISS's own start: it draws k random points, which on unevenly weighted data puts
    most starts in the big clusters, and 25 Lloyd iterations do not undo that. Measured on the
    benchmark's 1M-point mixture (k = 100): final inertia 5.26M from random starts, 2.39M from
    FAISS's plain k-means++, 1.88M from these starts (scikit-learn's KMeans: 1.96M).
    """
    if len(x) > SEEDING_POINTS:
        x = x[np.sort(rng.choice(len(x), SEEDING_POINTS, replace=False))]
    x = np.ascontiguousarray(x, dtype=np.float32)
    x_t = np.ascontiguousarray(x.T)
    n, trials = len(x), 2 + int(np.log(k))
    x_norms = (x * x).sum(axis=1)
    first = int(rng.integers(n))
    centroids = np.empty((k, x.shape[1]), dtype=np.float32)
    centroids[0] = x[first]
    closest = _squared_distances(x[first : first + 1], x_t, x_norms)[0]
    for i in range(1, k):
        cumulative = np.cumsum(closest, dtype=np.float64)
        if cumulative[-1] <= 0:  # fewer distinct points than k: any point will do
            candidates = rng.integers(n, size=trials)
        else:
            draws = rng.random(trials) * cumulative[-1]
            candidates = np.minimum(np.searchsorted(cumulative, draws), n - 1)
        reach = _squared_distances(x[candidates], x_t, x_norms)
        np.minimum(reach, closest[None], out=reach)
        best = int(reach.sum(axis=1).argmin())
        centroids[i] = x[candidates[best]]
        closest = reach[best].copy()
    return centroids


def _lloyd(
    x: np.ndarray,
    init: np.ndarray,
    *,
    iterations: int,
    spherical: bool,
    seed: int,
    gpu: bool,
) -> tuple[np.ndarray, list[float]]:
    """`iterations` Lloyd steps of `faiss.Kmeans` from `init` on all of `x`: the centroids
    (float32) and FAISS's objective per iteration."""
    kmeans = faiss.Kmeans(
        x.shape[1],
        len(init),
        niter=iterations,
        nredo=1,  # restarts need new starts: `_faiss_kmeans` seeds each one itself
        spherical=spherical,
        seed=int(seed),
        max_points_per_centroid=max(1, -(-len(x) // len(init))),  # x is already the sample
        min_points_per_centroid=1,  # small resamples are intended: no FAISS warning for them
        verbose=False,
        gpu=bool(gpu),
    )
    kmeans.train(x, init_centroids=np.ascontiguousarray(init, dtype=np.float32))
    return np.ascontiguousarray(kmeans.centroids, dtype=np.float32), [float(v) for v in kmeans.obj]


def _faiss_kmeans(
    x: np.ndarray,
    k: int,
    *,
    iterations: int,
    restarts: int,
    spherical: bool,
    seed: int,
    max_points_per_centroid: int,
    gpu: bool,
    init: np.ndarray | None = None,
) -> tuple[np.ndarray, list[float]]:
    """k-means of `x`: centroids (k, d) float32 and the objective per iteration of the kept try.

    From `init` when given; otherwise on a seeded sample of at most max_points_per_centroid × k
    points (as FAISS would subsample), `restarts` times from greedy k-means++ starts, keeping
    the try with the lowest sum of squared distances on that sample.
    """
    options = {"iterations": iterations, "spherical": spherical, "gpu": gpu}
    if init is not None:
        return _lloyd(x, init, seed=seed, **options)
    rng = np.random.default_rng(seed)
    if len(x) > max_points_per_centroid * k:
        x = x[np.sort(rng.choice(len(x), max_points_per_centroid * k, replace=False))]
    best, best_error = None, np.inf
    for attempt in range(restarts):
        start = kmeans_plus_plus(x, k, rng)
        if spherical:
            start = normalise_rows(start)
        centroids, objective = _lloyd(x, start, seed=seed + attempt, **options)
        error = (
            float(nearest(x, centroids, gpu=gpu)[1].sum(dtype=np.float64)) if restarts > 1 else 0.0
        )
        if best is None or error < best_error:
            best, best_error = (centroids, objective), error
    return best


def auto_resample_size(sizes: np.ndarray) -> int:
    """Points drawn per cluster when `resample_per_cluster` is 0: the median size of the
    non-empty clusters. Most clusters can give that many, so the resample is close to even,
    and it keeps a typical cluster whole rather than shrinking every cluster to a few points
    (which would make the resample a noisy copy of the centroids)."""
    nonempty = sizes[sizes > 0]
    return max(1, int(np.median(nonempty))) if len(nonempty) else 1


def closest_per_cluster(labels: np.ndarray, distances: np.ndarray, per_cluster: int) -> np.ndarray:
    """Indices of the `per_cluster` points closest to their centroid in every cluster (all of a
    smaller cluster's points), grouped by cluster, nearest first within each group."""
    order = np.lexsort((distances, labels))
    grouped = labels[order]
    first_of_group = np.searchsorted(grouped, grouped, side="left")
    rank = np.arange(len(order)) - first_of_group
    return order[rank < per_cluster]


def _weighted_means(
    points: np.ndarray, weights: np.ndarray, labels: np.ndarray, fallback: np.ndarray
) -> np.ndarray:
    """Per cluster, the mean of its points weighted by `weights`; `fallback` rows for clusters
    with no weight (empty, or holding only lower centroids that no data point is nearest to).

    Why weighted: a lower centroid stands for all the data points it holds. The unweighted mean
    would let a centroid of 30 outlying tiles pull as hard as one of 30,000 typical tiles, and
    the final centroid would sit away from where most of its tiles are, so nearest-centroid
    assignment of the tiles would agree less with the hierarchy. The partition itself is still
    made unweighted (that is what balances it); only the position is weighted.
    """
    k = fallback.shape[0]
    totals = np.bincount(labels, weights=weights, minlength=k)
    sums = np.zeros(fallback.shape, dtype=np.float64)
    np.add.at(sums, labels, points.astype(np.float64) * weights[:, None])
    means = fallback.astype(np.float64).copy()
    held = totals > 0
    means[held] = sums[held] / totals[held, None]
    return means.astype(np.float32)


def _resampled_level(
    points: np.ndarray,
    k: int,
    *,
    iterations: int,
    restarts: int,
    resampling_steps: int,
    resample_per_cluster: int,
    spherical: bool,
    seed: int,
    max_points_per_centroid: int,
    gpu: bool,
) -> np.ndarray:
    """One level: k-means on `points`, then the resampling steps (see the module docstring)."""
    options = {
        "iterations": iterations,
        "spherical": spherical,
        "max_points_per_centroid": max_points_per_centroid,
        "gpu": gpu,
    }
    centroids, _ = _faiss_kmeans(points, k, restarts=restarts, seed=seed, **options)
    for step in range(resampling_steps):
        labels, distances = nearest(points, centroids, gpu=gpu)
        per_cluster = resample_per_cluster or auto_resample_size(np.bincount(labels, minlength=k))
        chosen = closest_per_cluster(labels, distances, per_cluster)
        if len(chosen) < k:  # too few points to place k centroids: keep what we have
            break
        centroids, _ = _faiss_kmeans(
            points[chosen], k, restarts=1, seed=seed + step + 1, init=centroids, **options
        )
    return centroids


def _hierarchical(
    x: np.ndarray,
    levels: Sequence[int],
    *,
    iterations: int,
    resampling_steps: int,
    resample_per_cluster: int,
    spherical: bool,
    seed: int,
    gpu: bool,
    restarts: int,
    max_points_per_centroid: int,
) -> tuple[list[np.ndarray], list[float]]:
    """Each level's centroids (finest first) and each level's objective: the sum of squared
    distances of that level's inputs (data points, then lower centroids) to its centroids."""
    points = x
    weights = np.ones(len(x), dtype=np.float64)  # data points each of `points` stands for
    out, objective = [], []
    for level, k in enumerate(levels):
        if len(points) < k:
            raise ValueError(f"level {level + 1}: {len(points)} points for {k} clusters")
        centroids = _resampled_level(
            points,
            k,
            iterations=iterations,
            restarts=restarts,
            resampling_steps=resampling_steps,
            resample_per_cluster=resample_per_cluster,
            spherical=spherical,
            seed=seed + 1000 * level,
            max_points_per_centroid=max_points_per_centroid,
            gpu=gpu,
        )
        labels, distances = nearest(points, centroids, gpu=gpu)
        if level > 0:
            centroids = _weighted_means(points, weights, labels, centroids)
            if spherical:
                centroids = normalise_rows(centroids)
            labels, distances = nearest(points, centroids, gpu=gpu)
        objective.append(float(distances.sum(dtype=np.float64)))
        weights = np.bincount(labels, weights=weights, minlength=k)
        out.append(centroids)
        points = centroids
    return out, objective


def hierarchical_kmeans(
    x: np.ndarray,
    levels: Sequence[int],
    *,
    iterations: int = 25,
    resampling_steps: int = 2,
    resample_per_cluster: int = 0,
    spherical: bool = False,
    seed: int = 0,
    gpu: bool | None = None,
    restarts: int = 1,
    max_points_per_centroid: int = 256,
) -> list[np.ndarray]:
    """Hierarchical k-means with resampling: the centroids of every level, finest first, the
    last one with `levels[-1]` clusters (see the module docstring). `levels` must decrease.
    Spherical: the points are L2-normalised first and every level's centroids too."""
    levels = [int(v) for v in levels]
    if not levels or any(a <= b for a, b in zip(levels, levels[1:], strict=False)):
        raise ValueError(f"levels must be non-empty and decreasing, got {levels}")
    x = _training_points(x, spherical)
    result, _ = _hierarchical(
        x,
        levels,
        iterations=iterations,
        resampling_steps=resampling_steps,
        resample_per_cluster=resample_per_cluster,
        spherical=spherical,
        seed=seed,
        gpu=resolve_gpu(gpu),
        restarts=restarts,
        max_points_per_centroid=max_points_per_centroid,
    )
    return result


def _training_points(x: np.ndarray, spherical: bool) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"expected an (n, d) array, got shape {x.shape}")
    return normalise_rows(x) if spherical else x


def train(x: np.ndarray, params: KMeansParams, gpu: bool | None = None) -> KMeansResult:
    """Cluster `x` (already standardised) into `params.k` clusters.

    gpu: None = the GPU when FAISS has one; True without one logs a warning and runs on the
    CPU (`device` says what ran). Spherical: points are L2-normalised before training, the
    centroids are unit vectors, and `inertia` is measured on the normalised points. Raises
    ValueError when there are fewer points than k.
    """
    started = time.perf_counter()
    x = _training_points(x, params.spherical)
    if len(x) < params.k:
        raise ValueError(f"{len(x)} points are fewer than k = {params.k}")
    use_gpu = resolve_gpu(gpu)
    if params.method == "flat":
        centroids, objective = _faiss_kmeans(
            x,
            params.k,
            iterations=params.iterations,
            restarts=params.restarts,
            spherical=params.spherical,
            seed=params.seed,
            max_points_per_centroid=params.max_points_per_centroid,
            gpu=use_gpu,
        )
        levels = [centroids]
    else:
        levels, objective = _hierarchical(
            x,
            [*params.levels, params.k],
            iterations=params.iterations,
            resampling_steps=params.resampling_steps,
            resample_per_cluster=params.resample_per_cluster,
            spherical=params.spherical,
            seed=params.seed,
            gpu=use_gpu,
            restarts=params.restarts,
            max_points_per_centroid=params.max_points_per_centroid,
        )
        centroids = levels[-1]
    _, distances = nearest(x, centroids, gpu=use_gpu)
    return KMeansResult(
        centroids=centroids,
        inertia=float(distances.sum(dtype=np.float64)),
        objective=objective,
        device="gpu" if use_gpu else "cpu",
        seconds=time.perf_counter() - started,
        levels=levels,
    )
