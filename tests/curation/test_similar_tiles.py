"""Tests for curation.similar_tiles: the IVF-SQ8 index over a run's tiles with the run's
centroids as coarse quantizer, the per-slide cap, and "more like this" search."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation import kmeans
from curation.cluster_assign import Assigner
from curation.cluster_features import (
    SlideSource,
    Standardiser,
    load_features,
    sample_features,
)
from curation.features import FEATURE_NAMES
from curation.kmeans import KMeansParams, train
from curation.similar_tiles import (
    SimilarIndex,
    build_index,
    per_slide_cap,
    similar_to_tile,
    tile_id,
)
from curation.tile_store import write_tile_table
from tests.curation.cluster_data import tiled_sources

K = 10


def _twin(source: SlideSource, folder, slide_index: int) -> SlideSource:
    """A copy of `source` as another slide whose colour features differ by a tiny jitter:
    every tile of `source` has a near-duplicate there, at the same row."""
    table = pq.read_table(source.tile_path)
    rng = np.random.default_rng(slide_index)
    for name in FEATURE_NAMES:
        column = table.column(name).to_numpy()
        jitter = 1e-4 * (np.abs(column).mean() + 1e-3) * rng.standard_normal(len(column))
        position = table.column_names.index(name)
        table = table.set_column(position, name, pa.array((column + jitter).astype(np.float32)))
    fingerprint = f"{slide_index:02x}" * 32
    path = write_tile_table(folder / f"{fingerprint}.parquet", table, {})
    return SlideSource(slide_index, 9000 + slide_index, fingerprint, path)


@pytest.fixture(scope="module")
def run(tmp_path_factory, demo_slide_dir):
    sources = tiled_sources(tmp_path_factory.getbasetemp() / "cluster-tiles", demo_slide_dir)
    folder = tmp_path_factory.mktemp("similar")
    original = sources[1]
    twin = _twin(original, folder, len(sources))
    everyone = [*sources, twin]
    sample = sample_features(everyone, "colour", per_slide=400)
    standardiser = Standardiser.fit(sample.features)
    result = train(standardiser.transform(sample.features), KMeansParams(k=K, iterations=10))
    assigner = Assigner(result.centroids, standardiser)
    count = build_index(everyone, "colour", assigner, folder)
    return folder, everyone, original, twin, assigner, count


def test_per_slide_cap_is_even_and_bounded():
    assert per_slide_cap([10, 20, 30], 100) == 30  # everything fits
    assert per_slide_cap([10, 200, 300], 100) == 45  # 10 + 45 + 45
    assert per_slide_cap([5, 5], 0) == 0
    counts = np.random.default_rng(0).integers(0, 5000, 300)
    cap = per_slide_cap(counts, 100_000)
    assert np.minimum(counts, cap).sum() <= 100_000 < np.minimum(counts, cap + 1).sum()


def test_index_holds_every_tile_once_with_its_id(run):
    folder, everyone, _, _, assigner, count = run
    total = sum(pq.read_metadata(s.tile_path).num_rows for s in everyone)
    index = SimilarIndex.open(folder)
    assert count == total == len(index)
    assert index.index.nlist == K  # the run's clusters are the inverted lists
    assert tile_id(3, 17) == (3 << 32) | 17
    # A tile's own vector finds itself first (8-bit codes: nearly zero distance).
    source = everyone[0]
    vector = assigner.transform(load_features(source, "colour", np.array([12])))[0]
    (slide_index, row, distance), *_ = index.search(vector, k=3, nprobe=K)
    assert (slide_index, row) == (source.slide_index, 12) or distance < 1e-3
    assert distance < 0.05


def test_similar_tiles_are_the_near_duplicates_first(run):
    folder, _, original, twin, assigner, _ = run
    n = pq.read_metadata(original.tile_path).num_rows
    rows = np.random.default_rng(1).choice(n, 25, replace=False)
    hits = 0
    for row in rows.tolist():
        results = similar_to_tile(folder, original, row, "colour", assigner, k=5)
        assert len(results) == 5
        assert (original.slide_index, row) not in [(s, r) for s, r, _ in results]
        distances = [d for _, _, d in results]
        assert distances == sorted(distances)
        hits += (results[0][0], results[0][1]) == (twin.slide_index, row)
    assert hits >= 23, hits  # identical tiles elsewhere may tie with the twin


def test_cap_limits_the_index_evenly(run, tmp_path):
    _, everyone, _, _, assigner, _ = run
    counts = [pq.read_metadata(s.tile_path).num_rows for s in everyone]
    limit = sum(counts) // 3
    count = build_index(everyone, "colour", assigner, tmp_path, max_tiles=limit, seed=4)
    cap = per_slide_cap(counts, limit)
    assert count == sum(min(n, cap) for n in counts) <= limit
    ids = _all_ids(SimilarIndex.open(tmp_path).index)
    per_slide = np.bincount(ids >> 32, minlength=len(everyone))
    assert per_slide.tolist() == [min(n, cap) for n in counts]
    assert len(np.unique(ids)) == len(ids)


def _all_ids(index) -> np.ndarray:
    """Every id stored in an IVF index's inverted lists."""
    invlists = index.invlists
    parts = []
    for i in range(invlists.nlist):
        size = invlists.list_size(i)
        if size:
            parts.append(kmeans.faiss.rev_swig_ptr(invlists.get_ids(i), size).copy())
    return np.concatenate(parts).astype(np.int64)


def test_spherical_index_reports_cosine_distances(run, tmp_path):
    _, everyone, original, _, assigner, _ = run
    spherical = Assigner(assigner.centroids, assigner.standardiser, spherical=True)
    build_index(everyone, "colour", spherical, tmp_path, max_tiles=3000)
    results = similar_to_tile(tmp_path, original, 3, "colour", spherical, k=10)
    assert all(-0.01 <= d <= 2.01 for _, _, d in results) and len(results) == 10


def test_missing_index_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        SimilarIndex.open(tmp_path)
