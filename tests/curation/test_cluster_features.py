"""Tests for curation.cluster_features: loading a slide's features, the seeded per-slide
sample, and the standardiser, on tile files written by the real tiler."""

import dataclasses

import numpy as np
import pyarrow.parquet as pq
import pytest

from curation.cluster_features import (
    SlideSource,
    Standardiser,
    feature_dim,
    load_features,
    sample_features,
)
from curation.features import FEATURE_NAMES
from tests.curation.cluster_data import EMBEDDING_DIM, tiled_sources


@pytest.fixture(scope="module")
def sources(tmp_path_factory, demo_slide_dir):
    return tiled_sources(tmp_path_factory.getbasetemp() / "cluster-tiles", demo_slide_dir)


def test_colour_features_are_the_tile_files_columns(sources):
    source = sources[0]
    table = pq.read_table(source.tile_path)
    features = load_features(source, "colour")
    assert features.dtype == np.float32 and features.shape == (table.num_rows, 36)
    assert feature_dim(source, "colour") == len(FEATURE_NAMES) == 36
    for i in (0, 17, 35):
        np.testing.assert_array_equal(features[:, i], table.column(FEATURE_NAMES[i]).to_numpy())
    rows = np.array([5, 0, 3])
    np.testing.assert_array_equal(load_features(source, "colour", rows), features[rows])


def test_embeddings_are_memory_mapped_and_aligned(sources):
    source = sources[1]
    stored = np.load(source.embedding_path)
    assert stored.dtype == np.float16
    features = load_features(source, "embedding", np.array([2, 1]))
    assert features.dtype == np.float32 and features.flags.c_contiguous
    np.testing.assert_array_equal(features, stored[[2, 1]].astype(np.float32))
    assert feature_dim(source, "embedding") == EMBEDDING_DIM
    assert load_features(source, "embedding").shape == (
        pq.read_metadata(source.tile_path).num_rows,
        EMBEDDING_DIM,
    )


def test_clear_errors_for_bad_kind_missing_files_and_misaligned_embeddings(sources, tmp_path):
    source = sources[0]
    with pytest.raises(ValueError, match="unknown feature kind"):
        load_features(source, "texture")
    missing = dataclasses.replace(source, tile_path=tmp_path / "gone.parquet")
    with pytest.raises(ValueError, match=r"slide 1000: tile file missing"):
        load_features(missing, "colour")
    with pytest.raises(ValueError, match="no embedding file"):
        load_features(dataclasses.replace(source, embedding_path=None), "embedding")
    short = tmp_path / "short.npy"
    np.save(short, np.load(source.embedding_path)[:-1])
    with pytest.raises(ValueError, match="to match its tile file"):
        load_features(dataclasses.replace(source, embedding_path=short), "embedding")
    with pytest.raises(ValueError, match="slide 1000"):
        load_features(source, "colour", np.array([10**9]))


def _rows_by_slide(sample) -> dict[int, list[int]]:
    return {
        int(i): sample.row[sample.slide_index == i].tolist() for i in np.unique(sample.slide_index)
    }


def test_sample_takes_per_slide_rows_deterministically(sources):
    sample = sample_features(sources, "colour", per_slide=300, seed=3)
    counts = [pq.read_metadata(s.tile_path).num_rows for s in sources]
    assert sample.features.dtype == np.float32 and sample.features.shape[1] == 36
    assert sample.slide_index.dtype == np.int32 and sample.row.dtype == np.int64
    for source, n in zip(sources, counts, strict=True):
        rows = sample.row[sample.slide_index == source.slide_index]
        assert len(rows) == min(n, 300) and len(set(rows.tolist())) == len(rows)
        assert rows.min() >= 0 and rows.max() < n
        np.testing.assert_array_equal(
            sample.features[sample.slide_index == source.slide_index],
            load_features(source, "colour", rows),
        )
    assert any(n > 300 for n in counts)  # otherwise nothing was sampled

    again = sample_features(sources, "colour", per_slide=300, seed=3)
    np.testing.assert_array_equal(again.features, sample.features)
    other = sample_features(sources, "colour", per_slide=300, seed=4)
    assert _rows_by_slide(other) != _rows_by_slide(sample)


def test_sample_is_independent_of_source_order_and_workers(sources):
    forward = sample_features(sources, "colour", per_slide=200, seed=1)
    backward = sample_features(sources[::-1], "colour", per_slide=200, seed=1, workers=2)
    assert _rows_by_slide(backward) == _rows_by_slide(forward)
    assert backward.slide_index[0] == sources[-1].slide_index  # but in the order given


def test_sample_with_all_tiles_when_slide_is_small_and_skipping_unreadable(sources, tmp_path):
    n = pq.read_metadata(sources[0].tile_path).num_rows
    whole = sample_features(sources[:1], "embedding", per_slide=n + 10)
    assert whole.row.tolist() == list(range(n))
    gone = SlideSource(9, 99, "ffff", tmp_path / "missing.parquet")
    with pytest.raises(ValueError, match="slide 99"):
        sample_features([sources[0], gone], "colour", per_slide=10)
    sample = sample_features([sources[0], gone], "colour", per_slide=10, skip_unreadable=True)
    assert len(sample.row) == 10 and [slide for slide, _ in sample.failed] == [99]


def test_standardiser_scales_and_floors_constant_columns():
    rng = np.random.default_rng(0)
    x = np.column_stack([rng.normal(50, 20, 1000), rng.normal(0.2, 0.01, 1000), np.full(1000, 3.0)])
    standardiser = Standardiser.fit(x)
    z = standardiser.transform(x)
    assert z.dtype == np.float32 and z.flags.c_contiguous
    np.testing.assert_allclose(z[:, :2].mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(z[:, :2].std(axis=0), 1, atol=1e-4)
    assert standardiser.std[2] == pytest.approx(1e-6) and np.all(z[:, 2] == 0)
    back = Standardiser.from_dict(standardiser.to_dict())
    np.testing.assert_array_equal(back.transform(x), z)
    with pytest.raises(ValueError):
        standardiser.transform(x[:, :2])
