"""A real cluster run for the dataset tests, made once per session.

The slides of `tests/curation/cluster_data.py` (three generated demo slides and, when
../shared is present, the real H&E CMU-1 excerpt), tiled by the real tiler, clustered by a
quick k-means on their colour features and assigned by `assign_sources`: real tile files and
real label files. `slide_inputs` turns them into the sampler's `SlideInput`s.
"""

import hashlib
from pathlib import Path

from curation.cluster_assign import Assigner, assign_sources, labels_path
from curation.cluster_features import SlideSource, Standardiser, sample_features
from curation.dataset_sampling import SlideInput
from curation.kmeans import KMeansParams, train
from curation.tile_store import read_tile_metadata
from tests.curation.cluster_data import tiled_sources

K = 6
# cluster index → category; cluster 5 is not included (e.g. rejected as background)
CATEGORY_OF = {0: "Tumour", 1: "Stroma", 2: "Tumour", 3: "Immune", 4: "Stroma"}
_cache: dict[str, tuple[Path, list[SlideSource]]] = {}


def cluster_run(basetemp: Path, demo_slide_dir: Path) -> tuple[Path, list[SlideSource]]:
    """(run folder with label files, the tiled SlideSources), made on first use."""
    if "run" in _cache:
        return _cache["run"]
    sources = tiled_sources(basetemp / "cluster-tiles", demo_slide_dir)
    sample = sample_features(sources, "colour", per_slide=300)
    standardiser = Standardiser.fit(sample.features)
    result = train(standardiser.transform(sample.features), KMeansParams(k=K, iterations=6))
    run_dir = basetemp / "dataset-run"
    summary = assign_sources(
        sources, "colour", Assigner(result.centroids, standardiser), run_dir, exemplars=1
    )
    assert summary.failed == []
    _cache["run"] = (run_dir, sources)
    return _cache["run"]


def slide_inputs(
    run_dir: Path,
    sources: list[SlideSource],
    groups: tuple[str, ...] = ("A", "B"),
    copies: int = 1,
) -> list[SlideInput]:
    """One SlideInput per source (× `copies`: more slides sharing the same files, each with
    its own id, fingerprint and case), groups assigned round-robin, two slides per case."""
    inputs = []
    for copy in range(copies):
        for source in sources:
            metadata = read_tile_metadata(source.tile_path)
            n = len(inputs)
            fingerprint = (
                source.fingerprint
                if copy == 0
                else hashlib.sha256(f"{source.fingerprint}:{copy}".encode()).hexdigest()
            )
            inputs.append(
                SlideInput(
                    slide_id=source.slide_id + 100 * copy,
                    fingerprint=fingerprint,
                    slide_path=metadata["slide_path"],
                    group=groups[n % len(groups)],
                    case_key=f"case-{n // 2}",
                    tile_path=source.tile_path,
                    labels_path=labels_path(run_dir, source.fingerprint),
                    mpp=float(metadata["mpp"]),
                )
            )
    return inputs
