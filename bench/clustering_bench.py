"""Clustering: FAISS k-means (`curation.kmeans.train`) against scikit-learn's KMeans and
MiniBatchKMeans on the same features, and `assign_sources` over millions of tiles against an
in-memory baseline, in one run.

k-means: 1,000,000 × 36 features drawn from a mixture of 150 anisotropic Gaussians (random
rotations, axis scales from 0.1 to 1.5, centres spread with standard deviation 4, weights from
a Dirichlet(0.5): a few components hold most points, like the commonest tissues of an
archive), then standardised like a run's sample. k = 100, 25 iterations, one initialisation
each:
- ours: `train` with the default parameters (FAISS subsamples to 256 points per centroid);
- ours, all points: the same with `max_points_per_centroid` large enough to use all 1M;
- KMeans: `algorithm="lloyd"`, `n_init=1`, `max_iter=25`, `tol=0` (its default k-means++
  initialisation);
- MiniBatchKMeans: `n_init=1`, `max_iter=25` (epochs; its own early stop may end sooner).
Each runs in a fresh process; every final inertia is computed the same way afterwards: the
exact squared distance of each of the 1M points to its nearest centroid (float64 numpy).

Assignment: 500 tile-store files × 20,000 tiles (10M tiles; written once under BENCH_DIR and
reused) with the 36 features from the same mixture at per-feature scales and offsets, and
quality columns. A model is trained on a 500-tile-per-slide sample (`sample_features`, timed),
then in fresh processes:
- ours: `assign_sources` (batches of 65,536 rows, label files, summaries, 12 exemplars of
  each kind per cluster), on 50 files (1M tiles) and on all 500 (10M): memory must not grow;
- baseline: every file's features read into one in-memory array, one `Assigner.assign` over
  it, then the label files written (what a straightforward script does), on the same 1M and
  10M tiles. Its labels are compared with ours.

Run through `scripts/bench`, or: python -m bench.clustering_bench [--quick]
(--quick: 100k points and 20 files × 5,000 tiles, to bench/out/clustering-quick.json).
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from bench import common

SEED = 0
DIM = 36
COMPONENTS = 150
K = 100
ITERATIONS = 25
FULL = {"points": 1_000_000, "files": 500, "rows": 20_000, "subset_files": 50}
QUICK = {"points": 100_000, "files": 20, "rows": 5_000, "subset_files": 4}
GOAL_SPEEDUP = 10.0  # ours ÷ KMeans wall time
GOAL_INERTIA = 0.01  # ours within 1 % of KMeans's inertia
DATA_VERSION = 1  # bump when the generated data changes: cached files are then rewritten


# --- data ----------------------------------------------------------------------------------------


class Mixture:
    """A fixed mixture of anisotropic Gaussians (parameters from SEED); `draw` samples it."""

    def __init__(self, seed: int = SEED) -> None:
        rng = np.random.default_rng(seed)
        self.weights = rng.dirichlet(np.full(COMPONENTS, 0.5))
        self.centres = rng.normal(0.0, 4.0, (COMPONENTS, DIM))
        self.rotations = [np.linalg.qr(rng.normal(size=(DIM, DIM)))[0] for _ in range(COMPONENTS)]
        self.scales = np.exp(rng.uniform(np.log(0.1), np.log(1.5), (COMPONENTS, DIM)))
        # Raw tile features live on very different scales (L* 0-100, hue 0-1): so do these.
        self.feature_scale = np.exp(rng.uniform(np.log(0.01), np.log(30), DIM))
        self.feature_offset = rng.uniform(-50, 50, DIM)

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        counts = rng.multinomial(n, self.weights)
        out = np.empty((n, DIM), dtype=np.float32)
        position = 0
        for c, count in enumerate(counts):
            noise = rng.standard_normal((count, DIM)) * self.scales[c]
            out[position : position + count] = noise @ self.rotations[c].T + self.centres[c]
            position += count
        return out[rng.permutation(n)]

    def raw(self, z: np.ndarray) -> np.ndarray:
        return (z * self.feature_scale + self.feature_offset).astype(np.float32)


def work_dir() -> Path:
    return common.BENCH_DIR / "clustering"


def prepare_points(n: int) -> Path:
    """The standardised k-means input, generated once per size."""
    from curation.cluster_features import Standardiser

    path = work_dir() / f"points-{n}-v{DATA_VERSION}.npy"
    if not path.is_file():
        raw = Mixture().draw(n, np.random.default_rng(SEED + 1))
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, Standardiser.fit(raw).transform(raw))
    return path


def _tile_file(mixture: Mixture, path: Path, rows: int, seed: int) -> None:
    from curation.features import FEATURE_NAMES
    from curation.tile_store import tile_table, write_tile_table
    from curation.tiling import QUALITY_COLUMNS

    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(rows)))
    index = np.arange(rows)
    quality = rng.random((rows, len(QUALITY_COLUMNS)), dtype=np.float32)
    table = tile_table(
        (index % side) * 512,
        (index // side) * 512,
        512.0,
        0.5,
        rng.uniform(0.5, 1.0, rows),
        mixture.raw(mixture.draw(rows, rng)),
        FEATURE_NAMES,
        quality,
        QUALITY_COLUMNS,
    )
    write_tile_table(path, table, {"bench": "clustering"})


def prepare_tiles(files: int, rows: int) -> tuple[list, float]:
    """`files` tile files of `rows` tiles under BENCH_DIR, written once and reused: their
    sources, and the seconds spent writing them now (0 when reused)."""
    from curation.cluster_features import SlideSource

    folder = work_dir() / f"tiles-{files}x{rows}-v{DATA_VERSION}"
    marker = folder / "complete.json"
    fingerprints = [f"{i:064x}" for i in range(files)]
    paths = [folder / fp[:2] / f"{fp}.parquet" for fp in fingerprints]
    seconds = 0.0
    if not marker.is_file():
        common.log(f"writing {files} tile files × {rows:,} tiles (once) under {folder}")
        mixture, started = Mixture(), time.perf_counter()
        for i, path in enumerate(paths):
            _tile_file(mixture, path, rows, SEED + 100 + i)
        seconds = time.perf_counter() - started
        marker.write_text(json.dumps({"files": files, "rows": rows, "seconds": seconds}))
    sources = [
        SlideSource(i, 10_000 + i, fp, p)
        for i, (fp, p) in enumerate(zip(fingerprints, paths, strict=True))
    ]
    return sources, seconds


def exact_inertia(x: np.ndarray, centroids: np.ndarray, block: int = 65536) -> float:
    """Σ over points of the squared distance to the nearest centroid, in float64."""
    c = centroids.astype(np.float64)
    c_norms = (c**2).sum(axis=1)
    total = 0.0
    for start in range(0, len(x), block):
        part = x[start : start + block].astype(np.float64)
        d = (part**2).sum(axis=1)[:, None] - 2 * part @ c.T + c_norms[None]
        total += float(np.maximum(d.min(axis=1), 0).sum())
    return total


# --- children: one variant per fresh process -----------------------------------------------------


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def own_peak_mb() -> float:
    """This process's peak RSS (VmHWM: its own, not inherited across exec like ru_maxrss)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def kmeans_child(variant: str, points: str, out: str) -> dict:
    """Train one variant on the points; the clock starts after imports and loading."""
    from sklearn.cluster import KMeans, MiniBatchKMeans

    from curation.kmeans import KMeansParams, train

    x = np.load(points)
    wall, cpu = time.perf_counter(), _cpu_seconds()
    if variant.startswith("ours"):
        per_centroid = 256 if variant == "ours" else len(x) // K + 1
        params = KMeansParams(
            k=K, iterations=ITERATIONS, seed=SEED, max_points_per_centroid=per_centroid
        )
        result = train(x, params)
        centroids, extra = result.centroids, {"training_points": min(len(x), per_centroid * K)}
    elif variant == "sklearn_kmeans":
        model = KMeans(K, algorithm="lloyd", n_init=1, max_iter=ITERATIONS, tol=0.0)
        model.set_params(random_state=SEED).fit(x)
        centroids, extra = model.cluster_centers_, {"iterations_run": int(model.n_iter_)}
    else:
        model = MiniBatchKMeans(K, n_init=1, max_iter=ITERATIONS, random_state=SEED).fit(x)
        centroids = model.cluster_centers_
        extra = {"steps_run": int(model.n_steps_), "epochs_run": int(model.n_iter_)}
    seconds, cpu_seconds = time.perf_counter() - wall, _cpu_seconds() - cpu
    np.save(out, np.asarray(centroids, dtype=np.float32))
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "peak_mb": own_peak_mb(), **extra}


def _sources(spec: dict) -> list:
    from curation.cluster_features import SlideSource

    return [SlideSource(i, s, fp, Path(p)) for i, s, fp, p in spec["sources"]]


def assign_child(variant: str, sources: list, model: str, out: str) -> dict:
    from curation.cluster_assign import Assigner, assign_sources, load_model

    centroids, standardiser, params, _ = load_model(Path(model))
    assigner = Assigner(centroids, standardiser, spherical=params.spherical)
    run_dir = Path(out)
    wall, cpu = time.perf_counter(), _cpu_seconds()
    if variant == "ours":
        summary = assign_sources(sources, "colour", assigner, run_dir)
        tiles, failed = summary.tile_count, len(summary.failed)
    else:
        tiles, failed = baseline_assign(sources, assigner, run_dir), 0
    seconds, cpu_seconds = time.perf_counter() - wall, _cpu_seconds() - cpu
    return {
        "tiles": tiles,
        "slides": len(sources),
        "failed": failed,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "tiles_per_s": tiles / seconds,
        "peak_mb": own_peak_mb(),
    }


def baseline_assign(sources: list, assigner, run_dir: Path) -> int:
    """Every slide's features into one array, one search, then the label files."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from curation.cluster_assign import labels_path
    from curation.cluster_features import load_features

    parts = [load_features(s, "colour") for s in sources]
    sizes = [len(p) for p in parts]
    features = np.concatenate(parts)
    del parts
    labels, distances = assigner.assign(features)
    start = 0
    for source, n in zip(sources, sizes, strict=True):
        path = labels_path(run_dir, source.fingerprint)
        path.parent.mkdir(parents=True, exist_ok=True)
        table = pa.table(
            {"cluster": labels[start : start + n], "distance": distances[start : start + n]}
        )
        pq.write_table(table, path, compression="zstd")
        start += n
    return len(labels)


def child(spec: dict) -> None:
    if spec["part"] == "kmeans":
        figures = kmeans_child(spec["variant"], spec["points"], spec["out"])
    else:
        figures = assign_child(spec["variant"], _sources(spec), spec["model"], spec["out"])
    print(json.dumps(figures))


def run_child(spec: dict) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "bench.clustering_bench", "--child", json.dumps(spec)],
        cwd=common.REPO,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(f"{spec['part']} {spec['variant']} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the parent ----------------------------------------------------------------------------------

KMEANS_VARIANTS = ("ours", "ours_all_points", "sklearn_kmeans", "sklearn_minibatch")


def bench_kmeans(n: int) -> dict:
    points = prepare_points(n)
    x = np.load(points)
    variants = {}
    for variant in KMEANS_VARIANTS:
        out = work_dir() / f"centroids-{variant}.npy"
        figures = run_child(
            {"part": "kmeans", "variant": variant, "points": str(points), "out": str(out)}
        )
        figures["inertia"] = exact_inertia(x, np.load(out))
        variants[variant] = figures
        common.log(
            f"k-means {variant}: {figures['seconds']:.2f} s, inertia {figures['inertia']:.6g}"
        )
    base = variants["sklearn_kmeans"]
    for figures in variants.values():
        figures["speedup_vs_kmeans"] = base["seconds"] / figures["seconds"]
        figures["inertia_vs_kmeans"] = figures["inertia"] / base["inertia"] - 1
    ours = variants["ours"]
    return {
        "points": n,
        "dim": DIM,
        "k": K,
        "iterations": ITERATIONS,
        "components": COMPONENTS,
        "variants": variants,
        "checks": {
            "speedup": ours["speedup_vs_kmeans"],
            "inertia_gap": ours["inertia_vs_kmeans"],
            "met": ours["speedup_vs_kmeans"] >= GOAL_SPEEDUP
            and ours["inertia_vs_kmeans"] <= GOAL_INERTIA,
        },
    }


def train_model(sources: list, run_dir: Path) -> dict:
    """The run's model, as the clustering task builds it: sample, standardise, train, save."""
    from curation.cluster_assign import save_model
    from curation.cluster_features import Standardiser, sample_features
    from curation.kmeans import KMeansParams, train

    wall = time.perf_counter()
    sample = sample_features(sources, "colour", per_slide=500, seed=SEED)
    sampled = time.perf_counter() - wall
    standardiser = Standardiser.fit(sample.features)
    params = KMeansParams(k=K, iterations=ITERATIONS, seed=SEED)
    result = train(standardiser.transform(sample.features), params)
    save_model(run_dir, result, standardiser, params, "colour")
    return {
        "sample_tiles": len(sample.row),
        "sample_seconds": sampled,
        "train_seconds": result.seconds,
    }


def _same_labels(a: Path, b: Path, sources: list) -> bool:
    import pyarrow.parquet as pq

    from curation.cluster_assign import labels_path

    return all(
        np.array_equal(
            pq.read_table(labels_path(a, s.fingerprint)).column("cluster").to_numpy(),
            pq.read_table(labels_path(b, s.fingerprint)).column("cluster").to_numpy(),
        )
        for s in sources
    )


def warm_page_cache(sources: list) -> None:
    """Read every file once so that every variant finds them in the OS page cache alike."""
    for source in sources:
        with open(source.tile_path, "rb") as f:
            while f.read(1 << 24):
                pass


def bench_assignment(files: int, rows: int, subset: int) -> dict:
    sources, written_s = prepare_tiles(files, rows)
    warm_page_cache(sources)
    model_dir = work_dir() / "model"
    shutil.rmtree(model_dir, ignore_errors=True)
    model = train_model(sources, model_dir)
    common.log(f"model: {model['sample_tiles']:,} sampled tiles in {model['sample_seconds']:.1f} s")
    runs = {}
    for count in (subset, files):
        chosen = sources[:count]
        spec_sources = [
            (s.slide_index, s.slide_id, s.fingerprint, str(s.tile_path)) for s in chosen
        ]
        outs = {}
        for variant in ("ours", "baseline"):
            out = work_dir() / f"run-{variant}-{count}"
            shutil.rmtree(out, ignore_errors=True)
            spec = {
                "part": "assign",
                "variant": variant,
                "sources": spec_sources,
                "model": str(model_dir),
                "out": str(out),
            }
            figures = run_child(spec)
            runs[f"{variant}_{count}"] = figures
            outs[variant] = out
            common.log(
                f"assign {variant}, {figures['tiles']:,} tiles: {figures['tiles_per_s']:,.0f} "
                f"tiles/s, peak {figures['peak_mb']:.0f} MB"
            )
        runs[f"same_labels_{count}"] = _same_labels(outs["ours"], outs["baseline"], chosen)
        for out in outs.values():
            shutil.rmtree(out, ignore_errors=True)
    return {
        "files": files,
        "rows_per_file": rows,
        "subset_files": subset,
        "tile_files_written_s": written_s,
        "model": model,
        "runs": runs,
    }


def versions() -> dict:
    import faiss
    import pyarrow
    import sklearn

    return {
        "faiss": faiss.__version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "pyarrow": pyarrow.__version__,
        "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", ""),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="small sizes, a quick check")
    args = parser.parse_args()
    if args.child:
        child(json.loads(args.child))
        return 0
    import curation.kmeans  # noqa: F401 - sets OpenMP's wait policy before anything loads FAISS

    common.stop_on_sigterm()
    common.warn_if_busy()
    sizes = QUICK if args.quick else FULL
    machine = common.machine()
    started = time.monotonic()
    kmeans = bench_kmeans(sizes["points"])
    assignment = bench_assignment(sizes["files"], sizes["rows"], sizes["subset_files"])
    report = {
        "machine": machine,
        "versions": versions(),
        "quick": args.quick,
        "goals": {"speedup": GOAL_SPEEDUP, "inertia_gap": GOAL_INERTIA},
        "kmeans": kmeans,
        "assignment": assignment,
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "bench_seconds": time.monotonic() - started,
    }
    common.write_json("clustering-quick" if args.quick else "clustering", report)
    same = all(v for k, v in assignment["runs"].items() if k.startswith("same_labels"))
    if not same:
        common.log("CHECK FAILED: baseline and assign_sources labels differ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
